import type { KeyObject } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';
import type { StoredRecord } from '../../audit/chain.js';
import { keyId } from '../../audit/checkpoint.js';
import { exportLines } from '../../audit/export.js';
import { readOwnPublicKey } from '../../audit/keys.js';
import { openAuditStore } from '../../audit/open-store.js';
import type { AuditFilter, AuditStore } from '../../audit/store.js';
import { AuditStoreError } from '../../audit/store.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { renderAuditTable } from '../format/audit-table.js';
import { defaultGatehouseHome } from '../../config/load-config.js';
import type { GlobalOptions } from '../world.js';
import { adminAuditStore, chosenStore } from '../audit-store.js';

/** The store a reading command opens: chosen as the gateway chooses it (the admin's wins). */
export function storeSpec(global: GlobalOptions, io: CliIo): string | undefined {
  return chosenStore(adminAuditStore(global, io), global.audit, io, defaultGatehouseHome(io.env));
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

export interface ExportOptions {
  format?: string;
  output?: string;
  /** Only records after this seq (continue a previous export). */
  after?: string;
  /** Only records from this time on. */
  since?: string;
}

/** Where an export starts: `--after SEQ`, or the record just before `--since`. */
async function exportStart(store: AuditStore, after: number | null, since: string | null) {
  if (after !== null) return after;
  if (since === null) return 0;
  const [first] = await store.query({ since, limit: 1 });
  return first ? first.seq - 1 : ((await store.head())?.seq ?? 0);
}

export function runAuditExport(
  global: GlobalOptions,
  opts: ExportOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  if ((opts.format ?? 'jsonl') !== 'jsonl') {
    io.stderr(`error: --format ${opts.format}: the only format is jsonl\n`);
    return Promise.resolve(ExitCode.usage);
  }
  const after = opts.after === undefined ? null : Number(opts.after);
  if (after !== null && (!Number.isInteger(after) || after < 0)) {
    io.stderr(`error: --after ${opts.after}: expected a record number (seq) ≥ 0\n`);
    return Promise.resolve(ExitCode.usage);
  }
  const since = opts.since === undefined ? null : parseTimeBound(opts.since);
  if (opts.since !== undefined && since === null) {
    io.stderr(
      `error: --since ${opts.since}: expected an ISO date/time (2026-11-21T08:00:00Z) or an age like 30m, 2h, 7d\n`,
    );
    return Promise.resolve(ExitCode.usage);
  }
  if (after !== null && since !== null) {
    io.stderr('error: --after and --since: give one of them\n');
    return Promise.resolve(ExitCode.usage);
  }
  return withStore(global, io, async (store, home) => {
    const from = await exportStart(store, after, since);
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
    for await (const line of exportLines(store, keys, from)) {
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
