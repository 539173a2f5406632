import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { BIN, startGatehouse } from '../support/gatehouse-http.js';
import type { Running } from '../support/gatehouse-http.js';
import { NGINX, freePort, startNginx } from '../support/nginx.mjs';
import type { TestProvider } from '../support/oidc.js';
import { startTestProvider } from '../support/oidc.js';
import { PG_URL, dropSchemas, postgresAvailable } from '../support/postgres.js';
import { publicKeyText } from '../../src/approval/signed-grant.js';

/**
 * A team gateway as deployed: two `serve --http` replicas sharing one PostgreSQL store (audit
 * chain and approval queue) behind real nginx routing by Mcp-Session-Id, people signed in by a
 * real OpenID provider. A two_person call by alice waits on one replica and is approved by bob
 * through the other replica's approvals API; alice cannot approve it; the audit names both by
 * subject and verifies. Then one replica is SIGKILLed mid-traffic: the other's sessions go on and
 * every call a client saw succeed is in the audit.
 */
const SCHEMA = `gh_replicas_${process.pid % 100000}`;
const STORE = `${PG_URL}?schema=${SCHEMA}`;
const children: ChildProcess[] = [];
const clients: Client[] = [];
let provider: TestProvider;
let proxy: { url: string; stop(): Promise<void> } | null = null;
let usedPg = false;
const ready = existsSync(BIN) && existsSync(NGINX);

beforeAll(async () => {
  provider = await startTestProvider({
    alice: { groups: ['eng', 'approvers'] },
    bob: { groups: ['approvers'] },
    dave: { groups: ['eng'] },
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  for (const c of children) c.kill('SIGTERM');
  await proxy?.stop();
  await provider.close();
  if (usedPg) await dropSchemas([SCHEMA]);
});

interface Team {
  home: string;
  dir: string;
  publicUrl: string;
  replicas: Running[];
}

function gatehouse(args: string[], home: string) {
  const r = spawnSync(process.execPath, [BIN, '--audit', STORE, ...args], {
    env: { ...process.env, GATEHOUSE_HOME: home },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The gateway key, the admin's requirements, two replicas on one store, nginx in front. */
async function startTeam(): Promise<Team> {
  const home = tempDir();
  const keyFile = join(tempDir(), 'gateway-key.pem');
  const made = gatehouse(['approvals', 'keygen', '--name', 'team-gateway', '--out', keyFile], home);
  expect(made.status, made.stderr).toBe(0);
  const line = gatehouse(
    ['approvals', 'public-key', '--key', keyFile, '--gateway', '--group', 'approvers', '--json'],
    home,
  );
  expect(line.status, line.stderr).toBe(0);
  const listed = (JSON.parse(line.stdout) as { requirements_line: string }).requirements_line;
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}/mcp`;
  const dir = writeFiles({
    'r.toml': `[gatehouse_identity]
issuer = "${provider.issuer}"
resource = "${publicUrl}"
required_scopes = ["mcp:tools"]

[gatehouse_http]
trusted_proxies = ["127.0.0.1"]
allowed_hosts = ["127.0.0.1:${port}"]

[gatehouse_policy]
default_approval = "gatehouse"
approval_wait_seconds = 90

[gatehouse_policy.tools."governed/refund"]
category = "money"
approval = "two_person"

[gatehouse_approvals]
approvers = [
  ${listed},
]
`,
  });
  const config = `[mcp_servers.governed]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(join(FIXTURES, 'governed.mjs'))}]\n`;
  const replicas: Running[] = [];
  for (const n of [1, 2]) {
    // Each replica as on its own host: its own runtime dir; the same home (keys) and store.
    const runtime = join(tempDir(), `run${n}`);
    mkdirSync(runtime);
    chmodSync(runtime, 0o700);
    const r = await startGatehouse(
      children,
      config,
      [
        '--requirements',
        join(dir, 'r.toml'),
        '--audit',
        STORE,
        'serve',
        '--http',
        '127.0.0.1:0',
        '--approvals-key',
        keyFile,
        '--replica-id',
        `gw-${n}`,
      ],
      { GATEHOUSE_HOME: home, XDG_RUNTIME_DIR: runtime },
    );
    expect(r.url, r.stderr()).not.toBe('');
    // Waiting calls and webhooks point approvers at the URL people use (the proxy's).
    expect(r.stderr()).toContain(`"approvals":"http://127.0.0.1:${port}/approvals"`);
    replicas.push(r);
  }
  proxy = await startNginx(
    port,
    Object.fromEntries(replicas.map((r, i) => [`gw-${i + 1}`, new URL(r.url).host])),
  );
  return { home, dir, publicUrl, replicas };
}

const token = (who: string, t: Team) =>
  provider.token(who, { resource: t.publicUrl, scope: 'mcp:tools' });

async function connect(url: string, bearer: string) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${bearer}` } },
  });
  const client = new Client({ name: 'replicas-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  clients.push(client);
  return { client, sessionId: transport.sessionId ?? '' };
}

/** Which replica holds a session: the one that knows its id (the others answer 404). */
async function holderOf(t: Team, sessionId: string, bearer: string): Promise<number> {
  for (const [i, r] of t.replicas.entries()) {
    const res = await fetch(r.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${bearer}`,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    if (res.status === 202) return i;
  }
  throw new Error(`no replica holds session ${sessionId}`);
}

async function api(
  base: string,
  path: string,
  bearer: string | null,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown>; header: string | null }> {
  const res = await fetch(base.replace(/\/mcp$/, path), {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: res.status,
    json: (await res.json()) as Record<string, unknown>,
    header: res.headers.get('www-authenticate'),
  };
}

const UNSIGNED_YET = ['no_checkpoint', 'unanchored_tail'];
function verify(t: Team): { ok: boolean; findings: { kind: string; message: string }[] } {
  const r = gatehouse(['audit', 'verify', '--json'], t.home);
  expect([0, 19], r.stdout + r.stderr).toContain(r.status);
  return JSON.parse(r.stdout) as { ok: boolean; findings: { kind: string; message: string }[] };
}

type AuditEvent = Record<string, unknown>;
const events = (t: Team, type: string): AuditEvent[] =>
  (
    JSON.parse(gatehouse(['audit', 'query', '--json', '--type', type], t.home).stdout) as {
      event: AuditEvent;
    }[]
  ).map((r) => r.event);

describe.skipIf(!ready)('replicas behind nginx on one PostgreSQL store', () => {
  test('two_person: alice waits on one replica, bob approves through the other, alice never can; then a replica is killed mid-traffic', async () => {
    if (!(await postgresAvailable())) return;
    usedPg = true;
    const t = await startTeam();
    const [alice, bob, dave] = await Promise.all([
      token('alice', t),
      token('bob', t),
      token('dave', t),
    ]);

    // alice's session, through nginx, lands on some replica; bob uses the other one's API.
    const a = await connect(t.publicUrl, alice);
    const holder = await holderOf(t, a.sessionId, alice);
    expect(a.sessionId).toMatch(new RegExp(`^gw-${holder + 1}\\.`));
    const other = t.replicas[1 - holder]?.url as string;
    const call = a.client.callTool({
      name: 'governed__refund',
      arguments: { amount: 12, to: 'carol' },
    });
    let row: Record<string, unknown> | undefined;
    for (let i = 0; i < 150 && !row; i++) {
      const listed = await api(other, '/approvals', bob);
      expect(listed.status).toBe(200);
      row = (listed.json as unknown as Record<string, unknown>[])[0];
      if (!row) await new Promise((r) => setTimeout(r, 100));
    }
    expect(row).toMatchObject({ requester: 'user:alice', level: 'two_person', status: 'pending' });
    const id = row?.id as string;

    // Refused: no token, a token for no one, a person outside the approvers, and alice herself.
    const anonymous = await api(other, `/approvals/${id}/approve`, null, {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.header).toContain('resource_metadata=');
    expect((await api(other, `/approvals/${id}/approve`, 'not-a-token', {})).status).toBe(401);
    const outsider = await api(other, `/approvals/${id}/approve`, dave, {});
    expect([outsider.status, outsider.json.error]).toEqual([
      403,
      expect.stringContaining('user:dave may not approve through team-gateway'),
    ]);
    for (const base of [other, t.publicUrl]) {
      const own = await api(base, `/approvals/${id}/approve`, alice, { reason: 'mine' });
      expect([own.status, own.json.error]).toEqual([
        403,
        expect.stringContaining('user:alice requested this call and cannot approve it'),
      ]);
    }

    const approved = await api(other, `/approvals/${id}/approve`, bob, { reason: 'ok by bob' });
    expect(approved.status, JSON.stringify(approved.json)).toBe(200);
    expect(approved.json).toMatchObject({ status: 'approved', approver: 'user:bob' });
    expect((await call).content).toEqual([{ type: 'text', text: 'refunded 12 to carol' }]);
    const again = await api(other, `/approvals/${id}/approve`, bob, {});
    expect([again.status, again.json.code]).toEqual([409, 'not_pending']);

    const granted = events(t, 'approval.granted');
    expect(granted).toEqual([
      expect.objectContaining({
        approval_id: id,
        requester: 'user:alice',
        approver: 'user:bob',
        grant: expect.objectContaining({
          statement: expect.objectContaining({
            approver: 'team-gateway',
            approved_by: expect.objectContaining({ principal: 'user:bob', subject: 'bob' }),
          }),
        }),
      }),
    ]);
    expect(events(t, 'approval.used')).toEqual([
      expect.objectContaining({ approval_id: id, requester: 'user:alice', approver: 'user:bob' }),
    ]);
    expect(events(t, 'approval.rejected')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ approver: 'user:alice', requester: 'user:alice' }),
      ]),
    );
    // The shared chain is intact; nothing is missing but a signed checkpoint (none is due yet).
    const verified = verify(t);
    expect(verified.ok, JSON.stringify(verified)).toBe(true);
    expect(verified.findings.filter((f) => !UNSIGNED_YET.includes(f.kind))).toEqual([]);

    // Mid-traffic: sessions on both replicas make calls; replica 1 is SIGKILLed.
    const sessions: { client: Client; on: number }[] = [];
    for (let i = 0; i < 12 && new Set(sessions.map((s) => s.on)).size < 2; i++) {
      const who = i % 2 === 0 ? bob : dave;
      const s = await connect(t.publicUrl, who);
      sessions.push({ client: s.client, on: await holderOf(t, s.sessionId, who) });
    }
    expect(new Set(sessions.map((s) => s.on))).toEqual(new Set([0, 1]));
    const ok: string[] = [];
    const failedOn = new Set<number>();
    let n = 0;
    const traffic = async (s: { client: Client; on: number }, until: () => boolean) => {
      while (!until()) {
        const account = `acct-${s.on}-${n++}`;
        try {
          const r = await s.client.callTool({
            name: 'governed__read_balance',
            arguments: { account },
          });
          if ((r.content as { text: string }[])[0]?.text === `balance of ${account}: 100`)
            ok.push(account);
        } catch {
          failedOn.add(s.on);
          return;
        }
      }
    };
    const doneAfterKill = () => ok.filter((a) => a.startsWith('acct-1-')).length >= 20 + okBefore;
    let okBefore = Number.POSITIVE_INFINITY;
    const running = sessions.map((s) =>
      traffic(s, () => (s.on === 0 ? failedOn.has(0) : doneAfterKill())),
    );
    while (ok.length < 20) await new Promise((r) => setTimeout(r, 20));
    okBefore = ok.filter((a) => a.startsWith('acct-1-')).length;
    t.replicas[0]?.child.kill('SIGKILL');
    await Promise.all(running);
    // Replica 2's sessions went on; replica 1's failed (their clients would initialize again).
    expect(failedOn.has(1)).toBe(false);
    expect(failedOn.has(0)).toBe(true);
    expect(ok.filter((a) => a.startsWith('acct-1-')).length).toBeGreaterThanOrEqual(okBefore + 20);
    // A new session through nginx reaches the replica that is left.
    const fresh = await connect(t.publicUrl, bob);
    expect(
      (await fresh.client.callTool({ name: 'governed__read_balance', arguments: { account: 'x' } }))
        .content,
    ).toEqual([{ type: 'text', text: 'balance of x: 100' }]);

    // No audit record lost: every call a client saw succeed has its intent and its result.
    const intentOf = new Map(
      events(t, 'call.intent').map((e) => [
        (e.arguments_masked as { account?: string } | null)?.account,
        e.call_id as string,
      ]),
    );
    const results = new Set(events(t, 'call.result').map((e) => e.call_id as string));
    for (const account of ok) {
      expect(intentOf.has(account), account).toBe(true);
      expect(results.has(intentOf.get(account) as string), account).toBe(true);
    }
    // The replica left drains (SIGTERM: it signs its closing checkpoint over the shared chain).
    // The chain verifies; what it reports missing is precisely the calls that were in flight on
    // the killed replica (their intents, no results) and that replica's missing stop.
    const survivor = t.replicas[1] as Running;
    survivor.child.kill('SIGTERM');
    expect(await survivor.exited).toBe(0);
    const after = verify(t);
    expect(after.ok, JSON.stringify(after)).toBe(true);
    expect(after.findings.filter((f) => !['intent_without_result'].includes(f.kind))).toEqual([]);
  }, 180_000);
});

describe.skipIf(!existsSync(BIN))('starting a replica: clear refusals', () => {
  test('an approvals key the admin did not list as a gateway key (exit 22), a bad replica id (exit 2)', async () => {
    const home = tempDir();
    const keyFile = join(tempDir(), 'k.pem');
    expect(gatehouse(['approvals', 'keygen', '--name', 'gw', '--out', keyFile], home).status).toBe(
      0,
    );
    const dir = writeFiles({
      'c.toml': '',
      'r.toml': `[gatehouse_identity]\nissuer = "${provider.issuer}"\n`,
    });
    const serve = (extra: string[]) =>
      spawnSync(
        process.execPath,
        [
          BIN,
          '--config',
          join(dir, 'c.toml'),
          '--requirements',
          join(dir, 'r.toml'),
          'serve',
          '--http',
          '127.0.0.1:0',
          ...extra,
        ],
        { env: { ...process.env, GATEHOUSE_HOME: home }, encoding: 'utf8', timeout: 30_000 },
      );
    const unlisted = serve(['--approvals-key', keyFile]);
    expect(unlisted.status).toBe(22);
    expect(unlisted.stderr).toContain(
      'is not listed as a gateway key in [gatehouse_approvals] approvers',
    );
    expect(unlisted.stderr).toContain(`gatehouse approvals public-key --key ${keyFile}`);
    const badId = serve(['--replica-id', 'GW 1']);
    expect(badId.status).toBe(2);
    expect(badId.stderr).toContain('--replica-id "GW 1": use 1–32 lowercase letters');
  });
});

describe.skipIf(!existsSync(BIN))('a call waiting for approval', () => {
  test('is refused when its approval expires unanswered, before its wait ends (fail closed)', async () => {
    if (!(await postgresAvailable())) return;
    usedPg = true;
    const home = tempDir();
    const dir = writeFiles({
      'r.toml': `[gatehouse_identity]
issuer = "${provider.issuer}"
resource = "http://127.0.0.1:1/mcp"
required_scopes = ["mcp:tools"]

[gatehouse_policy]
default_approval = "gatehouse"
approval_wait_seconds = 600
approval_ttl_seconds = 2

[gatehouse_policy.tools."governed/refund"]
approval = "two_person"

[gatehouse_approvals]
approvers = [{ name = "bob", public_key = "${publicKeyText(generateKeyPairSync('ed25519').publicKey)}" }]
`,
    });
    const config = `[mcp_servers.governed]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(join(FIXTURES, 'governed.mjs'))}]\n`;
    const r = await startGatehouse(
      children,
      config,
      ['--requirements', join(dir, 'r.toml'), '--audit', STORE, 'serve', '--http', '127.0.0.1:0'],
      { GATEHOUSE_HOME: home },
    );
    const alice = await provider.token('alice', {
      resource: 'http://127.0.0.1:1/mcp',
      scope: 'mcp:tools',
    });
    const a = await connect(r.url, alice);
    const result = await a.client
      .callTool({ name: 'governed__refund', arguments: { amount: 5, to: 'x' } })
      .then(
        () => 'completed',
        (err: Error) => err.message,
      );
    expect(result).toMatch(/expired at .* before anyone decided/);
  }, 60_000);
});
