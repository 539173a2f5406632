import type { ApprovalQueue } from '../approval/queue.js';
import type { ChainFormat, ChainHead, PreparedEvent, RawRecordRow, StoredRecord } from './chain.js';
import type { Checkpoint } from './checkpoint.js';

/** Filters of `audit query` (all optional; combined with AND). */
export interface AuditFilter {
  type?: string;
  server?: string;
  target?: string;
  decision?: string;
  outcome?: string;
  threadId?: string;
  actor?: string;
  callId?: string;
  /** ISO timestamps, inclusive lower bound, exclusive upper bound. */
  since?: string;
  until?: string;
  afterSeq?: number;
  /** Most recent first when set with `newestFirst`. */
  limit?: number;
  newestFirst?: boolean;
}

export interface AuditStats {
  records: number;
  first: { seq: number; ts: string } | null;
  last: { seq: number; ts: string } | null;
  byType: Record<string, number>;
  checkpoints: number;
  lastCheckpoint: { seq: number; ts: string } | null;
  /** Bytes on disk (SQLite) or in the tables (PostgreSQL). */
  bytes: number | null;
}

/**
 * Where audit records live. Both implementations (SQLite, PostgreSQL) pass one shared test
 * suite. `append` is the only writer: it reads the head and links the new records inside one
 * exclusive transaction, so any number of processes appending to one store keep one linear
 * chain, and it resolves only once the records are durable.
 */
export interface AuditStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Where it is, safe to print (a PostgreSQL password is masked). */
  readonly location: string;
  /** Random id fixed when the store is created; checkpoints name it. */
  readonly storeId: string;
  /** How records and checkpoints are hashed and signed (chain.ts); fixed when created. */
  readonly chainFormat: ChainFormat;
  append(events: readonly PreparedEvent[]): Promise<StoredRecord[]>;
  head(): Promise<ChainHead | null>;
  /** Format 1 (legacy) stores: stores a checkpoint as signed. */
  addCheckpoint(checkpoint: Checkpoint): Promise<void>;
  /**
   * Format 2: inside the append lock, reads the head and the latest checkpoint and stores what
   * `make` signs from them (the next link of the chain of checkpoints); `make` returns null when
   * there is nothing to sign. Resolves with what was stored.
   */
  appendCheckpoint(
    make: (head: ChainHead | null, last: Checkpoint | null) => Checkpoint | null,
  ): Promise<Checkpoint | null>;
  checkpoints(): Promise<Checkpoint[]>;
  /** Every record from `fromSeq` on, in sequence order, in batches (a consistent read). */
  records(fromSeq?: number, toSeq?: number): AsyncIterable<StoredRecord[]>;
  /** The same as raw rows, when the store can (the verifier's fast path). */
  rawRecords?(fromSeq?: number, toSeq?: number): AsyncIterable<RawRecordRow[]>;
  /**
   * `[seq, type, call_id, body]` of the records of these types, in order (content checks); for
   * the `gatewayOnly` types the body is `{"gateway":{…}}` alone.
   */
  rawRecordsOfTypes?(
    types: readonly string[],
    gatewayOnly?: readonly string[],
  ): AsyncIterable<RawRecordRow[]>;
  query(filter: AuditFilter): Promise<StoredRecord[]>;
  stats(): Promise<AuditStats>;
  /**
   * Deletes records with seq ≤ `throughSeq`, once a signed checkpoint anchors the rest. Format 2
   * keeps every checkpoint (their chain stays whole); format 1 deletes those before the anchor.
   */
  prune(throughSeq: number): Promise<number>;
  /** The last record written before `ts` with seq below `belowSeq` (for prune). */
  lastBefore(ts: string, belowSeq?: number): Promise<ChainHead | null>;
  /** The approval queue kept in the same database. */
  approvals(): ApprovalQueue;
  close(): Promise<void>;
}

/** A store cannot be opened or written: says which and how to fix it. */
export class AuditStoreError extends Error {
  constructor(
    message: string,
    readonly code: 'corrupt' | 'foreign' | 'schema' | 'unreachable' | 'write_failed' | 'usage',
  ) {
    super(message);
  }
}

/** The schema version this build writes; stores record theirs in their meta table. */
export const AUDIT_SCHEMA_VERSION = 1;

export const QUERY_BATCH = 2000;
