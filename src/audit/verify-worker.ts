// One slice of a parallel verification (verify-store.ts): reads records `from`..`to` of a
// SQLite store through its own connection and verifies them as a slice of the chain.
import { createPublicKey } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { SliceJob, SliceResult } from './verify-store.js';
import { SqliteAuditStore } from './sqlite-store.js';
import { ChainVerifier } from './verify.js';

const job = workerData as SliceJob;
const store = SqliteAuditStore.open(job.file, { mustExist: true });
const verifier = new ChainVerifier({
  storeId: job.storeId,
  format: job.format,
  checkpoints: job.checkpoints,
  trustedKeys: new Map(job.keys.map(([id, pem]) => [id, createPublicKey(pem)])),
  commitments: job.commitments,
  slice: { trustFirstLink: !job.first, final: job.final },
});
let firstPrev: string | null = null;
reading: for await (const batch of store.rawRecords(job.from, job.to)) {
  for (const row of batch) {
    firstPrev ??= row[2] as string;
    if (!verifier.pushRaw(row)) break reading;
  }
}
const result: SliceResult = {
  report: verifier.finish(),
  firstPrev,
  lastGood: verifier.lastGood,
};
await store.close();
parentPort?.postMessage(result);
