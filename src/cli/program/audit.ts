import { Option } from 'commander';
import type { Command } from 'commander';
import { AUDIT_DECISIONS, AUDIT_EVENT_TYPES, AUDIT_OUTCOMES } from '../../audit/filter-values.js';
import { runAuditExport, runAuditQuery, runAuditTail } from '../commands/audit.js';
import type { ExportOptions, QueryOptions } from '../commands/audit.js';
import { runAuditShip } from '../commands/audit-ship.js';
import type { ShipCliOptions } from '../commands/audit-ship.js';
import { SINK_KINDS } from '../../audit/feed/sinks.js';
import { runAuditKey, runAuditPrune, runAuditStats } from '../commands/audit-maintenance.js';
import { runAuditVerify } from '../commands/audit-verify.js';
import type { VerifyOptions } from '../commands/audit-verify.js';
import { collect } from './wiring.js';
import type { CommandWiring } from './wiring.js';

/**
 * `audit tail`, `query`, `export`, `ship`, `verify`, `stats`, `prune`, `key`: the tamper-evident trail.
 * Declarations only (names, options, help texts): the work is in ../commands/.
 */
export function addAuditCommands(program: Command, cli: CommandWiring): void {
  const audit = cli.wire(
    program
      .command('audit')
      .description('the tamper-evident audit trail: every decision and call, verifiable'),
  );
  addAuditReadingCommands(audit, cli);
  addAuditIntegrityCommands(audit, cli);
}

/** tail, query, export, ship: reading the trail. */
function addAuditReadingCommands(audit: Command, { io, setExit, globals, wire }: CommandWiring) {
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
        'stream the trail as JSONL (header, checkpoints, records) for a SIEM or an auditor',
      )
      .option('--format <format>', 'jsonl (the only format)', 'jsonl')
      .option('--output <file>', 'write to FILE instead of stdout')
      .option('--after <seq>', 'only records after this one (continue where an export ended)')
      .option('--since <time>', 'only records from this time (ISO, or an age: 30m, 2h, 7d)')
      .action(async (opts: ExportOptions, cmd: Command) =>
        setExit(await runAuditExport(globals(cmd), opts, io)),
      ),
  );
  wire(
    audit
      .command('ship')
      .description(
        'deliver each record once to a SIEM sink (OTLP logs, syslog RFC 5424 over TCP/TLS, HTTP JSON), remembering the position',
      )
      .addOption(
        new Option('--sink <kind>', 'otlp (logs, HTTP JSON), syslog or http (JSON batches)')
          .choices(SINK_KINDS)
          .makeOptionMandatory(),
      )
      .requiredOption(
        '--to <address>',
        'http(s)://HOST:PORT/PATH (otlp: …/v1/logs), or tcp://HOST:PORT / tls://HOST:PORT (syslog)',
      )
      .option(
        '--state <file>',
        'where the position is kept (default: a file per sink under GATEHOUSE_HOME/audit-ship/)',
      )
      .option('--follow', 'keep shipping new records until stopped (SIGTERM/Ctrl-C)')
      .option('--batch-size <n>', 'records per delivery (default 500)')
      .option('--token-env <var>', 'send Authorization: Bearer <value of VAR> (otlp, http)')
      .option('--ca <file>', 'trust this PEM CA for tls:// (syslog)')
      .option('--json', 'print a JSON summary')
      .action(async (opts: ShipCliOptions, cmd: Command) =>
        setExit(await runAuditShip(globals(cmd), opts, io)),
      ),
  );
}

/** verify, stats, prune, key: checking and maintaining the trail. */
function addAuditIntegrityCommands(audit: Command, { io, setExit, globals, wire }: CommandWiring) {
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
}
