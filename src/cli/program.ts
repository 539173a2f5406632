import { Command, CommanderError, Option } from 'commander';
import { ExitCode, exitCodesHelp } from './exit-codes.js';
import type { ExitCodeValue } from './exit-codes.js';
import type { CliIo } from './io.js';
import { gatehouseVersion } from '../version.js';
import type { RunStreams } from './commands/run.js';
import type { GlobalOptions } from './world.js';
import { addApprovalsCommands } from './program/approvals.js';
import { addTokensCommands } from './program/tokens.js';
import { addCredentialsCommands } from './program/credentials.js';
import { addAuditCommands } from './program/audit.js';
import { addClientWiringCommands } from './program/client-wiring.js';
import { addConsoleCommand } from './program/console.js';
import { addEvidenceCommands } from './program/evidence.js';
import { addGatewayCommands } from './program/gateway.js';
import { addInventoryCommands } from './program/inventory.js';
import { addMaskCommand } from './program/mask.js';
import { addMcpCommands } from './program/mcp.js';
import { addPolicyCommands } from './program/policy.js';
import { addRequirementsCommands } from './program/requirements.js';
import { addSchemaCommands } from './program/schema.js';
import { collect } from './program/wiring.js';
import type { CommandWiring } from './program/wiring.js';

/** Builds the CLI. Commands resolve to an exit code; nothing here calls process.exit. */
export function buildProgram(
  io: CliIo,
  setExit: (code: ExitCodeValue) => void,
  streams: RunStreams = { stdin: process.stdin, stdout: process.stdout },
): Command {
  const program = new Command('gatehouse')
    .description('MCP governance gateway: which servers may run, and why.')
    .version(gatehouseVersion())
    .option('--config <file>', 'extra config.toml layer (repeatable; later wins)', collect, [])
    .option('--mcp-json <file>', 'import a Claude-style .mcp.json (repeatable)', collect, [])
    .option(
      '--codex-home [dir]',
      "also read Codex's config.toml (default dir: $CODEX_HOME or ~/.codex)",
    )
    .option(
      '--requirements <file>',
      'requirements layer (repeatable); when given, /etc/gatehouse/requirements.toml is not read',
      collect,
      [],
    )
    .option(
      '--codex-requirements [file]',
      'also show what Codex decides under its requirements (default: /etc/codex/requirements.toml)',
    )
    .option('--strict', 'treat warnings (unknown keys, overrides) as errors')
    .option(
      '--audit <store>',
      'audit store: postgres://USER@HOST/DB, or a SQLite file (default $GATEHOUSE_HOME/audit.db; env GATEHOUSE_AUDIT)',
    )
    .option(
      '--lock <file>',
      'tool schema lock (default ./gatehouse.lock.json; env GATEHOUSE_LOCK; the admin lock_path wins)',
    )
    .addHelpText('after', exitCodesHelp())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });

  const globals = (cmd: Command) => cmd.optsWithGlobals() as GlobalOptions;
  const wire = (cmd: Command) =>
    cmd
      .exitOverride()
      .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
      .showHelpAfterError('(run with --help for usage)');

  const cli: CommandWiring = { io, setExit, streams, globals, wire };
  // Top-level order is the order `gatehouse --help` lists them in.
  addMcpCommands(program, cli);
  addGatewayCommands(program, cli);
  addRequirementsCommands(program, cli);
  addMaskCommand(program, cli);
  addAuditCommands(program, cli);
  addPolicyCommands(program, cli);
  addApprovalsCommands(program, cli);
  addTokensCommands(program, cli);
  addCredentialsCommands(program, cli);
  addInventoryCommands(program, cli);
  addEvidenceCommands(program, cli);
  addSchemaCommands(program, cli);
  addClientWiringCommands(program, cli);
  addConsoleCommand(program, cli);
  program.addOption(new Option('--no-color').hideHelp());
  return program;
}

const OPTIONAL_VALUE_FLAGS = new Set(['--codex-home', '--codex-requirements']);

/** The words that start a command (`mcp`, `audit`, … and `help`), read from the program itself. */
function commandWords(program: Command): ReadonlySet<string> {
  return new Set([...program.commands.map((c) => c.name()), 'help']);
}

/**
 * `--codex-home` and `--codex-requirements` take an optional value, so in
 * `gatehouse --codex-home mcp list` a parser would read `mcp` as the directory. A following
 * command word is never taken as the value (write `./mcp` for a directory of that name).
 */
export function disambiguateOptionalValues(
  argv: readonly string[],
  words: ReadonlySet<string> = commandWords(
    buildProgram({ stdout: () => {}, stderr: () => {}, isTTY: false, env: {}, cwd: '/' }, () => {}),
  ),
): string[] {
  return argv.map((arg, i) =>
    OPTIONAL_VALUE_FLAGS.has(arg) && words.has(argv[i + 1] ?? '') ? `${arg}=` : arg,
  );
}

/** Runs the CLI in-process and returns its exit code; never throws for user errors. */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  streams?: RunStreams,
): Promise<ExitCodeValue> {
  let code: ExitCodeValue = ExitCode.ok;
  const program = buildProgram(
    io,
    (c) => {
      code = c;
    },
    streams,
  );
  try {
    await program.parseAsync(disambiguateOptionalValues(argv, commandWords(program)), {
      from: 'user',
    });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version succeed; help shown because a command is missing is a usage error.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    io.stderr(
      `gatehouse: internal error: ${err instanceof Error ? err.message : String(err)}\n  please report this with the command you ran\n`,
    );
    return ExitCode.internal;
  }
}
