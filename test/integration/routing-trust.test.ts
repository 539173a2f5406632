/**
 * Issue 14, items 5, 6, 10, 13 and 16: what the gateway routes, and what it trusts a server's
 * listing for, against a malicious server (fixtures/servers/adversary.mjs) and a raw client.
 * Every test proves its point from the server's own log: what reached it, and what did not.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { until } from '../support/processes.js';
import { RawStdioClient } from '../support/raw-stdio.js';
import { cli } from '../support/run-cli.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const ADVERSARY = join(FIXTURES, 'adversary.mjs');

const clients: RawStdioClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(closed));
});

async function closed(client: RawStdioClient): Promise<void> {
  client.close();
  const child = (client as unknown as { child: ChildProcess }).child;
  if (child.exitCode === null && child.signalCode === null)
    await new Promise((r) => child.once('exit', r));
}

interface LogEntry {
  server: string;
  kind: string;
  name?: string;
  tool?: string;
  id?: number | string;
  method?: string;
  uri?: string;
  restarted?: boolean;
}

/** One server entry for the config: the adversary under `name`, with its env. */
function adversary(name: string, log: string, env: Record<string, string> = {}, extra = '') {
  const vars = { ADVERSARY_NAME: name, ADVERSARY_LOG: log, ...env };
  const table = Object.entries(vars)
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join(', ');
  return `[mcp_servers.${name}]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(ADVERSARY)}]\nenv = { ${table} }\n${extra}`;
}

function workspace(config: string, requirements = '') {
  const dir = writeFiles({ 'c.toml': config, 'r.toml': requirements });
  const home = tempDir();
  const flags = [
    '--config',
    join(dir, 'c.toml'),
    '--requirements',
    join(dir, 'r.toml'),
    '--lock',
    join(dir, 'gatehouse.lock.json'),
  ];
  return {
    home,
    flags,
    cli: (args: string[]) => cli([...flags, ...args], { GATEHOUSE_HOME: home }),
    gateway: async (mode: string[], capabilities: Record<string, unknown> = {}) => {
      const client = new RawStdioClient(process.execPath, [BIN, ...flags, ...mode], {
        ...process.env,
        GATEHOUSE_HOME: home,
      });
      clients.push(client);
      await client.initialize(capabilities);
      return client;
    },
    audit: async () => {
      const r = await cli(['audit', 'query', '--json'], { GATEHOUSE_HOME: home });
      return (JSON.parse(r.stdout) as { event: Record<string, unknown> & { type: string } }[]).map(
        (r) => r.event,
      );
    },
  };
}

function entries(log: string): LogEntry[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as LogEntry);
}

const calls = (log: string) => entries(log).filter((e) => e.kind === 'call');
const errorOf = (r: Record<string, unknown>) => r.error as { code: number; message: string };

describe.skipIf(!existsSync(BIN))('tools are routed only by the checked listing (item 5)', () => {
  for (const mode of ['run', 'serve'] as const) {
    test(`${mode}: names the server never listed, or listed otherwise, never reach it, whatever it accepts`, async () => {
      const log = join(tempDir(), 'log');
      const ws = workspace(
        adversary(
          'adv',
          log,
          {},
          'disabled_tools = ["wipe"]\ndefault_tools_approval_mode = "approve"\n',
        ),
        `[gatehouse_schema]\nlock = "required"\n\n[gatehouse_policy.tools."adv/drop_table"]\nallow = false\n\n[gatehouse_policy.tools."adv/read_note"]\ncategory = "money"\napproval = "two_person"\n`,
      );
      expect((await ws.cli(['schema', 'snapshot'])).code).toBe(0);
      const client = await ws.gateway(mode === 'run' ? ['run', 'adv'] : ['serve']);
      const p = mode === 'serve' ? 'adv__' : '';
      const listed = await client.request(1, 'tools/list');
      const names = (listed.result as { tools: { name: string }[] }).tools.map((t) => t.name);
      expect(names).not.toContain(`${p}wipe`);
      // The server answers all of these (case and -/_ ignored, unlisted names too); the gateway
      // must not send any: each would sidestep a rule keyed on the listed name, or the lock.
      const sneaky = [
        'Wipe',
        'WIPE',
        'drop-table',
        'Drop_Table',
        'READ_NOTE',
        'read-note',
        'debug_exec',
      ];
      for (const [i, name] of sneaky.entries()) {
        const r = await client.request(10 + i, 'tools/call', {
          name: `${p}${name}`,
          arguments: {},
        });
        expect(errorOf(r), name).toMatchObject({
          code: -32602,
          message: `Unknown tool: ${p}${name}`,
        });
      }
      const ok = await client.request(30, 'tools/call', { name: `${p}echo`, arguments: {} });
      expect(JSON.stringify(ok.result)).toContain('adv ran echo');
      expect(calls(log).map((c) => c.name)).toEqual(['echo']);
    });
  }
});

describe.skipIf(!existsSync(BIN))("a server's own error codes are its own", () => {
  for (const mode of ['run', 'serve'] as const) {
    test(`${mode}: an upstream answering with Gatehouse's timeout and unavailable codes is audited as its protocol error, not as Gatehouse's`, async () => {
      for (const code of [-32001, -32010]) {
        const log = join(tempDir(), 'log');
        const ws = workspace(adversary('adv', log, { ADVERSARY_ECHO_ERROR: String(code) }));
        expect((await ws.cli(['schema', 'snapshot'])).code).toBe(0);
        const client = await ws.gateway(mode === 'run' ? ['run', 'adv'] : ['serve']);
        const p = mode === 'serve' ? 'adv__' : '';
        const r = await client.request(1, 'tools/call', { name: `${p}echo`, arguments: {} });
        // Relayed as the server sent it: the client sees the server's code.
        expect(errorOf(r).code).toBe(code);
        const result = (await ws.audit()).find((e) => e.type === 'call.result');
        expect(result, String(code)).toMatchObject({
          outcome: 'protocol_error',
          error: { code, by: 'upstream' },
        });
      }
    });
  }
});

describe.skipIf(!existsSync(BIN))('the policy classifies from the checked listing (item 6)', () => {
  test('run: a server that lies in a later listing cannot get a locked destructive tool classified read-only', async () => {
    const log = join(tempDir(), 'log');
    // Before the fix, `run` listed 4 times by the unknown call below and the policy re-listed a
    // 5th time, outside the schema guard, and classified `wipe` from that listing.
    const ws = workspace(
      adversary('adv', log, { ADVERSARY_LIE_FROM: '5' }),
      `[gatehouse_policy]\nread_only = true\n`,
    );
    expect((await ws.cli(['schema', 'snapshot'])).code).toBe(0);
    const client = await ws.gateway(['run', 'adv']);
    await client.request(1, 'tools/list');
    const unknown = await client.request(2, 'tools/call', { name: 'nope', arguments: {} });
    expect(unknown.error).toBeDefined();
    const wipe = await client.request(3, 'tools/call', { name: 'wipe', arguments: {} });
    expect(errorOf(wipe).message).toMatch(/read-only mode: adv\/wipe is classified 'destructive'/);
    // Later listings lie too: the lie is drift against the lock, never a reclassification.
    await client.request(4, 'tools/list');
    const again = await client.request(5, 'tools/call', { name: 'wipe', arguments: {} });
    expect(again.error).toBeDefined();
    expect(calls(log)).toEqual([]);
  });
});

describe.skipIf(!existsSync(BIN))('after a restart, calls wait for the re-check (item 13)', () => {
  for (const failure of ['fail', 'slow'] as const) {
    test(`run: a server whose tools/list ${failure === 'fail' ? 'fails' : 'never answers'} after a restart gets no call checked against the old list`, async () => {
      const dir = tempDir();
      const log = join(dir, 'log');
      const ws = workspace(
        adversary(
          'adv',
          log,
          { ADVERSARY_STATE_DIR: dir, ADVERSARY_AFTER_RESTART: failure },
          'startup_timeout_sec = 5\n',
        ),
      );
      expect((await ws.cli(['schema', 'snapshot'])).code).toBe(0);
      const client = await ws.gateway(['run', 'adv']);
      await client.request(1, 'tools/call', { name: 'die', arguments: {} });
      expect(
        await until(() => entries(log).some((e) => e.kind === 'start' && e.restarted), 10_000),
      ).toBe(true);
      // Wait until the restarted server is ready, then call: the old definitions must not be used.
      expect(await until(() => client.stderr.includes('restarted after'), 10_000)).toBe(true);
      const r = await client.request(2, 'tools/call', { name: 'echo', arguments: {} });
      expect(errorOf(r).message).toMatch(
        /server 'adv' is not usable yet: its tools could not be checked/,
      );
      expect(calls(log).map((c) => c.name)).toEqual(['die']);
    });
  }
});

describe.skipIf(!existsSync(BIN))('client notifications are governed (item 10)', () => {
  test('serve: only protocol notifications are forwarded, to the server they concern; the rest are dropped and recorded', async () => {
    const log = join(tempDir(), 'log');
    const ws = workspace(adversary('asker', log) + adversary('quiet', log));
    expect((await ws.cli(['schema', 'snapshot'])).code).toBe(0);
    const client = await ws.gateway(['serve'], { roots: { listChanged: true } });
    client.answer('roots/list', { roots: [{ uri: 'file:///work', name: 'work' }] });
    // `asker` asks for the client's roots; `quiet` never does.
    const asked = await client.request(1, 'tools/call', { name: 'asker__roots', arguments: {} });
    expect(JSON.stringify(asked.result)).toContain('1 roots');
    expect(await until(() => entries(log).some((e) => e.kind === 'roots'), 10_000)).toBe(true);
    // A call without an id is a notification: it must not run the tool anywhere.
    client.send({ method: 'tools/call', params: { name: 'asker__wipe', arguments: {} } });
    client.send({ method: 'tools/call', params: { name: 'wipe', arguments: {} } });
    client.send({ method: 'notifications/tools/list_changed' });
    client.send({ method: 'notifications/roots/list_changed' });
    // A cancellation reaches the one server running that request, under its own request id.
    const pending = client.request(7, 'tools/call', { name: 'quiet__hang', arguments: {} });
    expect(await until(() => calls(log).some((c) => c.tool === 'hang'), 10_000)).toBe(true);
    client.send({ method: 'notifications/cancelled', params: { requestId: 7 } });
    expect(await until(() => entries(log).some((e) => e.kind === 'cancelled'), 10_000)).toBe(true);
    void pending;
    const hang = calls(log).find((c) => c.tool === 'hang');
    expect(entries(log).filter((e) => e.kind === 'cancelled')).toEqual([
      { server: 'quiet', kind: 'cancelled', id: hang?.id },
    ]);
    expect(calls(log).map((c) => `${c.server}:${c.tool}`)).toEqual(['asker:roots', 'quiet:hang']);
    expect(entries(log).filter((e) => e.kind === 'notification')).toEqual([
      { server: 'asker', kind: 'notification', method: 'notifications/roots/list_changed' },
    ]);
    expect(client.stderr).toMatch(
      /"event":"notification_dropped","server":"\*","state":"tools\/call"/,
    );
    await closed(client);
    const dropped = (await ws.audit()).filter((e) => e.type === 'notification.dropped');
    expect(dropped.map((e) => e.method)).toEqual([
      'tools/call',
      'tools/call',
      'notifications/tools/list_changed',
    ]);
    expect(dropped[0]).toMatchObject({
      server: '*',
      reason: expect.stringContaining('never forwarded'),
    });
  });

  test('run: a tools/call without an id is dropped and recorded, not forwarded', async () => {
    const log = join(tempDir(), 'log');
    const ws = workspace(adversary('adv', log));
    const client = await ws.gateway(['run', 'adv']);
    client.send({ method: 'tools/call', params: { name: 'wipe', arguments: {} } });
    // A request after it: once answered, the notification was handled (they are read in order).
    await client.request(1, 'tools/list');
    await closed(client);
    expect(calls(log)).toEqual([]);
    expect(entries(log).filter((e) => e.kind === 'notification')).toEqual([]);
    const dropped = (await ws.audit()).filter((e) => e.type === 'notification.dropped');
    expect(dropped).toMatchObject([{ server: 'adv', method: 'tools/call' }]);
  });
});

describe.skipIf(!existsSync(BIN))('a resource URI two servers offer is refused (item 16)', () => {
  test('serve: a shared URI or overlapping templates are an ambiguity, refused and audited with the servers; a URI one server owns is routed and audited with it', async () => {
    const log = join(tempDir(), 'log');
    const ws = workspace(
      adversary('first', log, {
        ADVERSARY_RESOURCES: 'file:///shared/readme,file:///first/own',
        ADVERSARY_TEMPLATES: 'notes://{id}',
      }) +
        adversary('second', log, {
          ADVERSARY_RESOURCES: 'file:///shared/readme',
          ADVERSARY_TEMPLATES: 'notes://{path}',
        }),
    );
    const client = await ws.gateway(['serve']);
    await client.request(1, 'resources/list');
    for (const [i, uri] of ['file:///shared/readme', 'notes://42'].entries()) {
      const r = await client.request(2 + i, 'resources/read', { uri });
      expect(errorOf(r).message).toContain(`the URI is offered by several servers (first, second)`);
    }
    const own = await client.request(5, 'resources/read', { uri: 'file:///first/own' });
    expect(JSON.stringify(own.result)).toContain('first says hello');
    expect(entries(log).filter((e) => e.kind === 'read')).toEqual([
      { server: 'first', kind: 'read', uri: 'file:///first/own' },
    ]);
    await closed(client);
    const results = (await ws.audit()).filter((e) => e.type === 'call.result' && e.target !== null);
    const byTarget = new Map(results.map((e) => [e.target, e]));
    expect(byTarget.get('file:///shared/readme')).toMatchObject({
      outcome: 'denied',
      request: {
        method: 'resources/read',
        decision: {
          kind: 'deny',
          rule: 'ambiguous_resource',
          reason: expect.stringContaining('(first, second)'),
        },
      },
    });
    expect(byTarget.get('file:///first/own')).toMatchObject({ server: 'first', outcome: 'ok' });
  });
});
