import type { Checkpoint } from './checkpoint.js';
import type { AuditFilter } from './store.js';

// Its own module, shared by both stores, so that neither store's driver loads the other's.
/** SQL WHERE for a filter, shared with the PostgreSQL store (placeholders by `param`). */
export function whereClause(
  filter: AuditFilter,
  param: (value: unknown) => string,
): { sql: string } {
  const parts: string[] = [];
  const eq: [keyof AuditFilter, string][] = [
    ['type', 'type'],
    ['server', 'server'],
    ['target', 'target'],
    ['decision', 'decision'],
    ['outcome', 'outcome'],
    ['threadId', 'thread_id'],
    ['actor', 'actor'],
    ['callId', 'call_id'],
  ];
  for (const [key, column] of eq) {
    const value = filter[key];
    if (value !== undefined) parts.push(`${column} = ${param(value)}`);
  }
  if (filter.since !== undefined) parts.push(`ts >= ${param(filter.since)}`);
  if (filter.until !== undefined) parts.push(`ts < ${param(filter.until)}`);
  if (filter.afterSeq !== undefined) parts.push(`seq > ${param(filter.afterSeq)}`);
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '' };
}

/** A checkpoint row as stored (format 2 columns null in format 1 stores). */
export interface CheckpointRow {
  seq: number;
  hash: string;
  ts: string;
  key_id: string;
  signature: string;
  idx?: number | null;
  prev_checkpoint?: string | null;
  purpose?: string | null;
}

/** A stored checkpoint row as a Checkpoint (shared with the PostgreSQL store). */
export function checkpointFromRow(row: CheckpointRow): Checkpoint {
  const cp: Checkpoint = {
    seq: Number(row.seq),
    hash: row.hash,
    ts: row.ts,
    key_id: row.key_id,
    signature: row.signature,
  };
  if (row.idx !== null && row.idx !== undefined) {
    cp.index = Number(row.idx);
    cp.prev_checkpoint = row.prev_checkpoint ?? '';
    cp.purpose = (row.purpose ?? 'periodic') as Checkpoint['purpose'];
  }
  return cp;
}
