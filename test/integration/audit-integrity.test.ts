// Attacks on the audit trail by someone who can write the database but does not hold the
// signing key, done with plain SQL on SQLite and on PostgreSQL, and what `gatehouse audit
// verify` says about each (exit status and message).
import { randomUUID } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, test } from 'vitest';
import type { StoredRecord } from '../../src/audit/chain.js';
import { recordHash } from '../../src/audit/chain.js';
import { loadOrCreateAuditKeys } from '../../src/audit/keys.js';
import { openAuditStore } from '../../src/audit/open-store.js';
import type { AuditStore } from '../../src/audit/store.js';
import { AuditWriter } from '../../src/audit/writer.js';
import { tempDir } from '../support/fixtures.js';
import { PG_URL, dropSchemas, postgresAvailable } from '../support/postgres.js';
import { cli } from '../support/run-cli.js';

const pgUp = await postgresAvailable();
const schemas: string[] = [];
afterAll(() => (pgUp ? dropSchemas(schemas) : undefined));

interface Backend {
  name: 'sqlite' | 'postgres';
  /** A new, empty store location (`--audit` spec) and how to run raw SQL against it. */
  fresh(): { spec: string; sql(text: string): Promise<void> };
}

const sqlite: Backend = {
  name: 'sqlite',
  fresh() {
    const file = join(tempDir(), 'audit.db');
    return {
      spec: file,
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
  fresh() {
    const schema = `gh_integrity_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    schemas.push(schema);
    return {
      spec: `${PG_URL}?schema=${schema}`,
      sql: async (text) => {
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        await client.query(`SET search_path TO ${schema}`);
        await client.query(
          text
            .replaceAll('audit_records', 'records')
            .replaceAll('audit_checkpoints', 'checkpoints')
            .replaceAll('gatehouse_meta', 'meta'),
        );
        await client.end();
      },
    };
  },
};

interface Filled {
  home: string;
  spec: string;
  witness: string;
  sql(text: string): Promise<void>;
  open(): Promise<AuditStore>;
}

/** A store of `n` records written by a gateway's writer: a checkpoint every 4, each witnessed. */
async function filled(backend: Backend, n = 12): Promise<Filled> {
  const home = tempDir();
  const { spec, sql } = backend.fresh();
  const witness = join(tempDir(), 'witness.jsonl');
  const keys = loadOrCreateAuditKeys(home);
  const open = () => openAuditStore(spec, home);
  const writer = new AuditWriter(await open(), {
    signingKey: keys.signing,
    checkpointEveryRecords: 4,
    checkpointEverySeconds: 0,
    witnessFile: witness,
  });
  for (let i = 1; i <= n; i++)
    await writer.record({
      type: 'server.state',
      server: 'docs',
      state: 'ready',
      detail: `state ${i}`,
      thread_id: null,
      parent_thread_id: null,
    });
  await writer.close();
  return { home, spec, witness, sql, open };
}

interface Report {
  ok: boolean;
  complete: boolean;
  format: number;
  findings: { kind: string; message: string }[];
  problem: { kind: string; seq: number; message: string } | null;
}

async function verify(s: Filled, args: string[] = []): Promise<{ code: number; report: Report }> {
  const r = await cli(['--audit', s.spec, 'audit', 'verify', '--json', ...args], {
    GATEHOUSE_HOME: s.home,
  });
  expect(r.stderr).toBe('');
  return { code: r.code, report: JSON.parse(r.stdout) as Report };
}

async function readAll(s: Filled): Promise<{ records: StoredRecord[]; storeId: string }> {
  const store = await s.open();
  const records: StoredRecord[] = [];
  for await (const batch of store.records()) records.push(...batch);
  await store.close();
  return { records, storeId: store.storeId };
}

/**
 * What a forger with write access does: edits records from `from` on and recomputes every hash
 * and link after them (record hashes are public SHA-256; the store id is in the database).
 */
async function rechain(
  s: Filled,
  from: number,
  edit: (r: StoredRecord) => string,
  storeId?: string,
): Promise<void> {
  const { records, storeId: id } = await readAll(s);
  const scope = { format: 2 as const, storeId: storeId ?? id };
  let prev = records.find((r) => r.seq === from - 1)?.hash ?? '0'.repeat(64);
  const statements: string[] = [];
  for (const r of records.filter((x) => x.seq >= from)) {
    const body = edit(r);
    const hash = recordHash({ ...r, body, prev }, r.seq, scope);
    statements.push(
      `UPDATE audit_records SET body = '${body.replaceAll("'", "''")}', prev = '${prev}', hash = '${hash}' WHERE seq = ${r.seq};`,
    );
    prev = hash;
  }
  await s.sql(statements.join('\n'));
}

const forge = (r: StoredRecord) => r.body.replace(/"state \d+"/, '"forged"');

describe.each([sqlite, ...(pgUp ? [postgres] : [])])(
  'audit integrity against a database writer without the key: $name',
  (backend) => {
    test('a clean store: exit 0, every record anchored, format 2', async () => {
      const s = await filled(backend);
      const { code, report } = await verify(s);
      expect(code).toBe(0);
      expect(report).toMatchObject({ ok: true, complete: true, format: 2, findings: [] });
    });

    test('every checkpoint deleted and the history rewritten consistently → NO_CHECKPOINT, exit 19', async () => {
      const s = await filled(backend);
      await s.sql('DELETE FROM audit_checkpoints');
      await rechain(s, 1, forge);
      const { code, report } = await verify(s);
      expect(code).toBe(19);
      expect(report.ok).toBe(true);
      expect(report.findings[0]).toMatchObject({ kind: 'no_checkpoint' });
      expect(report.findings[0]?.message).toContain(
        'no signed checkpoint vouches for any of the 12',
      );
    });

    test('the newest checkpoints deleted and the tail they covered rewritten → UNANCHORED_TAIL (19); the witness names it (9)', async () => {
      const s = await filled(backend);
      await s.sql('DELETE FROM audit_checkpoints WHERE seq > 4');
      await rechain(s, 5, forge);
      const alone = await verify(s);
      expect(alone.code).toBe(19);
      expect(alone.report.findings[0]).toMatchObject({ kind: 'unanchored_tail' });
      expect(alone.report.findings[0]?.message).toContain('records 5..12 (8) come after');
      const witnessed = await verify(s, ['--witness', s.witness]);
      expect(witnessed.code).toBe(9);
      expect(witnessed.report.problem).toMatchObject({ kind: 'truncated' });
      expect(witnessed.report.problem?.message).toContain(`the witness ${s.witness}`);
    });

    test('a checkpoint in the middle deleted → DELETED (exit 9), naming the checkpoint', async () => {
      const s = await filled(backend);
      await s.sql('DELETE FROM audit_checkpoints WHERE seq = 8');
      const { code, report } = await verify(s);
      expect(code).toBe(9);
      expect(report.problem).toMatchObject({ kind: 'deleted' });
      expect(report.problem?.message).toContain('signed checkpoint 2 is missing (deleted)');
    });

    test('records and checkpoints cut off at a checkpoint → caught by this machine’s memory and by the witness', async () => {
      const s = await filled(backend);
      expect((await verify(s)).code).toBe(0); // remembered: checkpoint 3 at record 12
      await s.sql(
        'DELETE FROM audit_records WHERE seq > 8; DELETE FROM audit_checkpoints WHERE seq > 8',
      );
      const remembered = await verify(s);
      expect(remembered.code).toBe(9);
      expect(remembered.report.problem).toMatchObject({ kind: 'truncated' });
      expect(remembered.report.problem?.message).toMatch(
        /checkpoints end at checkpoint 2, but this machine's verification of .* \(remembered in .*verified\.json; see --show-remembered, reset with --forget\) holds checkpoint 3/,
      );
      const forgotten = await verify(s, ['--forget', '--witness', s.witness]);
      expect(forgotten.code).toBe(9);
      expect(forgotten.report.problem?.message).toContain(`the witness ${s.witness}`);
    });

    test('the store id changed (history re-hashed under it, checkpoints dropped) → the memory of this location reports it (19); the witness says replaced (9)', async () => {
      const s = await filled(backend);
      expect((await verify(s)).code).toBe(0);
      const newId = randomUUID();
      await s.sql(
        `UPDATE gatehouse_meta SET value = '${newId}' WHERE key = 'store_id'; DELETE FROM audit_checkpoints;`,
      );
      await rechain(s, 1, forge, newId);
      const { code, report } = await verify(s);
      expect(code).toBe(19);
      expect(report.findings.map((f) => f.kind)).toEqual(['no_checkpoint', 'store_replaced']);
      expect(report.findings[1]?.message).toContain(`but this is store ${newId}`);
      const witnessed = await verify(s, ['--witness', s.witness]);
      expect(witnessed.code).toBe(9);
      expect(witnessed.report.problem?.message).toContain(`none of this store (${newId})`);
    });

    test('only the store id changed → every signature and record fails under the new id (exit 9)', async () => {
      const s = await filled(backend);
      await s.sql(`UPDATE gatehouse_meta SET value = '${randomUUID()}' WHERE key = 'store_id'`);
      const { code, report } = await verify(s);
      expect(code).toBe(9);
      expect(report.problem?.kind).toBe('bad_signature');
    });

    test('the oldest records deleted up to a checkpoint that is not a prune → DELETED (exit 9); a real prune verifies', async () => {
      const s = await filled(backend);
      await s.sql('DELETE FROM audit_records WHERE seq <= 8');
      const { code, report } = await verify(s);
      expect(code).toBe(9);
      expect(report.problem).toMatchObject({ kind: 'deleted', seq: 1 });
      expect(report.problem?.message).toContain("not a prune's anchor");

      const legit = await filled(backend);
      const pruned = await cli(
        ['--audit', legit.spec, 'audit', 'prune', '--before', '2999-01-01', '--json'],
        { GATEHOUSE_HOME: legit.home },
      );
      expect(pruned.code).toBe(0);
      const after = await verify(legit);
      expect(after.code).toBe(0);
      expect(after.report).toMatchObject({ ok: true, complete: true });
    });
  },
);

describe('remembered verification (issue: a diverged copy made the original look rewritten)', () => {
  test('verifying a diverged copy never turns the intact original into REWRITTEN; memory is per location, shown and reset', async () => {
    const s = await filled(sqlite);
    expect((await verify(s)).code).toBe(0);
    const copyFile = join(tempDir(), 'copy.db');
    copyFileSync(s.spec, copyFile);
    const copy: Filled = { ...s, spec: copyFile, open: () => openAuditStore(copyFile, s.home) };
    // The copy diverges: more records and checkpoints of its own, same store id.
    const writer = new AuditWriter(await copy.open(), {
      signingKey: loadOrCreateAuditKeys(s.home).signing,
      checkpointEverySeconds: 0,
    });
    await writer.record({ type: 'gateway.stop', reason: 'copy' });
    await writer.close();
    expect((await verify(copy)).code).toBe(0);
    // The original, untouched, also gets records the copy does not have.
    const w2 = new AuditWriter(await s.open(), {
      signingKey: loadOrCreateAuditKeys(s.home).signing,
      checkpointEverySeconds: 0,
    });
    await w2.record({ type: 'gateway.stop', reason: 'original' });
    await w2.close();
    const original = await cli(['--audit', s.spec, 'audit', 'verify'], { GATEHOUSE_HOME: s.home });
    expect(original.code).toBe(0);
    expect(original.stdout).toContain('audit trail OK');
    expect(original.stdout).toContain(`a copy of this store at ${copyFile} was verified`);
    const shown = await cli(['audit', 'verify', '--show-remembered'], { GATEHOUSE_HOME: s.home });
    expect(shown.stdout).toContain(copyFile);
    expect(shown.stdout).toContain(s.spec);
    const forgot = await cli(['--audit', s.spec, 'audit', 'verify', '--forget'], {
      GATEHOUSE_HOME: s.home,
    });
    expect(forgot.stdout).toMatch(/forgot 2 remembered verification\(s\)/);
  });

  test('a legacy (format 1) store still verifies, with a note about its weaker guarantees', async () => {
    const home = tempDir();
    const file = join(tempDir(), 'legacy.db');
    const sql = async (text: string) => {
      const db = new Database(file);
      db.exec(text);
      db.close();
    };
    (await openAuditStore(file, home)).close();
    await sql("DELETE FROM gatehouse_meta WHERE key = 'chain_format'");
    const writer = new AuditWriter(await openAuditStore(file, home), {
      signingKey: loadOrCreateAuditKeys(home).signing,
      checkpointEverySeconds: 0,
    });
    await writer.record({ type: 'gateway.stop', reason: 'legacy' });
    await writer.close();
    const r = await cli(['--audit', file, 'audit', 'verify'], { GATEHOUSE_HOME: home });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('legacy store (format 1), weaker guarantees');
  });

  test('the witness: one line per checkpoint; also read from a loopback URL, never a remote one', async () => {
    const s = await filled(sqlite);
    const text = readFileSync(s.witness, 'utf8');
    const lines = text.trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { index: number }).index)).toEqual([1, 2, 3]);
    await s.sql(
      'DELETE FROM audit_records WHERE seq > 8; DELETE FROM audit_checkpoints WHERE seq > 8',
    );
    const server = createServer((_req, res) => res.end(text));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/witness.jsonl`;
      const viaUrl = await verify(s, ['--witness', url]);
      expect(viaUrl.code).toBe(9);
      expect(viaUrl.report.problem?.message).toContain(`the witness ${url}`);
    } finally {
      server.close();
    }
    const remote = await cli(
      ['--audit', s.spec, 'audit', 'verify', '--witness', 'http://witness.example.com/w.jsonl'],
      { GATEHOUSE_HOME: s.home },
    );
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain('only a loopback URL');
  });
});
