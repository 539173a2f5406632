import { Option } from 'commander';
import type { Command } from 'commander';
import { runConnect, runDisconnect } from '../commands/connect.js';
import type { ConnectOptions, DisconnectOptions } from '../commands/connect.js';
import { runDoctor } from '../commands/doctor.js';
import type { DoctorOptions } from '../commands/doctor.js';
import type { CommandWiring } from './wiring.js';

/**
 * `connect`, `disconnect` and `doctor`: routing clients through Gatehouse, and checking that they are.
 * Declarations only (names, options, help texts): the work is in ../commands/.
 */
export function addClientWiringCommands(
  program: Command,
  { io, setExit, globals, wire }: CommandWiring,
): void {
  wire(
    program
      .command('connect')
      .description(
        "route a client's MCP servers through Gatehouse: move each definition into Gatehouse's config, the client runs `gatehouse run NAME`",
      )
      .argument('<client>', 'codex, claude-code, cursor or vscode')
      .argument('[server...]', 'only these servers (default: every server in that file)')
      .addOption(
        new Option('--scope <scope>', 'user or project config')
          .choices(['user', 'project'])
          .default('user'),
      )
      .option('--dry-run', 'print the diff and change nothing')
      .option('--yes', 'do not ask for confirmation on a terminal')
      .option(
        '--gatehouse-command <path>',
        'the gatehouse executable the client starts (default: this one, absolute)',
      )
      .option(
        '--remote <url>',
        "point the client at a team gateway's URL instead (one entry, named [server] or gatehouse; https, or http on loopback)",
      )
      .option(
        '--token-env <var>',
        'with --remote: the environment variable holding the bearer token (default: the client does OAuth)',
      )
      .option('--json', 'print JSON (servers, diff, backups)')
      .action(async (client: string, names: string[], opts: ConnectOptions, cmd: Command) =>
        setExit(await runConnect(globals(cmd), client, names, opts, io)),
      ),
  );
  wire(
    program
      .command('disconnect')
      .description('undo connect: restore the client config from the backup connect made')
      .argument('<client>', 'codex, claude-code, cursor or vscode')
      .addOption(
        new Option('--scope <scope>', 'user or project config')
          .choices(['user', 'project'])
          .default('user'),
      )
      .option('--dry-run', 'print the diff and change nothing')
      .option('--force', 'restore the backup even though the file was edited after connect')
      .option('--json', 'print JSON')
      .action(async (client: string, opts: DisconnectOptions, cmd: Command) =>
        setExit(await runDisconnect(globals(cmd), client, opts, io)),
      ),
  );
  wire(
    program
      .command('doctor')
      .description(
        'check the wiring: per client found, servers through Gatehouse or bypassing it, settings that would not arrive, audit store, versions; exit 21 on a problem',
      )
      .option('--json', 'print JSON')
      .option('--codex <path>', 'the codex executable for its version (default: codex on PATH)')
      .option(
        '--launch',
        "start each governed entry as its client would (Codex's environment filtering included): initialize + tools/list, and check the GATEHOUSE_* settings, home and audit store reach it",
      )
      .action(async (opts: DoctorOptions, cmd: Command) =>
        setExit(await runDoctor(globals(cmd), opts, io)),
      ),
  );
}
