import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { PreparedEvent } from './chain.js';
import { keyId } from './checkpoint.js';
import type { AuditEventBody } from './event.js';
import { PostgresAuditStore } from './postgres-store.js';
import { sharedAppenderDir, sharedAppenderPath } from './shared-appender.js';
import { SqliteAuditStore } from './sqlite-store.js';
import type { AuditStore } from './store.js';
import { verifyStore } from './verify-store.js';
import { AuditWriter } from './writer.js';
import { PG_URL, dropSchemas, postgresAvailable } from '../../test/support/postgres.js';

const pgUp = await postgresAvailable();
const schemas: string[] = [];
afterAll(() => (pgUp ? dropSchemas(schemas) : undefined));

/** A private socket directory, as `sharedAppenderDir` would make. */
function socketDir(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'gh-sock-')), 's');
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

function key(): { privateKey: KeyObject; trusted: Map<string, KeyObject> } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, trusted: new Map([[keyId(publicKey), publicKey]]) };
}

function call(id: string): AuditEventBody {
  return {
    type: 'call.intent',
    call_id: id,
    method: 'tools/call',
    jsonrpc_id: 1,
    actor: { os_user: 'alice', token_subject: null, client: { name: 'codex', version: '1' } },
    thread_id: 't',
    parent_thread_id: null,
    server: { name: 'github', identity: { command: 'npx', args: [] } },
    target: 'search',
    arguments_masked: { q: id },
    arguments_hmac: 'h',
    decision: { kind: 'allow', rule: 'default' },
    approval: null,
  };
}

interface Backend {
  name: string;
  fresh(): () => Promise<AuditStore>;
}
const backends: Backend[] = [
  {
    name: 'sqlite',
    fresh() {
      const file = join(mkdtempSync(join(tmpdir(), 'gh-shared-')), 'audit.db');
      return async () => SqliteAuditStore.open(file);
    },
  },
  ...(pgUp
    ? [
        {
          name: 'postgres',
          fresh() {
            const schema = `gh_shared_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
            schemas.push(schema);
            return () => PostgresAuditStore.open(`${PG_URL}?schema=${schema}`);
          },
        },
      ]
    : []),
];

async function writerOn(open: () => Promise<AuditStore>, dir: string, k: KeyObject) {
  const store = await open();
  return new AuditWriter(store, {
    signingKey: k,
    checkpointEverySeconds: 0,
    sharedSocket: sharedAppenderPath(store, dir),
  });
}

/** Every call id in the store, in chain order. */
async function callIds(open: () => Promise<AuditStore>): Promise<string[]> {
  const store = await open();
  const ids: string[] = [];
  for await (const batch of store.records())
    for (const r of batch)
      if (r.columns.type === 'call.intent') ids.push(String(r.columns.call_id));
  await store.close();
  return ids;
}

describe.each(backends)('shared appender: $name', (backend) => {
  test('the first writer hosts, the next hands it its records; one linear chain, every record once', async () => {
    const open = backend.fresh();
    const dir = socketDir();
    const k = key();
    const host = await writerOn(open, dir, k.privateKey);
    expect(await host.sharedRole()).toBe('host');
    const clients = await Promise.all([1, 2, 3].map(() => writerOn(open, dir, k.privateKey)));
    for (const c of clients) expect(await c.sharedRole()).toBe('client');
    const sent = [host, ...clients].flatMap((w, wi) =>
      Array.from({ length: 60 }, (_, i) => ({ w, id: `w${wi}-${i}` })),
    );
    const stored = await Promise.all(sent.map(({ w, id }) => w.record(call(id))));
    // What a client is told was stored is what the store holds at that position.
    const store = await open();
    const bySeq = new Map<number, string>();
    for await (const batch of store.records()) for (const r of batch) bySeq.set(r.seq, r.hash);
    for (const r of stored) expect(bySeq.get(r.seq)).toBe(r.hash);
    await store.close();
    for (const c of clients) await c.close();
    await host.close();
    const ids = await callIds(open);
    expect(ids.sort()).toEqual(sent.map((s) => s.id).sort());
    const report = await verifyStore(await open(), k.trusted);
    expect(report).toMatchObject({ ok: true, records: 240, problem: null });
  });

  test('a host that leaves answers what it took; its clients elect a new host and lose nothing', async () => {
    const open = backend.fresh();
    const dir = socketDir();
    const k = key();
    const first = await writerOn(open, dir, k.privateKey);
    const second = await writerOn(open, dir, k.privateKey);
    const third = await writerOn(open, dir, k.privateKey);
    expect([await first.sharedRole(), await second.sharedRole()]).toEqual(['host', 'client']);
    const ids: string[] = [];
    let n = 0;
    const pump = (w: AuditWriter, prefix: string, count: number) =>
      (async () => {
        for (let i = 0; i < count; i++) {
          const id = `${prefix}-${n++}`;
          ids.push(id);
          await w.record(call(id));
        }
      })();
    const busy = [pump(second, 's', 150), pump(third, 't', 150), pump(second, 's2', 150)];
    await new Promise((r) => setTimeout(r, 5));
    await first.close(); // leaves while the others are sending
    await Promise.all(busy);
    expect(['host', 'client']).toContain(await second.sharedRole());
    expect([await second.sharedRole(), await third.sharedRole()].sort()).toEqual([
      'client',
      'host',
    ]);
    await second.close();
    await third.close();
    expect((await callIds(open)).sort()).toEqual(ids.sort());
    expect(await verifyStore(await open(), k.trusted)).toMatchObject({ ok: true, problem: null });
  });
});

describe('shared appender: a host that dies', () => {
  /** A host that takes one frame, then dies (destroys the connection) without answering. */
  async function dyingHost(path: string, before: (events: PreparedEvent[]) => Promise<void>) {
    const server = net.createServer((socket) => {
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString();
        const nl = text.indexOf('\n');
        if (nl === -1) return;
        const frame = JSON.parse(text.slice(0, nl)) as { events: PreparedEvent[] };
        void before(frame.events).then(() => {
          socket.destroy();
          server.close();
        });
      });
    });
    await new Promise<void>((r) => server.listen(path, r));
    return server;
  }

  test.each([
    ['after committing the batch', true],
    ['before committing it', false],
  ])('%s: the client writes each record exactly once and then hosts itself', async (_, commits) => {
    const file = join(mkdtempSync(join(tmpdir(), 'gh-shared-')), 'audit.db');
    const dir = socketDir();
    const k = key();
    const hostStore = SqliteAuditStore.open(file);
    const path = sharedAppenderPath(hostStore, dir);
    await dyingHost(path, async (events) => {
      if (commits) await hostStore.append(events);
    });
    const client = new AuditWriter(SqliteAuditStore.open(file), {
      signingKey: k.privateKey,
      checkpointEverySeconds: 0,
      sharedSocket: path,
    });
    expect(await client.sharedRole()).toBe('client');
    const ids = Array.from({ length: 20 }, (_, i) => `c-${i}`);
    const stored = await Promise.all(ids.map((id) => client.record(call(id))));
    expect(new Set(stored.map((r) => r.seq)).size).toBe(20);
    expect(await client.sharedRole()).toBe('host');
    await client.record(call('after'));
    await client.close();
    await hostStore.close();
    expect((await callIds(async () => SqliteAuditStore.open(file))).sort()).toEqual(
      [...ids, 'after'].sort(),
    );
    const report = await verifyStore(SqliteAuditStore.open(file), k.trusted);
    expect(report).toMatchObject({ ok: true, records: 21, problem: null });
  });

  test('a socket left behind by a dead host is cleared and the next writer hosts', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gh-shared-')), 'audit.db');
    const dir = socketDir();
    const k = key();
    const store = SqliteAuditStore.open(file);
    const path = sharedAppenderPath(store, dir);
    // A listening socket whose process is gone: bind it, then close the handle but keep the file.
    const { spawnSync } = await import('node:child_process');
    spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`,
    ]);
    const writer = new AuditWriter(store, {
      signingKey: k.privateKey,
      checkpointEverySeconds: 0,
      sharedSocket: path,
    });
    expect(await writer.sharedRole()).toBe('host');
    await writer.record(call('x'));
    await writer.close();
  });
});

describe('shared appender: who may use it', () => {
  test('a socket directory others can enter turns sharing off', () => {
    const runtime = mkdtempSync(join(tmpdir(), 'gh-rt-'));
    mkdirSync(join(runtime, 'gatehouse'), { mode: 0o755 });
    chmodSync(join(runtime, 'gatehouse'), 0o755);
    expect(sharedAppenderDir({ XDG_RUNTIME_DIR: runtime })).toBeNull();
    chmodSync(join(runtime, 'gatehouse'), 0o700);
    expect(sharedAppenderDir({ XDG_RUNTIME_DIR: runtime })).toBe(join(runtime, 'gatehouse'));
  });

  test('a malformed batch is refused with a reason, and nothing is written', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gh-shared-')), 'audit.db');
    const dir = socketDir();
    const k = key();
    const store = SqliteAuditStore.open(file);
    const host = new AuditWriter(store, {
      signingKey: k.privateKey,
      checkpointEverySeconds: 0,
      sharedSocket: sharedAppenderPath(store, dir),
    });
    expect(await host.sharedRole()).toBe('host');
    const socket = net.connect(sharedAppenderPath(store, dir));
    const reply = await new Promise<string>((resolve) => {
      socket.on('data', (d: Buffer) => resolve(d.toString()));
      socket.write(
        `${JSON.stringify({ id: 7, events: [{ ts: 'x', columns: { type: 1 }, body: '{}' }] })}\n`,
      );
    });
    expect(JSON.parse(reply)).toEqual({
      id: 7,
      error: 'a malformed audit batch was refused',
      code: 'invalid',
    });
    socket.destroy();
    await host.close();
    expect((await SqliteAuditStore.open(file).stats()).records).toBe(0);
  });
});

describe('shared appender: the wire edge (fuzzed)', () => {
  test('garbage, bad JSON and wrong shapes never crash the host or write a record; a valid batch split anywhere is written once', async () => {
    const fc = (await import('fast-check')).default;
    const file = join(mkdtempSync(join(tmpdir(), 'gh-shared-')), 'audit.db');
    const dir = socketDir();
    const k = key();
    const store = SqliteAuditStore.open(file);
    const path = sharedAppenderPath(store, dir);
    const host = new AuditWriter(store, {
      signingKey: k.privateKey,
      checkpointEverySeconds: 0,
      sharedSocket: path,
    });
    expect(await host.sharedRole()).toBe('host');
    const valid = (id: string) => ({
      ts: new Date().toISOString(),
      columns: {
        type: 'call.intent',
        server: 's',
        target: null,
        decision: 'allow',
        outcome: null,
        thread_id: null,
        actor: null,
        call_id: id,
      },
      body: JSON.stringify({ id }),
    });
    /**
     * Sends `bytes` in the given pieces; resolves with what came back: the first whole reply line
     * when one is expected (however long a loaded machine takes), else what arrived before the host
     * went quiet.
     */
    const exchange = (pieces: Buffer[], replyExpected = false) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(path);
        let got = '';
        const done = () => {
          socket.destroy();
          resolve(got);
        };
        socket.on('data', (d: Buffer) => {
          got += d.toString();
          if (replyExpected && got.includes('\n')) done();
        });
        socket.on('error', () => undefined);
        socket.on('close', done);
        socket.on('connect', () => {
          for (const p of pieces) socket.write(p);
        });
        setTimeout(done, replyExpected ? 30_000 : 40);
      });
    let written = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from([...a, 10])),
          fc.jsonValue().map((v) => Buffer.from(`${JSON.stringify(v)}\n`)),
          fc
            .record({ id: fc.integer(), events: fc.array(fc.jsonValue(), { maxLength: 3 }) })
            .map((v) => Buffer.from(`${JSON.stringify(v)}\n`)),
        ),
        async (garbage) => {
          await exchange([garbage]);
        },
      ),
      { numRuns: 40 },
    );
    expect((await store.stats()).records).toBe(0);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 400 }), async (cut) => {
        const frame = Buffer.from(
          `${JSON.stringify({ id: 1, events: [valid(`v${written}`), valid(`w${written}`)] })}\n`,
        );
        const at = Math.min(cut, frame.length - 1);
        const reply = await exchange([frame.subarray(0, at), frame.subarray(at)], true);
        written += 2;
        expect(JSON.parse(reply)).toMatchObject({
          id: 1,
          records: [[written - 1], [written]].map(([s]) => [
            s,
            expect.any(String),
            expect.any(String),
          ]),
        });
      }),
      { numRuns: 25 },
    );
    await host.close();
    const report = await verifyStore(SqliteAuditStore.open(file), k.trusted);
    expect(report).toMatchObject({ ok: true, records: written, problem: null });
  });
});

describe('shared appender: never what keeps a gateway running', () => {
  const dist = join(import.meta.dirname, '..', '..', 'dist', 'audit');
  /** A process that opens a writer on the store, records one event, and returns without closing. */
  function gatewayThatJustReturns(file: string, path: string, lingerMs = 0) {
    const script = `
      const { SqliteAuditStore } = await import(${JSON.stringify(join(dist, 'sqlite-store.js'))});
      const { AuditWriter } = await import(${JSON.stringify(join(dist, 'writer.js'))});
      const { generateKeyPairSync } = await import('node:crypto');
      const writer = new AuditWriter(SqliteAuditStore.open(${JSON.stringify(file)}), {
        signingKey: generateKeyPairSync('ed25519').privateKey,
        checkpointEverySeconds: 0,
        sharedSocket: ${JSON.stringify(path)},
      });
      console.log(await writer.sharedRole());
      await writer.record({ type: 'gateway.stop', reason: 'child' });
      await new Promise((r) => setTimeout(r, ${lingerMs}));`;
    return new Promise<{ code: number | null; out: string }>((resolve) => {
      void import('node:child_process').then(({ spawn }) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script]);
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', (code) => {
          clearTimeout(kill);
          resolve({ code, out: out.trim() });
        });
      });
    });
  }

  // The child gateways run the built code (`npm test` builds before vitest, so this runs there);
  // only a bare `vitest` on a tree never built skips it, like the other dist-based suites.
  test.skipIf(!existsSync(join(dist, 'writer.js')))(
    'a client whose gateway ends without closing exits; so does a host with an idle client connected',
    async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'gh-shared-')), 'audit.db');
      const dir = socketDir();
      const k = key();
      const store = SqliteAuditStore.open(file);
      const path = sharedAppenderPath(store, dir);
      const host = new AuditWriter(store, {
        signingKey: k.privateKey,
        checkpointEverySeconds: 0,
        sharedSocket: path,
      });
      expect(await host.sharedRole()).toBe('host');
      expect(await gatewayThatJustReturns(file, path)).toEqual({ code: 0, out: 'client' });
      await host.close();

      // Now the child hosts (it lingers 500 ms), and an idle client is connected when it returns.
      const child = gatewayThatJustReturns(file, path, 500);
      const { until } = await import('../../test/support/processes.js');
      expect(await until(() => existsSync(path), 5000)).toBe(true);
      const idle = new AuditWriter(SqliteAuditStore.open(file), {
        signingKey: k.privateKey,
        checkpointEverySeconds: 0,
        sharedSocket: path,
      });
      expect(await idle.sharedRole()).toBe('client');
      expect(await child).toEqual({ code: 0, out: 'host' });
      await idle.close();
    },
  );
});
