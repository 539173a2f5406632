import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import type { ChainFormat, ChainHead } from './chain.js';
import type { Checkpoint } from './checkpoint.js';
import type { AuditStore } from './store.js';
import type { Commitment, VerifyFinding, VerifyReport } from './verify.js';
import { ChainVerifier, defaultRecordChecks, tailFinding } from './verify.js';

export type StoreVerifyReport = VerifyReport & {
  checkpoint: Checkpoint | null;
  /** Threads that read the chain (1, or one per core for a large SQLite store). */
  threads: number;
};

/** What one worker verifies (verify-worker.ts). */
export interface SliceJob {
  file: string;
  storeId: string;
  format: ChainFormat;
  from: number;
  to: number;
  first: boolean;
  final: boolean;
  checkpoints: Checkpoint[];
  keys: [string, string][];
  commitments: Commitment[];
}

export interface SliceResult {
  report: VerifyReport;
  firstPrev: string | null;
  lastGood: ChainHead | null;
}

/** Below this many records one thread is as fast as several. */
const PARALLEL_FROM = 50_000;

/** The worker script beside this module (tsc output) or beside the bundle (dist/bin). */
function workerScript(): URL | null {
  for (const rel of ['./verify-worker.js', '../verify-worker.js']) {
    const url = new URL(rel, import.meta.url);
    if (url.protocol === 'file:' && existsSync(fileURLToPath(url))) return url;
  }
  return null;
}

/**
 * Verifies a live store: its checkpoints, then every record in order. A large SQLite store is
 * read in slices by worker threads (one per core, each with its own connection); the slices'
 * seams are checked here. If anything is wrong anywhere, the whole chain is walked again in
 * one thread, so the report says exactly what happened at the first break.
 */
export async function verifyStore(
  store: AuditStore,
  trustedKeys: ReadonlyMap<string, KeyObject>,
  commitments: readonly Commitment[] = [],
  onProgress?: (records: number) => void,
): Promise<StoreVerifyReport> {
  const checkpoints = await store.checkpoints();
  const withCheckpoint = (report: VerifyReport, threads: number): StoreVerifyReport => {
    const last = report.checkpoints.last_seq;
    return {
      ...report,
      threads,
      checkpoint: last === null ? null : (checkpoints.filter((c) => c.seq === last).pop() ?? null),
    };
  };
  const parallel = await verifyInSlices(store, checkpoints, trustedKeys, commitments);
  if (parallel) return withCheckpoint(parallel.report, parallel.threads);
  const verifier = new ChainVerifier({
    storeId: store.storeId,
    format: store.chainFormat,
    checkpoints,
    trustedKeys,
    commitments,
  });
  let n = 0;
  if (store.rawRecords) {
    reading: for await (const batch of store.rawRecords()) {
      for (const row of batch) if (!verifier.pushRaw(row)) break reading;
      n += batch.length;
      if (n % 50_000 < batch.length) onProgress?.(n);
    }
  } else {
    reading: for await (const batch of store.records()) {
      for (const record of batch) if (!verifier.push(record)) break reading;
      n += batch.length;
      if (n % 50_000 < batch.length) onProgress?.(n);
    }
  }
  return withCheckpoint(verifier.finish(), 1);
}

/** The parallel path; null when it does not apply or found a problem (then walk in one thread). */
async function verifyInSlices(
  store: AuditStore,
  checkpoints: Checkpoint[],
  trustedKeys: ReadonlyMap<string, KeyObject>,
  commitments: readonly Commitment[],
): Promise<{ report: VerifyReport; threads: number } | null> {
  const script = workerScript();
  const threads = Math.min(4, availableParallelism());
  if (store.kind !== 'sqlite' || !script || threads < 2 || !store.rawRecordsOfTypes) return null;
  const head = await store.head();
  const first = (await store.query({ limit: 1 }))[0];
  if (!head || !first || head.seq - first.seq + 1 < PARALLEL_FROM) return null;
  const span = Math.ceil((head.seq - first.seq + 1) / threads);
  const keys: [string, string][] = [...trustedKeys].map(([id, key]) => [
    id,
    key.export({ type: 'spki', format: 'pem' }).toString(),
  ]);
  const jobs: SliceJob[] = Array.from({ length: threads }, (_, i) => ({
    file: store.location,
    storeId: store.storeId,
    format: store.chainFormat,
    from: first.seq + i * span,
    to: i === threads - 1 ? Number.MAX_SAFE_INTEGER : first.seq + (i + 1) * span - 1,
    first: i === 0,
    final: i === threads - 1,
    checkpoints,
    keys,
    commitments: [...commitments],
  }));
  const slicing = Promise.all(
    jobs.map(
      (job) =>
        new Promise<SliceResult>((resolve, reject) => {
          const worker = new Worker(script, { workerData: job });
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.once('exit', (code) => {
            if (code !== 0) reject(new Error(`verify worker exited with ${code}`));
          });
        }),
    ),
  ).catch(() => null);
  // While the workers hash the chain, this thread runs the content checks over the records they
  // need (in order); their findings count only if the chain turns out intact.
  const checks = defaultRecordChecks();
  const types = [...new Set(checks.flatMap((c) => c.types))];
  // A type's body may be cut to its gateway only when no check reads more of it.
  const gatewayOnly = types.filter((t) =>
    checks.every((c) => !c.types.includes(t) || (c.gatewayOnly ?? []).includes(t)),
  );
  for await (const batch of store.rawRecordsOfTypes(types, gatewayOnly)) {
    for (const [seq, type, callId, body] of batch)
      for (const c of checks)
        if (c.types.includes(type as string))
          c.record(seq as number, type as string, callId as string | null, body as string);
  }
  const results = await slicing;
  if (!results) return null;
  for (let i = 0; i < results.length; i++) {
    const r = results[i] as SliceResult;
    if (!r.report.ok) return null;
    const before = results[i - 1];
    if (
      before &&
      (r.report.first_seq !== (before.lastGood?.seq ?? 0) + 1 ||
        r.firstPrev !== before.lastGood?.hash)
    ) {
      return null;
    }
  }
  const reports = results.map((r) => r.report);
  const head0 = reports[0] as VerifyReport;
  const tail = reports[reports.length - 1] as VerifyReport;
  const lastCheckpoint = reports.reduce<number | null>(
    (max, r) =>
      r.checkpoints.last_seq !== null && (max === null || r.checkpoints.last_seq > max)
        ? r.checkpoints.last_seq
        : max,
    null,
  );
  const lastSeq = tail.last_seq;
  const anchored = reports.reduce((max, r) => Math.max(max, r.anchored_through ?? 0), 0);
  // The slices checked the chain; the content checks ran above, in order.
  const findings: VerifyFinding[] = [];
  const tailGap = tailFinding(lastSeq, head0.first_seq, anchored);
  if (tailGap) findings.push(tailGap);
  for (const c of checks) findings.push(...c.finish());
  const report: VerifyReport = {
    ok: !findings.some((f) => f.broken === true),
    complete: findings.length === 0,
    format: store.chainFormat,
    findings,
    anchored_through: anchored > 0 ? anchored : null,
    records: reports.reduce((n, r) => n + r.records, 0),
    first_seq: head0.first_seq,
    last_seq: lastSeq,
    checkpoints: {
      total: checkpoints.length,
      verified: reports.reduce((n, r) => n + r.checkpoints.verified, 0),
      last_seq: lastCheckpoint,
    },
    unanchored:
      lastSeq === null ? 0 : lastSeq - Math.max(lastCheckpoint ?? 0, (head0.first_seq ?? 1) - 1),
    pruned_before: head0.pruned_before,
    problem: null,
  };
  return { report, threads };
}
