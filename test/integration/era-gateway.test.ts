// Gatehouse as a client of modern (2026-07-28), dual-era and legacy servers, behind the real
// gateway binary, with a legacy (2025-11-25) SDK client downstream: listings, calls, policy,
// masking, the audit, and a modern server's input requests relayed as in-band elicitations.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { passThroughSchema } from '../../src/gateway/wire.js';
import { FAKE_SECRET } from '../fixtures/servers/era-tools.mjs';
import { FIXTURES, startEraHttpFixture, tempDir, writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';
import { startGatehouse } from '../support/gatehouse-http.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const node = JSON.stringify(process.execPath);
const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close().catch(() => undefined)));
});
let eraHttp: { base: string; child: ChildProcess };
beforeAll(async () => {
  eraHttp = await startEraHttpFixture();
});
afterAll(() => {
  eraHttp.child.stdin?.end();
  eraHttp.child.kill();
});

const stdioEntry = (name: string, file: string, ...args: string[]) =>
  `[mcp_servers.${name}]\ncommand = ${node}\nargs = ${JSON.stringify([join(FIXTURES, file), ...args])}\n`;

function config(): string {
  return [
    stdioEntry('modern', 'modern-stdio.mjs'),
    stdioEntry('dual', 'modern-stdio.mjs', '--dual'),
    stdioEntry('legacy', 'legacy-strict.mjs', '--exit'),
    `[mcp_servers.modernhttp]\nurl = "${eraHttp.base}/modern/mcp"\n`,
    stdioEntry('raw', 'modern-raw.mjs'),
  ].join('\n');
}

const REQUIREMENTS = `
[gatehouse_policy.tools."*/add_tool"]
allow = false
`;

type Answer = (params: Record<string, unknown>) => Record<string, unknown>;

/** A legacy SDK client through `gatehouse …`, answering elicitations with `answer`. */
async function through(
  mode: string[],
  answer: Answer | null = null,
  requirements = REQUIREMENTS,
  servers = config(),
) {
  const dir = writeFiles({ 'c.toml': servers, 'r.toml': requirements });
  const home = tempDir();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, '--config', join(dir, 'c.toml'), '--requirements', join(dir, 'r.toml'), ...mode],
    stderr: 'pipe',
    env: { ...(process.env as Record<string, string>), GATEHOUSE_HOME: home },
  });
  const asked: Record<string, unknown>[] = [];
  const client = new Client(
    { name: 'legacy-client', version: '1' },
    { capabilities: answer ? { elicitation: { form: {} } } : {} },
  );
  if (answer)
    client.setRequestHandler('elicitation/create', (request) => {
      asked.push(request.params as Record<string, unknown>);
      return answer(request.params as Record<string, unknown>) as never;
    });
  await client.connect(transport);
  open.push(client);
  const call = (name: string, args: Record<string, unknown> = {}) =>
    client.request(
      { method: 'tools/call', params: { name, arguments: args } } as never,
      passThroughSchema,
    ) as Promise<{ content: { text: string }[]; isError?: boolean }>;
  return { client, home, asked, call };
}

const textOf = (r: { content: { text: string }[] }) => r.content.map((c) => c.text).join('');

/**
 * A legacy client subscribes to note://one and note://two through the gateway; the server says
 * note://one changed (`touch`) and the client hears it; after unsubscribing note://one, a change
 * to it is not heard while one to note://two still is (one upstream pipe: the order is the
 * server's, so note://two's arrival proves note://one's update was dropped, with no waiting).
 */
async function expectSubscriptionsBridged(
  client: Client,
  touch: (uri: string) => Promise<unknown>,
): Promise<void> {
  const heard: string[] = [];
  const waiting = new Map<string, () => void>();
  client.setNotificationHandler('notifications/resources/updated', (n) => {
    heard.push(n.params.uri);
    waiting.get(n.params.uri)?.();
  });
  const next = (uri: string) => new Promise<void>((resolve) => waiting.set(uri, resolve));
  const request = (method: string, uri: string) =>
    client.request({ method, params: { uri } } as never, passThroughSchema);
  expect(await request('resources/subscribe', 'note://one')).toEqual({});
  expect(await request('resources/subscribe', 'note://two')).toEqual({});
  const first = next('note://one');
  await touch('note://one');
  await first;
  expect(await request('resources/unsubscribe', 'note://one')).toEqual({});
  await touch('note://one');
  const second = next('note://two');
  await touch('note://two');
  await second;
  expect(heard).toEqual(['note://one', 'note://two']);
}

describe.skipIf(!existsSync(BIN))('gatehouse run NAME in front of servers of each era', () => {
  test.each([
    ['modern', 'modern-stdio: hi (envelope)'],
    ['dual', 'dual-stdio: hi (envelope)'],
    ['modernhttp', 'modern-http: hi (envelope)'],
  ])(
    '%s: tools/list and tools/call, the call carrying the 2026-07-28 envelope',
    async (name, echoed) => {
      const { client, call } = await through(['run', name]);
      // serverInfo and instructions come from server/discover.
      const serverName = echoed.split(':')[0];
      expect(client.getServerVersion()?.name).toBe(serverName);
      expect(client.getInstructions()).toBe(`Use ${serverName} with care.`);
      const { tools } = (await client.request(
        { method: 'tools/list', params: {} } as never,
        passThroughSchema,
      )) as { tools: { name: string }[] };
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'leak', 'confirm']));
      expect(textOf(await call('echo', { text: 'hi' }))).toBe(echoed);
    },
  );

  test('modern: unknown keys pass through both ways (listing, params, result, content blocks)', async () => {
    const { client } = await through(['run', 'raw']);
    const list = (await client.request(
      { method: 'tools/list', params: {} } as never,
      passThroughSchema,
    )) as { tools: Record<string, unknown>[] };
    expect(list.tools[0]).toMatchObject({
      name: 'raw',
      'x-extra': { a: 1 },
      annotations: { readOnlyHint: true, customHint: 'kept' },
    });
    const result = (await client.request(
      {
        method: 'tools/call',
        params: { name: 'raw', arguments: { q: 'x' }, 'x-param': 1 },
      } as never,
      passThroughSchema,
    )) as { content: Record<string, unknown>[]; 'x-result'?: unknown };
    expect(result['x-result']).toBe(3);
    expect(result.content[0]?.['x-block']).toBe(2);
    expect(JSON.parse(String(result.content[0]?.text))).toEqual({
      name: 'raw',
      arguments: { q: 'x' },
      'x-param': 1,
    });
  });

  test.each(['modern', 'modernhttp'])(
    '%s: resources are read; a legacy client subscribes (subscriptions/listen upstream), hears the update, unsubscribes',
    async (name) => {
      const { client, call } = await through(['run', name]);
      expect(client.getServerCapabilities()?.resources?.subscribe).toBe(true);
      const read = (await client.request(
        { method: 'resources/read', params: { uri: 'note://one' } } as never,
        passThroughSchema,
      )) as { contents: { text: string }[] };
      expect(read.contents[0]?.text).toBe('a note');
      await expectSubscriptionsBridged(client, (uri) => call('touch', { uri }));
      // The update is a server notification like any other: masked on its way to the client.
      const secretUri = `note://${FAKE_SECRET}`;
      const masked = new Promise<string>((resolve) =>
        client.setNotificationHandler('notifications/resources/updated', (n) =>
          resolve(n.params.uri),
        ),
      );
      await client.request(
        { method: 'resources/subscribe', params: { uri: secretUri } } as never,
        passThroughSchema,
      );
      await call('touch', { uri: secretUri });
      expect(await masked).not.toContain(FAKE_SECRET);
    },
  );

  test('legacy: a stdio server that exits on the probe still serves (started once more)', async () => {
    const { call } = await through(['run', 'legacy']);
    expect(textOf(await call('echo', { text: 'hi' }))).toBe('legacy-exit: hi');
  });

  test('modern: masking applies to results and policy denies; the audit records both', async () => {
    const { call, home, client } = await through(['run', 'modern']);
    const leaked = textOf(await call('leak'));
    expect(leaked).not.toContain(FAKE_SECRET);
    expect(leaked).toContain('[REDACTED:');
    const denied = await call('add_tool').catch((e: unknown) => e);
    expect(denied).toMatchObject({ code: -32004 });
    await client.close();
    const exported = await cli(['audit', 'export', '--format', 'jsonl'], { GATEHOUSE_HOME: home });
    expect(exported.stdout).not.toContain(FAKE_SECRET);
    const events = exported.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event?: Record<string, unknown> }).event ?? {});
    const results = events.filter((e) => e.type === 'call.result');
    expect(results.map((r) => [r.target, r.outcome])).toEqual([
      ['leak', 'ok'],
      ['add_tool', 'denied'],
    ]);
  });

  test.each(['modern', 'modernhttp'])(
    '%s: input_required reaches the legacy client as elicitation/create (masked), the answer goes back',
    async (name) => {
      const { call, asked } = await through(['run', name], () => ({
        action: 'accept',
        content: { ok: true },
      }));
      expect(textOf(await call('confirm', { what: 'deploy' }))).toBe('confirmed deploy');
      expect(asked).toHaveLength(1);
      expect(asked[0]?.requestedSchema).toMatchObject({ properties: { ok: { type: 'boolean' } } });
      expect(String(asked[0]?.message)).toContain('Really deploy?');
      expect(JSON.stringify(asked)).not.toContain(FAKE_SECRET);
    },
  );

  test('modern: a declined elicitation goes back as declined', async () => {
    const { call } = await through(['run', 'modern'], () => ({ action: 'decline' }));
    expect(textOf(await call('confirm', { what: 'deploy' }))).toBe('not confirmed deploy');
  });

  test('modern: a client without the elicitation capability gets a clear error', async () => {
    const { call } = await through(['run', 'modern']);
    const err = (await call('confirm', { what: 'deploy' }).catch((e: unknown) => e)) as {
      code: number;
      message: string;
    };
    // The modern server itself refuses (the client's capabilities ride each request's envelope).
    expect(err.code).toBe(-32021);
    expect(err.message).toContain('elicitation');
  });

  test('modern: a list change announced on subscriptions/listen reaches the catalog and the client', async () => {
    const { client, call } = await through(['run', 'modern'], null, '');
    let changed = 0;
    client.setNotificationHandler('notifications/tools/list_changed', () => {
      changed++;
    });
    expect(textOf(await call('add_tool'))).toBe('added a tool');
    await expect.poll(() => changed, { timeout: 10_000 }).toBeGreaterThan(0);
    const { tools } = (await client.request(
      { method: 'tools/list', params: {} } as never,
      passThroughSchema,
    )) as { tools: { name: string }[] };
    expect(tools.map((t) => t.name)).toContain('added');
    expect(textOf(await call('added'))).toBe('added');
  });

  test('modern: a server that keeps asking is stopped after 8 rounds, with a clear error', async () => {
    const { call, asked } = await through(['run', 'modern'], () => ({
      action: 'accept',
      content: {},
    }));
    const err = (await call('ask_forever').catch((e: unknown) => e)) as {
      code: number;
      message: string;
    };
    expect(err.code).toBe(-32016);
    expect(err.message).toContain('still needed input after 8 rounds');
    expect(asked).toHaveLength(8);
  });

  test('modern: answers and state a legacy client sends itself are not relayed (it is asked)', async () => {
    const { client, asked } = await through(['run', 'modern'], () => ({ action: 'decline' }));
    const forged = (await client.request(
      {
        method: 'tools/call',
        params: {
          name: 'confirm',
          arguments: { what: 'deploy' },
          inputResponses: { ok: { action: 'accept', content: { ok: true } } },
          requestState: 'state-for-deploy',
        },
      } as never,
      passThroughSchema,
    )) as { content: { text: string }[] };
    expect(textOf(forged)).toBe('not confirmed deploy');
    expect(asked).toHaveLength(1);
  });

  test('modern: an answer that is not an elicitation result is refused by the server, clearly', async () => {
    const { call } = await through(['run', 'modern'], () => ({ nonsense: true }));
    const err = (await call('confirm', { what: 'deploy' }).catch((e: unknown) => e)) as {
      message: string;
    };
    expect(err.message).toMatch(/confirm|elicit|input|action/i);
  });
});

describe.skipIf(!existsSync(BIN))('gatehouse serve in front of servers of each era', () => {
  test('every server is listed and callable, the modern one asks through elicitation', async () => {
    const { client, call } = await through(['serve'], () => ({
      action: 'accept',
      content: { ok: true },
    }));
    const { tools } = (await client.request(
      { method: 'tools/list', params: {} } as never,
      passThroughSchema,
    )) as { tools: { name: string }[] };
    const names = tools.map((t) => t.name);
    for (const server of ['modern', 'dual', 'legacy', 'modernhttp'])
      expect(
        names.some((n) => n.startsWith(server)),
        `${server} in ${names.join(', ')}`,
      ).toBe(true);
    const echo = names.find(
      (n) => n.startsWith('modern') && n.endsWith('echo') && !n.includes('http'),
    );
    expect(textOf(await call(echo!, { text: 'hi' }))).toBe('modern-stdio: hi (envelope)');
    const confirm = names.find((n) => n.startsWith('dual') && n.endsWith('confirm'));
    expect(textOf(await call(confirm!, { what: 'x' }))).toBe('confirmed x');
  });

  test('a legacy client subscribes to a modern server’s resource, routed to its owner', async () => {
    // One owner per URI (several servers offering note://one would be refused as ambiguous).
    const servers = [
      stdioEntry('modern', 'modern-stdio.mjs'),
      stdioEntry('legacy', 'legacy-strict.mjs', '--exit'),
    ].join('\n');
    const { client, call } = await through(['serve'], null, REQUIREMENTS, servers);
    expect(client.getServerCapabilities()?.resources?.subscribe).toBe(true);
    await expectSubscriptionsBridged(client, (uri) => call('modern__touch', { uri }));
  });
});

describe('mcp list --probe and mcp get say the era', () => {
  test('--json: runtime.era per server, protocol_era the setting; the table says it too', async () => {
    const dir = writeFiles({
      'c.toml': `${config()}\n${stdioEntry('pinned', 'modern-stdio.mjs', '--dual')}gatehouse_protocol_era = "legacy"\n`,
    });
    const args = ['--config', join(dir, 'c.toml'), 'mcp', 'list', '--probe'];
    const json = await cli([...args, '--json'], { GATEHOUSE_HOME: tempDir() });
    const servers = JSON.parse(json.stdout) as {
      name: string;
      protocol_era: string;
      runtime: { state: string; era?: string };
    }[];
    const eras = Object.fromEntries(
      servers.map((s) => [s.name, [s.protocol_era, s.runtime.state, s.runtime.era]]),
    );
    expect(eras).toEqual({
      modern: ['auto', 'ready', 'modern'],
      dual: ['auto', 'ready', 'modern'],
      legacy: ['auto', 'ready', 'legacy'],
      modernhttp: ['auto', 'ready', 'modern'],
      raw: ['auto', 'ready', 'modern'],
      pinned: ['legacy', 'ready', 'legacy'],
    });
    const table = await cli(args, { GATEHOUSE_HOME: tempDir() });
    expect(table.stdout).toMatch(/modern\b.*ready \(\d+ tools\), MCP 2026-07-28/);
    expect(table.stdout).toMatch(/legacy\b.*ready \(1 tools\), MCP 2025-11-25/);
    const get = await cli(['--config', join(dir, 'c.toml'), 'mcp', 'get', 'pinned'], {
      GATEHOUSE_HOME: tempDir(),
    });
    expect(get.stdout).toContain('  protocol_era: legacy');
  });
});

describe.skipIf(!existsSync(BIN))('gatehouse run NAME --http in front of a modern server', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill();
  });

  test('a legacy streamable-HTTP client is asked the modern server’s question on its request', async () => {
    const running = await startGatehouse(children, config(), [
      'run',
      'modern',
      '--http',
      '127.0.0.1:0',
    ]);
    expect(running.url).not.toBe('');
    const client = new Client(
      { name: 'legacy-http-client', version: '1' },
      { capabilities: { elicitation: { form: {} } } },
    );
    const asked: unknown[] = [];
    client.setRequestHandler('elicitation/create', (request) => {
      asked.push(request.params);
      return { action: 'accept', content: { ok: true } } as never;
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(running.url)));
    open.push(client);
    const result = (await client.request(
      { method: 'tools/call', params: { name: 'confirm', arguments: { what: 'ship' } } } as never,
      passThroughSchema,
    )) as { content: { text: string }[] };
    expect(textOf(result)).toBe('confirmed ship');
    expect(asked).toHaveLength(1);
    expect(JSON.stringify(asked)).not.toContain(FAKE_SECRET);
  });

  test('a legacy streamable-HTTP client hears a modern server’s resource update on its session', async () => {
    const running = await startGatehouse(children, config(), [
      'run',
      'modern',
      '--http',
      '127.0.0.1:0',
    ]);
    const client = new Client({ name: 'legacy-http-client', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(running.url)));
    open.push(client);
    expect(client.getServerCapabilities()?.resources?.subscribe).toBe(true);
    await expectSubscriptionsBridged(client, (uri) =>
      client.request(
        { method: 'tools/call', params: { name: 'touch', arguments: { uri } } } as never,
        passThroughSchema,
      ),
    );
  });
});
