import { Command, CommanderError, Option } from 'commander';
import { AUDIT_DECISIONS, AUDIT_EVENT_TYPES, AUDIT_OUTCOMES } from '../audit/filter-values.js';
import type { Readable } from 'node:stream';
import { ExitCode } from './exit-codes.js';
import type { ExitCodeValue } from './exit-codes.js';
import type { CliIo } from './io.js';
import { runMcpGet } from './commands/mcp-get.js';
import { runMcpList } from './commands/mcp-list.js';
import { runRequirementsCheck, runRequirementsExplain } from './commands/requirements.js';
import { runRun } from './commands/run.js';
import { runServe } from './commands/serve.js';
import type { HttpOptions, RunStreams } from './commands/run.js';
import type { GlobalOptions } from './world.js';
import type { QueryOptions } from './commands/audit.js';
import { runPolicyExplain, runPolicyTest } from './commands/policy.js';
import { runMask } from './commands/mask.js';
import type { MaskOptions } from './commands/mask.js';
import {
  runApprovalsDecide,
  runApprovalsKeygen,
  runApprovalsList,
  runApprovalsServe,
  runApprovalsShow,
  runApprovalsSign,
} from './commands/approvals.js';
import { runInventory, runInventoryCheck } from './commands/inventory.js';
import type { InventoryOptions } from './commands/inventory.js';
import { runEvidenceList, runEvidenceRecord, runEvidenceShow } from './commands/evidence.js';
import {
  runSchemaApprove,
  runSchemaDiff,
  runSchemaLog,
  runSchemaSnapshot,
} from './commands/schema.js';
import type { DiffOptions, SnapshotOptions } from './commands/schema.js';
import { runConnect, runDisconnect, runRequirementsExport } from './commands/connect.js';
import type { ConnectOptions, DisconnectOptions, ExportOptions } from './commands/connect.js';
import { runDoctor } from './commands/doctor.js';
import type { DoctorOptions } from './commands/doctor.js';
import {
  runAuditExport,
  runAuditKey,
  runAuditPrune,
  runAuditQuery,
  runAuditStats,
  runAuditTail,
  runAuditVerify,
} from './commands/audit.js';
import type { VerifyOptions } from './commands/audit.js';
import { runTokensCreate, runTokensList, runTokensRevoke } from './commands/tokens.js';
import type { TokensOptions } from './commands/tokens.js';

const collect = (value: string, previous: string[]) => [...previous, value];

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

/** `--http` and `--http-token-env`, shared by `run` and `serve`. */
function withHttpOptions(cmd: Command): Command {
  return cmd
    .option(
      '--http <host:port>',
      'serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (port 0: any free port)',
    )
    .option(
      '--http-token-env <var>',
      'require Authorization: Bearer <value of VAR> (required off 127.0.0.1 unless requirements have [gatehouse_identity])',
    );
}

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
  wire(
    withHttpOptions(program.command('run'))
      .description(
        'serve ONE configured server over stdio, governed, tools under their original names (how Codex uses Gatehouse)',
      )
      .argument('<name>', "server name in Gatehouse's configuration")
      .action(async (name: string, opts: HttpOptions, cmd: Command) =>
        setExit(await runRun(globals(cmd), name, io, streams, opts)),
      ),
  );
  wire(
    withHttpOptions(program.command('serve'))
      .description(
        'serve EVERY allowed server over stdio behind one endpoint, tools named server__tool',
      )
      .action(async (opts: HttpOptions, cmd: Command) =>
        setExit(await runServe(globals(cmd), io, streams, opts)),
      ),
  );
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
      .action((opts: { json?: boolean }, cmd: Command) =>
        setExit(runRequirementsCheck(globals(cmd), opts, io)),
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
    program
      .command('mask')
      .description(
        'mask secrets and personal data in a file or stdin with the gateway engine and the effective [gatehouse_masking] rules',
      )
      .argument('[file]', 'file to mask; - or nothing reads stdin')
      .option('--json', 'print the findings (kind, rule, offsets, line, column), never the values')
      .option('--check', 'print a summary only; exit 16 when anything would be masked')
      .option('--server <name>', "apply this server's exemptions")
      .option('--tool <name>', "apply this tool's exemptions (with --server)")
      .option('--list-detectors', 'list every detector, its kind and whether it is on')
      .action(async (file: string | undefined, opts: MaskOptions, cmd: Command) =>
        setExit(await runMask(globals(cmd), file, opts, io, streams.stdin as Readable)),
      ),
  );
  const audit = wire(
    program
      .command('audit')
      .description('the tamper-evident audit trail: every decision and call, verifiable'),
  );
  const queryOptions = (cmd: Command) =>
    cmd
      .option('--server <name>', 'only this server')
      .option('--tool <name>', 'only this tool (or prompt name, or resource URI)')
      .addOption(
        new Option(
          '--decision <d>',
          'only this decision (a call, an approval or a drift action)',
        ).choices(AUDIT_DECISIONS),
      )
      .addOption(new Option('--outcome <o>', 'only this call outcome').choices(AUDIT_OUTCOMES))
      .option('--thread <id>', 'only this thread id')
      .option('--user <name>', 'only this OS user or token subject')
      .addOption(new Option('--type <type>', 'only this event type').choices(AUDIT_EVENT_TYPES))
      .option('--since <time>', 'from this time (ISO, or an age: 30m, 2h, 7d)')
      .option('--until <time>', 'before this time (ISO, or an age)');
  wire(
    audit
      .command('tail')
      .description('the most recent records; -f keeps printing new ones')
      .option('-n, --lines <n>', 'how many (default 20)')
      .option('-f, --follow', 'wait for new records (Ctrl-C stops)')
      .option('--json', 'one JSON object per line')
      .action(async (opts: { lines?: string; follow?: boolean; json?: boolean }, cmd: Command) =>
        setExit(await runAuditTail(globals(cmd), opts, io)),
      ),
  );
  wire(
    queryOptions(audit.command('query'))
      .description('records matching every filter given, oldest first')
      .option('--limit <n>', 'only the N most recent matches (still shown oldest first)')
      .option('--oldest', 'with --limit: the N oldest matches instead')
      .option('--json', 'print JSON (each record with its event)')
      .action(async (opts: QueryOptions, cmd: Command) =>
        setExit(await runAuditQuery(globals(cmd), opts, io)),
      ),
  );
  wire(
    audit
      .command('export')
      .description(
        'stream the whole trail as JSONL (header, checkpoints, records) for a SIEM or an auditor',
      )
      .option('--format <format>', 'jsonl (the only format)', 'jsonl')
      .option('--output <file>', 'write to FILE instead of stdout')
      .action(async (opts: { format?: string; output?: string }, cmd: Command) =>
        setExit(await runAuditExport(globals(cmd), opts, io)),
      ),
  );
  wire(
    audit
      .command('verify')
      .description('check the hash chain and the signed checkpoints; name the first broken record')
      .option('--from-export <file>', 'verify a JSONL export instead of the live store')
      .option(
        '--public-key <file>',
        "trust this signing key too (repeatable; default: this machine's)",
        collect,
        [],
      )
      .option('--json', 'print JSON')
      .option(
        '--witness <file|url>',
        'also check against the checkpoints the gateway appended to a witness file ([gatehouse_audit] witness) or a loopback http URL serving it',
      )
      .option(
        '--show-remembered',
        'print what this machine remembers of verified stores, and where',
      )
      .option('--forget', "forget this machine's earlier verification of the store, then verify")
      .action(async (opts: VerifyOptions, cmd: Command) =>
        setExit(await runAuditVerify(globals(cmd), opts, io)),
      ),
  );
  wire(
    audit
      .command('stats')
      .description('how many records of each type, time range, checkpoints, size')
      .option('--json', 'print JSON')
      .action(async (opts: { json?: boolean }, cmd: Command) =>
        setExit(await runAuditStats(globals(cmd), opts, io)),
      ),
  );
  wire(
    audit
      .command('prune')
      .description(
        'delete records older than a date, behind a signed checkpoint that keeps the rest verifiable',
      )
      .requiredOption('--before <date>', 'ISO date, or an age like 400d')
      .option('--json', 'print JSON')
      .action(async (opts: { before?: string; json?: boolean }, cmd: Command) =>
        setExit(await runAuditPrune(globals(cmd), opts, io)),
      ),
  );
  wire(
    audit
      .command('key')
      .description(
        "print this machine's public signing key (auditors pass it to verify --public-key)",
      )
      .option('--json', 'print JSON')
      .action((opts: { json?: boolean }) => setExit(runAuditKey(opts, io))),
  );
  const policy = wire(
    program.command('policy').description('the admin tool policy: what a call needs, and why'),
  );
  wire(
    policy
      .command('explain')
      .description('the decision for one tool: allow, deny or approval (by whom), and the rule')
      .option('--server <name>', 'server name')
      .option('--tool <name>', 'raw tool name on that server')
      .option('--args <json>', 'the call arguments (an approval is bound to exactly these)')
      .option('--annotations <json>', "the tool's annotations as the server declares them")
      .option('--live', "start the server and use the tool's annotations as it lists them now")
      .option('--json', 'print JSON')
      .action(
        async (
          opts: {
            server?: string;
            tool?: string;
            args?: string;
            annotations?: string;
            live?: boolean;
            json?: boolean;
          },
          cmd: Command,
        ) => setExit(await runPolicyExplain(globals(cmd), opts, io)),
      ),
  );
  wire(
    policy
      .command('test')
      .description(
        'run admin-written expectation cases ([[case]] tables) against the effective policy',
      )
      .argument('<cases.toml>', 'the cases file')
      .option('--json', 'print JSON')
      .action((file: string, opts: { json?: boolean }, cmd: Command) =>
        setExit(runPolicyTest(globals(cmd), file, opts, io)),
      ),
  );
  const approvals = wire(
    program
      .command('approvals')
      .description('calls waiting for a human: list, show, approve, deny'),
  );
  wire(
    approvals
      .command('list')
      .description('pending approvals (--all: every state)')
      .option('--all', 'also approved, denied, used and expired ones')
      .option('--json', 'print JSON')
      .action(async (opts: { all?: boolean; json?: boolean }, cmd: Command) =>
        setExit(await runApprovalsList(globals(cmd), opts, io)),
      ),
  );
  wire(
    approvals
      .command('show')
      .description('one approval: the call, its masked arguments, the rule, who asked')
      .argument('<id>', 'approval id')
      .option('--json', 'print JSON')
      .action(async (id: string, opts: { json?: boolean }, cmd: Command) =>
        setExit(await runApprovalsShow(globals(cmd), id, opts, io)),
      ),
  );
  wire(
    approvals
      .command('approve')
      .description(
        'approve one call, once: signed with --key (required for two_person, and for every call once approver keys are listed), else as the OS user running this command',
      )
      .argument('<id>', 'approval id')
      .option('--key <file>', 'your approver key (`gatehouse approvals keygen`): signs the grant')
      .option('--reason <text>', 'why (recorded)')
      .option('--json', 'print JSON')
      .action(
        async (id: string, opts: { reason?: string; json?: boolean; key?: string }, cmd: Command) =>
          setExit(await runApprovalsDecide(globals(cmd), id, 'approved', opts, io)),
      ),
  );
  wire(
    approvals
      .command('keygen')
      .description(
        'create an approver key (private file 0600 in a 0700 directory) and print the public key line for [gatehouse_approvals] approvers',
      )
      .option('--name <name>', 'the approver name the admin lists (default: your OS user name)')
      .option(
        '--out <file>',
        'where to write the private key (default: $GATEHOUSE_HOME/approver/approver-key.pem); never overwritten',
      )
      .option('--json', 'print JSON')
      .action((opts: { name?: string; out?: string; json?: boolean }) =>
        setExit(runApprovalsKeygen(opts, io)),
      ),
  );
  wire(
    approvals
      .command('sign')
      .description(
        'sign an approval as the HTTP API shows it (GET /approvals/ID) and print the grant to POST to /approvals/ID/approve',
      )
      .requiredOption('--key <file>', 'your approver key')
      .option('--approval <file>', 'the approval JSON (default: - for stdin)')
      .option('--reason <text>', 'why (signed and recorded)')
      .option('--json', 'print JSON (the grant is always JSON)')
      .action((opts: { key?: string; approval?: string; reason?: string }, cmd: Command) =>
        setExit(runApprovalsSign(globals(cmd), opts, io)),
      ),
  );
  wire(
    approvals
      .command('deny')
      .description('deny one call; the caller is told the reason')
      .argument('<id>', 'approval id')
      .requiredOption('--reason <text>', 'why (the caller is told, and it is recorded)')
      .option('--json', 'print JSON')
      .action(async (id: string, opts: { reason?: string; json?: boolean }, cmd: Command) =>
        setExit(await runApprovalsDecide(globals(cmd), id, 'denied', opts, io)),
      ),
  );
  wire(
    approvals
      .command('serve')
      .description(
        'the approvals HTTP API (GET /approvals, POST /approvals/ID/approve|deny) for a dashboard',
      )
      .requiredOption('--http <host:port>', 'listen on HOST:PORT (port 0: any free port)')
      .requiredOption(
        '--approver-tokens-env <var>',
        'a variable holding NAME:TOKEN[,NAME:TOKEN…]: each bearer token gives access; approving needs a signed grant',
      )
      .action(async (opts: { http?: string; approverTokensEnv?: string }, cmd: Command) =>
        setExit(await runApprovalsServe(globals(cmd), opts, io)),
      ),
  );
  const tokens = wire(
    program
      .command('tokens')
      .description(
        'named service tokens for bots and CI ([gatehouse_identity] service_tokens): create, list, revoke',
      ),
  );
  const storeOption = (cmd: Command) =>
    cmd
      .option('--store <file>', 'the token store (default: [gatehouse_identity] service_tokens)')
      .option('--json', 'print JSON');
  wire(
    storeOption(tokens.command('create'))
      .description('mint a token, print it ONCE, store only its SHA-256')
      .argument('<name>', 'a name for the token (1–64 letters, digits, . _ -)')
      .option(
        '--subject <subject>',
        'who the token is, as audit and policy see it (default bot:NAME)',
      )
      .option('--group <group>', 'a group the token belongs to (repeatable)', collect, [])
      .action(
        (
          name: string,
          opts: TokensOptions & { subject?: string; group?: string[] },
          cmd: Command,
        ) => setExit(runTokensCreate(globals(cmd), name, opts, io)),
      ),
  );
  wire(
    storeOption(tokens.command('list'))
      .description('every service token: name, subject, groups, state (never the token)')
      .action((opts: TokensOptions, cmd: Command) =>
        setExit(runTokensList(globals(cmd), opts, io)),
      ),
  );
  wire(
    storeOption(tokens.command('revoke'))
      .description('revoke a token: the next request with it is refused')
      .argument('<name>', 'the token name')
      .action((name: string, opts: TokensOptions, cmd: Command) =>
        setExit(runTokensRevoke(globals(cmd), name, opts, io)),
      ),
  );
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
      .action((opts: ExportOptions, cmd: Command) =>
        setExit(runRequirementsExport(globals(cmd), opts, io)),
      ),
  );
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
      .action(async (opts: DoctorOptions, cmd: Command) =>
        setExit(await runDoctor(globals(cmd), opts, io)),
      ),
  );
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
