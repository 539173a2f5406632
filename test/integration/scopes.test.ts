import { listeningGatehouse } from '../support/gatehouse-http.js';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, test } from 'vitest';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const children: ChildProcess[] = [];
const clients: Client[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

function gatehouse(
  args: string[],
  home: string,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, GATEHOUSE_HOME: home },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `gatehouse serve --http` with two servers and the given requirements. */
function startGateway(dir: string, home: string): Promise<{ url: string; stderr: () => string }> {
  const config = ['--config', join(dir, 'c.toml'), '--requirements', join(dir, 'r.toml')];
  return listeningGatehouse(children, [...config, 'serve', '--http', '127.0.0.1:0'], home);
}

async function connect(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'scopes-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

const text = (r: unknown) =>
  ((r as { content?: { text?: string }[] }).content ?? [])[0]?.text ?? '';

describe.skipIf(!existsSync(BIN))('team and workspace scope through gatehouse serve --http', () => {
  test('two service tokens with different groups: different tools/list, prompts and calls; the audit names each', async () => {
    const home = tempDir();
    const store = join(tempDir(), 'service-tokens.json');
    const create = (name: string, subject: string, group: string) => {
      const r = gatehouse(
        [
          'tokens',
          'create',
          name,
          '--subject',
          subject,
          '--group',
          group,
          '--store',
          store,
          '--json',
        ],
        home,
      );
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { token: string }).token;
    };
    const finToken = create('fin', 'fin-bot', 'finance');
    const devToken = create('dev', 'dev-bot', 'eng');
    const dir = writeFiles({
      'c.toml': [
        '[mcp_servers.pay]',
        `command = "${process.execPath}"`,
        `args = ["${join(FIXTURES, 'governed.mjs')}"]`,
        '[mcp_servers.conf]',
        `command = "${process.execPath}"`,
        `args = ["${join(FIXTURES, 'conformance-server.mjs')}"]`,
        '',
      ].join('\n'),
      'r.toml': [
        '[gatehouse_identity]',
        `service_tokens = "${store}"`,
        '[gatehouse_scopes]',
        'enabled = true',
        '[gatehouse_scopes.servers."pay"]',
        'groups = ["finance", "eng"]',
        '[gatehouse_scopes.servers."conf"]',
        'groups = ["eng"]',
        '[gatehouse_policy.tools."pay/refund"]',
        'groups = ["finance"]',
        'approval = "never"',
        '',
      ].join('\n'),
    });
    const g = await startGateway(dir, home);
    const fin = await connect(g.url, finToken);
    const dev = await connect(g.url, devToken);

    const finTools = (await fin.listTools()).tools.map((t) => t.name).sort();
    const devTools = (await dev.listTools()).tools.map((t) => t.name);
    expect(finTools).toEqual(['pay__read_balance', 'pay__refund', 'pay__update_note', 'pay__wipe']);
    expect(devTools).not.toContain('pay__refund');
    expect(devTools).toContain('pay__read_balance');
    expect(devTools.some((n) => n.startsWith('conf__'))).toBe(true);

    // Servers out of scope are invisible: their prompts and resources too.
    const devPrompts = (await dev.listPrompts()).prompts.map((p) => p.name);
    expect(devPrompts.some((n) => n.includes('test_simple_prompt'))).toBe(true);
    await expect(fin.listPrompts()).resolves.toMatchObject({ prompts: [] });
    expect((await dev.listResources()).resources.length).toBeGreaterThan(0);
    expect((await fin.listResources()).resources).toEqual([]);
    const prompt = devPrompts.find((n) => n.includes('test_simple_prompt')) as string;
    await expect(fin.getPrompt({ name: prompt, arguments: {} })).rejects.toThrow(
      `Unknown prompt: ${prompt}`,
    );

    // Calls: in scope goes through; out of scope is refused like a tool that does not exist.
    expect(
      text(await fin.callTool({ name: 'pay__refund', arguments: { amount: 5, to: 'x' } })),
    ).toBe('refunded 5 to x');
    const refused = await dev
      .callTool({ name: 'pay__refund', arguments: { amount: 5, to: 'x' } })
      .then(
        (r) => JSON.stringify(r),
        (e: Error) => e.message,
      );
    expect(refused).toContain('Unknown tool: pay__refund');
    expect(refused).not.toMatch(/scope|finance/);
    const conf = devTools.find((n) => n.startsWith('conf__test_simple_text')) as string;
    expect(text(await dev.callTool({ name: conf, arguments: {} }))).toBeTruthy();
    const finConf = await fin.callTool({ name: conf, arguments: {} }).then(
      (r) => JSON.stringify(r),
      (e: Error) => e.message,
    );
    expect(finConf).toContain(`Unknown tool: ${conf}`);

    // The audit names each caller, and keeps the scope reason for the admin.
    const audit = gatehouse(['audit', 'query', '--json'], home);
    expect(audit.status, audit.stderr).toBe(0);
    const records = JSON.parse(audit.stdout) as { event: Record<string, unknown> }[];
    // A refused call has no intent: its call.result carries the request (with the actor).
    const actorOf = (e: Record<string, unknown>) =>
      (
        (e.actor ?? (e.request as { actor?: unknown } | null)?.actor) as
          { token_subject?: string } | undefined
      )?.token_subject;
    const events = records.map((r) => r.event);
    const about = (subject: string, tool: string) =>
      events.filter(
        (e) =>
          String(e.type).startsWith('call.') &&
          actorOf(e) === subject &&
          JSON.stringify(e).includes(tool),
      );
    const lists = events.filter((e) => e.type === 'tools.list');
    const devList = lists.find((e) => actorOf(e) === 'service:dev-bot');
    expect(devList?.hidden).toEqual([
      expect.objectContaining({
        server: 'pay',
        tool: 'refund',
        reason: expect.stringMatching(/^scope: /),
      }),
    ]);
    expect(about('service:fin-bot', 'refund').length).toBeGreaterThan(0);
    const devRefund = about('service:dev-bot', 'refund');
    expect(devRefund.length).toBeGreaterThan(0);
    expect(JSON.stringify(devRefund)).toContain('scope:');
    expect(JSON.stringify(about('service:fin-bot', 'conf'))).toContain('scope:');
  }, 60_000);
});
