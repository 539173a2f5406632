import type { Command } from 'commander';
import { runMcpGet } from '../commands/mcp-get.js';
import { runMcpList } from '../commands/mcp-list.js';
import type { CommandWiring } from './wiring.js';

/**
 * `mcp list` and `mcp get`: the configured servers and their status.
 * Declarations only (names, options, help texts): the work is in ../commands/.
 */
export function addMcpCommands(
  program: Command,
  { io, setExit, globals, wire }: CommandWiring,
): void {
  const mcp = wire(program.command('mcp').description('configured MCP servers and their status'));
  wire(
    mcp
      .command('list')
      .description('list every server: enabled, or disabled and why (Codex table and JSON shapes)')
      .option('--json', 'print JSON (Codex shape plus disabled_reason_code and rule_source)')
      .option(
        '--probe',
        'start each enabled server and report ready / no_tools / auth_required / missing / failed',
      )
      .action(async (opts: { json?: boolean; probe?: boolean }, cmd: Command) =>
        setExit(await runMcpList(globals(cmd), opts, io)),
      ),
  );
  wire(
    mcp
      .command('get')
      .description('show one server')
      .argument('<name>', 'server name')
      .option('--json', 'print JSON')
      .action((name: string, opts: { json?: boolean }, cmd: Command) =>
        setExit(runMcpGet(globals(cmd), name, opts, io)),
      ),
  );
}
