import { Option } from 'commander';
import type { Command } from 'commander';
import { runRequirementsCheck, runRequirementsExplain } from '../commands/requirements.js';
import { runRequirementsExport } from '../commands/connect.js';
import type { ExportOptions } from '../commands/connect.js';
import type { CommandWiring } from './wiring.js';

/**
 * `requirements check`, `explain` and `export`: the admin rules and the client-side pin file.
 * Declarations only (names, options, help texts): the work is in ../commands/.
 */
export function addRequirementsCommands(
  program: Command,
  { io, setExit, globals, wire }: CommandWiring,
): void {
  const req = wire(
    program.command('requirements').description('admin requirements: which servers may run'),
  );
  wire(
    req
      .command('check')
      .description(
        'validate the requirement layers and print the effective rules with their sources',
      )
      .option('--json', 'print JSON')
      .option(
        '--probe',
        'also start the servers tool rules name and warn about rules matching no tool they list',
      )
      .action(async (opts: { json?: boolean; probe?: boolean }, cmd: Command) =>
        setExit(await runRequirementsCheck(globals(cmd), opts, io)),
      ),
  );
  wire(
    req
      .command('explain')
      .description('why a server is allowed or disabled, naming the rule')
      .argument('<name>', 'server name')
      .option('--json', 'print JSON')
      .action((name: string, opts: { json?: boolean }, cmd: Command) =>
        setExit(runRequirementsExplain(globals(cmd), name, opts, io)),
      ),
  );
  wire(
    req
      .command('export')
      .description(
        "the client-side admin file pinning every server in Gatehouse's config to exactly `gatehouse run NAME`",
      )
      .addOption(
        new Option('--for <client>', 'codex (requirements.toml) or claude-code (managed-mcp.json)')
          .choices(['codex', 'claude-code'])
          .makeOptionMandatory(),
      )
      .option(
        '--gatehouse-command <path>',
        'the command to pin (default: this gatehouse, absolute)',
      )
      .option('--output <file>', 'write to FILE (an existing one is backed up) instead of stdout')
      .option(
        '--managed-settings',
        'with --for claude-code: the managed-settings.json allow/deny lists instead of managed-mcp.json',
      )
      .action((opts: ExportOptions, cmd: Command) =>
        setExit(runRequirementsExport(globals(cmd), opts, io)),
      ),
  );
}
