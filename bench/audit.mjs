// `npm run bench:audit`: durable audit appends per second (SQLite, PostgreSQL; 1 and 32 writers)
// and verification records per second, each beside a baseline measured in the same run:
//   appends — the same rows inserted by the same database with the same durability and batch
//             sizes but no hash chain (the storage floor);
//   verify  — SHA-256 over the same bytes (the hashing floor).
// Issue 4's targets: ≥ 20,000 durable appends/s, ≥ 200,000 records/s verified.
// Writers are long-running gateways: each first appends a warm-up share (untimed, so the JIT has
// compiled the path as in a gateway that has served a while), then all append at once; the rate is
// the timed records over the time until the last is durable. 32 writers run as 32 threads, each
// with its own store connection like a separate gateway process, sharing one appender (the
// default) or — the comparison row — each appending on its own.
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const root = join(import.meta.dirname, '..');
const dist = (p) => join(root, 'dist', p);
const { SqliteAuditStore } = await import(dist('audit/sqlite-store.js'));
const { PostgresAuditStore } = await import(dist('audit/postgres-store.js'));
const { AuditWriter } = await import(dist('audit/writer.js'));
const { sharedAppenderPath } = await import(dist('audit/shared-appender.js'));
const { verifyStore } = await import(dist('audit/verify-store.js'));
const { keyId } = await import(dist('audit/checkpoint.js'));
const { timeOrderedId } = await import(dist('audit/ids.js'));
const PG_URL = process.env.GATEHOUSE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const APPENDS = Number(process.env.BENCH_APPENDS ?? 40_000);
const VERIFY_RECORDS = Number(process.env.BENCH_VERIFY ?? 200_000);
const IN_FLIGHT = 256;
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1500);

/** A tools/call intent shaped like the real ones (~0.9 KB). */
function event(i) {
  return {
    type: 'call.intent',
    call_id: timeOrderedId(),
    method: 'tools/call',
    jsonrpc_id: i,
    actor: { os_user: 'alice', token_subject: null, client: { name: 'codex', version: '0.169.0' } },
    thread_id: '0199a0c2-6f2b-7c11-9b1e-6a3f0d2c4e51',
    parent_thread_id: null,
    server: {
      name: 'github',
      identity: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-github@2026.1.0'] },
    },
    target: 'search_issues',
    arguments_masked: {
      q: `repo:acme/payments is:open label:bug sort:updated-desc ${i}`,
      per_page: 50,
      page: 1,
      token: '*****',
      note: 'x'.repeat(400),
    },
    arguments_hmac: createHash('sha256').update(String(i)).digest('hex'),
    decision: { kind: 'allow', rule: 'default' },
    approval: null,
  };
}

/** A writer as a gateway makes one: its own connection, sharing the machine's appender if `socketDir`. */
function gatewayWriter(store, socketDir) {
  const { privateKey } = generateKeyPairSync('ed25519');
  return new AuditWriter(store, {
    signingKey: privateKey,
    checkpointEverySeconds: 0,
    ...(socketDir ? { sharedSocket: sharedAppenderPath(store, socketDir) } : {}),
  });
}

/** Appends `n` events through `writer`, `IN_FLIGHT` at a time; resolves when all are durable. */
async function appendAll(writer, n, offset = 0) {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < n) await writer.record(event(offset + next++));
    }),
  );
}

/** The floor: the same rows in the same table, batched the same way, with no chain. */
function sqliteFloor(file, n) {
  const store = SqliteAuditStore.open(file);
  const db = store.db;
  const insert = db.prepare(
    'INSERT INTO audit_records (seq, ts, prev, hash, type, body) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const body = JSON.stringify(event(0));
  const started = performance.now();
  const batch = 256;
  for (let i = 0; i < n; i += batch) {
    db.transaction(() => {
      for (let j = i; j < Math.min(n, i + batch); j++)
        insert.run(j + 1, new Date().toISOString(), '0', '0', 'call.intent', body);
    }).immediate();
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return n / seconds;
}

if (!isMainThread) {
  // A writer thread: its own connection to the shared store, as another gateway process would.
  // It opens the store, warms up, says it is ready, appends when told to, and closes when told to.
  const { kind, location, n, offset, socketDir } = workerData;
  const store =
    kind === 'sqlite' ? SqliteAuditStore.open(location) : await PostgresAuditStore.open(location);
  const writer = gatewayWriter(store, socketDir);
  await appendAll(writer, WARMUP, 10_000_000 + offset);
  parentPort.postMessage('ready');
  await new Promise((resolve) => parentPort.once('message', resolve));
  await appendAll(writer, n, offset);
  parentPort.postMessage('done');
  await new Promise((resolve) => parentPort.once('message', resolve));
  await writer.close();
  parentPort.postMessage('closed');
} else {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-audit-'));
  const rows = [['what', 'per second', 'baseline', 'ratio']];
  const CELLS = [
    [1, true, '1 writer'],
    [32, true, '32 writers (shared appender)'],
    [32, false, '32 writers, each on its own'],
  ];
  const fmt = (n) => Math.round(n).toLocaleString('en-US');

  async function writers(kind, location, count, shared = true) {
    const per = Math.floor(APPENDS / count);
    if (count === 1) {
      const store =
        kind === 'sqlite'
          ? SqliteAuditStore.open(location)
          : await PostgresAuditStore.open(location);
      const writer = gatewayWriter(store, null);
      await appendAll(writer, WARMUP, 10_000_000);
      const started = performance.now();
      await appendAll(writer, per);
      const rate = per / ((performance.now() - started) / 1000);
      await writer.close();
      return rate;
    }
    const socketDir = shared ? mkdtempSync(join(dir, 'sock-')) : null;
    const workers = Array.from(
      { length: count },
      (_, i) =>
        new Worker(new URL(import.meta.url), {
          workerData: { kind, location, n: per, offset: i * per, socketDir },
        }),
    );
    const next = (w) =>
      new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
    await Promise.all(workers.map(next)); // all connected and warm
    const done = workers.map(next);
    const started = performance.now();
    for (const w of workers) w.postMessage('go');
    await Promise.all(done);
    const rate = (per * count) / ((performance.now() - started) / 1000);
    const closed = workers.map(next);
    for (const w of workers) w.postMessage('close');
    await Promise.all(closed);
    return rate;
  }

  // SQLite.
  const floor = sqliteFloor(join(dir, 'floor.db'), APPENDS);
  for (const [count, shared, label] of CELLS) {
    const rate = await writers('sqlite', join(dir, `w${count}${shared}.db`), count, shared);
    rows.push([
      `SQLite durable appends, ${label}`,
      fmt(rate),
      `${fmt(floor)} (unchained inserts)`,
      (rate / floor).toFixed(2),
    ]);
  }

  // PostgreSQL, when reachable.
  const schema = `gh_bench_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  let pgStore = null;
  try {
    pgStore = await PostgresAuditStore.open(`${PG_URL}?schema=${schema}_x`);
  } catch (err) {
    console.error(`PostgreSQL: skipped (${err.message})`);
  }
  if (pgStore) {
    await pgStore.close();
    for (const [count, shared, label] of CELLS) {
      const rate = await writers(
        'postgres',
        `${PG_URL}?schema=${schema}_${count}${shared ? 's' : ''}`,
        count,
        shared,
      );
      rows.push([`PostgreSQL durable appends, ${label}`, fmt(rate), '', '']);
    }
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    for (const s of [`${schema}_x`, `${schema}_1s`, `${schema}_32s`, `${schema}_32`])
      await c.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await c.end();
  }

  // Verify: a store of VERIFY_RECORDS records, then the whole chain checked.
  const big = join(dir, 'verify.db');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  {
    const writer = new AuditWriter(SqliteAuditStore.open(big), {
      signingKey: privateKey,
      checkpointEverySeconds: 0,
      maxBatch: 4096,
    });
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < VERIFY_RECORDS) await writer.record(event(next++));
      }),
    );
    await writer.close();
  }
  const store = SqliteAuditStore.open(big);
  const bodies = [];
  for await (const batch of store.records()) for (const r of batch) bodies.push(r.body);
  let t = performance.now();
  for (const b of bodies) createHash('sha256').update(b).digest('hex');
  const hashFloor = bodies.length / ((performance.now() - t) / 1000);
  t = performance.now();
  const report = await verifyStore(store, new Map([[keyId(publicKey), publicKey]]));
  const verifyRate = report.records / ((performance.now() - t) / 1000);
  await store.close();
  if (!report.ok) throw new Error(`bench store did not verify: ${report.problem?.message}`);
  rows.push([
    `verify (SQLite, ${fmt(report.records)} records, ${report.threads} thread(s))`,
    fmt(verifyRate),
    `${fmt(hashFloor)} (SHA-256 of the bodies)`,
    (verifyRate / hashFloor).toFixed(2),
  ]);

  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
  rmSync(dir, { recursive: true, force: true });
}
