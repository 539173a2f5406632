import type { KeyObject } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import type { StoredRecord } from '../../audit/chain.js';
import {
  checkpointHash,
  keyId,
  signCheckpoint,
  signNextCheckpoint,
} from '../../audit/checkpoint.js';
import { ExportFormatError, exportLines, verifyExport } from '../../audit/export.js';
import {
  AuditKeyError,
  auditKeyDir,
  loadOrCreateAuditKeys,
  readOwnPublicKey,
  readPublicKeyFile,
} from '../../audit/keys.js';
import { openAuditStore } from '../../audit/open-store.js';
import type { AuditFilter, AuditStore } from '../../audit/store.js';
import { AuditStoreError } from '../../audit/store.js';
import type { Commitment, VerifyFinding, VerifyProblem, VerifyReport } from '../../audit/verify.js';
import type { StoreVerifyReport } from '../../audit/verify-store.js';
import { verifyStore } from '../../audit/verify-store.js';
import { printApprovalEvidence, verifyApprovalEvidence } from '../../audit/verify-approvals.js';
import { WitnessError, readWitness, witnessCommitments } from '../../audit/witness.js';
import type { AuditEventBody } from '../../audit/event.js';
import { AUDIT_EVENT_VERSION, indexColumns } from '../../audit/event.js';
import { canonicalJson } from '../../audit/canonical-json.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { renderAuditTable } from '../format/audit-table.js';
import { defaultGatehouseHome } from '../../config/load-config.js';
import type { GlobalOptions } from '../world.js';
import { loadRequirements } from '../../requirements/load-requirements.js';
import { chosenStore } from '../audit-runtime.js';

/** The store a reading command opens: chosen as the gateway chooses it (the admin's wins). */
export function storeSpec(global: GlobalOptions, io: CliIo): string | undefined {
  const requirements = loadRequirements({
    requirementFiles: global.requirements.map((f) => resolve(io.cwd, f)),
    env: io.env,
  });
  return chosenStore(
    requirements.requirements.audit.store?.value,
    global.audit,
    io,
    defaultGatehouseHome(io.env),
  );
}

/**
 * Opens the store a reading command names, runs `fn`, closes it. Failures become a message and
 * an exit code (`mapError` may claim its own errors first); never a stack trace.
 */
export async function withStore(
  global: GlobalOptions,
  io: CliIo,
  fn: (store: AuditStore, home: string) => Promise<ExitCodeValue>,
  mapError: (err: unknown) => ExitCodeValue | null = () => null,
): Promise<ExitCodeValue> {
  const home = defaultGatehouseHome(io.env);
  let store: AuditStore;
  try {
    store = await openAuditStore(storeSpec(global, io), home, { mustExist: true });
  } catch (err) {
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof AuditStoreError && err.code === 'usage'
      ? ExitCode.notFound
      : ExitCode.auditUnavailable;
  }
  try {
    return await fn(store, home);
  } catch (err) {
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return mapError(err) ?? ExitCode.auditUnavailable;
  } finally {
    await store.close();
  }
}

function recordJson(r: StoredRecord): Record<string, unknown> {
  return { seq: r.seq, ts: r.ts, hash: r.hash, prev: r.prev, event: JSON.parse(r.body) as unknown };
}

export interface QueryOptions {
  server?: string;
  tool?: string;
  decision?: string;
  outcome?: string;
  thread?: string;
  user?: string;
  type?: string;
  since?: string;
  until?: string;
  limit?: string;
  /** With `--limit`: the N oldest matches instead of the N newest. */
  oldest?: boolean;
  json?: boolean;
}

/** A time bound: an ISO date/time, or a relative one like `30m`, `2h`, `7d` ago. */
export function parseTimeBound(value: string, now = Date.now()): string | null {
  const relative = /^(\d+)(s|m|h|d)$/.exec(value.trim());
  if (relative) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now - Number(relative[1]) * unit).toISOString();
  }
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

function filterFrom(opts: QueryOptions, io: CliIo): AuditFilter | null {
  const filter: AuditFilter = {};
  if (opts.server) filter.server = opts.server;
  if (opts.tool) filter.target = opts.tool;
  if (opts.decision) filter.decision = opts.decision;
  if (opts.outcome) filter.outcome = opts.outcome;
  if (opts.thread) filter.threadId = opts.thread;
  if (opts.user) filter.actor = opts.user;
  if (opts.type) filter.type = opts.type;
  for (const key of ['since', 'until'] as const) {
    const raw = opts[key];
    if (raw === undefined) continue;
    const parsed = parseTimeBound(raw);
    if (!parsed) {
      io.stderr(
        `error: --${key} ${raw}: expected an ISO date/time (2026-11-21, 2026-11-21T08:00:00Z) or an age like 30m, 2h, 7d\n`,
      );
      return null;
    }
    filter[key] = parsed;
  }
  if (opts.limit !== undefined) {
    const n = Number(opts.limit);
    if (!Number.isInteger(n) || n < 1) {
      io.stderr(`error: --limit ${opts.limit}: expected a whole number ≥ 1\n`);
      return null;
    }
    filter.limit = n;
  }
  return filter;
}

export function runAuditQuery(
  global: GlobalOptions,
  opts: QueryOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const filter = filterFrom(opts, io);
  if (!filter) return Promise.resolve(ExitCode.usage);
  return withStore(global, io, async (store) => {
    // `--limit N` means the N most recent (what people look for), shown oldest first like the
    // rest of the table; `--oldest` keeps the N earliest instead.
    const newest = filter.limit !== undefined && !opts.oldest;
    const found = newest
      ? (await store.query({ ...filter, newestFirst: true })).reverse()
      : await store.query(filter);
    if (opts.json) io.stdout(`${JSON.stringify(found.map(recordJson), null, 2)}\n`);
    else if (found.length === 0) io.stdout('no audit records match\n');
    else io.stdout(renderAuditTable(found));
    return ExitCode.ok;
  });
}

export function runAuditTail(
  global: GlobalOptions,
  opts: { lines?: string; follow?: boolean; json?: boolean },
  io: CliIo,
  stop: Promise<void> = new Promise(() => undefined),
): Promise<ExitCodeValue> {
  const n = Number(opts.lines ?? 20);
  if (!Number.isInteger(n) || n < 0) {
    io.stderr(`error: -n ${opts.lines}: expected a whole number\n`);
    return Promise.resolve(ExitCode.usage);
  }
  return withStore(global, io, async (store) => {
    const show = (records: StoredRecord[], header: boolean) => {
      if (records.length === 0) return;
      if (opts.json) for (const r of records) io.stdout(`${JSON.stringify(recordJson(r))}\n`);
      else {
        const text = renderAuditTable(records);
        io.stdout(header ? text : text.slice(text.indexOf('\n') + 1));
      }
    };
    const last = (await store.query({ newestFirst: true, limit: n })).reverse();
    show(last, true);
    if (!opts.follow) return ExitCode.ok;
    let after = last[last.length - 1]?.seq ?? (await store.head())?.seq ?? 0;
    let stopped = false;
    void stop.then(() => (stopped = true));
    while (!stopped) {
      await Promise.race([new Promise((r) => setTimeout(r, 500)), stop]);
      const fresh = await store.query({ afterSeq: after, limit: 1000 });
      show(fresh, last.length === 0 && after === 0);
      after = fresh[fresh.length - 1]?.seq ?? after;
    }
    return ExitCode.ok;
  });
}

export function runAuditExport(
  global: GlobalOptions,
  opts: { format?: string; output?: string },
  io: CliIo,
): Promise<ExitCodeValue> {
  if ((opts.format ?? 'jsonl') !== 'jsonl') {
    io.stderr(`error: --format ${opts.format}: the only format is jsonl\n`);
    return Promise.resolve(ExitCode.usage);
  }
  return withStore(global, io, async (store, home) => {
    const own = readOwnPublicKey(home);
    const keys = new Map<string, KeyObject>(own ? [[keyId(own), own]] : []);
    const out = opts.output ? createWriteStream(resolve(io.cwd, opts.output)) : null;
    let buffer = '';
    let count = 0;
    const flush = async () => {
      if (buffer === '') return;
      if (out) {
        if (!out.write(buffer)) await once(out, 'drain');
      } else io.stdout(buffer);
      buffer = '';
    };
    for await (const line of exportLines(store, keys)) {
      buffer += `${line}\n`;
      count += 1;
      if (buffer.length > 1 << 16) await flush();
      if (io.isTTY && out && count % 50_000 === 0) io.stderr(`\rexported ${count} lines…`);
    }
    await flush();
    if (out) {
      out.end();
      await once(out, 'finish');
      io.stderr(`${io.isTTY ? '\r\x1b[2K' : ''}exported ${count - 1} lines to ${opts.output}\n`);
    }
    return ExitCode.ok;
  });
}

/** Trusted keys: this machine's own, plus every --public-key FILE. */
function trustedKeys(home: string, files: readonly string[], cwd: string): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  const own = readOwnPublicKey(home);
  if (own) keys.set(keyId(own), own);
  for (const file of files) {
    const key = readPublicKeyFile(resolve(cwd, file));
    keys.set(keyId(key), key);
  }
  return keys;
}

const VERIFIED_FILE = 'verified.json';

/**
 * What `audit verify` remembers of a store it verified (TOFU, like `rekor-cli loginfo`): its last
 * checkpoint, keyed by the store's id AND its location, so a copy of a store (same id, another
 * file) never stands in for the original — and a store whose id changed at a known location is
 * noticed, not forgotten.
 */
interface RememberedEntry {
  store_id: string;
  location: string;
  seq: number;
  hash: string;
  ts: string;
  index?: number;
  checkpoint_hash?: string;
  verified_at: string;
}

interface RememberedFile {
  version: 2;
  stores: RememberedEntry[];
}

function rememberedPath(home: string): string {
  return join(auditKeyDir(home), VERIFIED_FILE);
}

/** The remembered entries; entries of the old format (keyed by store id alone) are not used. */
function readRemembered(home: string): RememberedEntry[] {
  try {
    const data = JSON.parse(readFileSync(rememberedPath(home), 'utf8')) as Partial<RememberedFile>;
    return data.version === 2 && Array.isArray(data.stores) ? data.stores : [];
  } catch {
    return [];
  }
}

function writeRemembered(home: string, stores: RememberedEntry[]): void {
  mkdirSync(auditKeyDir(home), { recursive: true, mode: 0o700 });
  const data: RememberedFile = { version: 2, stores };
  writeFileSync(rememberedPath(home), `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
}

/** A store's location as remembered: an absolute path for SQLite, the (masked) URL otherwise. */
function locationKey(store: AuditStore, cwd: string): string {
  return store.kind === 'sqlite' ? resolve(cwd, store.location) : store.location;
}

type PrintedReport = VerifyReport & { notes?: string[] };

function printReport(io: CliIo, report: PrintedReport, source: string, json: boolean): void {
  if (json) {
    io.stdout(`${JSON.stringify({ source, ...report }, null, 2)}\n`);
    return;
  }
  const notes = [
    ...(report.format === 1
      ? [
          'legacy store (format 1), weaker guarantees: its checkpoints are not chained, so deleting checkpoints (and rewriting what only they covered) or the oldest records up to any checkpoint is not detected; start a new store (move this one away) to get format 2',
        ]
      : []),
    ...(report.notes ?? []),
  ].map((n) => `  note: ${n}\n`);
  if (report.ok) {
    const range =
      report.first_seq === null ? 'no records' : `records ${report.first_seq}..${report.last_seq}`;
    const findings = report.findings.map((f) => `  ${f.kind.toUpperCase()}: ${f.message}\n`);
    io.stdout(
      `audit trail ${report.complete ? 'OK' : 'INCOMPLETE'}: ${source}\n  ${range} (${report.records}), chain intact\n  ${report.checkpoints.verified} signed checkpoint(s) verified${report.checkpoints.last_seq !== null ? `, the last at record ${report.checkpoints.last_seq}` : ''}\n` +
        (report.pruned_before !== null
          ? `  records before ${report.pruned_before} were pruned behind a signed anchor\n`
          : '') +
        findings.join('') +
        notes.join(''),
    );
    return;
  }
  const p = report.problem ?? report.findings.find((f) => f.broken);
  io.stdout(
    `audit trail BROKEN: ${source}\n  ${p?.kind.toUpperCase()} at record ${p?.seq}: ${p?.message}\n  ${report.last_seq === null ? 'no record before it verified' : `the chain verifies through record ${report.last_seq}`}\n${notes.join('')}`,
  );
}

function exitFor(report: VerifyReport): ExitCodeValue {
  if (!report.ok) return ExitCode.auditBroken;
  return report.complete ? ExitCode.ok : ExitCode.auditIncomplete;
}

function brokenReport(store: AuditStore, problem: VerifyProblem): PrintedReport {
  return {
    ok: false,
    complete: false,
    format: store.chainFormat,
    findings: [],
    records: 0,
    first_seq: null,
    last_seq: null,
    checkpoints: { total: 0, verified: 0, last_seq: null },
    unanchored: 0,
    anchored_through: null,
    pruned_before: null,
    problem,
  };
}

export interface VerifyOptions {
  fromExport?: string;
  publicKey?: string[];
  json?: boolean;
  /** A witness JSONL file or loopback URL (`[gatehouse_audit] witness`). */
  witness?: string;
  /** Drop what this machine remembers of the store before verifying it. */
  forget?: boolean;
  /** Print what this machine remembers, and where, instead of verifying. */
  showRemembered?: boolean;
}

export async function runAuditVerify(
  global: GlobalOptions,
  opts: VerifyOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const home = defaultGatehouseHome(io.env);
  if (opts.showRemembered) {
    const entries = readRemembered(home);
    if (opts.json)
      io.stdout(`${JSON.stringify({ file: rememberedPath(home), stores: entries }, null, 2)}\n`);
    else if (entries.length === 0) io.stdout(`nothing remembered (${rememberedPath(home)})\n`);
    else
      io.stdout(
        `remembered in ${rememberedPath(home)}:\n${entries
          .map(
            (e) =>
              `  ${e.location} (store ${e.store_id}): record ${e.seq} ${e.hash.slice(0, 16)}…${e.index !== undefined ? `, checkpoint ${e.index}` : ''}, verified ${e.verified_at}\n`,
          )
          .join('')}`,
      );
    return ExitCode.ok;
  }
  let keys: Map<string, KeyObject>;
  try {
    keys = trustedKeys(home, opts.publicKey ?? [], io.cwd);
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n`);
    return ExitCode.usage;
  }
  if (opts.fromExport) {
    const file = resolve(io.cwd, opts.fromExport);
    try {
      const report = await verifyExport(file, keys);
      printReport(io, report, file, Boolean(opts.json));
      return exitFor(report);
    } catch (err) {
      io.stderr(
        `error: ${err instanceof ExportFormatError ? err.message : `${file}: ${(err as Error).message}`}\n`,
      );
      return err instanceof ExportFormatError ? ExitCode.auditBroken : ExitCode.usage;
    }
  }
  return withStore(
    global,
    io,
    async (store) => {
      const file = rememberedPath(home);
      const here = locationKey(store, io.cwd);
      let entries = readRemembered(home);
      const notes: string[] = [];
      if (opts.forget) {
        const before = entries.length;
        entries = entries.filter((e) => e.location !== here && e.store_id !== store.storeId);
        writeRemembered(home, entries);
        notes.push(
          `forgot ${before - entries.length} remembered verification(s) of this store (${file})`,
        );
      }
      const commitments: Commitment[] = [];
      const same = entries.find((e) => e.store_id === store.storeId && e.location === here);
      if (same)
        commitments.push({
          seq: same.seq,
          hash: same.hash,
          ts: same.ts,
          source: `this machine's verification of ${same.location} on ${same.verified_at} (remembered in ${file}; see --show-remembered, reset with --forget)`,
          ...(same.index !== undefined
            ? { index: same.index, checkpoint_hash: same.checkpoint_hash }
            : {}),
        });
      const findings: VerifyFinding[] = [];
      const replaced = entries.find((e) => e.location === here && e.store_id !== store.storeId);
      if (replaced)
        findings.push({
          kind: 'store_replaced',
          seq: null,
          message: `this machine verified store ${replaced.store_id} at this location on ${replaced.verified_at} (remembered in ${file}), but this is store ${store.storeId}: if it was not replaced on purpose, the store's id was changed to escape that memory; after checking, reset with --forget`,
        });
      for (const e of entries)
        if (e.store_id === store.storeId && e.location !== here)
          notes.push(
            `a copy of this store at ${e.location} was verified on ${e.verified_at}; copies are remembered apart and not compared`,
          );
      if (opts.witness) {
        const source = /^https?:\/\//i.test(opts.witness)
          ? opts.witness
          : resolve(io.cwd, opts.witness);
        const witnessed = witnessCommitments(await readWitness(source), opts.witness, {
          store,
          keys,
          sameLocation: (l) => l === store.location || locationKey(store, io.cwd) === l,
        });
        if (witnessed.problem) {
          printReport(
            io,
            brokenReport(store, witnessed.problem),
            store.location,
            Boolean(opts.json),
          );
          return ExitCode.auditBroken;
        }
        commitments.push(...witnessed.commitments);
      }
      const progress = io.isTTY && !opts.json;
      const verified = await verifyStore(store, keys, commitments, (n) => {
        if (progress) io.stderr(`\rverified ${n} records…`);
      });
      if (progress) io.stderr('\r\x1b[2K');
      const report: PrintedReport & StoreVerifyReport = {
        ...verified,
        findings: [...verified.findings, ...findings],
        complete: verified.complete && findings.length === 0,
        notes,
      };
      // Approval evidence: every approval.used must rest on a valid signed approval.granted.
      const approvals = await verifyApprovalEvidence(store.records(), report.pruned_before);
      if (approvals.problems.length > 0) report.ok = false;
      printReport(
        io,
        opts.json ? Object.assign({}, report, { approval_evidence: approvals }) : report,
        store.location,
        Boolean(opts.json),
      );
      if (!opts.json) printApprovalEvidence(io, approvals);
      const cp = report.checkpoint;
      if (report.ok && cp && !replaced) {
        // Remember what was verified, so a later rewrite or truncation of it is caught (TOFU).
        const entry: RememberedEntry = {
          store_id: store.storeId,
          location: here,
          seq: cp.seq,
          hash: cp.hash,
          ts: cp.ts,
          ...(cp.index !== undefined
            ? { index: cp.index, checkpoint_hash: checkpointHash(store.storeId, cp) }
            : {}),
          verified_at: new Date().toISOString(),
        };
        try {
          writeRemembered(home, [
            ...entries.filter((e) => !(e.store_id === store.storeId && e.location === here)),
            entry,
          ]);
        } catch {
          // Remembering is a convenience; verification itself succeeded.
        }
      }
      return exitFor(report);
    },
    (err) => {
      if (err instanceof WitnessError) return ExitCode.usage;
      return null;
    },
  );
}

export function runAuditStats(
  global: GlobalOptions,
  opts: { json?: boolean },
  io: CliIo,
): Promise<ExitCodeValue> {
  return withStore(global, io, async (store) => {
    const stats = await store.stats();
    if (opts.json) {
      io.stdout(
        `${JSON.stringify({ store: store.location, store_id: store.storeId, ...stats }, null, 2)}\n`,
      );
      return ExitCode.ok;
    }
    const lines = [
      `store       ${store.location} (${store.kind}, id ${store.storeId})`,
      `records     ${stats.records}${stats.first ? ` (seq ${stats.first.seq}..${stats.last?.seq}, ${stats.first.ts} .. ${stats.last?.ts})` : ''}`,
      `checkpoints ${stats.checkpoints}${stats.lastCheckpoint ? ` (last at record ${stats.lastCheckpoint.seq}, ${stats.lastCheckpoint.ts})` : ''}`,
      ...(stats.bytes !== null
        ? [`size        ${(stats.bytes / 1024 / 1024).toFixed(1)} MiB`]
        : []),
      'by type',
      ...Object.entries(stats.byType)
        .sort((a, b) => b[1] - a[1])
        .map(([type, n]) => `  ${type.padEnd(16)} ${n}`),
    ];
    io.stdout(`${lines.join('\n')}\n`);
    return ExitCode.ok;
  });
}

export function runAuditPrune(
  global: GlobalOptions,
  opts: { before?: string; json?: boolean },
  io: CliIo,
): Promise<ExitCodeValue> {
  const before = opts.before ? parseTimeBound(opts.before) : null;
  if (!before) {
    io.stderr(
      `error: --before ${opts.before ?? '(missing)'}: expected an ISO date (2026-01-01) or an age like 400d\n`,
    );
    return Promise.resolve(ExitCode.usage);
  }
  return withStore(global, io, async (store, home) => {
    // The newest record always stays: it is the head the next record links to.
    const head = await store.head();
    const anchor = head ? await store.lastBefore(before, head.seq) : null;
    if (!anchor) {
      io.stdout(`nothing to prune: no records before ${before}\n`);
      return ExitCode.ok;
    }
    let keys;
    try {
      keys = loadOrCreateAuditKeys(home);
    } catch (err) {
      if (err instanceof AuditKeyError) {
        io.stderr(`error: ${err.message}\n`);
        return ExitCode.auditUnavailable;
      }
      throw err;
    }
    // The anchor first: a signed statement of the last pruned record's hash, which the first
    // record kept links to (format 2: a checkpoint of purpose `prune` in the chain of
    // checkpoints — no other checkpoint justifies missing first records). Then the delete, then
    // a record of the prune itself, and a checkpoint that covers that record.
    if (store.chainFormat === 2) {
      await store.appendCheckpoint((_head, last) =>
        signNextCheckpoint(store.storeId, anchor, last, 'prune', keys.signing),
      );
    } else {
      await store.addCheckpoint(signCheckpoint(store.storeId, anchor, keys.signing));
    }
    const removed = await store.prune(anchor.seq);
    const { hostname, userInfo } = await import('node:os');
    let by: string | null = null;
    try {
      by = userInfo().username;
    } catch {
      by = null;
    }
    const event: AuditEventBody = {
      type: 'audit.pruned',
      before,
      removed,
      anchor: { seq: anchor.seq, hash: anchor.hash },
      by,
    };
    const [record] = await store.append([
      {
        ts: new Date().toISOString(),
        columns: indexColumns(event),
        body: canonicalJson({
          v: AUDIT_EVENT_VERSION,
          gateway: { instance: 'cli', pid: process.pid, host: hostname() },
          ...event,
        }),
      },
    ]);
    if (store.chainFormat === 2) {
      await store.appendCheckpoint((head, last) =>
        head ? signNextCheckpoint(store.storeId, head, last, 'periodic', keys.signing) : null,
      );
    } else if (record) {
      await store.addCheckpoint(signCheckpoint(store.storeId, record, keys.signing));
    }
    const result = { before, removed, anchor, recorded_as: record?.seq ?? null };
    if (opts.json) io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    else
      io.stdout(
        `pruned ${removed} record(s) before ${before} (through record ${anchor.seq}); a signed checkpoint anchors the rest; recorded as record ${record?.seq}\n`,
      );
    return ExitCode.ok;
  });
}

export function runAuditKey(opts: { json?: boolean }, io: CliIo): ExitCodeValue {
  const home = defaultGatehouseHome(io.env);
  let keys;
  try {
    keys = loadOrCreateAuditKeys(home);
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n`);
    return ExitCode.auditUnavailable;
  }
  const pem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  if (opts.json) io.stdout(`${JSON.stringify({ key_id: keys.keyId, public_key: pem }, null, 2)}\n`);
  else
    io.stdout(
      `# audit signing key ${keys.keyId} (Ed25519); give this to auditors: --public-key FILE\n${pem}`,
    );
  return ExitCode.ok;
}
