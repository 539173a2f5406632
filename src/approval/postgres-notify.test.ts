import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import { PostgresAuditStore } from '../audit/postgres-store.js';
import { PG_URL, dropSchemas, postgresAvailable } from '../../test/support/postgres.js';
import type { NewApproval } from './queue.js';

/**
 * Two processes' queues on one PostgreSQL schema, as two replicas have them: a decision made
 * through one wakes a call waiting on the other (LISTEN/NOTIFY), and a listener that is cut off
 * never strands a waiter (it falls back to reading the row).
 */
const SCHEMA = `gh_notify_${process.pid % 100000}`;
const URL = `${PG_URL}?schema=${SCHEMA}`;
const stores: PostgresAuditStore[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  if (stores.length > 0) await dropSchemas([SCHEMA]);
});

const approval = (binding: string): NewApproval => ({
  binding,
  requester: 'user:alice',
  twoPerson: true,
  level: 'two_person',
  server: 'pay',
  tool: 'refund',
  argumentsMasked: {},
  policyRevision: 'p1',
  rule: 'r',
  ttlMs: 60_000,
});

describe('approvals across replicas (PostgreSQL LISTEN/NOTIFY)', () => {
  test('a decision through one replica wakes the waiter on the other; a cut listener falls back', async () => {
    if (!(await postgresAvailable())) return;
    const one = await PostgresAuditStore.open(URL);
    stores.push(one);
    const two = await PostgresAuditStore.open(URL);
    stores.push(two);
    const waiting = one.approvals();
    const row = await waiting.request(approval('b'.repeat(64)));
    // Listening starts with the first wait; nothing decided yet: it times out.
    expect(await waiting.waitForChange(row.id, 300)).toBe('timeout');

    const woken = waiting.waitForChange(row.id, 60_000);
    await two.approvals().decide(row.id, 'approved', 'user:bob', null, { any: 'grant' });
    expect(await woken).toBe('changed');
    expect((await waiting.get(row.id))?.status).toBe('approved');

    // The listening connection dies (a failover, an admin's pg_terminate_backend): the waiter is
    // woken to read the row itself, and the next wait listens again.
    const other = await waiting.request(approval('c'.repeat(64)));
    const cut = waiting.waitForChange(other.id, 60_000);
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN gatehouse_approvals' AND pid <> pg_backend_pid()`,
    );
    await admin.end();
    expect(await cut).toBe('changed');
    expect((await waiting.get(other.id))?.status).toBe('pending');
    expect(await waiting.waitForChange(other.id, 300)).toBe('timeout'); // listening again
    const again = waiting.waitForChange(other.id, 60_000);
    await two.approvals().decide(other.id, 'denied', 'user:bob', 'no');
    expect(await again).toBe('changed');
  }, 60_000);
});
