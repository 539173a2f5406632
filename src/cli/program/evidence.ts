import type { Command } from 'commander';
import { runEvidenceList, runEvidenceRecord, runEvidenceShow } from '../commands/evidence.js';
import type { InventoryOptions } from '../commands/inventory.js';
import type { CommandWiring } from './wiring.js';

/**
 * `evidence record`, `list`, `show`: release evidence kept in the audit trail.
 * Declarations only (names, options, help texts): the work is in ../commands/.
 */
export function addEvidenceCommands(
  program: Command,
  { io, setExit, globals, wire }: CommandWiring,
): void {
  const evidence = wire(
    program
      .command('evidence')
      .description(
        'release evidence: what an install or upgrade printed and changed, kept in the audit trail',
      ),
  );
  wire(
    evidence
      .command('record')
      .description(
        'run a command (after --), keep its exit code and full output with the inventory before and after',
      )
      .argument('<command...>', 'the command and its arguments, after --')
      .option('--json', 'print the stored record as JSON (the command output is not echoed)')
      .option('--from <dir>', 'take the inventories from saved codex output in DIR')
      .option('--codex <path>', 'the codex executable for the inventories (default: codex on PATH)')
      .action(async (command: string[], opts: InventoryOptions, cmd: Command) =>
        setExit(await runEvidenceRecord(globals(cmd), command, opts, io)),
      ),
  );
  wire(
    evidence
      .command('list')
      .description('recorded evidence, oldest first')
      .option('--limit <n>', 'only the N most recent')
      .option('--json', 'print JSON')
      .action(async (opts: { json?: boolean; limit?: string }, cmd: Command) =>
        setExit(await runEvidenceList(globals(cmd), opts, io)),
      ),
  );
  wire(
    evidence
      .command('show')
      .description('one record: command, exit code, every field of its output, inventory changes')
      .argument('<id>', 'evidence number (from evidence list)')
      .option('--json', 'print JSON')
      .action(async (id: string, opts: { json?: boolean }, cmd: Command) =>
        setExit(await runEvidenceShow(globals(cmd), id, opts, io)),
      ),
  );
}
