import { Command, CommanderError, Option } from 'commander';
import { ExitCode } from './exit-codes.js';
import type { ExitCodeValue } from './exit-codes.js';
import type { CliIo } from './io.js';
import type { RunStreams } from './commands/run.js';
import type { GlobalOptions } from './world.js';
import { addApprovalsCommands } from './program/approvals.js';
import { addAuditCommands } from './program/audit.js';
import { addClientWiringCommands } from './program/client-wiring.js';
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

const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  internal error (a bug: please report it)
  2  usage error (unknown command or option)
  3  configuration invalid (config.toml / .mcp.json)
  4  requirements invalid: every server disabled (fail closed)
  5  warnings found (requirements check), e.g. an unknown key
  6  no server with that name
  7  a required server is not ready (mcp list --probe)
  8  the server cannot be served (run): disabled, missing or failed to start
  9  the audit trail is broken (audit verify): the first break is printed
  10 the audit store cannot be opened or read (corrupt, foreign, unreachable)
  11 policy test: at least one case did not get the expected decision
  12 approvals: the decision cannot be made (already decided, expired, a grant that does not count, or the requester approving a two-person call)
  13 schema diff: a breaking or risky change was found
  14 the schema lock is unreadable or invalid (corrupt, newer version, hand-edited)
  15 inventory check: at least one violation of the plugin policy ([gatehouse_plugins])
  16 mask --check: something in the input would be masked
  17 mask: the input could not be masked safely (nothing more was printed)
  18 run/serve refused: started with runtime options that load code (NODE_OPTIONS --require, LD_PRELOAD …)
  19 audit verify: nothing is broken, but evidence is missing (records after the last signed
     checkpoint, no checkpoint, a call's intent without its result, a replaced store)
  20 connect/disconnect refused, nothing changed: edited concurrently, a conflicting definition, no backup
  21 doctor: at least one problem (a server bypassing Gatehouse, a setting that cannot arrive, …)
  evidence record exits with the recorded command's own exit code (127: it could not be started)`;

/** Builds the CLI. Commands resolve to an exit code; nothing here calls process.exit. */
export function buildProgram(
  io: CliIo,
  setExit: (code: ExitCodeValue) => void,
  streams: RunStreams = { stdin: process.stdin, stdout: process.stdout },
): Command {
  const program = new Command('gatehouse')
    .description('MCP governance gateway: which servers may run, and why.')
    .version('0.1.0')
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
    .addHelpText('after', EXIT_CODES_HELP)
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
  addInventoryCommands(program, cli);
  addEvidenceCommands(program, cli);
  addSchemaCommands(program, cli);
  addClientWiringCommands(program, cli);
  program.addOption(new Option('--no-color').hideHelp());
  return program;
}

const OPTIONAL_VALUE_FLAGS = new Set(['--codex-home', '--codex-requirements']);
const COMMAND_WORDS = new Set([
  'mcp',
  'requirements',
  'run',
  'serve',
  'audit',
  'policy',
  'approvals',
  'inventory',
  'evidence',
  'schema',
  'mask',
  'connect',
  'disconnect',
  'doctor',
  'help',
]);

/**
 * `--codex-home` and `--codex-requirements` take an optional value, so in
 * `gatehouse --codex-home mcp list` a parser would read `mcp` as the directory. A following
 * command word is never taken as the value (write `./mcp` for a directory of that name).
 */
export function disambiguateOptionalValues(argv: readonly string[]): string[] {
  return argv.map((arg, i) =>
    OPTIONAL_VALUE_FLAGS.has(arg) && COMMAND_WORDS.has(argv[i + 1] ?? '') ? `${arg}=` : arg,
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
    await program.parseAsync(disambiguateOptionalValues(argv), { from: 'user' });
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
