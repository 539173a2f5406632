import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, test } from 'vitest';
import { loadOrCreateAuditKeys } from '../../src/audit/keys.js';
import { SqliteAuditStore } from '../../src/audit/sqlite-store.js';
import { AuditWriter } from '../../src/audit/writer.js';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';
import { PG_URL, dropSchemas, postgresAvailable } from '../support/postgres.js';
import { RawStdioClient } from '../support/raw-stdio.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const CALL_LOG_SERVER = join(FIXTURES, 'call-log.mjs');

function config(extra = ''): string {
  return `[mcp_servers.calls]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(CALL_LOG_SERVER)}]\n${extra}`;
}

interface Session {
  home: string;
  client: RawStdioClient;
}

function gatehouseRun(
  home: string,
  cfg: string,
  extraArgs: string[] = [],
  env: Record<string, string> = {},
) {
  const dir = writeFiles({ 'c.toml': cfg });
  return new RawStdioClient(
    process.execPath,
    [BIN, '--config', join(dir, 'c.toml'), ...extraArgs, 'run', 'calls'],
    { ...process.env, GATEHOUSE_HOME: home, ...env },
  );
}

async function exited(client: RawStdioClient): Promise<void> {
  const child = (client as unknown as { child: ChildProcess }).child;
  if (child.exitCode !== null) return;
  await new Promise((r) => child.once('exit', r));
}

async function session(cfg = config('disabled_tools = ["leak"]\n')): Promise<Session> {
  const home = tempDir();
  const client = gatehouseRun(home, cfg);
  await client.initialize();
  return { home, client };
}

const meta = (thread: string) => ({
  'x-codex-turn-metadata': { thread_id: thread, parent_thread_id: 'thread-parent' },
});

interface Rec {
  seq: number;
  event: Record<string, unknown> & { type: string };
}

async function query(home: string, args: string[] = []): Promise<Rec[]> {
  const r = await cli(['audit', 'query', '--json', ...args], { GATEHOUSE_HOME: home });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Rec[];
}

describe.skipIf(!existsSync(BIN))('audit trail through the real gateway', () => {
  test('a session is recorded whole: start, states, tools/list with what was hidden, every call with thread ids, stop; it verifies', async () => {
    const { home, client } = await session();
    await client.request(1, 'tools/list', { _meta: meta('thread-1') });
    for (const [i, text] of ['alpha', 'beta'].entries()) {
      const r = await client.request(10 + i, 'tools/call', {
        name: 'record',
        arguments: { text, api_key: 'sk-live-secret-value-1234567890' },
        _meta: meta('thread-1'),
      });
      expect(r.result).toBeDefined();
    }
    const hidden = await client.request(20, 'tools/call', {
      name: 'leak',
      arguments: {},
      _meta: meta('thread-1'),
    });
    expect(hidden.error).toMatchObject({ code: -32602 });
    client.close();
    await exited(client);

    const records = await query(home);
    const types = records.map((r) => r.event.type);
    expect(types[0]).toBe('gateway.start');
    expect(types.at(-1)).toBe('gateway.stop');
    expect(types).toEqual(
      expect.arrayContaining(['server.state', 'tools.list', 'call.intent', 'call.result']),
    );
    const list = records.find((r) => r.event.type === 'tools.list')?.event;
    expect(list).toMatchObject({
      thread_id: 'thread-1',
      parent_thread_id: 'thread-parent',
      exposed: ['record'],
      hidden: [{ server: 'calls', tool: 'leak', reason: 'in disabled_tools' }],
    });
    const intents = records.filter((r) => r.event.type === 'call.intent').map((r) => r.event);
    expect(intents).toHaveLength(2);
    for (const intent of intents) {
      expect(intent).toMatchObject({
        method: 'tools/call',
        target: 'record',
        thread_id: 'thread-1',
        parent_thread_id: 'thread-parent',
        server: { name: 'calls', identity: { command: process.execPath } },
        decision: { kind: 'allow' },
        arguments_masked: { api_key: '[REDACTED:secret_field]' },
      });
      expect(intent.arguments_hmac).toMatch(/^[0-9a-f]{64}$/);
    }
    const results = records.filter((r) => r.event.type === 'call.result').map((r) => r.event);
    expect(results.map((r) => r.outcome)).toEqual(['ok', 'ok', 'denied']);
    expect(results[2]).toMatchObject({
      target: 'leak',
      request: {
        decision: { kind: 'deny', rule: 'unknown_or_hidden_tool' },
        thread_id: 'thread-1',
      },
    });
    expect(results[0]).toMatchObject({
      latency_ms: { total: expect.any(Number), upstream: expect.any(Number) },
    });
    // The raw secret is nowhere in the store.
    expect(readFileSync(join(home, 'audit.db')).includes('sk-live-secret-value')).toBe(false);
    // Filters: by thread, by outcome.
    expect((await query(home, ['--thread', 'thread-1', '--type', 'call.intent'])).length).toBe(2);
    expect((await query(home, ['--outcome', 'denied'])).map((r) => r.event.target)).toEqual([
      'leak',
    ]);

    const ok = await cli(['audit', 'verify'], { GATEHOUSE_HOME: home });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('audit trail OK');

    // Tamper by hand: change what a recorded call's argument was.
    const target = records.find((r) => r.event.type === 'call.intent')?.seq ?? 0;
    const db = new Database(join(home, 'audit.db'));
    db.prepare("UPDATE audit_records SET body = replace(body, 'alpha', 'gamma') WHERE seq = ?").run(
      target,
    );
    db.close();
    const broken = await cli(['audit', 'verify', '--json'], { GATEHOUSE_HOME: home });
    expect(broken.code).toBe(9);
    expect(JSON.parse(broken.stdout).problem).toMatchObject({ kind: 'modified', seq: target });

    // The export carries the same break; an untouched export verifies on its own.
    const file = join(tempDir(), 'audit.jsonl');
    expect((await cli(['audit', 'export', '--output', file], { GATEHOUSE_HOME: home })).code).toBe(
      0,
    );
    const fromExport = await cli(['audit', 'verify', '--from-export', file], {
      GATEHOUSE_HOME: home,
    });
    expect(fromExport.code).toBe(9);
    expect(fromExport.stdout).toContain(`MODIFIED at record ${target}`);
  });

  test('fail closed: a store that cannot be written refuses calls with the reason; fail_open is an explicit admin setting', async () => {
    const home = tempDir();
    const blocked = join(home, 'not-a-file');
    mkdirSync(blocked);
    const client = gatehouseRun(home, config(), ['--audit', blocked]);
    await client.initialize();
    const list = await client.request(1, 'tools/list');
    expect(list.result).toBeDefined();
    const refused = await client.request(2, 'tools/call', {
      name: 'record',
      arguments: { text: 'x' },
    });
    expect(refused.error).toMatchObject({ code: -32003 });
    expect(String((refused.error as { message: string }).message)).toMatch(
      /could not record it in the audit trail .*not-a-file/,
    );
    client.close();
    await exited(client);
    expect(client.stderr).toContain('"event":"audit_error"');

    const reqs = writeFiles({ 'requirements.toml': '[gatehouse_audit]\nfail_open = true\n' });
    const open = gatehouseRun(home, config(), [
      '--audit',
      blocked,
      '--requirements',
      join(reqs, 'requirements.toml'),
    ]);
    await open.initialize();
    const passed = await open.request(2, 'tools/call', {
      name: 'record',
      arguments: { text: 'x' },
    });
    expect(passed.result).toBeDefined();
    open.close();
    await exited(open);
    expect(open.stderr).toContain('audit fail-open: forwarding tools/call unrecorded');
  });

  // Filling a disk needs a tmpfs mounted in a private mount namespace (unshare), which only root
  // can do; CI runs as root on these machines, so it runs there.
  test.skipIf(process.getuid?.() !== 0)(
    'a full disk: calls are refused with the reason, and everything already written still verifies',
    async () => {
      const home = tempDir();
      const mount = join(tempDir(), 'tiny');
      mkdirSync(mount);
      const dir = writeFiles({ 'c.toml': config() });
      const gatehouse = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)}`;
      // A private mount namespace with a 400 KiB tmpfs: the audit store fills it.
      const script = [
        `mount -t tmpfs -o size=400k,mode=0700 tmpfs ${JSON.stringify(mount)}`,
        `${gatehouse} --config ${JSON.stringify(join(dir, 'c.toml'))} --audit ${JSON.stringify(join(mount, 'audit.db'))} run calls`,
        `${gatehouse} --audit ${JSON.stringify(join(mount, 'audit.db'))} audit verify 1>&2`,
        `${gatehouse} --audit ${JSON.stringify(join(mount, 'audit.db'))} audit query --type call.intent --json | grep -c '"call.intent"' 1>&2`,
      ].join('; ');
      const client = new RawStdioClient(
        'unshare',
        ['--mount', '--propagation', 'private', 'sh', '-c', script],
        {
          ...process.env,
          GATEHOUSE_HOME: home,
        },
      );
      await client.initialize();
      let accepted = 0;
      let refusal = '';
      for (let i = 0; i < 200 && !refusal; i++) {
        const r = await client.request(100 + i, 'tools/call', {
          name: 'record',
          arguments: { text: `${i}-${'x'.repeat(20_000)}` },
        });
        if (r.error) refusal = (r.error as { message: string }).message;
        else accepted += 1;
      }
      client.close();
      await exited(client);
      expect(accepted).toBeGreaterThan(0);
      expect(refusal).toMatch(/could not record it in the audit trail .*(full|SQLITE_FULL)/i);
      // Nothing already written is broken. What the full disk kept out is reported as missing
      // evidence, never as tampering: the shutdown checkpoint that did not fit (NO_CHECKPOINT or an
      // UNANCHORED_TAIL), or a call whose intent fitted and whose result did not.
      expect(client.stderr).not.toContain('BROKEN');
      expect(client.stderr).toMatch(/audit trail (OK|INCOMPLETE)/);
      if (client.stderr.includes('INCOMPLETE')) {
        expect(client.stderr).toMatch(/NO_CHECKPOINT|UNANCHORED_TAIL|INTENT_WITHOUT_RESULT/);
        expect(client.stderr).not.toContain('STORE_REPLACED');
      }
      const intents = Number(/^(\d+)$/m.exec(client.stderr)?.[1]);
      expect(intents).toBeGreaterThanOrEqual(accepted);
      expect(intents).toBeLessThanOrEqual(accepted + 1);
    },
  );

  test('never lost: SIGKILL during 32 concurrent calls — every call the server received has a durable intent, every answered call its result; verify reports the unanchored tail and the intents without result', async () => {
    const home = tempDir();
    const log = join(tempDir(), 'calls.log');
    const dir = writeFiles({ 'c.toml': config('env_vars = ["CALL_LOG"]\n') });
    const child = spawn(process.execPath, [BIN, '--config', join(dir, 'c.toml'), 'run', 'calls'], {
      env: { ...process.env, GATEHOUSE_HOME: home, CALL_LOG: log },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const send = (m: object) => child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', ...m })}\n`);
    let answered = 0;
    let buffer = '';
    const inFlight = new Set<number>();
    const answeredIds: number[] = [];
    let next = 1;
    const fire = () => {
      const id = next++;
      inFlight.add(id);
      send({
        id,
        method: 'tools/call',
        params: { name: 'record', arguments: { text: `call-${id}` } },
      });
    };
    const initialized = new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const m = JSON.parse(buffer.slice(0, nl)) as { id?: number };
          buffer = buffer.slice(nl + 1);
          if (m.id === 0) resolve();
          else if (typeof m.id === 'number' && inFlight.delete(m.id)) {
            answered += 1;
            answeredIds.push(m.id);
            fire();
          }
        }
      });
    });
    send({
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'crash', version: '1' },
      },
    });
    await initialized;
    send({ method: 'notifications/initialized' });
    for (let i = 0; i < 32; i++) fire();
    while (answered < 150) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await new Promise((r) => setTimeout(r, 300)); // the upstream sees its stdin close and exits

    const received = readFileSync(log, 'utf8').trim().split('\n');
    expect(received.length).toBeGreaterThanOrEqual(150);
    const intents = await query(home, ['--type', 'call.intent']);
    const recorded = new Set(
      intents.map((r) => (r.event.arguments_masked as { text: string }).text),
    );
    const missing = received.filter((text) => !recorded.has(text));
    expect(missing).toEqual([]);
    // A result reaches the client only once its record is durable: the kill loses none of them.
    const results = new Set(
      (await query(home, ['--type', 'call.result'])).map((r) => r.event.call_id),
    );
    const callIdOf = new Map(
      intents.map((r) => [(r.event.arguments_masked as { text: string }).text, r.event.call_id]),
    );
    const unrecorded = answeredIds.filter((id) => !results.has(callIdOf.get(`call-${id}`)));
    expect(unrecorded).toEqual([]);
    const verify = await cli(['audit', 'verify', '--json'], { GATEHOUSE_HOME: home });
    // Nothing is broken, but the killed gateway signed no final checkpoint, and the calls in
    // flight have an intent without a result: reported, with their own exit status.
    expect(verify.code).toBe(19);
    const report = JSON.parse(verify.stdout) as {
      ok: boolean;
      findings: { kind: string; message: string }[];
    };
    expect(report.ok).toBe(true);
    const kinds = report.findings.map((f) => f.kind);
    expect(kinds).toContain('no_checkpoint'); // fewer than 1000 records, under 60 s
    if (intents.some((r) => !results.has(r.event.call_id))) {
      expect(kinds).toContain('intent_without_result');
      expect(report.findings.find((f) => f.kind === 'intent_without_result')?.message).toMatch(
        /in sessions with no stop record/,
      );
    }
  });

  test('several processes creating the same new store at once: one store, no error', async () => {
    const file = join(tempDir(), 'fresh.db');
    const store = join(import.meta.dirname, '..', '..', 'dist', 'audit', 'sqlite-store.js');
    const script = `const { SqliteAuditStore } = await import(${JSON.stringify(store)}); const s = SqliteAuditStore.open(${JSON.stringify(file)}); console.log(s.storeId); await s.close();`;
    const runs = await Promise.all(
      Array.from(
        { length: 10 },
        () =>
          new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
            const p = spawn(process.execPath, ['--input-type=module', '-e', script]);
            let out = '';
            let err = '';
            p.stdout.on('data', (d: Buffer) => (out += d.toString()));
            p.stderr.on('data', (d: Buffer) => (err += d.toString()));
            p.once('exit', (code) => resolve({ code, out, err }));
          }),
      ),
    );
    expect(runs.map((r) => r.err)).toEqual(Array(10).fill(''));
    expect(new Set(runs.map((r) => r.out.trim())).size).toBe(1);
  });

  test('several gateway processes append to one store: one linear chain', async () => {
    const home = tempDir();
    const clients = [0, 1, 2].map(() => gatehouseRun(home, config()));
    await Promise.all(clients.map((c) => c.initialize()));
    await Promise.all(
      clients.flatMap((c, ci) =>
        Array.from({ length: 20 }, (_, i) =>
          c.request(100 + i, 'tools/call', { name: 'record', arguments: { text: `p${ci}-${i}` } }),
        ),
      ),
    );
    for (const c of clients) c.close();
    await Promise.all(clients.map(exited));
    const intents = await query(home, ['--type', 'call.intent']);
    expect(intents).toHaveLength(60);
    const instances = new Set(
      intents.map((r) => (r.event.gateway as { instance: string }).instance),
    );
    expect(instances.size).toBe(3);
    const verify = await cli(['audit', 'verify', '--json'], { GATEHOUSE_HOME: home });
    // Each gateway signs the head when it stops (gateways stopping together may sign the same
    // head: one checkpoint), so every record is anchored by a signature.
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, problem: null, unanchored: 0 });
    expect(JSON.parse(verify.stdout).checkpoints.verified).toBeGreaterThanOrEqual(1);
  });

  test('gateways on one machine share one appender; SIGKILL of the host during 32 concurrent calls loses and duplicates nothing', async () => {
    const home = tempDir();
    const log = join(tempDir(), 'calls.log');
    const cfg = config('env_vars = ["CALL_LOG"]\n');
    const host = gatehouseRun(home, cfg, [], { CALL_LOG: log });
    await host.initialize();
    const other = gatehouseRun(home, cfg, [], { CALL_LOG: log });
    await other.initialize();
    const starts = await query(home, ['--type', 'gateway.start']);
    expect(
      starts.map((r) => (r.event.audit as { shared_appender: string }).shared_appender),
    ).toEqual(['host', 'client']);

    let next = 1000;
    let answered = 0;
    const refused: unknown[] = [];
    const worker = async () => {
      while (answered < 240) {
        const id = next++;
        const r = (await other.request(id, 'tools/call', {
          name: 'record',
          arguments: { text: `call-${id}` },
        })) as { error?: unknown; result?: { isError?: boolean } };
        if (r.error || r.result?.isError) refused.push(r);
        answered += 1;
      }
    };
    const traffic = Array.from({ length: 32 }, worker);
    while (answered < 60) await new Promise((r) => setTimeout(r, 5));
    (host as unknown as { child: ChildProcess }).child.kill('SIGKILL');
    await Promise.all(traffic);
    other.close();
    await exited(other);

    expect(refused).toEqual([]);
    const received = readFileSync(log, 'utf8').trim().split('\n');
    const intents = await query(home, ['--type', 'call.intent']);
    const texts = intents.map((r) => (r.event.arguments_masked as { text: string }).text);
    expect(texts.length).toBe(new Set(texts).size); // nothing recorded twice
    expect(received.filter((text) => !texts.includes(text))).toEqual([]);
    const verify = await cli(['audit', 'verify', '--json'], { GATEHOUSE_HOME: home });
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, problem: null });
  });
});

describe.skipIf(!existsSync(BIN))(
  'audit verify on a large store (worker threads, one per core)',
  () => {
    test('60,000 records: an intact store verifies in slices (its content checks too); a break in the middle is still named exactly', async () => {
      const home = tempDir();
      const keys = loadOrCreateAuditKeys(home);
      const writer = new AuditWriter(SqliteAuditStore.open(join(home, 'audit.db')), {
        signingKey: keys.signing,
        checkpointEveryRecords: 5000,
        checkpointEverySeconds: 0,
        maxBatch: 4096,
      });
      let next = 0;
      await Promise.all(
        Array.from({ length: 256 }, async () => {
          while (next < 60_000) {
            const i = next++;
            if (i === 30_000)
              // A call whose result was never recorded, in the middle (read by the content pass).
              await writer.record({
                type: 'call.intent',
                call_id: 'lost-call',
                method: 'tools/call',
                jsonrpc_id: 1,
                actor: { os_user: 'alice', token_subject: null, client: null },
                thread_id: null,
                parent_thread_id: null,
                server: null,
                target: 'tool',
                arguments_masked: null,
                arguments_hmac: null,
                decision: { kind: 'allow', rule: 'default' },
                approval: null,
              });
            else await writer.record({ type: 'gateway.stop', reason: `r${i}` });
          }
        }),
      );
      await writer.close();
      const run = () =>
        spawnSync(process.execPath, [BIN, 'audit', 'verify', '--json'], {
          env: { ...process.env, GATEHOUSE_HOME: home },
          encoding: 'utf8',
        });
      const clean = run();
      // Intact, but one call has an intent and no result: a finding of the content pass.
      expect(clean.status).toBe(19);
      expect(JSON.parse(clean.stdout)).toMatchObject({
        ok: true,
        findings: [
          {
            kind: 'intent_without_result',
            message: expect.stringContaining('1 in sessions that ended'),
          },
        ],
        records: 60_000,
        first_seq: 1,
        last_seq: 60_000,
        unanchored: 0,
        checkpoints: { last_seq: 60_000 },
      });
      const report = JSON.parse(clean.stdout) as {
        checkpoints: { total: number; verified: number };
        threads: number;
      };
      expect(report.checkpoints.verified).toBe(report.checkpoints.total);
      expect(report.threads).toBe(Math.min(4, availableParallelism()));
      const db = new Database(join(home, 'audit.db'));
      db.prepare(
        "UPDATE audit_records SET body = replace(body, 'r31000', 'r31001') WHERE seq = 31001",
      ).run();
      db.close();
      const broken = run();
      expect(broken.status).toBe(9);
      expect(JSON.parse(broken.stdout).problem).toMatchObject({ kind: 'modified', seq: 31001 });
    }, 60_000);
  },
);

const pgUp = await postgresAvailable();
const schema = `gh_it_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
afterAll(() => (pgUp ? dropSchemas([schema]) : undefined));

describe.skipIf(!existsSync(BIN) || !pgUp)(
  'audit trail on PostgreSQL through the real gateway',
  () => {
    test('--audit postgres://…: calls recorded, queried and verified from the shared store', async () => {
      const url = `${PG_URL}?schema=${schema}`;
      const home = tempDir();
      const client = gatehouseRun(home, config(), ['--audit', url]);
      await client.initialize();
      await client.request(1, 'tools/call', {
        name: 'record',
        arguments: { text: 'on-postgres' },
        _meta: meta('thread-pg'),
      });
      client.close();
      await exited(client);
      const r = await cli(['--audit', url, 'audit', 'query', '--json', '--thread', 'thread-pg'], {
        GATEHOUSE_HOME: home,
      });
      const records = JSON.parse(r.stdout) as Rec[];
      expect(records.map((x) => x.event.type)).toEqual([
        'call.intent',
        'call.result',
        'server.state',
      ]);
      const v = await cli(['--audit', url, 'audit', 'verify'], { GATEHOUSE_HOME: home });
      expect(v.code).toBe(0);
    });
  },
);
