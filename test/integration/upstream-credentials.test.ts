import { listeningGatehouse } from '../support/gatehouse-http.js';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import {
  createRemoteJWKSet,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import type { TestProvider } from '../support/oidc.js';
import { startTestProvider } from '../support/oidc.js';
import type { UpstreamProvider } from '../support/oidc-upstream.js';
import { startUpstreamProvider, UPSTREAM_CLIENT_ID } from '../support/oidc-upstream.js';

/**
 * Upstream credentials end to end, with real parts: an OpenID provider (oidc-provider) as the
 * upstream's authorization server (code + PKCE, refresh, revocation, resource indicators), a
 * second one as the team gateway's identity provider, an OAuth-protected MCP server that
 * records every request, and the built CLI.
 */
const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const SERVICE_TOKEN = 'svc-token-0123456789abcdef';
const children: ChildProcess[] = [];
const clients: Client[] = [];
let idp: TestProvider;
let as: UpstreamProvider;
let upstream: Upstream;

interface Upstream {
  url: string;
  child: ChildProcess;
  /** Every request the upstream received, unmasked, as it recorded them. */
  requests(): { headers: Record<string, string>; sub?: string }[];
}

async function startProtected(issuer: string): Promise<Upstream> {
  const file = join(tempDir(), 'requests.jsonl');
  const child = spawn(process.execPath, [join(FIXTURES, 'protected-http.mjs'), issuer], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, SERVICE_TOKEN, RECORD_FILE: file },
  });
  children.push(child);
  const port = await new Promise<string>((resolve) =>
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    child,
    requests: () =>
      existsSync(file)
        ? readFileSync(file, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as { headers: Record<string, string>; sub?: string })
        : [],
  };
}

/** No request the upstream received carried any of these client tokens (nor a piece of one). */
function neverForwarded(up: Upstream, tokens: string[]): void {
  const all = JSON.stringify(up.requests());
  expect(up.requests().length).toBeGreaterThan(0);
  for (const token of tokens) {
    expect(all).not.toContain(token);
    expect(all).not.toContain(token.split('.')[2] ?? token);
  }
}

beforeAll(async () => {
  idp = await startTestProvider({ alice: {}, bob: {} });
  as = await startUpstreamProvider({ accessTokenTtl: 30 });
  upstream = await startProtected(as.issuer);
});
afterAll(async () => {
  for (const c of children.splice(0)) c.kill('SIGTERM');
  await Promise.all([idp.close(), as.close()]);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const c of children.filter((c) => c !== upstream.child)) c.kill('SIGTERM');
});

/**
 * The built CLI, run without blocking this process: the authorization servers live in it, so a
 * synchronous spawn would leave them unable to answer.
 */
function cli(
  args: string[],
  home: string,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, GATEHOUSE_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.once('close', (status) => resolve({ status, stdout, stderr })),
  );
}

/** Whose grants the vault holds (`credentials list --json`). */
async function grantsOf(home: string): Promise<string[]> {
  const listed = await cli(['credentials', 'list', '--json'], home);
  return (JSON.parse(listed.stdout) as { principal: string }[]).map((x) => x.principal);
}

/** `gatehouse login` as a child; the test's "browser" signs in as `user` at the AS. */
async function login(
  config: string,
  home: string,
  user: string,
  more: string[] = [],
  browser: (url: string) => Promise<void> = async (url) => {
    const back = await as.authorize(url);
    await fetch(back);
  },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    [BIN, '--config', config, 'login', 'rec', '--timeout', '20', ...more],
    { env: { ...process.env, GATEHOUSE_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const url = await new Promise<string | null>((resolve) => {
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /^ {2}(http\S+)$/m.exec(stderr);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', () => resolve(null));
  });
  if (url) {
    as.nextUser = user;
    await browser(url);
  }
  const code = await new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c)),
  );
  return { code, stdout, stderr };
}

interface Gateway {
  url: string;
  home: string;
  stderr: () => string;
}

/** `gatehouse run rec --http` (or `serve`), callers authenticated by the identity provider. */
function startGateway(
  config: string,
  home: string,
  mode: 'run' | 'serve' = 'run',
  env: Record<string, string> = {},
): Promise<Gateway> {
  const dir = writeFiles({
    'r.toml': `[gatehouse_identity]\nissuer = "${idp.issuer}"\nrequired_scopes = ["mcp:tools"]\n`,
  });
  return listeningGatehouse(
    children,
    [
      '--config',
      config,
      '--requirements',
      join(dir, 'r.toml'),
      ...(mode === 'run' ? ['run', 'rec'] : ['serve']),
      '--http',
      '127.0.0.1:0',
    ],
    home,
    env,
  ).then(({ url, stderr }) => ({ url, home, stderr }));
}

async function callerToken(g: Gateway, who: string): Promise<string> {
  return idp.token(who, { resource: g.url, scope: 'mcp:tools' });
}

async function connect(g: Gateway, token: string): Promise<Client> {
  const client = new Client({ name: 'creds-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(g.url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

async function text(client: Client, name: string): Promise<string> {
  const r = await client.callTool({ name, arguments: {} });
  return (r.content as { text: string }[])[0]?.text ?? '';
}

function configFile(table: string, url = upstream.url): string {
  const dir = writeFiles({ 'c.toml': `[mcp_servers.rec]\nurl = "${url}"\n${table}` });
  return join(dir, 'c.toml');
}

const USER_MODEL = `[mcp_servers.rec.gatehouse_credentials]
model = "user"
client_id = "${UPSTREAM_CLIENT_ID}"
scopes = ["openid", "offline_access", "mcp:tools"]
`;

/** `gatehouse serve` on stdio as a client sees it, with the log lines it was sent. */
async function serveStdio(
  config: string,
  home: string,
): Promise<{ client: Client; logs: unknown[] }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, '--config', config, 'serve'],
    stderr: 'pipe',
    env: { ...(process.env as Record<string, string>), GATEHOUSE_HOME: home },
  });
  const logs: unknown[] = [];
  const client = new Client({ name: 'creds-test', version: '1.0.0' }, { capabilities: {} });
  client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params.data));
  await client.connect(transport);
  clients.push(client);
  return { client, logs };
}

/** The JSON-RPC error a tools/call ended with (null: it succeeded). */
async function callError(
  client: Client,
  name: string,
): Promise<{ code: number; message: string } | null> {
  try {
    await client.callTool({ name, arguments: {} });
    return null;
  } catch (err) {
    return err as { code: number; message: string };
  }
}

/** The call results the audit trail recorded. */
async function auditRefusals(home: string): Promise<unknown[]> {
  const audit = await cli(['audit', 'query', '--json', '--type', 'call.result'], home);
  return (JSON.parse(audit.stdout) as { event: Record<string, unknown> }[]).map((r) => r.event);
}

async function auditCredentials(home: string): Promise<unknown[]> {
  const audit = await cli(['audit', 'query', '--json', '--type', 'call.intent'], home);
  return (JSON.parse(audit.stdout) as { event: { credential?: unknown } }[]).map(
    (r) => r.event.credential,
  );
}

describe.skipIf(!existsSync(BIN))('upstream credentials', () => {
  test('service: every caller reaches the upstream as the one service identity; no client token is forwarded; the audit names model and principal', async () => {
    const secretDir = tempDir();
    const file = join(secretDir, 'token');
    writeFileSync(file, `${SERVICE_TOKEN}\n`, { mode: 0o600 });
    const config = configFile(`[mcp_servers.rec.gatehouse_credentials]
model = "service"
bearer = { file = "${file}" }
headers = { "X-Tenant" = { command = ["${process.execPath}", "-e", "process.stdout.write('tenant-7')"] } }
`);
    const g = await startGateway(config, tempDir(), 'serve');
    const tokens = await Promise.all(['alice', 'bob'].map((u) => callerToken(g, u)));
    for (const token of tokens) {
      const client = await connect(g, token);
      expect(await text(client, 'rec__whoami')).toBe('service-static');
    }
    neverForwarded(upstream, tokens);
    const requests = upstream.requests().filter((r) => r.headers['x-tenant']);
    expect(requests.length).toBeGreaterThan(3);
    for (const r of requests) {
      expect(r.headers.authorization).toBe(`Bearer ${SERVICE_TOKEN}`);
      expect(r.sub).toBe('service-static');
    }
    expect(await auditCredentials(g.home)).toContainEqual({
      model: 'service',
      principal: 'gatehouse',
    });
    // The secret never appears in what the gateway printed or stored.
    expect(g.stderr()).not.toContain(SERVICE_TOKEN);
    expect((await cli(['audit', 'export'], g.home)).stdout).not.toContain(SERVICE_TOKEN);
    expect(
      (await cli(['--config', config, 'mcp', 'get', 'rec', '--json'], g.home)).stdout,
    ).not.toContain(SERVICE_TOKEN);
  });

  test('service with OAuth client credentials: one service token from the AS for every caller (resource = the upstream)', async () => {
    const own = await startProtected(idp.issuer);
    const config = configFile(
      `[mcp_servers.rec.gatehouse_credentials]
model = "service"
grant = "client_credentials"
client_id = "bob"
client_secret = { env = "CC_SECRET" }
issuer = "${idp.issuer}"
scopes = ["mcp:tools"]
`,
      own.url,
    );
    const g = await startGateway(config, tempDir(), 'run', { CC_SECRET: 'bob-secret-0123456789' });
    const tokens = await Promise.all(['alice', 'bob'].map((u) => callerToken(g, u)));
    for (const token of tokens) expect(await text(await connect(g, token), 'whoami')).toBe('bob');
    neverForwarded(own, tokens);
    for (const r of own.requests()) expect(r.sub).toBe('bob');
    expect(g.stderr()).not.toContain('bob-secret-0123456789');
    own.child.kill('SIGTERM');
  });

  test('none: the upstream gets no credential at all, never the caller’s', async () => {
    const own = await startProtected(as.issuer);
    const g = await startGateway(configFile('', own.url), tempDir(), 'serve');
    const token = await callerToken(g, 'alice');
    // The protected upstream refuses a gateway without a credential: the server is left out.
    expect((await (await connect(g, token)).listTools()).tools).toEqual([]);
    expect(g.stderr()).toMatch(/"server":"rec","state":"auth_required"/);
    neverForwarded(own, [token]);
    for (const r of own.requests()) expect(r.headers.authorization).toBeUndefined();
    own.child.kill('SIGTERM');
  });

  test('a secret file other users can read is refused with the fix, and nothing is sent', async () => {
    const file = join(tempDir(), 'token');
    writeFileSync(file, SERVICE_TOKEN, { mode: 0o644 });
    chmodSync(file, 0o644);
    const config = configFile(`[mcp_servers.rec.gatehouse_credentials]
model = "service"
bearer = { file = "${file}" }
`);
    const home = tempDir();
    const get = JSON.parse(
      (await cli(['--config', config, 'mcp', 'get', 'rec', '--json'], home)).stdout,
    );
    expect(get.credentials).toMatchObject({ model: 'service', state: 'unreadable' });
    expect(get.credentials.detail).toContain(`Fix: chmod 600 '${file}'`);
    const probe = await cli(['--config', config, 'mcp', 'list', '--probe', '--json'], home);
    const [rec] = JSON.parse(probe.stdout) as { runtime: { state: string; detail: string } }[];
    expect(rec?.runtime.state).toBe('failed');
    expect(rec?.runtime.detail).toContain('can be read by other users (mode 0644)');
    expect(probe.stdout + probe.stderr).not.toContain(SERVICE_TOKEN);
  });

  test('user: auth_required → gatehouse login → ready; refreshed across a restart; revoked asks again', async () => {
    const config = configFile(USER_MODEL);
    const home = tempDir();
    const before = JSON.parse(
      (await cli(['--config', config, 'mcp', 'list', '--probe', '--json'], home)).stdout,
    )[0];
    expect(before.runtime.state).toBe('auth_required');
    expect(before.runtime.detail).toContain('run `gatehouse login rec`');
    expect(before.credentials).toMatchObject({ model: 'user', state: 'login_required' });

    const done = await login(config, home, 'carol');
    expect(done.stderr).toContain('Open this URL in a browser');
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(/^logged in: os:\S+ → rec at http:\/\/127\.0\.0\.1:\d+/);

    const listed = JSON.parse((await cli(['credentials', 'list', '--json'], home)).stdout);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ server: 'rec', issuer: as.issuer, resource: upstream.url });
    expect(JSON.stringify(listed)).not.toMatch(/eyJ/); // no token in the listing
    const firstUpdate = listed[0].updated_at as string;

    // The access token lives 30 s, inside the 60 s refresh margin: every new start refreshes it.
    const after = JSON.parse(
      (await cli(['--config', config, 'mcp', 'list', '--probe', '--json'], home)).stdout,
    )[0];
    expect(after.runtime.state, after.runtime.detail).toBe('ready');
    const refreshed = JSON.parse((await cli(['credentials', 'list', '--json'], home)).stdout)[0];
    expect(refreshed.updated_at > firstUpdate).toBe(true);
    const again = JSON.parse(
      (await cli(['--config', config, 'mcp', 'list', '--probe', '--json'], home)).stdout,
    )[0];
    expect(again.runtime.state).toBe('ready');

    const revoked = await cli(['credentials', 'revoke', 'rec'], home);
    expect(revoked.status).toBe(0);
    expect(revoked.stdout).toContain('revoked at the authorization server');
    const asked = JSON.parse(
      (await cli(['--config', config, 'mcp', 'list', '--probe', '--json'], home)).stdout,
    )[0];
    expect(asked.runtime.state).toBe('auth_required');
    expect(asked.runtime.detail).toContain('gatehouse login rec');
  });

  test('run on stdio without a grant: the initialize error names the login command, exit 23', async () => {
    const config = configFile(USER_MODEL);
    const child = spawn(process.execPath, [BIN, '--config', config, 'run', 'rec'], {
      env: { ...process.env, GATEHOUSE_HOME: tempDir() },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin?.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } })}\n`,
    );
    const code = await new Promise<number | null>((resolve) => {
      child.stdout?.on('data', () => {
        if (out.includes('\n')) child.stdin?.end();
      });
      child.once('exit', resolve);
    });
    expect(JSON.parse(out.split('\n')[0] ?? '{}').error.message).toMatch(
      /has no grant for rec yet: run `gatehouse login rec`/,
    );
    expect(code).toBe(23);
  });

  test('team gateway, user model: alice and bob reach the upstream with their own grants; neither token is forwarded', async () => {
    const config = configFile(USER_MODEL);
    const home = tempDir();
    expect((await login(config, home, 'alice', ['--for', 'user:alice'])).code).toBe(0);
    const g = await startGateway(config, home);
    const bobToken = await callerToken(g, 'bob');
    // bob has no grant yet: the session is refused, naming the login command.
    await expect(connect(g, bobToken)).rejects.toThrow(/gatehouse login rec/);
    expect((await login(config, home, 'bob', ['--for', 'user:bob'])).code).toBe(0);
    const aliceToken = await callerToken(g, 'alice');
    const alice = await connect(g, aliceToken);
    const bob = await connect(g, bobToken);
    expect(await text(alice, 'whoami')).toBe('alice');
    expect(await text(bob, 'whoami')).toBe('bob');
    neverForwarded(upstream, [aliceToken, bobToken]);
    const subjects = new Set(upstream.requests().map((r) => r.sub));
    expect(subjects).toContain('alice');
    expect(subjects).toContain('bob');
    expect(await auditCredentials(home)).toEqual(
      expect.arrayContaining([
        { model: 'user', principal: 'user:alice' },
        { model: 'user', principal: 'user:bob' },
      ]),
    );
  });

  test('serve on stdio without a grant: a call to the server says to log in (-32011, audited), the session says so at start; after login a new session calls it', async () => {
    const config = configFile(USER_MODEL);
    const home = tempDir();
    const first = await serveStdio(config, home);
    expect(first.client.getInstructions()).toContain("server 'rec' needs your own login");
    const refused = await callError(first.client, 'rec__whoami');
    expect(refused?.code).toBe(-32011);
    expect(refused?.message).toMatch(/server 'rec' needs your own login/);
    expect(refused?.message).toContain('run `gatehouse login rec`');
    // A name in no waiting server's namespace is still just unknown.
    expect((await callError(first.client, 'other__whoami'))?.code).toBe(-32602);
    await expect
      .poll(() => first.logs)
      .toContainEqual(expect.objectContaining({ server: 'rec', state: 'login_required' }));
    await first.client.close();
    expect(await auditRefusals(home)).toContainEqual(
      expect.objectContaining({
        type: 'call.result',
        server: 'rec',
        outcome: 'denied',
        error: expect.objectContaining({ code: -32011, by: 'gatehouse' }),
      }),
    );

    expect((await login(config, home, 'carol')).code).toBe(0);
    const second = await serveStdio(config, home);
    expect(second.client.getInstructions() ?? '').not.toContain('needs your own login');
    expect(await text(second.client, 'rec__whoami')).toBe('carol');
  });

  test('serve --http: bob without a grant is told to log in (with the operator command for his principal); after his login a new session works; alice is unaffected', async () => {
    const config = configFile(USER_MODEL);
    const home = tempDir();
    expect((await login(config, home, 'alice', ['--for', 'user:alice'])).code).toBe(0);
    const g = await startGateway(config, home, 'serve');
    const bobToken = await callerToken(g, 'bob');
    const bob = await connect(g, bobToken);
    expect(bob.getInstructions()).toContain('gatehouse login rec --for user:bob');
    const refused = await callError(bob, 'rec__whoami');
    expect(refused?.code).toBe(-32011);
    expect(refused?.message).toContain('user:bob has no grant for rec yet');
    expect(refused?.message).toContain('gatehouse login rec --for user:bob');
    const alice = await connect(g, await callerToken(g, 'alice'));
    expect(alice.getInstructions() ?? '').not.toContain('needs your own login');
    expect(await text(alice, 'rec__whoami')).toBe('alice');

    expect((await login(config, home, 'bob', ['--for', 'user:bob'])).code).toBe(0);
    const again = await connect(g, bobToken);
    expect(await text(again, 'rec__whoami')).toBe('bob');
  });

  test('the team gateway serves the login: alice GETs /login/rec, signs in at the AS, the callback stores her grant; bob still must log in; a replayed or forged state and an unauthenticated /login are refused', async () => {
    const config = configFile(USER_MODEL);
    const home = tempDir();
    const g = await startGateway(config, home, 'serve');
    const loginUrl = new URL('/login/rec', g.url).href;
    const callbackUrl = new URL('/oauth/callback', g.url).href;
    const aliceToken = await callerToken(g, 'alice');
    const bobToken = await callerToken(g, 'bob');
    const startLogin = (token: string) =>
      fetch(loginUrl, { headers: { authorization: `Bearer ${token}` } });

    const anonymous = await fetch(loginUrl);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await startLogin('not-a-token')).status).toBe(401);

    // bob's refusal names the gateway's login URL first, the operator's command after it.
    const bob = await connect(g, bobToken);
    const refused = await callError(bob, 'rec__whoami');
    expect(refused?.code).toBe(-32011);
    expect(refused?.message).toContain(`GET ${loginUrl}`);
    expect(refused?.message).toContain('gatehouse login rec --for user:bob');

    const started = await startLogin(aliceToken);
    expect(started.status).toBe(200);
    const body = (await started.json()) as { authorization_url: string; principal: string };
    expect(body.principal).toBe('user:alice');
    const authorization = new URL(body.authorization_url);
    expect(authorization.origin).toBe(as.issuer);
    expect(authorization.searchParams.get('redirect_uri')).toBe(callbackUrl);
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('state')?.length).toBeGreaterThanOrEqual(22);
    as.nextUser = 'alice';
    const back = await as.authorize(body.authorization_url);
    expect(`${back.origin}${back.pathname}`).toBe(callbackUrl);
    // The redirect alone stores nothing: the page names whose grant it would become.
    const asked = await fetch(back);
    expect(asked.status).toBe(200);
    expect(asked.headers.get('content-security-policy')).toContain("form-action 'self'");
    expect(asked.headers.get('x-frame-options')).toBe('DENY');
    const askedPage = await asked.text();
    expect(askedPage).toContain('Gatehouse user user:alice');
    expect(askedPage).not.toContain(back.searchParams.get('code') ?? 'no code');
    expect(await grantsOf(home)).toEqual([]);
    const confirmToken = /name="confirm" value="([^"]+)"/.exec(askedPage)?.[1] ?? '';
    const post = (token: string, action: string, origin = new URL(g.url).origin) =>
      fetch(callbackUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
        body: new URLSearchParams({ confirm: token, action }).toString(),
      });
    // A page on another site cannot post the confirmation.
    expect((await post(confirmToken, 'connect', 'https://evil.example')).status).toBe(403);
    const done = await post(confirmToken, 'connect');
    expect(done.status).toBe(200);
    expect(done.headers.get('content-security-policy')).toBe("default-src 'none'");
    expect(await done.text()).toContain('signed in to rec as user:alice');
    // The confirmation is single use.
    expect((await post(confirmToken, 'connect')).status).toBe(400);

    // The same redirect again: its state is spent, so nothing happens.
    const replayed = await fetch(back);
    expect(replayed.status).toBe(400);
    expect(await replayed.text()).toContain('unknown, expired or already used');

    // Account linking: bob sends HIS login link to alice; alice signs in at the AS and lands on a
    // page that names bob; she cancels, and nothing becomes bob's.
    const lure = (await (await startLogin(bobToken)).json()) as { authorization_url: string };
    as.nextUser = 'alice';
    const lured = await fetch(await as.authorize(lure.authorization_url));
    const luredPage = await lured.text();
    expect(luredPage).toContain('Gatehouse user user:bob');
    expect(luredPage).toContain('Only continue if you are user:bob');
    const lureToken = /name="confirm" value="([^"]+)"/.exec(luredPage)?.[1] ?? '';
    expect(await (await post(lureToken, 'cancel')).text()).toContain('nothing was stored');
    expect((await post(lureToken, 'connect')).status).toBe(400);
    // bob's own real code under a state the gateway never issued: refused, his grant not stored.
    const bobStarted = (await (await startLogin(bobToken)).json()) as { authorization_url: string };
    as.nextUser = 'bob';
    const bobBack = await as.authorize(bobStarted.authorization_url);
    bobBack.searchParams.set('state', 'forged-state-0123456789abcdef');
    const forged = await fetch(bobBack);
    expect(forged.status).toBe(400);
    expect(await forged.text()).not.toContain('forged-state');

    // The AS refusing (its error text is the caller's to choose): 400, nothing of it on the page.
    const refusedStart = (await (await startLogin(bobToken)).json()) as {
      authorization_url: string;
    };
    const denied = new URL(callbackUrl);
    denied.searchParams.set(
      'state',
      new URL(refusedStart.authorization_url).searchParams.get('state') ?? '',
    );
    denied.searchParams.set('error', 'access_denied');
    denied.searchParams.set('error_description', '<script>alert(1)</script>');
    const deniedPage = await fetch(denied);
    expect(deniedPage.status).toBe(400);
    expect(await deniedPage.text()).not.toMatch(/script|access_denied/);

    const alice = await connect(g, aliceToken);
    expect(await text(alice, 'rec__whoami')).toBe('alice');
    const bobAgain = await connect(g, bobToken);
    expect((await callError(bobAgain, 'rec__whoami'))?.code).toBe(-32011);
    expect(await grantsOf(home)).toEqual(['user:alice']);
    // Every step of those logins is in the audit trail, whose account and what became of it.
    const loginRecords = async () => {
      const q = await cli(['audit', 'query', '--type', 'credential.login', '--json'], home);
      return (
        JSON.parse(q.stdout || '[]') as { event: { principal: string; outcome: string } }[]
      ).map((r) => `${r.event.principal} ${r.event.outcome}`);
    };
    let outcomes = await loginRecords();
    for (let i = 0; i < 50 && !outcomes.includes('user:bob cancelled'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      outcomes = await loginRecords();
    }
    expect(outcomes).toEqual(
      expect.arrayContaining([
        'user:alice started',
        'user:alice awaiting_confirmation',
        'user:alice stored',
        'user:bob awaiting_confirmation',
        'user:bob cancelled',
      ]),
    );
  });

  test('the team gateway refuses a token its AS made for another resource: nothing is stored and the audit says why', async () => {
    const home = tempDir();
    const g = await startGateway(configFile(USER_MODEL), home, 'serve');
    const aliceToken = await callerToken(g, 'alice');
    const started = (await (
      await fetch(new URL('/login/rec', g.url), {
        headers: { authorization: `Bearer ${aliceToken}` },
      })
    ).json()) as { authorization_url: string };
    as.nextUser = 'alice';
    as.audience = 'https://payroll.example.com/mcp';
    try {
      const asked = await (await fetch(await as.authorize(started.authorization_url))).text();
      const token = /name="confirm" value="([^"]+)"/.exec(asked)?.[1] ?? '';
      const done = await fetch(new URL('/oauth/callback', g.url), {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin: new URL(g.url).origin,
        },
        body: new URLSearchParams({ confirm: token, action: 'connect' }).toString(),
      });
      expect(done.status).toBe(400);
      expect(await done.text()).toContain('nothing was stored');
    } finally {
      as.audience = null;
    }
    expect(await grantsOf(home)).toEqual([]);
    let failed: { detail: string } | undefined;
    for (let i = 0; i < 50 && !failed; i++) {
      const q = await cli(['audit', 'query', '--type', 'credential.login', '--json'], home);
      failed = (
        JSON.parse(q.stdout || '[]') as { event: { outcome: string; detail: string } }[]
      ).find((r) => r.event.outcome === 'failed')?.event;
      if (!failed) await new Promise((r) => setTimeout(r, 200));
    }
    expect(failed?.detail).toMatch(/audience|aud/i);
    expect(failed?.detail).not.toMatch(/eyJ[\w-]{20,}/); // no token in the record
  });

  test('login refuses a forged redirect (state) and a code the token endpoint rejects; nothing is stored', async () => {
    const config = configFile(USER_MODEL);
    const home = tempDir();
    const forged = await login(config, home, 'alice', [], async (url) => {
      const back = await as.authorize(url);
      back.searchParams.set('state', 'forged');
      await fetch(back);
    });
    expect(forged.code).toBe(23);
    expect(forged.stderr).toContain("the redirect's state does not match this login");
    const badCode = await login(config, home, 'alice', [], async (url) => {
      const state = new URL(url).searchParams.get('state') ?? '';
      const redirect = new URL(new URL(url).searchParams.get('redirect_uri') ?? '');
      redirect.searchParams.set('code', 'not-a-code');
      redirect.searchParams.set('state', state);
      await fetch(redirect);
    });
    expect(badCode.code).toBe(23);
    expect(badCode.stderr).toContain('the token endpoint refused the code');
    expect(JSON.parse((await cli(['credentials', 'list', '--json'], home)).stdout)).toEqual([]);
  });

  test('a refresh that fails asks for a new login, naming the command', async () => {
    const ownAs = await startUpstreamProvider({ accessTokenTtl: 30 });
    const own = await startProtected(ownAs.issuer);
    const config = configFile(USER_MODEL, own.url);
    const home = tempDir();
    const saved = as;
    as = ownAs;
    try {
      expect((await login(config, home, 'alice')).code).toBe(0);
    } finally {
      as = saved;
    }
    await ownAs.close(); // the authorization server is gone: the refresh cannot succeed
    const probe = JSON.parse(
      (await cli(['--config', config, 'mcp', 'list', '--probe', '--json'], home)).stdout,
    )[0];
    expect(probe.runtime.state).toBe('auth_required');
    expect(probe.runtime.detail).toMatch(
      /refreshing the grant of os:\S+ for rec failed .*gatehouse login rec/,
    );
    own.child.kill('SIGTERM');
  });
});

/**
 * RFC 8693 at the IdP. oidc-provider 9 has no token-exchange grant, so this is a minimal
 * standards-following token endpoint: it verifies the subject token against the identity
 * provider's keys and issues a JWT for the requested resource, signed with its own key.
 */
async function startExchangeServer(): Promise<{
  issuer: string;
  close(): void;
  requests: URLSearchParams[];
}> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'x1', alg: 'RS256', use: 'sig' };
  const idpKeys = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
  const requests: URLSearchParams[] = [];
  let issuer = '';
  const http: Server = createServer((req, res) => {
    const json = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/jwks') return json(200, { keys: [jwk] });
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      void (async () => {
        const form = new URLSearchParams(body);
        requests.push(form);
        const basic = Buffer.from('gatehouse:exchange-secret').toString('base64');
        if (req.headers.authorization !== `Basic ${basic}`)
          return json(401, { error: 'invalid_client' });
        if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange')
          return json(400, { error: 'unsupported_grant_type' });
        try {
          const { payload } = await jwtVerify(form.get('subject_token') ?? '', idpKeys, {
            issuer: idp.issuer,
          });
          const token = await new SignJWT({ sub: payload.sub, act: { sub: 'gatehouse' } })
            .setProtectedHeader({ alg: 'RS256', kid: 'x1' })
            .setIssuer(issuer)
            .setAudience(form.get('resource') ?? '')
            .setIssuedAt()
            .setExpirationTime('10m')
            .sign(privateKey);
          return json(200, {
            access_token: token,
            issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
            token_type: 'Bearer',
            expires_in: 600,
          });
        } catch {
          return json(400, { error: 'invalid_grant' });
        }
      })();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  return {
    issuer,
    requests,
    close: () => {
      http.closeAllConnections();
      http.close();
    },
  };
}

describe.skipIf(!existsSync(BIN))('exchange (RFC 8693)', () => {
  test('each caller’s identity is exchanged at the IdP for an upstream-audience token; the caller’s own token never reaches the upstream', async () => {
    const xs = await startExchangeServer();
    const own = await startProtected(xs.issuer);
    const secretFile = join(tempDir(), 'secret');
    writeFileSync(secretFile, 'exchange-secret', { mode: 0o600 });
    const config = configFile(
      `[mcp_servers.rec.gatehouse_credentials]
model = "exchange"
client_id = "gatehouse"
client_secret = { file = "${secretFile}" }
token_endpoint = "${xs.issuer}/token"
`,
      own.url,
    );
    const g = await startGateway(config, tempDir());
    const aliceToken = await callerToken(g, 'alice');
    const bobToken = await callerToken(g, 'bob');
    const alice = await connect(g, aliceToken);
    const bob = await connect(g, bobToken);
    expect(await text(alice, 'whoami')).toBe('alice');
    expect(await text(bob, 'whoami')).toBe('bob');
    neverForwarded(own, [aliceToken, bobToken]);
    for (const r of own.requests()) {
      const sent = r.headers.authorization?.replace('Bearer ', '') ?? '';
      expect(sent).not.toBe(aliceToken);
      expect(sent).not.toBe(bobToken);
      expect(decodeJwt(sent)).toMatchObject({ iss: xs.issuer, aud: own.url });
    }
    // The exchange asked for the upstream as the resource, with the caller's token as subject.
    expect(xs.requests[0]?.get('resource')).toBe(own.url);
    expect(xs.requests.map((r) => r.get('subject_token'))).toContain(aliceToken);
    expect(await auditCredentials(g.home)).toEqual(
      expect.arrayContaining([{ model: 'exchange', principal: 'user:alice' }]),
    );
    xs.close();
    own.child.kill('SIGTERM');
  });
});
