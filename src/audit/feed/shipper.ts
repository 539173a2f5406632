import type { StoredRecord } from '../chain.js';
import type { AuditStore } from '../store.js';
import { shipBatch } from './batch.js';
import type { ShipPosition } from './position.js';
import { readPosition, ShipStateError, writePosition } from './position.js';
import type { ShipSink } from './sinks.js';
import { SinkError } from './sinks.js';

export interface ShipOptions {
  store: AuditStore;
  sink: ShipSink;
  stateFile: string;
  batchSize: number;
  /** Keep following new records until `stop` resolves. */
  follow: boolean;
  stop: Promise<void>;
  pollMs?: number;
  /** Delivery attempts per batch before giving up (exit 24). */
  attempts?: number;
  onBatch?(first: number, last: number): void;
}

/** Where to start: after the remembered record, checked to still link to the store's chain. */
async function startingPoint(
  store: AuditStore,
  stateFile: string,
  sinkId: string,
): Promise<ShipPosition> {
  const remembered = readPosition(stateFile);
  if (!remembered)
    return {
      version: 1,
      store_id: store.storeId,
      sink: sinkId,
      seq: 0,
      hash: null,
      updated_at: new Date().toISOString(),
    };
  if (remembered.store_id !== store.storeId)
    throw new ShipStateError(
      `${stateFile}: remembers store ${remembered.store_id}, but this store is ${store.storeId}; use another --state file for this store`,
    );
  if (remembered.sink !== sinkId)
    throw new ShipStateError(
      `${stateFile}: remembers shipping to '${remembered.sink}', not '${sinkId}'; use one --state file per sink`,
    );
  return remembered;
}

/** The next records after `seq`, at most `limit`. */
async function nextRecords(store: AuditStore, seq: number, limit: number): Promise<StoredRecord[]> {
  for await (const batch of store.records(seq + 1, seq + limit)) return batch.slice(0, limit);
  return [];
}

async function deliverWithRetry(
  sink: ShipSink,
  batch: ReturnType<typeof shipBatch>,
  attempts: number,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await sink.deliver(batch);
      return;
    } catch (err) {
      if (attempt >= attempts) throw err instanceof SinkError ? err : new SinkError(String(err));
      await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
    }
  }
}

/**
 * Ships the trail after the remembered position, batch by batch: deliver, then (only once the
 * sink took it) remember the batch's last seq and hash. A gap in the store after the position
 * (pruned, or a different chain) stops it rather than skipping records silently.
 */
export async function shipAudit(options: ShipOptions): Promise<{ shipped: number; seq: number }> {
  const { store, sink, stateFile } = options;
  let position = await startingPoint(store, stateFile, sink.id);
  let stopped = false;
  void options.stop.then(() => (stopped = true));
  let shipped = 0;
  while (!stopped) {
    const records = await nextRecords(store, position.seq, options.batchSize);
    const first = records[0];
    if (!first) {
      if (!options.follow) break;
      await Promise.race([new Promise((r) => setTimeout(r, options.pollMs ?? 1000)), options.stop]);
      continue;
    }
    const fresh = position.seq === 0 && position.hash === null;
    if (!fresh && (first.seq !== position.seq + 1 || first.prev !== position.hash))
      throw new ShipStateError(
        `the store does not continue where shipping stopped (after #${position.seq}, the next record is #${first.seq}${first.prev !== position.hash ? ' and does not link to it' : ''}): records were pruned or the store was replaced; move ${stateFile} away to ship from the first record that is there`,
      );
    await deliverWithRetry(sink, shipBatch(store.storeId, records), options.attempts ?? 3);
    const last = records[records.length - 1] as StoredRecord;
    position = {
      ...position,
      seq: last.seq,
      hash: last.hash,
      updated_at: new Date().toISOString(),
    };
    writePosition(stateFile, position);
    shipped += records.length;
    options.onBatch?.(first.seq, last.seq);
  }
  return { shipped, seq: position.seq };
}
