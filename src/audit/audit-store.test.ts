import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, test, vi } from 'vitest';
import type { PreparedEvent, StoredRecord } from './chain.js';
import { canonicalJson } from './canonical-json.js';
import { recordHash } from './chain.js';
import { keyId, signNextCheckpoint } from './checkpoint.js';
import type { AuditEventBody } from './event.js';
import { indexColumns } from './event.js';
import { PostgresAuditStore } from './postgres-store.js';
import {
  SqliteAuditStore,
  WAL_AUTOCHECKPOINT_PAGES,
  WAL_SIZE_LIMIT_BYTES,
} from './sqlite-store.js';
import type { AuditStore } from './store.js';
import { AuditStoreError } from './store.js';
import { verifyStore } from './verify-store.js';
import { AuditWriter } from './writer.js';
import { PG_URL, dropSchemas, postgresAvailable } from '../../test/support/postgres.js';

const pgUp = await postgresAvailable();

const schemas: string[] = [];
afterAll(() => (pgUp ? dropSchemas(schemas) : undefined));

/** One backend: how to open a fresh store, reopen it, and run raw SQL against it (to tamper). */
interface Backend {
  name: 'sqlite' | 'postgres';
  fresh(): Promise<{ open(): Promise<AuditStore>; sql(text: string): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'sqlite',
  async fresh() {
    const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-audit-')), 'audit.db');
    return {
      open: async () => SqliteAuditStore.open(file),
      sql: async (text) => {
        const db = new Database(file);
        db.exec(text);
        db.close();
      },
    };
  },
};

const postgres: Backend = {
  name: 'postgres',
  async fresh() {
    const schema = `gh_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    schemas.push(schema);
    const url = `${PG_URL}?schema=${schema}`;
    return {
      open: () => PostgresAuditStore.open(url),
      sql: async (text) => {
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        await client.query(`SET search_path TO ${schema}`);
        await client.query(
          text
            .replaceAll('audit_records', 'records')
            .replaceAll('audit_checkpoints', 'checkpoints'),
        );
        await client.end();
      },
    };
  },
};

function key(): { privateKey: KeyObject; trusted: Map<string, KeyObject> } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, trusted: new Map([[keyId(publicKey), publicKey]]) };
}

function call(i: number, thread = 'thread-a'): AuditEventBody {
  return {
    type: 'call.intent',
    call_id: `call-${i}`,
    method: 'tools/call',
    jsonrpc_id: i,
    actor: { os_user: 'alice', token_subject: null, client: { name: 'codex', version: '0.169.0' } },
    thread_id: thread,
    parent_thread_id: null,
    server: { name: i % 2 ? 'github' : 'docs', identity: { command: 'npx', args: ['-y', 'x'] } },
    target: `tool_${i % 3}`,
    arguments_masked: { n: i, token: '*****' },
    arguments_hmac: 'f'.repeat(64),
    decision: { kind: 'allow', rule: 'default' },
    approval: null,
  };
}

/** An event as the writer prepares it; bodies carry what SQL text and array literals must escape. */
function prepared(i: number): PreparedEvent {
  const event = call(i, i % 5 ? 'thread-a' : `thread "quoted" \\ {${i}}, é 😀`);
  return {
    ts: new Date(1_700_000_000_000 + i).toISOString(),
    columns: indexColumns(event),
    body: canonicalJson({ ...event, note: `line\nbreak, 'single' "double" \\ {a,b} NULL ${i}` }),
  };
}

/** A store with `n` records written through the writer, checkpointed every `every`. */
async function filled(backend: Backend, n: number, every = 4) {
  const fresh = await backend.fresh();
  const k = key();
  const writer = new AuditWriter(await fresh.open(), {
    signingKey: k.privateKey,
    checkpointEveryRecords: every,
    checkpointEverySeconds: 0,
  });
  for (let i = 1; i <= n; i++) await writer.record(call(i));
  await writer.close();
  return { ...fresh, ...k };
}

/** Rewrites records' bodies and recomputes their hashes and links, as a forger with write access would. */
async function rehash(
  s: { open(): Promise<AuditStore>; sql(text: string): Promise<void> },
  seqs: number[],
  edit: (body: string, seq: number) => string,
): Promise<void> {
  const store = await s.open();
  const records: StoredRecord[] = [];
  for await (const batch of store.records()) records.push(...batch);
  await store.close();
  let prev = records.find((r) => r.seq === (seqs[0] as number) - 1)?.hash ?? '';
  const statements: string[] = [];
  for (const r of records.filter((x) => seqs.includes(x.seq))) {
    const changed = { ...r, body: edit(r.body, r.seq), prev };
    const { hash: _old, ...rest } = changed;
    const hash = recordHash(rest, rest.seq, { format: store.chainFormat, storeId: store.storeId });
    statements.push(
      `UPDATE audit_records SET body = '${changed.body.replaceAll("'", "''")}', prev = '${prev}', hash = '${hash}' WHERE seq = ${r.seq};`,
    );
    prev = hash;
  }
  await s.sql(statements.join('\n'));
}

async function verify(open: () => Promise<AuditStore>, trusted: Map<string, KeyObject>) {
  const store = await open();
  try {
    return await verifyStore(store, trusted);
  } finally {
    await store.close();
  }
}

describe.each([sqlite, ...(pgUp ? [postgres] : [])])('audit store: $name', (backend) => {
  test('appends link one chain; records come back in order; a clean store verifies', async () => {
    const s = await filled(backend, 10, 4);
    const store = await s.open();
    const seqs: number[] = [];
    for await (const batch of store.records()) seqs.push(...batch.map((r) => r.seq));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect((await store.head())?.seq).toBe(10);
    expect((await store.checkpoints()).map((c) => c.seq)).toEqual([4, 8, 10]);
    await store.close();
    const report = await verify(s.open, s.trusted);
    expect(report).toMatchObject({
      ok: true,
      records: 10,
      last_seq: 10,
      unanchored: 0,
      problem: null,
    });
    expect(report.checkpoints).toEqual({ total: 3, verified: 3, last_seq: 10 });
  });

  test('two writers signing the same head at once store one checkpoint, and neither fails', async () => {
    const fresh = await backend.fresh();
    const k = key();
    const a = new AuditWriter(await fresh.open(), {
      signingKey: k.privateKey,
      checkpointEverySeconds: 0,
    });
    const b = new AuditWriter(await fresh.open(), {
      signingKey: k.privateKey,
      checkpointEverySeconds: 0,
    });
    await a.record(call(1));
    await Promise.all([a.checkpoint(), b.checkpoint(), a.checkpoint()]);
    await a.close();
    await b.close();
    const store = await fresh.open();
    expect((await store.checkpoints()).map((c) => c.seq)).toEqual([1]);
    await store.close();
  });

  test('concurrent writers on separate connections keep one linear chain', async () => {
    const fresh = await backend.fresh();
    const k = key();
    const writers = await Promise.all(
      [0, 1, 2, 3].map(
        async () =>
          new AuditWriter(await fresh.open(), {
            signingKey: k.privateKey,
            checkpointEverySeconds: 0,
          }),
      ),
    );
    await Promise.all(
      writers.flatMap((w, wi) =>
        Array.from({ length: 50 }, (_, i) => w.record(call(wi * 1000 + i))),
      ),
    );
    await Promise.all(writers.map((w) => w.close()));
    const report = await verify(fresh.open, k.trusted);
    expect(report).toMatchObject({ ok: true, records: 200, last_seq: 200 });
  });

  test('one append of 1,000 events (every insert block size): rows come back exactly as appended', async () => {
    const store = await (await backend.fresh()).open();
    const events = Array.from({ length: 1000 }, (_, i) => prepared(i));
    const appended = await store.append(events);
    // A second append continues the chain from the first one's head.
    const more = await store.append(Array.from({ length: 37 }, (_, i) => prepared(1000 + i)));
    expect(more[0]).toMatchObject({ seq: 1001, prev: appended[999]?.hash });
    const back: StoredRecord[] = [];
    for await (const batch of store.records()) back.push(...batch);
    expect(back).toEqual([...appended, ...more]);
    expect(back.map((r) => r.seq)).toEqual(Array.from({ length: 1037 }, (_, i) => i + 1));
    const scope = { format: store.chainFormat, storeId: store.storeId };
    for (const r of back) expect(r.hash).toBe(recordHash(r, r.seq, scope));
    await store.close();
  });

  test('an append that fails part way writes nothing; the next append continues the chain', async () => {
    const store = await (await backend.fresh()).open();
    await store.append([prepared(0)]);
    // A row the table refuses (body is NOT NULL): in a later insert block, and among the last rows.
    for (const bad of [40, 290]) {
      const events = Array.from({ length: 300 }, (_, i) => prepared(i + 1));
      events[bad] = { ...prepared(bad), body: null as unknown as string };
      await expect(store.append(events)).rejects.toMatchObject({ code: 'write_failed' });
      expect((await store.head())?.seq).toBe(1);
    }
    const next = await store.append([prepared(1)]);
    expect(next[0]?.seq).toBe(2);
    expect((await store.stats()).records).toBe(2);
    await store.close();
  });

  test('query filters by server, target, thread, actor, decision and time; newest first with a limit', async () => {
    const fresh = await backend.fresh();
    const k = key();
    const writer = new AuditWriter(await fresh.open(), {
      signingKey: k.privateKey,
      checkpointEverySeconds: 0,
    });
    for (let i = 1; i <= 6; i++) await writer.record(call(i, i <= 3 ? 'thread-a' : 'thread-b'));
    await writer.record({ type: 'gateway.stop', reason: 'test' });
    await writer.close();
    const store = await fresh.open();
    expect((await store.query({ server: 'github' })).map((r) => r.columns.call_id)).toEqual([
      'call-1',
      'call-3',
      'call-5',
    ]);
    expect(
      (await store.query({ threadId: 'thread-b', target: 'tool_1' })).map((r) => r.seq),
    ).toEqual([4]);
    expect((await store.query({ actor: 'alice', decision: 'allow' })).length).toBe(6);
    expect((await store.query({ type: 'gateway.stop' })).length).toBe(1);
    expect((await store.query({ newestFirst: true, limit: 2 })).map((r) => r.seq)).toEqual([7, 6]);
    expect(await store.query({ since: '2999-01-01T00:00:00.000Z' })).toEqual([]);
    const stats = await store.stats();
    expect(stats).toMatchObject({ records: 7, byType: { 'call.intent': 6, 'gateway.stop': 1 } });
    await store.close();
  });

  test('prune behind a signed anchor keeps the rest verifiable; a bare delete of old records does not', async () => {
    const s = await filled(backend, 12, 4);
    const store = await s.open();
    const anchor = (await store.lastBefore('2999-01-01', 9)) as { seq: number; hash: string };
    await store.appendCheckpoint((_head, last) =>
      signNextCheckpoint(store.storeId, anchor, last, 'prune', s.privateKey),
    );
    expect(await store.prune(8)).toBe(8);
    await store.close();
    const pruned = await verify(s.open, s.trusted);
    expect(pruned).toMatchObject({ ok: true, first_seq: 9, pruned_before: 9, records: 4 });
    await s.sql("DELETE FROM audit_checkpoints WHERE purpose = 'prune'");
    const bare = await verify(s.open, s.trusted);
    expect(bare.problem).toMatchObject({ kind: 'deleted' });
  });

  test('approval queue: one pending per call, decided once, used once, two-person enforced, expiry', async () => {
    const fresh = await backend.fresh();
    const store = await fresh.open();
    const q = store.approvals();
    const ask = (binding: string, twoPerson = true, ttlMs = 60_000) =>
      q.request({
        binding,
        requester: 'alice',
        twoPerson,
        level: twoPerson ? 'two_person' : 'always',
        server: 'pay',
        tool: 'refund',
        category: 'money',
        argumentsMasked: { amount: 1 },
        policyRevision: 'pol-1',
        rule: 'r',
        ttlMs,
      });
    const first = await ask('b1');
    expect(first).toMatchObject({
      status: 'pending',
      fresh: true,
      requester: 'alice',
      category: 'money',
    });
    expect(await q.get(first.id)).toMatchObject({ category: 'money' });
    expect(await ask('b1')).toMatchObject({ id: first.id, fresh: false });
    const any = () => null;
    expect((await q.consume('b1', any)).used).toBeNull();
    await expect(q.decide(first.id, 'approved', 'alice', null)).rejects.toMatchObject({
      code: 'same_person',
    });
    await expect(q.decide('missing', 'approved', 'bob', null)).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(await q.decide(first.id, 'approved', 'bob', 'ok')).toMatchObject({
      status: 'approved',
      approver: 'bob',
    });
    await expect(q.decide(first.id, 'denied', 'carol', 'no')).rejects.toMatchObject({
      code: 'not_pending',
    });
    expect((await q.consume('other-binding', any)).used).toBeNull();
    // A stored approval counts only if the caller's check accepts it: refused ones are rejected.
    const refused = await q.consume('b1', () => 'no signed grant');
    expect(refused).toMatchObject({ used: null, rejected: [{ reason: 'no signed grant' }] });
    const second = await ask('b3');
    await q.decide(second.id, 'approved', 'bob', 'ok', { statement: { x: 1 } });
    expect((await q.get(second.id))?.grant).toEqual({ statement: { x: 1 } });
    expect((await q.consume('b3', any)).used).toMatchObject({ id: second.id, status: 'used' });
    expect((await q.consume('b3', any)).used).toBeNull();
    const short = await ask('b2', false, 1);
    await new Promise((r) => setTimeout(r, 20));
    // Deciding an expired approval says so (not "already decided"), and changes nothing.
    for (const decision of ['approved', 'denied'] as const)
      await expect(q.decide(short.id, decision, 'bob', 'late')).rejects.toMatchObject({
        code: 'expired',
        message: expect.stringMatching(
          new RegExp(`^approval ${short.id} expired at .* and can no longer be decided`),
        ) as unknown,
      });
    expect(await q.get(short.id)).toMatchObject({ approver: null, decidedAt: null, reason: null });
    // The refused decisions were rolled back: the expiry is reported once, by the next write.
    expect(q.takeExpired()).toEqual([]);
    await q.list();
    expect(await q.get(short.id)).toMatchObject({ status: 'expired', approver: null });
    expect(q.takeExpired().map((a) => a.id)).toEqual([short.id]);
    expect(q.takeExpired()).toEqual([]);
    // A denial is remembered for exactly that call until it expires.
    const denied = await ask('b4');
    await q.decide(denied.id, 'denied', 'bob', 'not today');
    const now = new Date().toISOString();
    expect(await q.deniedFor('b4', now)).toMatchObject({
      id: denied.id,
      approver: 'bob',
      reason: 'not today',
    });
    expect(await q.deniedFor('b1', now)).toBeNull();
    expect(await q.deniedFor('b4', denied.expiresAt)).toBeNull();
    expect((await q.list({ all: true })).map((a) => a.status).sort()).toEqual([
      'denied',
      'expired',
      'rejected',
      'used',
    ]);
    expect(await q.list()).toEqual([]);
    await store.close();
  });

  describe('tampering is detected, at the right record', () => {
    test('a field edited in place → modified at that record', async () => {
      const s = await filled(backend, 10);
      await s.sql(`UPDATE audit_records SET body = replace(body, '"n":6', '"n":66') WHERE seq = 6`);
      expect((await verify(s.open, s.trusted)).problem).toMatchObject({ kind: 'modified', seq: 6 });
    });

    test('a query column edited (the body untouched) → modified', async () => {
      const s = await filled(backend, 10);
      await s.sql(`UPDATE audit_records SET server = 'other' WHERE seq = 3`);
      expect((await verify(s.open, s.trusted)).problem).toMatchObject({ kind: 'modified', seq: 3 });
    });

    test('a row deleted → deleted, naming the missing record', async () => {
      const s = await filled(backend, 10);
      await s.sql('DELETE FROM audit_records WHERE seq = 5');
      const problem = (await verify(s.open, s.trusted)).problem;
      expect(problem).toMatchObject({ kind: 'deleted', seq: 5 });
      expect(problem?.message).toContain('record 5 is missing');
    });

    test('two rows swapped → reordered', async () => {
      const s = await filled(backend, 10);
      await s.sql(`
        UPDATE audit_records SET seq = -1 WHERE seq = 6;
        UPDATE audit_records SET seq = 6 WHERE seq = 7;
        UPDATE audit_records SET seq = 7 WHERE seq = -1;`);
      expect((await verify(s.open, s.trusted)).problem).toMatchObject({
        kind: 'reordered',
        seq: 6,
      });
    });

    test('a forged row inserted (later rows renumbered) → inserted at the forged record', async () => {
      const s = await filled(backend, 10);
      await s.sql(`
        UPDATE audit_records SET seq = seq + 1000 WHERE seq >= 4;
        UPDATE audit_records SET seq = seq - 999 WHERE seq >= 1000;
        INSERT INTO audit_records (seq, ts, prev, hash, type, body)
          VALUES (4, '2026-01-01T00:00:00.000Z', 'x', 'y', 'call.intent', '{}');`);
      expect((await verify(s.open, s.trusted)).problem).toMatchObject({ kind: 'inserted', seq: 4 });
    });

    test('the tail truncated → truncated, after the last record left', async () => {
      const s = await filled(backend, 10, 4);
      await s.sql('DELETE FROM audit_records WHERE seq > 7');
      const problem = (await verify(s.open, s.trusted)).problem;
      expect(problem).toMatchObject({ kind: 'truncated', seq: 8 });
      expect(problem?.message).toContain('records 8..10 are gone');
    });

    test('a record rewritten with a recomputed hash → the next record still points to the original', async () => {
      const s = await filled(backend, 10);
      await rehash(s, [5], (body) => body.replace('"n":5', '"n":55'));
      const problem = (await verify(s.open, s.trusted)).problem;
      expect(problem).toMatchObject({ kind: 'modified', seq: 5 });
      expect(problem?.message).toContain('rewritten with a new hash');
    });

    test('the whole tail rewritten and re-chained → rewritten, caught by the signed checkpoint', async () => {
      const s = await filled(backend, 10, 4);
      await rehash(s, [6, 7, 8, 9, 10], (body, seq) =>
        seq === 6 ? body.replace('"n":6', '"n":60') : body,
      );
      expect((await verify(s.open, s.trusted)).problem).toMatchObject({
        kind: 'rewritten',
        seq: 8,
      });
    });

    test('a forged checkpoint signature → bad_signature; a checkpoint by an unknown key → untrusted_key', async () => {
      const s = await filled(backend, 8, 4);
      await s.sql(`UPDATE audit_checkpoints SET signature = 'AAAA' WHERE seq = 4`);
      expect((await verify(s.open, s.trusted)).problem).toMatchObject({
        kind: 'bad_signature',
        seq: 4,
      });
      expect((await verify(s.open, key().trusted)).problem).toMatchObject({
        kind: 'untrusted_key',
      });
    });
  });
});

describe('SQLite: the WAL stays bounded', () => {
  test('checkpointed every ~8 MiB, and trimmed back to its limit after a long read held it open', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-audit-wal-')), 'audit.db');
    const store = SqliteAuditStore.open(file);
    const walBytes = () => statSync(`${file}-wal`).size;
    const MiB = 2 ** 20;
    let next = 0;
    /** Appends about `mib` MiB in ~1 MiB appends; returns the largest WAL seen after one. */
    const append = async (mib: number) => {
      let largest = 0;
      for (let written = 0; written < mib * MiB; written += 16 * 64 * 1024) {
        await store.append(
          Array.from({ length: 16 }, () => ({
            ...prepared(next),
            body: canonicalJson({ i: next++, pad: 'x'.repeat(64 * 1024) }),
          })),
        );
        largest = Math.max(largest, walBytes());
      }
      return largest;
    };
    const cycle = (WAL_AUTOCHECKPOINT_PAGES * 4096) / MiB;
    const steady = await append(3 * cycle);
    expect(steady).toBeGreaterThan(0.9 * cycle * MiB); // not SQLite's default ~4 MiB
    expect(steady).toBeLessThan((cycle + 2) * MiB); // one cycle, one append and frame headers
    // A read transaction keeps the WAL from restarting, so it grows past the limit…
    const reader = new Database(file, { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM audit_records').get();
    await append(WAL_SIZE_LIMIT_BYTES / MiB + 4);
    expect(walBytes()).toBeGreaterThan(WAL_SIZE_LIMIT_BYTES);
    reader.exec('COMMIT');
    reader.close();
    // …and once it can restart, the file gives the space back.
    await append(2 * cycle);
    expect(walBytes()).toBeLessThanOrEqual(WAL_SIZE_LIMIT_BYTES);
    expect((await store.head())?.seq).toBe(next);
    await store.close();
  });
});

describe.skipIf(!pgUp)('PostgreSQL store', () => {
  test('a 63-character schema: prepared statement names stay within 63 bytes', async () => {
    const schema = `gh_test_${randomUUID().replaceAll('-', '')}`.padEnd(63, 'x');
    schemas.push(schema);
    const warned = vi.spyOn(console, 'error');
    const store = await PostgresAuditStore.open(`${PG_URL}?schema=${schema}`);
    try {
      // 341 = 256 + 64 + 16, each a named prepared statement, and 5 rows in an unnamed one.
      await store.append(Array.from({ length: 341 }, (_, i) => prepared(i)));
      expect((await store.stats()).records).toBe(341);
      expect(warned).not.toHaveBeenCalled();
    } finally {
      warned.mockRestore();
      await store.close();
    }
  });
});

describe('opening a store that is not ours', () => {
  test('a file that is not SQLite, a foreign SQLite file, a newer schema: clear errors naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-bad-'));
    const junk = join(dir, 'junk.db');
    writeFileSync(
      junk,
      'this is not a database, just text that is long enough to look like a header'.repeat(10),
      { mode: 0o600 },
    );
    expect(() => SqliteAuditStore.open(junk)).toThrow(
      /junk\.db: not a SQLite database, or corrupt/,
    );
    const foreign = join(dir, 'foreign.db');
    const db = new Database(foreign);
    db.exec('CREATE TABLE invoices (id INTEGER)');
    db.close();
    chmodSync(foreign, 0o600);
    expect(() => SqliteAuditStore.open(foreign)).toThrow(
      /foreign\.db: a SQLite database, but not a Gatehouse audit store \(tables: invoices\)/,
    );
    const newer = join(dir, 'newer.db');
    SqliteAuditStore.open(newer).close();
    const n = new Database(newer);
    n.exec("UPDATE gatehouse_meta SET value = '99' WHERE key = 'schema_version'");
    n.close();
    expect(() => SqliteAuditStore.open(newer)).toThrow(
      /schema version 99 was written by a newer Gatehouse/,
    );
    expect(() => SqliteAuditStore.open(join(dir, 'absent.db'), { mustExist: true })).toThrow(
      AuditStoreError,
    );
  });

  test.skipIf(!pgUp)('PostgreSQL: unreachable, and a schema holding other tables', async () => {
    await expect(
      PostgresAuditStore.open('postgres://nobody:secret-pw@127.0.0.1:1/test'),
    ).rejects.toThrow(
      /cannot reach the PostgreSQL audit store postgres:\/\/nobody:\*\*\*\*\*@127\.0\.0\.1:1\/test/,
    );
    await expect(
      PostgresAuditStore.open('postgres://nobody:secret-pw@127.0.0.1:1/test'),
    ).rejects.not.toThrow(/secret-pw/);
    const schema = `gh_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    schemas.push(schema);
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.invoices (id int)`);
    await client.end();
    await expect(PostgresAuditStore.open(`${PG_URL}?schema=${schema}`)).rejects.toThrow(
      /schema '.*' holds other tables \(invoices\)/,
    );
  });
});
