import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, test } from 'vitest';
import { keyId } from '../../src/audit/checkpoint.js';
import { EXPORT_KIND, verifyExport } from '../../src/audit/export.js';
import type { ShipBatch, ShippedRecord } from '../../src/audit/feed/batch.js';
import { parseOctetFrames } from '../../src/audit/feed/syslog.js';
import { loadOrCreateAuditKeys } from '../../src/audit/keys.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-store.js';
import { AuditWriter } from '../../src/audit/writer.js';
import { tempDir } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';
import { HAS_OPENSSL, selfSigned } from '../support/self-signed.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c().catch(() => undefined);
});

/** A store with `n` records (group commit, so 10,000 take seconds, not minutes). */
async function storeWith(n: number, home = tempDir(), from = 0): Promise<string> {
  const keys = loadOrCreateAuditKeys(home);
  const writer = new AuditWriter(SqliteAuditStore.open(join(home, 'audit.db')), {
    signingKey: keys.signing,
    checkpointEverySeconds: 0,
  });
  for (let i = from; i < from + n; i += 500)
    await Promise.all(
      Array.from({ length: Math.min(500, from + n - i) }, (_, j) =>
        writer.record({
          type: 'server.state',
          server: 's',
          state: 'ready',
          detail: `record ${i + j}`,
          thread_id: `t${i + j}`,
          parent_thread_id: null,
        }),
      ),
    );
  await writer.close();
  return home;
}

/**
 * A SIEM-side HTTP receiver that checks the chain as it goes: a batch must start where the last
 * one ended (`prev_hash` = the last hash kept); a batch it already has (the one in flight when a
 * shipper was killed) is recognised by seq and hash, and dropped.
 */
async function chainCheckingReceiver() {
  const kept: ShippedRecord[] = [];
  const problems: string[] = [];
  let replayed = 0;
  let storeId: string | null = null;
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const batch = JSON.parse(body) as ShipBatch;
      storeId ??= batch.store_id;
      const lastSeq = kept.at(-1)?.seq ?? 0;
      for (const r of batch.records) {
        if (r.seq <= lastSeq) {
          if (kept[r.seq - 1]?.hash !== r.hash) problems.push(`#${r.seq} replayed differently`);
          replayed += 1;
          continue;
        }
        const expectedPrev = kept.at(-1)?.hash;
        if (r.seq !== (kept.at(-1)?.seq ?? 0) + 1) problems.push(`gap before #${r.seq}`);
        if (expectedPrev !== undefined && r.prev !== expectedPrev)
          problems.push(`#${r.seq} does not link`);
        kept.push(r);
      }
      // Slow enough that a kill lands mid-stream.
      setTimeout(() => res.writeHead(200).end('{}'), 3);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/ingest`,
    kept,
    problems,
    replayed: () => replayed,
    storeId: () => storeId,
  };
}

function ship(home: string, args: string[]) {
  const child = spawn(process.execPath, [BIN, 'audit', 'ship', ...args], {
    env: { ...process.env, GATEHOUSE_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, stderr: () => stderr };
}

/** The records the receiver kept, as an export file, checked by `audit verify`'s own code. */
async function verifyKept(home: string, storeId: string, kept: ShippedRecord[]) {
  const file = join(tempDir(), 'received.jsonl');
  const header = {
    kind: EXPORT_KIND,
    version: 1,
    store_id: storeId,
    store: 'received',
    chain_format: 2,
    exported_at: new Date().toISOString(),
    public_keys: {},
  };
  writeFileSync(
    file,
    [header, ...kept.map((r) => ({ kind: 'record', ...r }))]
      .map((l) => JSON.stringify(l))
      .join('\n'),
  );
  const keys = loadOrCreateAuditKeys(home);
  const pub = keys.publicKey;
  return verifyExport(file, new Map([[keyId(pub), pub]]));
}

describe.skipIf(!existsSync(BIN))('audit ship', () => {
  test('killed at random points and restarted, it delivers 10,000 records exactly once, in chain order', async () => {
    const home = await storeWith(10_000);
    const receiver = await chainCheckingReceiver();
    const state = join(tempDir(), 'ship', 'state.json');
    const args = ['--sink', 'http', '--to', receiver.url, '--state', state, '--batch-size', '100'];
    const kills: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const run = ship(home, args);
      const delay = 150 + Math.floor(Math.random() * 600);
      const timer = setTimeout(() => run.child.kill('SIGKILL'), delay);
      const code = await run.exited;
      clearTimeout(timer);
      if (code === 0) break;
      kills.push(receiver.kept.length);
    }
    const last = ship(home, args);
    expect(await last.exited).toBe(0);
    expect(kills.length, `killed after ${kills.join(', ')} records`).toBeGreaterThan(0);

    expect(receiver.problems).toEqual([]);
    expect(receiver.kept.map((r) => r.seq)).toEqual(
      Array.from({ length: 10_000 }, (_, i) => i + 1),
    );
    // Only the batch in flight at each kill can come again, and the receiver drops it by seq.
    expect(receiver.replayed()).toBeLessThanOrEqual(kills.length * 100);
    const report = await verifyKept(home, receiver.storeId() as string, receiver.kept);
    expect(report.problem).toBeNull();
    expect(report.records).toBe(10_000);

    expect(statSync(state).mode & 0o777).toBe(0o600);
    const position = JSON.parse(readFileSync(state, 'utf8')) as { seq: number; hash: string };
    expect(position.seq).toBe(10_000);
    expect(position.hash).toBe(receiver.kept.at(-1)?.hash);

    // Shipping again sends nothing: every record was delivered once.
    const before = receiver.kept.length + receiver.replayed();
    const again = await cli(['audit', 'ship', ...args, '--json'], { GATEHOUSE_HOME: home });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ shipped: 0, through_seq: 10_000 });
    expect(receiver.kept.length + receiver.replayed()).toBe(before);
  }, 120_000);

  test('an unreachable sink exits 24 and the position stays', async () => {
    const home = await storeWith(5);
    const state = join(tempDir(), 'state.json');
    // A port nothing listens on: bind one, then close it.
    const probe = createTcpServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const run = await cli(
      [
        'audit',
        'ship',
        '--sink',
        'otlp',
        '--to',
        `http://127.0.0.1:${port}/v1/logs`,
        '--state',
        state,
      ],
      { GATEHOUSE_HOME: home },
    );
    expect(run.code).toBe(24);
    expect(run.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/logs: ECONNREFUSED/);
    expect(existsSync(state)).toBe(false);
  }, 30_000);

  test('export --after continues where a previous export ended; --since picks by time', async () => {
    const home = await storeWith(30);
    const run = await cli(['audit', 'export', '--after', '25'], { GATEHOUSE_HOME: home });
    expect(run.code).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ kind: EXPORT_KIND, after_seq: 25 });
    expect(lines.filter((l) => l.kind === 'record').map((l) => l.seq)).toEqual([
      26, 27, 28, 29, 30,
    ]);
    const future = await cli(['audit', 'export', '--since', '2999-01-01'], {
      GATEHOUSE_HOME: home,
    });
    expect(future.stdout.split('\n').filter((l) => l.includes('"kind":"record"'))).toEqual([]);
    const bad = await cli(['audit', 'export', '--after', 'x'], { GATEHOUSE_HOME: home });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--after x');
  });

  test.skipIf(!HAS_OPENSSL)(
    'syslog over TCP and TLS: RFC 5424, octet-counted, each record once with its chain position',
    async () => {
      const home = await storeWith(120);
      const dir = tempDir();
      const { cert, key } = selfSigned(dir, 'syslog', 'localhost', ['IP:127.0.0.1']);
      for (const scheme of ['tcp', 'tls'] as const) {
        const messages: string[] = [];
        const onSocket = (socket: Socket) => {
          let pending: Buffer = Buffer.alloc(0);
          socket.on('data', (d: Buffer) => {
            const { messages: got, rest } = parseOctetFrames(Buffer.concat([pending, d]));
            messages.push(...got);
            pending = rest;
          });
        };
        const server: NetServer =
          scheme === 'tcp'
            ? createTcpServer(onSocket)
            : createTlsServer({ cert: readFileSync(cert), key: readFileSync(key) }, onSocket);
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        closers.push(() => new Promise<void>((r) => server.close(() => r())));
        const port = (server.address() as { port: number }).port;
        const run = await cli(
          [
            'audit',
            'ship',
            '--sink',
            'syslog',
            '--to',
            `${scheme}://127.0.0.1:${port}`,
            '--state',
            join(dir, `${scheme}.json`),
            '--batch-size',
            '50',
            ...(scheme === 'tls' ? ['--ca', cert] : []),
          ],
          { GATEHOUSE_HOME: home },
        );
        expect(run.code, run.stderr).toBe(0);
        for (let i = 0; i < 100 && messages.length < 120; i++)
          await new Promise((r) => setTimeout(r, 20));
        const rfc5424 =
          /^<(\d+)>1 (\S+) (\S+) gatehouse - server\.state \[gatehouse@32473 seq="(\d+)" hash="([0-9a-f]{64})" prev="([0-9a-f]{64})" store="[^"]+"\] \uFEFF(\{.*\})$/s;
        const parsed = messages.map((m) => rfc5424.exec(m));
        expect(
          parsed.every((p) => p !== null),
          messages[0],
        ).toBe(true);
        expect(parsed.map((p) => Number(p?.[4]))).toEqual(
          Array.from({ length: 120 }, (_, i) => i + 1),
        );
        expect(parsed[0]?.[1]).toBe('110'); // facility 13 (log audit), informational
        for (let i = 1; i < parsed.length; i++) expect(parsed[i]?.[6]).toBe(parsed[i - 1]?.[5]);
        expect(JSON.parse(parsed[7]?.[7] ?? '{}')).toMatchObject({
          type: 'server.state',
          thread_id: 't7',
        });
      }
    },
    60_000,
  );

  test('--follow ships records as they are written, and stops cleanly on SIGTERM', async () => {
    const home = await storeWith(50);
    const receiver = await chainCheckingReceiver();
    const state = join(tempDir(), 'state.json');
    const run = ship(home, ['--sink', 'http', '--to', receiver.url, '--state', state, '--follow']);
    for (let i = 0; i < 200 && receiver.kept.length < 50; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(receiver.kept.length).toBe(50);
    await storeWith(30, home, 50); // the gateway goes on writing
    for (let i = 0; i < 200 && receiver.kept.length < 80; i++)
      await new Promise((r) => setTimeout(r, 25));
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(receiver.problems).toEqual([]);
    expect(receiver.kept.map((r) => r.event.thread_id)).toEqual(
      Array.from({ length: 80 }, (_, i) => `t${i}`),
    );
    expect(run.stderr()).toContain('shipped 80 records');
  }, 30_000);
});
