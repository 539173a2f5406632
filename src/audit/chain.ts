import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import type { IndexColumns } from './event.js';
import { COLUMN_NAMES } from './event.js';

/** The `prev` of the first record ever written. */
export const GENESIS_HASH = '0'.repeat(64);

const DOMAIN = 'gatehouse-audit-record-v1';

/** The end of the chain: the last record's sequence number and hash. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/** An event ready to append: its time, its index columns and its canonical JSON. */
export interface PreparedEvent {
  ts: string;
  columns: IndexColumns;
  body: string;
}

/** One record as stored and exported. */
export interface StoredRecord extends PreparedEvent {
  seq: number;
  prev: string;
  hash: string;
}

/** The columns, in a fixed order, as the hash sees them. */
function columnsText(columns: IndexColumns): string {
  return canonicalJson(COLUMN_NAMES.map((name) => columns[name]));
}

/**
 * A record's hash: SHA-256 over its sequence number, time, the previous record's hash, its
 * index columns and its canonical body. Every field a store keeps is covered, so editing any of
 * them — even a query column, not the body — breaks the chain at that record.
 */
export function recordHash(record: Omit<StoredRecord, 'hash'>): string {
  return createHash('sha256')
    .update(
      `${DOMAIN}\n${record.seq}\n${record.ts}\n${record.prev}\n${columnsText(record.columns)}\n`,
    )
    .update(record.body)
    .digest('hex');
}

/** Links `events` after `head` (pure: the stores call it inside their append transaction). */
export function chainRecords(
  head: ChainHead | null,
  events: readonly PreparedEvent[],
): StoredRecord[] {
  let seq = head?.seq ?? 0;
  let prev = head?.hash ?? GENESIS_HASH;
  return events.map((event) => {
    seq += 1;
    const record = { ...event, seq, prev };
    const hash = recordHash(record);
    prev = hash;
    return { ...record, hash };
  });
}
