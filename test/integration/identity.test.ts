import { listeningGatehouse } from '../support/gatehouse-http.js';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import {
  Client,
  ClientCredentialsProvider,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { decodeJwt, exportJWK, importJWK, SignJWT } from 'jose';
import type { JWTPayload } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import type { TestProvider } from '../support/oidc.js';
import { GATEWAY_CLIENT, startTestProvider } from '../support/oidc.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const children: ChildProcess[] = [];
const clients: Client[] = [];
let provider: TestProvider;
let upstream: { base: string; child: ChildProcess };

beforeAll(async () => {
  provider = await startTestProvider({
    alice: { email: 'alice@example.com', groups: ['eng', 'oncall'] },
    bob: { groups: ['eng'] },
  });
  const child = spawn(process.execPath, [join(FIXTURES, 'recording-http.mjs')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve) =>
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  upstream = { base: `http://127.0.0.1:${port}`, child };
});
afterAll(async () => {
  upstream.child.kill('SIGTERM');
  await provider.close();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

interface Gateway {
  url: string;
  home: string;
  dir: string;
  stderr: () => string;
}

/** `gatehouse serve --http` over the recording upstream, with `identity` as [gatehouse_identity]. */
function startGateway(
  identity: string,
  env: Record<string, string> = {},
  more: { config?: string; requirements?: string; args?: string[] } = {},
): Promise<Gateway> {
  const dir = writeFiles({
    'c.toml': `[mcp_servers.rec]\nurl = "${upstream.base}/mcp"\n${more.config ?? ''}`,
    'r.toml': `[gatehouse_identity]\n${identity}\n${more.requirements ?? ''}`,
  });
  const home = tempDir();
  return listeningGatehouse(
    children,
    [
      '--config',
      join(dir, 'c.toml'),
      '--requirements',
      join(dir, 'r.toml'),
      'serve',
      '--http',
      '127.0.0.1:0',
      ...(more.args ?? []),
    ],
    home,
    env,
  ).then(({ url, stderr }) => ({ url, home, dir, stderr }));
}

async function connect(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'identity-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  clients.push(client);
  return client;
}

function raw(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method,
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
    req.end(body);
  });
}

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'raw', version: '1' },
  },
});

const init = (url: string, token?: string) =>
  raw(url, 'POST', token === undefined ? {} : { authorization: `Bearer ${token}` }, INIT);

const b64 = (v: object | string) =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** A token signed with the provider's own key (what only the provider could do), with `claims`. */
async function signed(claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const key = await importJWK(provider.signingKey, 'RS256');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'at+jwt', ...header })
    .sign(key);
}

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

describe.skipIf(!existsSync(BIN))('inbound identity (OAuth 2.1 resource server)', () => {
  const OIDC = () =>
    `issuer = "${provider.issuer}"\nrequired_scopes = ["mcp:tools"]\nclock_skew_seconds = 30`;

  test('RFC 9728 metadata, and 401 + WWW-Authenticate resource_metadata without a token', async () => {
    const g = await startGateway(OIDC());
    const meta = await raw(
      g.url.replace('/mcp', '/.well-known/oauth-protected-resource/mcp'),
      'GET',
      {},
    );
    expect(meta.status).toBe(200);
    expect(JSON.parse(meta.body)).toMatchObject({
      resource: g.url,
      authorization_servers: [provider.issuer],
      scopes_supported: ['mcp:tools'],
      bearer_methods_supported: ['header'],
    });
    const root = await raw(
      g.url.replace('/mcp', '/.well-known/oauth-protected-resource'),
      'GET',
      {},
    );
    expect(JSON.parse(root.body).resource).toBe(g.url);
    const none = await init(g.url);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe(
      `Bearer resource_metadata="${g.url.replace('/mcp', '/.well-known/oauth-protected-resource/mcp')}", scope="mcp:tools"`,
    );
    expect(g.stderr()).not.toContain('"state":"starting"');
  });

  test('a token from the provider: the MCP SDK client lists and calls; the identity is the caller in the audit; the token never reaches the upstream', async () => {
    const g = await startGateway(OIDC());
    const token = await provider.token('alice', { resource: g.url, scope: 'mcp:tools' });
    expect(decodeJwt(token)).toMatchObject({ sub: 'alice', aud: g.url, groups: ['eng', 'oncall'] });
    const client = await connect(g.url, token);
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual([
      'rec__echo',
      'rec__seen',
    ]);
    const seen = await client.callTool({ name: 'rec__seen', arguments: {} });
    const text = (seen.content as { text: string }[])[0]?.text ?? '';
    const requests = JSON.parse(text) as { headers: Record<string, string> }[];
    expect(requests.length).toBeGreaterThan(0);
    // The recording upstream saw every request the gateway made: none carries the client's token.
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split('.')[2] ?? token);
    for (const r of requests) expect(r.headers.authorization).toBeUndefined();

    const audit = gatehouse(['audit', 'query', '--json', '--type', 'call.intent'], g.home);
    const events = (JSON.parse(audit.stdout) as { event: { actor: unknown } }[]).map(
      (r) => r.event.actor,
    );
    expect(events[0]).toMatchObject({
      token_subject: 'user:alice',
      identity: {
        issuer: provider.issuer,
        subject: 'alice',
        email: 'alice@example.com',
        groups: ['eng', 'oncall'],
        via: 'oidc',
      },
    });
    expect(gatehouse(['audit', 'query', '--user', 'user:alice'], g.home).stdout).toMatch(
      /call\.intent\s+rec\s+seen\s+allow/,
    );
  });

  test('bad tokens are refused with 401 + WWW-Authenticate error="invalid_token"; a missing scope with 403 insufficient_scope', async () => {
    const g = await startGateway(OIDC());
    const now = Math.floor(Date.now() / 1000);
    const good = {
      iss: provider.issuer,
      aud: g.url,
      sub: 'mallory',
      scope: 'mcp:tools',
      iat: now,
      exp: now + 600,
    };
    const valid = await provider.token('bob', { resource: g.url, scope: 'mcp:tools' });
    const [h, , s] = valid.split('.') as [string, string, string];
    const tampered = `${h}.${b64({ ...(decodeJwt(valid) as JWTPayload), sub: 'alice', groups: ['admin'] })}.${s}`;
    const publicPem = createPublicKey({ key: provider.signingKey as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    });
    const hsWithPublicKey = await new SignJWT(good)
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new Uint8Array(Buffer.from(publicPem)));
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const unknownKid = await new SignJWT(good)
      .setProtectedHeader({ alg: 'RS256', kid: 'not-a-provider-key' })
      .sign(await importJWK({ ...(await exportJWK(other.privateKey)), alg: 'RS256' }, 'RS256'));
    const cases: [string, string, RegExp][] = [
      ['expired', await signed({ ...good, iat: now - 7200, exp: now - 3600 }), /expired/],
      ['not yet valid', await signed({ ...good, nbf: now + 3600 }), /not valid yet/],
      ['wrong issuer', await signed({ ...good, iss: 'https://evil.example' }), /issuer/],
      ['wrong audience', await signed({ ...good, aud: 'http://127.0.0.1:1/mcp' }), /audience/],
      ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(good)}.`, /algorithm/],
      ['HS256 signed with the public key', hsWithPublicKey, /algorithm/],
      ['unknown kid', unknownKid, /kid/],
      ['tampered payload', tampered, /signature/],
      ['not a token', 'garbage', /not a JWT/],
    ];
    for (const [what, token, why] of cases) {
      const res = await init(g.url, token);
      expect(res.status, what).toBe(401);
      const header = String(res.headers['www-authenticate']);
      expect(header, what).toContain(
        `resource_metadata="${g.url.replace('/mcp', '/.well-known/oauth-protected-resource/mcp')}"`,
      );
      expect(header, what).toContain('error="invalid_token"');
      expect(JSON.parse(res.body).error, what).toMatch(why);
    }
    const noScope = await provider.token('bob', { resource: g.url, scope: 'other' });
    const res = await init(g.url, noScope);
    expect(res.status).toBe(403);
    expect(res.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(res.headers['www-authenticate']).toContain('scope="mcp:tools"');
    // Neither the refusals nor the gateway's stderr echo a token.
    expect(g.stderr()).not.toContain(valid);
    expect((await init(g.url, valid)).status).toBe(200);
  });

  test("the MCP SDK client's own OAuth (client_credentials) finds the issuer from the 401 and connects", async () => {
    const g = await startGateway(OIDC());
    const client = new Client({ name: 'oauth-client', version: '1.0.0' }, { capabilities: {} });
    const authProvider = new ClientCredentialsProvider({
      clientId: 'bob',
      clientSecret: 'bob-secret-0123456789',
      expectedIssuer: provider.issuer,
      scope: 'mcp:tools',
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(g.url), { authProvider }));
    clients.push(client);
    expect((await client.callTool({ name: 'rec__echo', arguments: {} })).content).toEqual([
      { type: 'text', text: 'hi' },
    ]);
    const token = authProvider.tokens()?.access_token ?? '';
    expect(decodeJwt(token)).toMatchObject({ sub: 'bob', aud: g.url, scope: 'mcp:tools' });
  });

  test('a session belongs to the caller that opened it', async () => {
    const g = await startGateway(OIDC());
    const alice = await provider.token('alice', { resource: g.url, scope: 'mcp:tools' });
    const bob = await provider.token('bob', { resource: g.url, scope: 'mcp:tools' });
    const opened = await init(g.url, alice);
    const sid = String(opened.headers['mcp-session-id']);
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const headers = (t: string) => ({
      authorization: `Bearer ${t}`,
      'mcp-session-id': sid,
      'mcp-protocol-version': '2025-11-25',
    });
    expect((await raw(g.url, 'POST', headers(bob), list)).status).toBe(404);
    expect((await raw(g.url, 'POST', headers(alice), list)).status).toBe(200);
  });

  test('service tokens: created once, stored hashed, identify a bot with groups, revoked at once', async () => {
    const store = join(tempDir(), 'service-tokens.json');
    const home = tempDir();
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
    expect(token).toMatch(/^ghst_[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(store, 'utf8')).not.toContain(token);
    const listed = gatehouse(['tokens', 'list', '--store', store], home);
    expect(listed.stdout).toMatch(/ci\s+bot:ci\s+ci\s+\S+\s+active/);
    expect(listed.stdout).not.toContain(token);
    expect(gatehouse(['tokens', 'create', 'ci', '--store', store], home).status).toBe(2);

    const g = await startGateway(`service_tokens = "${store}"`);
    const client = await connect(g.url, token);
    await client.callTool({ name: 'rec__echo', arguments: {} });
    const audit = gatehouse(['audit', 'query', '--json', '--type', 'call.intent'], g.home);
    expect(
      (JSON.parse(audit.stdout) as { event: { actor: unknown } }[])[0]?.event.actor,
    ).toMatchObject({
      token_subject: 'service:bot:ci',
      identity: { subject: 'bot:ci', groups: ['ci'], via: 'service-token' },
    });
    expect(
      (await init(g.url, `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)).status,
    ).toBe(401);
    expect(gatehouse(['tokens', 'revoke', 'ci', '--store', store], home).status).toBe(0);
    const after = await init(g.url, token);
    expect(after.status).toBe(401);
    expect(JSON.parse(after.body).error).toContain('revoked');
  });

  test('opaque tokens via RFC 7662 introspection', async () => {
    const g = await startGateway(
      [
        `introspection_endpoint = "${provider.issuer}/token/introspection"`,
        `introspection_client_id = "${GATEWAY_CLIENT.id}"`,
        'introspection_client_secret_env = "GH_INTROSPECTION_SECRET"',
        'required_scopes = ["mcp:tools"]',
      ].join('\n'),
      { GH_INTROSPECTION_SECRET: GATEWAY_CLIENT.secret },
    );
    const token = await provider.token('opaque', { resource: g.url, scope: 'mcp:tools' });
    expect(token).not.toContain('.');
    const client = await connect(g.url, token);
    expect((await client.callTool({ name: 'rec__echo', arguments: {} })).content).toEqual([
      { type: 'text', text: 'hi' },
    ]);
    const wrongAudience = await provider.token('opaque', {
      resource: 'http://127.0.0.1:1/mcp',
      scope: 'mcp:tools',
    });
    expect((await init(g.url, wrongAudience)).status).toBe(401);
    expect((await init(g.url, 'not-a-real-token')).status).toBe(401);
  });

  test('two_person compares identity subjects: alice cannot approve her own call, bob can', async () => {
    const keys = tempDir();
    const keygen = (name: string) => {
      const r = gatehouse(
        ['approvals', 'keygen', '--name', name, '--out', join(keys, `${name}.pem`), '--json'],
        tempDir(),
      );
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { key_file: string; public_key: string };
    };
    const aliceKey = keygen('alice-approver');
    const bobKey = keygen('bob');
    const requirements = `
[gatehouse_policy]
default_approval = "gatehouse"
approval_wait_seconds = 60

[gatehouse_policy.tools."governed/refund"]
category = "money"
approval = "two_person"

[gatehouse_approvals]
approvers = [
  { name = "alice-approver", public_key = "${aliceKey.public_key}", subjects = ["alice"] },
  { name = "bob", public_key = "${bobKey.public_key}" },
]
`;
    const config = `[mcp_servers.governed]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(join(FIXTURES, 'governed.mjs'))}]\n`;
    const g = await startGateway(OIDC(), {}, { config, requirements });
    const args = ['--config', join(g.dir, 'c.toml'), '--requirements', join(g.dir, 'r.toml')];
    const alice = await connect(
      g.url,
      await provider.token('alice', { resource: g.url, scope: 'mcp:tools' }),
    );
    const call = alice.callTool({
      name: 'governed__refund',
      arguments: { amount: 12, to: 'carol' },
    });
    let row: { id: string; requester: string } | undefined;
    for (let i = 0; i < 100 && !row; i++) {
      const listed = gatehouse([...args, 'approvals', 'list', '--json'], g.home);
      row = (JSON.parse(listed.stdout || '[]') as (typeof row)[])[0];
      if (!row) await new Promise((r) => setTimeout(r, 100));
    }
    expect(row).toMatchObject({ requester: 'user:alice', level: 'two_person' });
    const own = gatehouse(
      [...args, 'approvals', 'approve', row?.id ?? '', '--key', aliceKey.key_file],
      g.home,
    );
    expect(own.status).toBe(12);
    expect(own.stderr).toContain('listed for the requester (user:alice)');
    const byBob = gatehouse(
      [...args, 'approvals', 'approve', row?.id ?? '', '--key', bobKey.key_file],
      g.home,
    );
    expect(byBob.status, byBob.stderr).toBe(0);
    expect((await call).content).toEqual([{ type: 'text', text: 'refunded 12 to carol' }]);
  });

  test('without [gatehouse_identity] the shared token still works, as identity shared-token', async () => {
    const g = await startGateway(
      '',
      { GH_SHARED: 'shared-token-value-1' },
      { args: ['--http-token-env', 'GH_SHARED'] },
    );
    expect((await init(g.url, 'wrong')).headers['www-authenticate']).toBe(
      'Bearer realm="gatehouse", error="invalid_token", error_description="a valid bearer token is required"',
    );
    const client = await connect(g.url, 'shared-token-value-1');
    await client.callTool({ name: 'rec__echo', arguments: {} });
    const audit = gatehouse(['audit', 'query', '--json', '--type', 'call.intent'], g.home);
    const actor = (JSON.parse(audit.stdout) as { event: { actor: { token_subject: string } } }[])[0]
      ?.event.actor;
    expect(actor?.token_subject).toMatch(/^token:[0-9a-f]{12}$/);
    expect(actor).toMatchObject({
      identity: { subject: actor?.token_subject, via: 'shared-token', groups: [] },
    });
    await expect(
      startGateway(OIDC(), { GH_SHARED: 'x' }, { args: ['--http-token-env', 'GH_SHARED'] }),
    ).rejects.toThrow(/exited 2: .*a shared token names nobody/s);
  });

  test('configuration problems stop the start with a clear message', () => {
    const dir = writeFiles({
      'c.toml': `[mcp_servers.rec]\nurl = "${upstream.base}/mcp"\n`,
      'r.toml': '[gatehouse_identity]\nissuer = "http://idp.example.com"\nalgorithms = ["HS256"]\n',
      's.toml': `[gatehouse_identity]\nintrospection_endpoint = "${provider.issuer}/i"\nintrospection_client_id = "g"\nintrospection_client_secret_env = "GH_UNSET_SECRET_VAR"\n`,
    });
    const bad = gatehouse(
      ['--requirements', join(dir, 'r.toml'), 'requirements', 'check'],
      tempDir(),
    );
    expect(bad.status).toBe(4);
    expect(bad.stdout + bad.stderr).toContain('gatehouse_identity.issuer');
    expect(bad.stdout + bad.stderr).toContain('HS256');
    const unset = gatehouse(
      [
        '--config',
        join(dir, 'c.toml'),
        '--requirements',
        join(dir, 's.toml'),
        'serve',
        '--http',
        '127.0.0.1:0',
      ],
      tempDir(),
    );
    expect(unset.status).toBe(2);
    expect(unset.stderr).toContain('GH_UNSET_SECRET_VAR is not set');
  });
});
