import { hash as digest } from 'node:crypto';
import type { IndexColumns } from './event.js';

/** The `prev` of the first record ever written. */
export const GENESIS_HASH = '0'.repeat(64);

const DOMAIN = 'gatehouse-audit-record-v1';
const DOMAIN_V2 = 'gatehouse-audit-record-v2';

/**
 * How a store's records are hashed. 1 (legacy): SHA-256 over the record alone. 2: the same, in
 * its own domain and with the store's id, so a record cannot be moved to another store, nor the
 * store's id changed, without re-hashing every record — which no signed checkpoint then covers.
 * Checkpoints of a format-2 store also form a signed chain of their own (checkpoint.ts).
 */
export type ChainFormat = 1 | 2;

/** The format new stores are created with. */
export const CURRENT_CHAIN_FORMAT: ChainFormat = 2;

/** What a record's hash is bound to besides the record: its store's format and (v2) id. */
export interface ChainScope {
  format: ChainFormat;
  storeId: string;
}

function domainLine(scope: ChainScope | undefined): string {
  return scope && scope.format === 2 ? `${DOMAIN_V2}\n${scope.storeId}` : DOMAIN;
}

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

function column(value: string | null): string {
  return value === null ? 'null' : JSON.stringify(value);
}

/** The columns, in a fixed order, as the hash sees them: a JSON array (canonical: strings, nulls). */
function columnsText(c: IndexColumns): string {
  return `[${column(c.type)},${column(c.server)},${column(c.target)},${column(c.decision)},${column(c.outcome)},${column(c.thread_id)},${column(c.actor)},${column(c.call_id)}]`;
}

/**
 * A record's hash: SHA-256 over its sequence number, time, the previous record's hash, its
 * index columns and its canonical body. Every field a store keeps is covered, so editing any of
 * them — even a query column, not the body — breaks the chain at that record. `asSeq` checks
 * whether a record would hash right at another position (how the verifier tells a swap).
 */
export function recordHash(
  record: Omit<StoredRecord, 'hash'>,
  asSeq = record.seq,
  scope?: ChainScope,
): string {
  return digest(
    'sha256',
    `${domainLine(scope)}\n${asSeq}\n${record.ts}\n${record.prev}\n${columnsText(record.columns)}\n${record.body}`,
    'hex',
  );
}

/** Links `events` after `head` (pure: the stores call it inside their append transaction). */
export function chainRecords(
  head: ChainHead | null,
  events: readonly PreparedEvent[],
  scope?: ChainScope,
): StoredRecord[] {
  let seq = head?.seq ?? 0;
  let prev = head?.hash ?? GENESIS_HASH;
  const out: StoredRecord[] = new Array<StoredRecord>(events.length);
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as PreparedEvent;
    seq += 1;
    const record: StoredRecord = {
      ts: event.ts,
      columns: event.columns,
      body: event.body,
      seq,
      prev,
      hash: '',
    };
    record.hash = recordHash(record, seq, scope);
    prev = record.hash;
    out[i] = record;
  }
  return out;
}

/**
 * A stored row as the database returns it, in this column order:
 * seq, ts, prev, hash, type, server, target, decision, outcome, thread_id, actor, call_id, body.
 */
export type RawRecordRow = readonly unknown[];

/** The record hash straight from a raw row (no objects: the verifier's fast path). */
export function rawRecordHash(r: RawRecordRow, scope?: ChainScope): string {
  const c = (i: number) => (r[i] === null ? 'null' : JSON.stringify(r[i]));
  return digest(
    'sha256',
    `${domainLine(scope)}\n${String(r[0])}\n${String(r[1])}\n${String(r[2])}\n[${c(4)},${c(5)},${c(6)},${c(7)},${c(8)},${c(9)},${c(10)},${c(11)}]\n${String(r[12])}`,
    'hex',
  );
}

export function recordFromRaw(r: RawRecordRow): StoredRecord {
  return {
    seq: r[0] as number,
    ts: r[1] as string,
    prev: r[2] as string,
    hash: r[3] as string,
    columns: {
      type: r[4] as string,
      server: r[5] as string | null,
      target: r[6] as string | null,
      decision: r[7] as string | null,
      outcome: r[8] as string | null,
      thread_id: r[9] as string | null,
      actor: r[10] as string | null,
      call_id: r[11] as string | null,
    },
    body: r[12] as string,
  };
}
