import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { PostgresAuditStore } from '../audit/postgres-store.js';
import { SqliteAuditStore } from '../audit/sqlite-store.js';
import { PG_URL, dropSchemas, postgresAvailable } from '../../test/support/postgres.js';
import { tempDir } from '../../test/support/fixtures.js';

/**
 * Single use of a sealed requestState across processes: the claim lives in the audit store's
 * database, so two gateways on one SQLite file, or two replicas on one PostgreSQL schema, accept
 * a state once between them.
 */
const SCHEMA = `gh_claims_${process.pid % 100000}`;
const stores: { close(): Promise<void> | void }[] = [];
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  if (await postgresAvailable()) await dropSchemas([SCHEMA]);
});

const later = (ms: number) => new Date(Date.now() + ms).toISOString();

describe('requestState claims in the shared store', () => {
  test('SQLite: two processes on one file; a state is claimed once; expired claims are forgotten', async () => {
    const file = join(tempDir(), 'audit.db');
    const one = SqliteAuditStore.open(file);
    const two = SqliteAuditStore.open(file);
    stores.push(one, two);
    expect(await one.approvals().claimState('s1', later(60_000))).toBe(true);
    expect(await two.approvals().claimState('s1', later(60_000))).toBe(false);
    expect(await one.approvals().claimState('s1', later(60_000))).toBe(false);
    expect(await two.approvals().claimState('s2', later(-1))).toBe(true);
    // s2's claim is past its expiry (the state itself is refused as expired by then).
    expect(await one.approvals().claimState('s2', later(60_000))).toBe(true);
  });

  test('PostgreSQL: two replicas racing for one state; exactly one wins', async () => {
    if (!(await postgresAvailable())) return;
    const url = `${PG_URL}?schema=${SCHEMA}`;
    const one = await PostgresAuditStore.open(url);
    stores.push(one);
    const two = await PostgresAuditStore.open(url);
    stores.push(two);
    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? one : two).approvals().claimState('race', later(60_000)),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await one.approvals().claimState('other', later(60_000))).toBe(true);
  });
});
