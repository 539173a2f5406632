import { listeningGatehouse } from '../support/gatehouse-http.js';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, test } from 'vitest';
import { passThroughSchema } from '../../src/gateway/wire.js';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';

/**
 * A 2026-07-28 ("modern") client in front of Gatehouse, next to a 2025-11-25 ("legacy") one:
 * the same endpoint serves both (stdio: the opening message decides; HTTP: each POST), and a
 * modern request goes through the same pipeline (policy, masking, audit, identity).
 */

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const node = JSON.stringify(process.execPath);
const MODERN = { pin: '2026-07-28' } as const;
const clients: Client[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

const CONFIG = (callLog: string) =>
  `[mcp_servers.governed]\ncommand = ${node}\nargs = [${JSON.stringify(join(FIXTURES, 'governed.mjs'))}]\n\n` +
  `[mcp_servers.customers]\ncommand = ${node}\nargs = [${JSON.stringify(join(FIXTURES, 'customer-data.mjs'))}]\n` +
  `env = { SERVER_NAME = "customers", CONFIG_URI = "config://app", CALL_LOG = ${JSON.stringify(callLog)} }\n`;

const POLICY = `
[gatehouse_policy.tools."governed/wipe"]
allow = false
`;

function files(requirements = POLICY) {
  const dir = writeFiles({
    'c.toml': CONFIG(join(tempDir(), 'calls.jsonl')),
    'r.toml': requirements,
  });
  return {
    dir,
    home: tempDir(),
    flags: ['--config', join(dir, 'c.toml'), '--requirements', join(dir, 'r.toml')],
  };
}

function gatehouse(args: string[], home: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, GATEHOUSE_HOME: home },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Mode = 'legacy' | 'auto' | { pin: string };

function newClient(mode: Mode): Client {
  const client = new Client(
    { name: `era-${typeof mode === 'string' ? mode : 'pin'}`, version: '1.0.0' },
    { capabilities: {}, versionNegotiation: { mode } },
  );
  clients.push(client);
  return client;
}

async function overStdio(mode: Mode, flags: string[], home: string, command: string[]) {
  const client = newClient(mode);
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, ...flags, ...command],
      stderr: 'pipe',
      env: { ...(process.env as Record<string, string>), GATEHOUSE_HOME: home },
    }),
  );
  return client;
}

async function overHttp(mode: Mode, url: string, token?: string) {
  const client = newClient(mode);
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      ...(token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}),
    }),
  );
  return client;
}

/** What the gateway printed on stderr so far, by URL (state lines: servers starting, …). */
const stderrOf = new Map<string, () => string>();

async function startHttp(flags: string[], home: string, command: string[]): Promise<string> {
  const argv = [...flags, ...command, '--http', '127.0.0.1:0'];
  const { url, stderr } = await listeningGatehouse(children, argv, home);
  stderrOf.set(url, stderr);
  return url;
}

/** A request as sent, its error (code) if refused. */
async function outcome(
  client: Client,
  method: string,
  params: Record<string, unknown>,
): Promise<{ result?: Record<string, unknown>; code?: number }> {
  try {
    return {
      result: (await client.request({ method, params } as never, passThroughSchema)) as never,
    };
  } catch (err) {
    return { code: (err as { code?: number }).code ?? -1 };
  }
}

interface AuditActor {
  era?: string;
  token_subject: string | null;
  client: { name: string } | null;
  identity?: { subject: string };
}

/** Who made each call, as the audit records it (an intent, or a refusal's result). */
function callActors(home: string): AuditActor[] {
  const r = gatehouse(['audit', 'query', '--json'], home);
  type Row = {
    event: { type: string; actor?: AuditActor; request?: { actor: AuditActor } | null };
  };
  return (JSON.parse(r.stdout || '[]') as Row[]).flatMap(({ event: e }) =>
    e.type === 'call.intent' && e.actor
      ? [e.actor]
      : e.type === 'call.result' && e.request
        ? [e.request.actor]
        : [],
  );
}

function post(
  url: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
};

/** What every client, of either era, sees through the gateway for the governed server. */
async function governedThrough(client: Client, prefix: string) {
  const tools = (await client.listTools()).tools.map((t) => t.name).sort();
  const allowed = await outcome(client, 'tools/call', {
    name: `${prefix}read_balance`,
    arguments: { account: 'a1' },
  });
  const refused = await outcome(client, 'tools/call', { name: `${prefix}wipe`, arguments: {} });
  return { tools, allowed, refused };
}

describe.skipIf(!existsSync(BIN))('a 2026-07-28 client through Gatehouse', () => {
  test('run (stdio): discover, list, an allowed call, a policy refusal like legacy, audited with the era', async () => {
    const { flags, home } = files();
    const modern = await overStdio(MODERN, flags, home, ['run', 'governed']);
    const legacy = await overStdio('legacy', flags, home, ['run', 'governed']);
    expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(legacy.getNegotiatedProtocolVersion()).toBe('2025-11-25');
    expect(modern.getServerVersion()?.name).toBe('governed'); // server/discover's answer
    const m = await governedThrough(modern, '');
    const l = await governedThrough(legacy, '');
    expect(m.tools).toEqual(l.tools);
    expect(m.allowed.result?.content).toEqual([{ type: 'text', text: 'balance of a1: 100' }]);
    expect(m.allowed.result?.content).toEqual(l.allowed.result?.content);
    expect(m.refused.code).toBe(-32004); // policy_denied, as for the legacy client
    expect(l.refused.code).toBe(-32004);
    const actors = callActors(home);
    expect(actors.filter((a) => a.era === 'modern').map((a) => a.client?.name)).toEqual([
      'era-pin',
      'era-pin',
    ]);
    expect(actors.filter((a) => a.era === 'legacy')).toHaveLength(2);
  });

  test('serve (stdio), auto negotiation: masking applies to a modern client’s results', async () => {
    const { flags, home } = files();
    const client = await overStdio('auto', flags, home, ['serve']);
    expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const read = await client.callTool({
      name: 'customers__read_config',
      arguments: { path: '/srv/app/.env' },
    });
    const text = (read.content as { text: string }[])[0]?.text ?? '';
    expect(text).toContain('AWS_ACCESS_KEY_ID=[REDACTED:aws_access_key]');
    expect(text).not.toMatch(/AKIA[A-Z0-9]{16}/);
  });

  test('run --http: modern and legacy clients on one endpoint, the same answers', async () => {
    const { flags, home } = files();
    const url = await startHttp(flags, home, ['run', 'governed']);
    const modern = await overHttp('auto', url);
    const legacy = await overHttp('legacy', url);
    expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    expect(legacy.getNegotiatedProtocolVersion()).toBe('2025-11-25');
    const m = await governedThrough(modern, '');
    const l = await governedThrough(legacy, '');
    expect(m).toEqual({
      ...l,
      allowed: {
        result: { ...l.allowed.result, _meta: expect.anything() as unknown },
      },
    });
    expect(m.refused.code).toBe(-32004);
  });

  test('serve --http with service tokens: identity, policy, masking and audit for a modern client; edge refusals', async () => {
    const store = join(tempDir(), 'service-tokens.json');
    const { flags, home } = files(`${POLICY}\n[gatehouse_identity]\nservice_tokens = "${store}"\n`);
    const created = gatehouse(
      [
        'tokens',
        'create',
        'ci',
        '--subject',
        'bot:ci',
        '--group',
        'ci',
        '--store',
        store,
        '--json',
      ],
      home,
    );
    expect(created.status, created.stderr).toBe(0);
    const token = (JSON.parse(created.stdout) as { token: string }).token;
    const url = await startHttp(flags, home, ['serve']);

    const modern = await overHttp(MODERN, url, token);
    expect(modern.getServerVersion()?.name).toBe('gatehouse');
    const m = await governedThrough(modern, 'governed__');
    expect(m.tools).toContain('customers__read_config');
    expect(m.allowed.result?.content).toEqual([{ type: 'text', text: 'balance of a1: 100' }]);
    expect(m.refused.code).toBe(-32004);
    const read = await modern.callTool({
      name: 'customers__read_config',
      arguments: { path: '/srv/app/.env' },
    });
    expect((read.content as { text: string }[])[0]?.text).toContain(
      'GITHUB_TOKEN=[REDACTED:github_token]',
    );
    const legacy = await overHttp('legacy', url, token);
    expect((await governedThrough(legacy, 'governed__')).refused.code).toBe(-32004);
    const actors = callActors(home).filter((a) => a.era === 'modern');
    expect(actors.length).toBeGreaterThanOrEqual(3);
    for (const a of actors)
      expect(a).toMatchObject({ token_subject: 'service:bot:ci', identity: { subject: 'bot:ci' } });

    // The edge: no token is 401 for a modern request as for a legacy one.
    const call = {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'governed__read_balance', arguments: { account: 'a1' }, _meta: ENVELOPE },
    };
    const std = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call' };
    expect((await post(url, { ...std, 'mcp-name': 'governed__read_balance' }, call)).status).toBe(
      401,
    );
    const bearer = { authorization: `Bearer ${token}`, ...std };
    const served = await post(url, { ...bearer, 'mcp-name': 'governed__read_balance' }, call);
    expect(served.status).toBe(200);
    expect(served.body).toContain('balance of a1: 100');
    // Headers that disagree with the body (a proxy may have routed by them) are refused.
    const renamed = await post(url, { ...bearer, 'mcp-name': 'governed__wipe' }, call);
    expect(renamed.status).toBe(400);
    expect(JSON.parse(renamed.body).error.code).toBe(-32020);
    const noName = await post(url, bearer, call);
    expect(JSON.parse(noName.body).error.code).toBe(-32020);
    const otherMethod = await post(url, { ...bearer, 'mcp-method': 'tools/list' }, call);
    expect(JSON.parse(otherMethod.body).error.code).toBe(-32020);
    // A revision this gateway does not serve: the SDK's -32022, naming the supported one.
    const future = {
      ...call,
      params: {
        ...call.params,
        _meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' },
      },
    };
    const unsupported = await post(
      url,
      { ...bearer, 'mcp-protocol-version': '2099-01-01', 'mcp-name': 'governed__read_balance' },
      future,
    );
    expect(JSON.parse(unsupported.body).error.code).toBe(-32022);
    // 2026-07-28 has no ping or logging/setLevel (a request's _meta log level replaces it).
    for (const method of ['ping', 'logging/setLevel']) {
      const gone = await post(
        url,
        { ...bearer, 'mcp-method': method },
        { jsonrpc: '2.0', id: 9, method, params: { level: 'debug', _meta: ENVELOPE } },
      );
      expect(JSON.parse(gone.body).error.code, method).toBe(-32601);
    }
    // Nothing modern carries a session id.
    expect(served.headers).not.toHaveProperty('mcp-session-id');
  });

  test.each(['stdio', 'http'] as const)(
    'subscriptions/listen (%s): the session’s tools/list_changed reaches the open stream',
    async (via) => {
      const description = join(tempDir(), 'description.txt');
      writeFileSync(description, 'Reads the notes.');
      const dir = writeFiles({
        'c.toml': `[mcp_servers.contract]\ncommand = ${node}\nargs = [${JSON.stringify(join(FIXTURES, 'contract.mjs'))}]\nenv = { CONTRACT_NOTES_DESCRIPTION_FILE = ${JSON.stringify(description)} }\n`,
      });
      const home = tempDir();
      const flags = ['--config', join(dir, 'c.toml')];
      const client =
        via === 'stdio'
          ? await overStdio(MODERN, flags, home, ['serve'])
          : await overHttp(MODERN, await startHttp(flags, home, ['serve']));
      let heard!: () => void;
      const changed = new Promise<void>((resolve) => (heard = resolve));
      client.setNotificationHandler('notifications/tools/list_changed', () => heard());
      const subscription = await client.listen({ toolsListChanged: true });
      expect(subscription.honoredFilter).toMatchObject({ toolsListChanged: true });
      writeFileSync(description, 'Reads the notes, and now more.');
      await changed;
      await subscription.close();
    },
  );

  test('replicas: any replica serves a modern request (no session id to route by)', async () => {
    const { flags } = files();
    const urls = await Promise.all(
      ['gw-1', 'gw-2'].map((id) =>
        startHttp(flags, tempDir(), ['run', 'governed', '--replica-id', id]),
      ),
    );
    const call = (id: number) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'read_balance', arguments: { account: 'a1' }, _meta: ENVELOPE },
    });
    const headers = {
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'read_balance',
    };
    // One client's consecutive requests, each to another replica, as a plain load balancer would.
    for (const [i, url] of [...urls, ...urls].entries()) {
      const answer = await post(url, headers, call(i));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body).result).toMatchObject({
        resultType: 'complete',
        content: [{ type: 'text', text: 'balance of a1: 100' }],
      });
    }
  });

  test('a caller’s first modern requests, in parallel, share one pooled gateway session', async () => {
    const { flags } = files();
    const url = await startHttp(flags, tempDir(), ['run', 'governed']);
    const headers = {
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'read_balance',
    };
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, id) =>
        post(url, headers, {
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: { name: 'read_balance', arguments: { account: 'a1' }, _meta: ENVELOPE },
        }),
      ),
    );
    for (const a of answers) expect(a.status).toBe(200);
    const started = (stderrOf.get(url)?.() ?? '').match(/"state":"starting"/g) ?? [];
    expect(started).toHaveLength(1);
  });

  test('an idle pooled session is ended with its upstreams; the caller’s next request opens another', async () => {
    const { flags } = files();
    const url = await startHttp(flags, tempDir(), [
      'run',
      'governed',
      '--idle-session-seconds',
      '1',
    ]);
    const stderr = () => stderrOf.get(url)?.() ?? '';
    const headers = {
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'read_balance',
    };
    const call = {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'read_balance', arguments: { account: 'a1' }, _meta: ENVELOPE },
    };
    expect((await post(url, headers, call)).status).toBe(200);
    for (let i = 0; i < 200 && !/"state":"stopped"/.test(stderr()); i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(stderr()).toMatch(/"event":"session_expired"[^\n]*"era":"modern"/);
    expect(stderr()).toMatch(/"state":"stopped"/);
    expect((await post(url, headers, call)).status).toBe(200);
    expect(stderr().match(/"state":"starting"/g)).toHaveLength(2);
  });

  test('HTTP: a modern client that hangs up cancels its call at the upstream', async () => {
    const log = join(tempDir(), 'adversary.jsonl');
    const dir = writeFiles({
      'c.toml': `[mcp_servers.adv]\ncommand = ${node}\nargs = [${JSON.stringify(join(FIXTURES, 'adversary.mjs'))}]\nenv = { ADVERSARY_LOG = ${JSON.stringify(log)} }\n`,
    });
    const url = await startHttp(['--config', join(dir, 'c.toml')], tempDir(), ['run', 'adv']);
    const entries = () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as { kind: string; tool?: string })
        : [];
    const until = async (ok: () => boolean) => {
      for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
      return ok();
    };
    const hangUp = new AbortController();
    const call = fetch(url, {
      method: 'POST',
      signal: hangUp.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': 'hang',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'hang', arguments: {}, _meta: ENVELOPE },
      }),
    }).catch(() => 'aborted');
    expect(await until(() => entries().some((e) => e.kind === 'call' && e.tool === 'hang'))).toBe(
      true,
    );
    hangUp.abort();
    expect(await call).toBe('aborted');
    expect(await until(() => entries().some((e) => e.kind === 'cancelled'))).toBe(true);
  });
});

/** A modern POST's standard headers for `method` (and the tool it names). */
const modernHeaders = (method: string, name?: string) => ({
  'mcp-protocol-version': '2026-07-28',
  'mcp-method': method,
  ...(name ? { 'mcp-name': name } : {}),
});

/** A modern tools/call whose envelope declares `capabilities`. */
const callDeclaring = (
  id: number,
  name: string,
  capabilities: Record<string, unknown>,
  args: Record<string, unknown> = {},
) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: {
    name,
    arguments: args,
    _meta: { ...ENVELOPE, 'io.modelcontextprotocol/clientCapabilities': capabilities },
  },
});

describe.skipIf(!existsSync(BIN))('a modern caller’s capabilities, request by request', () => {
  /** `gatehouse run --http` in front of the dual-era conformance fixture (a modern upstream). */
  async function conformanceGateway() {
    const dir = writeFiles({
      'c.toml': `[mcp_servers.conf]\ncommand = ${node}\nargs = [${JSON.stringify(join(FIXTURES, 'conformance-server.mjs'))}]\n`,
    });
    return startHttp(['--config', join(dir, 'c.toml')], tempDir(), ['run', 'conf']);
  }

  test('run --http: each request reaches the modern upstream with the capabilities IT declared, not the first request’s', async () => {
    const url = await conformanceGateway();
    const missing = (id: number, capabilities: Record<string, unknown>) =>
      post(
        url,
        modernHeaders('tools/call', 'test_missing_capability'),
        callDeclaring(id, 'test_missing_capability', capabilities),
      );
    // The pooled upstream connection is opened by this first request, which declares nothing.
    const refused = await missing(1, {});
    expect(JSON.parse(refused.body).error.code).toBe(-32021);
    const served = await missing(2, { sampling: {} });
    expect(served.status).toBe(200);
    expect(JSON.parse(served.body).result.content).toEqual([
      { type: 'text', text: 'the client declared sampling' },
    ]);
    // …and declaring less again counts as well (nothing sticks from an earlier request).
    expect(JSON.parse((await missing(3, {})).body).error.code).toBe(-32021);

    // The upstream asks only for what this request can answer.
    const asked = await post(
      url,
      modernHeaders('tools/call', 'test_input_required_result_capabilities'),
      callDeclaring(4, 'test_input_required_result_capabilities', { sampling: {} }),
    );
    const result = JSON.parse(asked.body).result as {
      resultType: string;
      inputRequests: Record<string, { method: string }>;
    };
    expect(result.resultType).toBe('input_required');
    expect(Object.values(result.inputRequests).map((r) => r.method)).toEqual([
      'sampling/createMessage',
    ]);
  });

  test('run (stdio): a modern client’s per-request capabilities reach the modern upstream too', async () => {
    const dir = writeFiles({
      'c.toml': `[mcp_servers.conf]\ncommand = ${node}\nargs = [${JSON.stringify(join(FIXTURES, 'conformance-server.mjs'))}]\n`,
    });
    // The client connects declaring nothing; one request declares sampling in its own _meta.
    const client = await overStdio(MODERN, ['--config', join(dir, 'c.toml')], tempDir(), [
      'run',
      'conf',
    ]);
    const call = (_meta: Record<string, unknown>) =>
      outcome(client, 'tools/call', { name: 'test_missing_capability', arguments: {}, _meta });
    expect((await call({})).code).toBe(-32021);
    const served = await call({ 'io.modelcontextprotocol/clientCapabilities': { sampling: {} } });
    expect(served.result?.content).toEqual([
      { type: 'text', text: 'the client declared sampling' },
    ]);
  });

  test('run --http: a method nobody serves is HTTP 404 with -32601 for a modern request, in-band for a legacy session', async () => {
    const url = await conformanceGateway();
    const unknown = await post(url, modernHeaders('unknown/method'), {
      jsonrpc: '2.0',
      id: 601,
      method: 'unknown/method',
      params: { _meta: ENVELOPE },
    });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ id: 601, error: { code: -32601 } });
    // A served method's errors stay in-band, and results are untouched.
    const served = await post(url, modernHeaders('tools/list'), {
      jsonrpc: '2.0',
      id: 602,
      method: 'tools/list',
      params: { _meta: ENVELOPE },
    });
    expect(served.status).toBe(200);
    expect(JSON.parse(served.body).result.tools.length).toBeGreaterThan(0);

    // 2025-11-25 answers every JSON-RPC error on 200, as before.
    const statuses: number[] = [];
    const legacy = newClient('legacy');
    await legacy.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          if (typeof init?.body === 'string' && init.body.includes('unknown/method'))
            statuses.push(response.status);
          return response;
        },
      }),
    );
    expect((await outcome(legacy, 'unknown/method', {})).code).toBe(-32601);
    expect(statuses).toEqual([200]);
  });

  test('run --http: Gatehouse asks for approval in-band only when THIS request declares elicitation', async () => {
    const dir = writeFiles({
      'c.toml': `[mcp_servers.governed]\ncommand = ${node}\nargs = [${JSON.stringify(join(FIXTURES, 'governed.mjs'))}]\n`,
      'r.toml': '[gatehouse_policy]\ndefault_approval = "gatehouse"\napproval_wait_seconds = 1\n',
    });
    const url = await startHttp(
      ['--config', join(dir, 'c.toml'), '--requirements', join(dir, 'r.toml')],
      tempDir(),
      ['run', 'governed'],
    );
    const refund = (id: number, capabilities: Record<string, unknown>) =>
      post(
        url,
        modernHeaders('tools/call', 'refund'),
        callDeclaring(id, 'refund', capabilities, { amount: 5, to: 'bob' }),
      );
    // The first request (which opens the caller's pooled session) can answer a form…
    const asked = JSON.parse((await refund(1, { elicitation: { form: {} } })).body);
    expect(asked.result).toMatchObject({ resultType: 'input_required' });
    // …a later one from the same caller cannot: it waits out of band instead of being asked.
    const notAsked = JSON.parse((await refund(2, {})).body);
    expect(notAsked.result).toBeUndefined();
    expect(notAsked.error.message).toContain('waiting for approval');
  });
});
