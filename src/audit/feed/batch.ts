import type { StoredRecord } from '../chain.js';

/**
 * One delivery: consecutive records and the chain hashes around them. `prev_hash` is the hash
 * the first record links to (the last one of the previous batch), `last_hash` the last record's:
 * a receiver that keeps `last_hash` checks the next batch's `prev_hash` equals it, so a batch
 * dropped or replayed shows; replays (the batch in flight when a shipper was killed) repeat
 * seqs it already has and are dropped by seq.
 */
export interface ShipBatch {
  kind: 'gatehouse.audit.batch';
  version: 1;
  store_id: string;
  first_seq: number;
  last_seq: number;
  prev_hash: string;
  last_hash: string;
  records: ShippedRecord[];
}

/** A record as shipped: what `audit export` writes for it (the event is already masked). */
export interface ShippedRecord {
  seq: number;
  ts: string;
  prev: string;
  hash: string;
  columns: StoredRecord['columns'];
  event: Record<string, unknown>;
}

export function shipBatch(storeId: string, records: readonly StoredRecord[]): ShipBatch {
  const first = records[0];
  const last = records[records.length - 1];
  if (!first || !last) throw new Error('an empty batch is never shipped');
  return {
    kind: 'gatehouse.audit.batch',
    version: 1,
    store_id: storeId,
    first_seq: first.seq,
    last_seq: last.seq,
    prev_hash: first.prev,
    last_hash: last.hash,
    records: records.map((r) => ({
      seq: r.seq,
      ts: r.ts,
      prev: r.prev,
      hash: r.hash,
      columns: r.columns,
      event: JSON.parse(r.body) as Record<string, unknown>,
    })),
  };
}
