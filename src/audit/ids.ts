import { randomUUID } from 'node:crypto';

/** The newest millisecond an id was stamped with: ids never go back in time within a process. */
let lastMs = 0;

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, variant 10, 74 random bits. For ids
 * stored in the audit trail's indexed `call_id` column: ids made one after another sort one after
 * another, so index inserts land at the B-tree's right edge instead of dirtying a random page per
 * record (a random v4 id cost SQLite ~17 µs per record). The millisecond prefix never decreases
 * within a process, even if the clock steps back; ids made in the same millisecond are told apart
 * by their random bits, in no particular order. Built from `randomUUID()` (Node's pooled, fast
 * random v4): its first 12 hex digits become the timestamp and its version digit becomes 7 — the
 * variant bits already match.
 */
export function timeOrderedId(): string {
  const now = Date.now();
  if (now > lastMs) lastMs = now;
  const ms = lastMs.toString(16).padStart(12, '0');
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, V in 8…b
  return `${ms.slice(0, 8)}-${ms.slice(8)}-7${random.slice(15)}`;
}
