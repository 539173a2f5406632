import type { Command } from 'commander';
import { runInventory, runInventoryCheck } from '../commands/inventory.js';
import type { InventoryOptions } from '../commands/inventory.js';
import type { CommandWiring } from './wiring.js';

/**
 * `inventory` and `inventory check`: what an agent can reach.
 * Declarations only (names, options, help texts): the work is in ../commands/.
 */
export function addInventoryCommands(
  program: Command,
  { io, setExit, globals, wire }: CommandWiring,
): void {
  const inventoryOptions = (cmd: Command) =>
    cmd
      .option('--json', 'print JSON (schema_version 1, documented in docs/cli.md)')
      .option(
        '--from <dir>',
        'read saved `codex plugin … --json` outputs from DIR instead of running codex',
      )
      .option('--codex <path>', 'the codex executable (default: codex on PATH)');
  const inventory = wire(
    inventoryOptions(program.command('inventory'))
      .description('every MCP server, plugin and marketplace an agent can reach, grouped by risk')
      .action(async (opts: InventoryOptions, cmd: Command) =>
        setExit(await runInventory(globals(cmd), opts, io)),
      ),
  );
  wire(
    inventoryOptions(inventory.command('check'))
      .description(
        'evaluate the inventory against [gatehouse_plugins]: findings with a fix; exit 15 on a violation',
      )
      .action(async (opts: InventoryOptions, cmd: Command) =>
        setExit(
          // `--json` and `--from` may be written before `check` too (they are the parent's options).
          await runInventoryCheck(globals(cmd), { ...inventory.opts(), ...opts }, io),
        ),
      ),
  );
}
