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
