import type { Command } from 'commander';
import { runSchemaApprove, runSchemaLog, runSchemaSnapshot } from '../commands/schema.js';
import type { SnapshotOptions } from '../commands/schema.js';
import { runSchemaDiff } from '../commands/schema-diff.js';
import type { DiffOptions } from '../commands/schema-diff.js';
import type { CommandWiring } from './wiring.js';

/**
 * `schema snapshot`, `diff`, `approve`, `log`: the tool schema lock.
 * Declarations only (names, options, help texts): the work is in ../commands/.
 */
export function addSchemaCommands(
  program: Command,
  { io, setExit, globals, wire }: CommandWiring,
): void {
  const schema = wire(
    program
      .command('schema')
      .description('the tool schema lock: snapshot, diff, approve and log what servers offer'),
  );
  wire(
    schema
      .command('snapshot')
      .description(
        'start servers and write what they offer (tools, prompts, templates) into the lock',
      )
      .argument('[server...]', 'only these servers (default: every enabled one)')
      .option('--replace', 'move an unreadable lock aside (FILE.bak) and write a fresh one')
      .option('--json', 'print JSON')
      .action(async (names: string[], opts: SnapshotOptions, cmd: Command) =>
        setExit(await runSchemaSnapshot(globals(cmd), names, opts, io)),
      ),
  );
  wire(
    schema
      .command('diff')
      .description(
        'classify every change (breaking, risky, widening, cosmetic): live servers against the lock, or two lock files',
      )
      .argument(
        '[servers-or-locks...]',
        'SERVER… to compare only those live servers with the lock, or BEFORE AFTER lock files (*.json or a path)',
      )
      .option('--format <format>', 'md (a changelog, breaking first) or json', 'md')
      .option('--json', 'same as --format json')
      .option('--against <file>', 'compare live servers with this lock file instead')
      .action(async (files: string[], opts: DiffOptions, cmd: Command) =>
        setExit(await runSchemaDiff(globals(cmd), files, opts, io)),
      ),
  );
  wire(
    schema
      .command('approve')
      .description('accept the live version of a server or one tool into the lock, as this OS user')
      .argument('<target>', 'SERVER or SERVER/TOOL')
      .option('--yes', 'do not ask for confirmation on a terminal (CI)')
      .option('--json', 'print JSON')
      .action(async (target: string, opts: { json?: boolean; yes?: boolean }, cmd: Command) =>
        setExit(await runSchemaApprove(globals(cmd), target, opts, io)),
      ),
  );
  wire(
    schema
      .command('log')
      .description('the version history the lock keeps: who accepted what, and when')
      .argument('[target]', 'SERVER or SERVER/TOOL')
      .option('--json', 'print JSON')
      .action((target: string | undefined, opts: { json?: boolean }, cmd: Command) =>
        setExit(runSchemaLog(globals(cmd), target, opts, io)),
      ),
  );
}
