import type { KeyObject } from 'node:crypto';
import type { ChainHead } from './chain.js';
import type { Checkpoint } from './checkpoint.js';
import type { AuditStore } from './store.js';
import type { VerifyReport } from './verify.js';
import { ChainVerifier } from './verify.js';

/** Verifies a live store: its checkpoints, then every record in order (streamed in batches). */
export async function verifyStore(
  store: AuditStore,
  trustedKeys: ReadonlyMap<string, KeyObject>,
  remembered: ChainHead | null = null,
  onProgress?: (records: number) => void,
): Promise<VerifyReport & { checkpoint: Checkpoint | null }> {
  const checkpoints = await store.checkpoints();
  const verifier = new ChainVerifier({
    storeId: store.storeId,
    checkpoints,
    trustedKeys,
    remembered,
  });
  let n = 0;
  reading: for await (const batch of store.records()) {
    for (const record of batch) if (!verifier.push(record)) break reading;
    n += batch.length;
    if (n % 50_000 < batch.length) onProgress?.(n);
  }
  const report = verifier.finish();
  const last = report.checkpoints.last_seq;
  return {
    ...report,
    checkpoint: last === null ? null : (checkpoints.filter((c) => c.seq === last).pop() ?? null),
  };
}
