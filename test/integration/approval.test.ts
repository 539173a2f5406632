import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHmac, generateKeyPairSync, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import Database from 'better-sqlite3';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, test } from 'vitest';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const SERVER = join(FIXTURES, 'governed.mjs');
const CONFIG = `[mcp_servers.governed]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(SERVER)}]\n`;
const REQUIREMENTS = `
[gatehouse_policy]
default_approval = "gatehouse"
approval_wait_seconds = 4

[gatehouse_policy.tools."governed/refund"]
category = "money"
approval = "two_person"

[gatehouse_policy.tools."governed/wipe"]
effect = "destructive"
`;

const clients: Client[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

function setup(extraRequirements = '') {
  const dir = writeFiles({
    'config.toml': CONFIG,
    'requirements.toml': `${REQUIREMENTS}\n${extraRequirements}`,
  });
  return {
    home: tempDir(),
    args: ['--config', join(dir, 'config.toml'), '--requirements', join(dir, 'requirements.toml')],
  };
}

interface Elicitation {
  message: string;
  _meta?: Record<string, unknown>;
}

const HOOK_SECRET = 'whk-test-secret-5b0c1f7e';

/**
 * A webhook receiver's check, as docs/requirements.md describes it: HMAC-SHA256 of `t.body` with
 * the shared secret, compared in constant time, and refused when `t` is over 5 minutes from now.
 */
function verifySignature(
  secret: string,
  header: string,
  body: string,
  now = Math.floor(Date.now() / 1000),
): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m?.[1] || !m[2]) return false;
  if (Math.abs(now - Number(m[1])) > 300) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2], 'hex'));
}

async function stdioClient(
  home: string,
  args: string[],
  answer: (e: Elicitation) => string | null,
) {
  const capabilities = answer === NO_ELICITATION ? {} : { elicitation: { form: {} } };
  const client = new Client({ name: 'approval-test', version: '1.0.0' }, { capabilities });
  const seen: Elicitation[] = [];
  if (answer !== NO_ELICITATION) {
    client.setRequestHandler('elicitation/create', (request) => {
      const params = request.params as unknown as Elicitation;
      seen.push(params);
      return { action: answer(params) ?? 'decline', content: {} } as never;
    });
  }
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, ...args, 'run', 'governed'],
      env: { ...process.env, GATEHOUSE_HOME: home } as Record<string, string>,
      stderr: 'pipe',
    }),
  );
  clients.push(client);
  return { client, seen };
}
const NO_ELICITATION = () => null;

function currentUser(): string {
  return userInfo().username;
}

interface TestKey {
  name: string;
  file: string;
  publicKey: string;
  fingerprint: string;
}

/** `gatehouse approvals keygen` into DIR/NAME/key.pem; `osUser` lists the key for that account. */
async function keygen(
  dir: string,
  name: string,
  osUser?: string,
): Promise<TestKey & { osUser?: string }> {
  const file = join(dir, name, 'key.pem');
  const r = await cli(['approvals', 'keygen', '--name', name, '--out', file, '--json']);
  if (r.code !== 0) throw new Error(r.stderr);
  const out = JSON.parse(r.stdout) as { public_key: string; fingerprint: string };
  return { name, file, publicKey: out.public_key, fingerprint: out.fingerprint, osUser };
}

function approversToml(keys: (TestKey & { osUser?: string })[]): string {
  return `[gatehouse_approvals]\napprovers = [\n${keys
    .map(
      (k) =>
        `  { name = "${k.name}", public_key = "${k.publicKey}"${k.osUser ? `, os_users = ["${k.osUser}"]` : ''} },`,
    )
    .join('\n')}\n]\n`;
}

const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]?.text;

async function pending(
  home: string,
  args: string[],
): Promise<{ id: string; requester: string; arguments: unknown; level: string }> {
  for (let i = 0; i < 80; i++) {
    const r = await cli([...args, 'approvals', 'list', '--json'], { GATEHOUSE_HOME: home });
    const rows = JSON.parse(r.stdout || '[]') as {
      id: string;
      requester: string;
      arguments: unknown;
      level: string;
    }[];
    if (rows[0]) return rows[0];
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('no pending approval appeared');
}

async function auditTypes(
  home: string,
  args: string[],
): Promise<{ type: string; [k: string]: unknown }[]> {
  const r = await cli([...args, 'audit', 'query', '--json'], { GATEHOUSE_HOME: home });
  return (JSON.parse(r.stdout) as { event: { type: string } }[]).map((x) => x.event);
}

describe.skipIf(!existsSync(BIN))('tool policy and human approval, end to end', () => {
  test('a read tool flows; a write tool is approved in-band; a server lying about a destructive tool is still gated', async () => {
    const { home, args } = setup();
    const { client, seen } = await stdioClient(home, args, (e) =>
      e.message.includes('"update_note"') ? 'accept' : 'decline',
    );
    expect(
      text(await client.callTool({ name: 'read_balance', arguments: { account: 'a1' } })),
    ).toBe('balance of a1: 100');
    expect(seen).toHaveLength(0);

    expect(
      text(
        await client.callTool({
          name: 'update_note',
          arguments: { note: 'hi', token: 'sk-live-abcdefghijklmnopqrstuvwx' },
        }),
      ),
    ).toBe('saved hi');
    expect(seen[0]?.message).toContain('Allow the governed MCP server to run tool "update_note"?');
    expect(seen[0]?._meta).toMatchObject({
      codex_approval_kind: 'mcp_tool_call',
      tool_name: 'update_note',
      tool_params: { note: 'hi', token: '*****' },
    });

    await expect(client.callTool({ name: 'wipe', arguments: {} })).rejects.toMatchObject({
      code: -32005,
      message: expect.stringContaining('did not approve governed/wipe'),
    });
    expect(seen[1]?.message).toContain('destructive');

    // Evidence of a refusal is written lazily (≤ 20 ms, with the next record): wait for it.
    let events = await auditTypes(home, args);
    for (let i = 0; i < 40 && !events.some((e) => e.type === 'approval.denied'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      events = await auditTypes(home, args);
    }
    const approvals = events
      .filter((e) => e.type.startsWith('approval.'))
      .map((e) => `${e.type} ${String(e.tool)}`);
    expect(approvals).toEqual([
      'approval.requested update_note',
      'approval.granted update_note',
      'approval.used update_note',
      'approval.requested wipe',
      'approval.denied wipe',
    ]);
    const intent = events.find((e) => e.type === 'call.intent' && e.target === 'update_note');
    expect(intent).toMatchObject({
      decision: {
        kind: 'needs_approval',
        effect: 'side_effect',
        policy_revision: expect.stringMatching(/^pol-/),
      },
      approval: {
        channel: 'elicitation',
        scope: 'call',
        binding_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    });
    expect(events.some((e) => e.type === 'call.intent' && e.target === 'wipe')).toBe(false);
  });

  test('over HTTP with the shared token, a two_person call is refused with the reason, never queued', async () => {
    const { home, args } = setup();
    const child = spawn(
      process.execPath,
      [BIN, ...args, 'run', 'governed', '--http', '127.0.0.1:0', '--http-token-env', 'GH_TOKEN'],
      {
        env: { ...process.env, GATEHOUSE_HOME: home, GH_TOKEN: 'agent-token-1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.push(child);
    const url = await new Promise<string>((resolve) => {
      let err = '';
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /"url":"([^"]+)"/.exec(err);
        if (m?.[1]) resolve(m[1]);
      });
    });
    const client = new Client({ name: 'agent', version: '1.0.0' }, { capabilities: {} });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: 'Bearer agent-token-1' } },
      }),
    );
    clients.push(client);
    await expect(
      client.callTool({ name: 'refund', arguments: { amount: 10, to: 'alice' } }),
    ).rejects.toMatchObject({
      code: -32005,
      message: expect.stringContaining('only a shared bearer token, which is not a person'),
    });
    const all = await cli([...args, 'approvals', 'list', '--all', '--json'], {
      GATEHOUSE_HOME: home,
    });
    expect(JSON.parse(all.stdout)).toEqual([]);
    let events = await auditTypes(home, args);
    for (let i = 0; i < 40 && !events.some((e) => e.type === 'approval.refused'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      events = await auditTypes(home, args);
    }
    expect(events.find((e) => e.type === 'approval.refused')).toMatchObject({
      tool: 'refund',
      level: 'two_person',
      requester: expect.stringMatching(/^token:/),
    });
  }, 30_000);

  test('two_person: the requester’s own key, no key, or a forged row do not approve; a second listed key does, once, for exactly that call', async () => {
    const keys = tempDir();
    const self = await keygen(keys, 'self', currentUser());
    const bob = await keygen(keys, 'bob');
    const { home, args } = setup(approversToml([self, bob]));
    const { client } = await stdioClient(home, args, NO_ELICITATION);
    const held = client
      .callTool({ name: 'refund', arguments: { amount: 5, to: 'bob' } })
      .catch((e: Error) => e);
    const row = await pending(home, args);
    expect(row.requester).toBe(`os:${currentUser()}`);
    const unsigned = await cli([...args, 'approvals', 'approve', row.id], { GATEHOUSE_HOME: home });
    expect([unsigned.code, unsigned.stderr]).toEqual([
      12,
      expect.stringContaining('needs a grant signed by a listed approver key'),
    ]);
    const own = await cli([...args, 'approvals', 'approve', row.id, '--key', self.file], {
      GATEHOUSE_HOME: home,
    });
    expect([own.code, own.stderr]).toEqual([
      12,
      expect.stringContaining(`self's key is listed for the requester (os:${currentUser()})`),
    ]);
    const refused = await held;
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toContain("waiting for a second person's signed approval");

    // Forging the queue row (the requester owns the database) approves nothing.
    const db = new Database(join(home, 'audit.db'));
    db.prepare("UPDATE approvals SET status = 'approved', approver = 'bob' WHERE id = ?").run(
      row.id,
    );
    db.close();
    await expect(
      client.callTool({ name: 'refund', arguments: { amount: 5, to: 'bob' } }),
    ).rejects.toMatchObject({
      code: -32005,
      message: expect.stringContaining('no signed grant'),
    });

    const again = client
      .callTool({ name: 'refund', arguments: { amount: 5, to: 'bob' } })
      .catch((e: Error) => e);
    const second = await pending(home, args);
    const byBob = await cli(
      [...args, 'approvals', 'approve', second.id, '--key', bob.file, '--reason', 'ticket 42'],
      { GATEHOUSE_HOME: home },
    );
    expect(byBob.code).toBe(0);
    expect(byBob.stdout).toContain('signing as bob');
    expect(byBob.stdout).toContain('level      two_person');
    expect(text(await again)).toBe('refunded 5 to bob');
    // Single use, and bound to the arguments.
    await expect(
      client.callTool({ name: 'refund', arguments: { amount: 5, to: 'bob' } }),
    ).rejects.toMatchObject({ code: -32005 });
    const events = (await auditTypes(home, args)).filter((e) => e.type.startsWith('approval.'));
    expect(
      events.find((e) => e.type === 'approval.rejected' && e.channel === 'queue'),
    ).toMatchObject({ approval_id: row.id, reason: expect.stringContaining('no signed grant') });
    const used = events.find((e) => e.type === 'approval.used');
    expect(used).toMatchObject({
      approval_id: second.id,
      approver: 'bob',
      grant: {
        statement: { approver: 'bob', level: 'two_person', server: 'governed', tool: 'refund' },
        key_fingerprint: bob.fingerprint,
      },
    });
    const unknown = await cli([...args, 'approvals', 'approve', 'nope1234'], {
      GATEHOUSE_HOME: home,
    });
    expect([unknown.code, unknown.stderr]).toEqual([
      6,
      expect.stringContaining('no approval with id nope1234'),
    ]);
    // The gateway is still running: its newest records are not under a checkpoint yet (exit 19,
    // incomplete), but nothing is broken and every approval use rests on a valid grant.
    const verify = await cli([...args, 'audit', 'verify', '--json'], { GATEHOUSE_HOME: home });
    expect([0, 19]).toContain(verify.code);
    const report = JSON.parse(verify.stdout) as {
      ok: boolean;
      approval_evidence: { problems: unknown[] };
    };
    expect(report.ok).toBe(true);
    expect(report.approval_evidence.problems).toEqual([]);
  }, 60_000);

  test('a webhook hears of a waiting call (personal data masked); the HTTP API approves only with a signed grant', async () => {
    const hooks: Record<string, unknown>[] = [];
    const received: { body: string; signature: string }[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const signature = String(req.headers['x-gatehouse-signature'] ?? '');
        received.push({ body, signature });
        // The receiver of docs/requirements.md: verify, then trust the body.
        if (!verifySignature(HOOK_SECRET, signature, body)) return res.writeHead(401).end();
        hooks.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const keys = tempDir();
    const carol = await keygen(keys, 'carol');
    const secretFile = join(keys, 'webhook-secret');
    writeFileSync(secretFile, `${HOOK_SECRET}\n`, { mode: 0o600 });
    const dir = writeFiles({
      'config.toml': CONFIG,
      'requirements.toml': `${REQUIREMENTS}\n${approversToml([carol])}`.replace(
        'approval_wait_seconds = 4',
        `approval_wait_seconds = 8\napproval_webhook = "${hookUrl}"\napproval_webhook_secret = { file = "${secretFile}" }`,
      ),
    });
    const args = [
      '--config',
      join(dir, 'config.toml'),
      '--requirements',
      join(dir, 'requirements.toml'),
    ];
    const home = tempDir();
    const { client } = await stdioClient(home, args, NO_ELICITATION);
    const to = 'dave.smith@example.com 4111 1111 1111 1111';
    const held = client.callTool({ name: 'refund', arguments: { amount: 7, to } });
    const row = await pending(home, args);
    for (let i = 0; i < 40 && hooks.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(hooks[0]).toMatchObject({
      event: 'approval.requested',
      id: row.id,
      tool: 'refund',
      category: 'money',
      approval: 'two_person',
    });
    // Signed over `t.body`: the exact body verifies; a changed body or an old timestamp does not.
    const sent = received[0] as { body: string; signature: string };
    expect(sent.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(
      verifySignature(HOOK_SECRET, sent.signature, sent.body.replace('refund', 'refunx')),
    ).toBe(false);
    expect(verifySignature('another-secret', sent.signature, sent.body)).toBe(false);
    const t = Number(/t=(\d+)/.exec(sent.signature)?.[1]);
    expect(verifySignature(HOOK_SECRET, sent.signature, sent.body, t + 301)).toBe(false);
    const seen = JSON.stringify([hooks[0], row]);
    expect(seen).not.toContain(HOOK_SECRET);
    // `requirements check` names where the secret is, never the secret.
    const check = await cli([...args, 'requirements', 'check', '--json'], { GATEHOUSE_HOME: home });
    expect(JSON.parse(check.stdout)).toMatchObject({
      gatehouse_policy: {
        approval_webhook_secret: `file ${secretFile}`,
        approval_webhook_format: 'json',
      },
    });
    expect(check.stdout + check.stderr).not.toContain(HOOK_SECRET);
    expect(seen).not.toContain('dave.smith@example.com');
    expect(seen).not.toContain('4111 1111 1111 1111');
    const shown = await cli([...args, 'approvals', 'show', row.id], { GATEHOUSE_HOME: home });
    expect(shown.stdout).not.toContain('dave.smith@example.com');

    const api = spawn(
      process.execPath,
      [
        BIN,
        ...args,
        'approvals',
        'serve',
        '--http',
        '127.0.0.1:0',
        '--approver-tokens-env',
        'APPROVERS',
      ],
      {
        env: { ...process.env, GATEHOUSE_HOME: home, APPROVERS: 'carol:carol-secret-token-123456' },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.push(api);
    const apiUrl = await new Promise<string>((resolve) => {
      let err = '';
      api.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /"url":"([^"]+)"/.exec(err);
        if (m?.[1]) resolve(m[1]);
      });
    });
    expect((await fetch(apiUrl)).status).toBe(401);
    const auth = { authorization: 'Bearer carol-secret-token-123456' };
    const listed = (await (await fetch(apiUrl, { headers: auth })).json()) as { id: string }[];
    expect(listed.map((a) => a.id)).toEqual([row.id]);
    // A token alone no longer approves: the API chooses no approver names.
    const tokenOnly = await fetch(`${apiUrl}/${row.id}/approve`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"reason":"checked"}',
    });
    expect(tokenOnly.status).toBe(403);
    const approval = await (await fetch(`${apiUrl}/${row.id}`, { headers: auth })).text();
    const approvalFile = join(keys, 'approval.json');
    writeFileSync(approvalFile, approval);
    const signed = await cli(
      [
        ...args,
        'approvals',
        'sign',
        '--key',
        carol.file,
        '--approval',
        approvalFile,
        '--reason',
        'checked',
      ],
      { GATEHOUSE_HOME: home },
    );
    expect(signed.code).toBe(0);
    const tampered = JSON.parse(signed.stdout) as { grant: { statement: { level: string } } };
    tampered.grant.statement.level = 'always';
    const forged = await fetch(`${apiUrl}/${row.id}/approve`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(tampered),
    });
    expect([forged.status, await forged.text()]).toEqual([
      403,
      expect.stringContaining('bad signature'),
    ]);
    const approved = await fetch(`${apiUrl}/${row.id}/approve`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: signed.stdout,
    });
    expect(approved.status).toBe(200);
    expect(text(await held)).toMatch(/^refunded 7 to /);
    const again = await fetch(`${apiUrl}/${row.id}/approve`, {
      method: 'POST',
      headers: auth,
      body: signed.stdout,
    });
    expect(again.status).toBe(409);
    const granted = (await auditTypes(home, args)).find((e) => e.type === 'approval.granted');
    expect(granted).toMatchObject({
      channel: 'http',
      approver: 'carol',
      reason: 'checked',
      grant: { key_fingerprint: carol.fingerprint },
    });
    hook.close();
  }, 30_000);

  test('a webhook that is down: the call still waits for the queue, and the failure is reported; the wait ends as timed out, not denied', async () => {
    const keys = tempDir();
    const bob = await keygen(keys, 'bob');
    const dir = writeFiles({
      'config.toml': CONFIG,
      'requirements.toml': `${REQUIREMENTS}\n${approversToml([bob])}`.replace(
        'approval_wait_seconds = 4',
        'approval_wait_seconds = 1\napproval_ttl_seconds = 2\napproval_webhook = "http://127.0.0.1:1/hook"',
      ),
    });
    const args = [
      '--config',
      join(dir, 'config.toml'),
      '--requirements',
      join(dir, 'requirements.toml'),
    ];
    const home = tempDir();
    let stderr = '';
    const client = new Client({ name: 'no-elicit', version: '1.0.0' }, { capabilities: {} });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, ...args, 'run', 'governed'],
      env: { ...process.env, GATEHOUSE_HOME: home } as Record<string, string>,
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await client.connect(transport);
    clients.push(client);
    await expect(
      client.callTool({ name: 'refund', arguments: { amount: 1, to: 'x' } }),
    ).rejects.toMatchObject({
      code: -32005,
      message: expect.stringContaining('approvals approve'),
    });
    expect(stderr).toMatch(
      /"event":"webhook_error","detail":"approval webhook http:\/\/127\.0\.0\.1:1 unreachable/,
    );
    let events = await auditTypes(home, args);
    for (let i = 0; i < 40 && !events.some((e) => e.type === 'approval.timed_out'); i++) {
      await new Promise((r) => setTimeout(r, 50));
      events = await auditTypes(home, args);
    }
    const approvals = events.filter((e) => e.type.startsWith('approval.')).map((e) => e.type);
    expect(approvals).toEqual(['approval.requested', 'approval.timed_out']);
    const result = events.find((e) => e.type === 'call.result' && e.target === 'refund');
    expect(result).toMatchObject({ outcome: 'approval_timed_out' });
    // Once it expired (valid 2 s), a decision is refused as expired, and nothing is decided.
    const row = JSON.parse(
      (await cli([...args, 'approvals', 'list', '--all', '--json'], { GATEHOUSE_HOME: home }))
        .stdout,
    ) as { id: string; expires_at: string }[];
    const id = row[0]?.id ?? '';
    await new Promise((r) =>
      setTimeout(r, Math.max(0, Date.parse(row[0]?.expires_at ?? '') - Date.now() + 50)),
    );
    for (const decision of [['approve', '--key', bob.file], ['deny']])
      expect(
        await cli([...args, 'approvals', ...decision, id, '--reason', 'late'], {
          GATEHOUSE_HOME: home,
        }),
      ).toMatchObject({
        code: 12,
        stderr: expect.stringMatching(
          new RegExp(
            `approval ${id} expired at \\S+ and can no longer be decided; nothing was changed`,
          ),
        ) as unknown,
      });
    const after = await auditTypes(home, args);
    expect(
      after.filter((e) => e.type === 'approval.granted' || e.type === 'approval.denied'),
    ).toEqual([]);
  }, 30_000);

  test('bad approver input: each refused with the reason and an audit record, nothing forwarded', async () => {
    const keys = tempDir();
    const bob = await keygen(keys, 'bob');
    const again = await cli(['approvals', 'keygen', '--name', 'bob', '--out', bob.file]);
    expect([again.code, again.stderr]).toEqual([2, expect.stringContaining('already exists')]);
    const open = join(tempDir(), 'shared');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    const inOpenDir = await cli(['approvals', 'keygen', '--out', join(open, 'k.pem')]);
    expect([inOpenDir.code, inOpenDir.stderr]).toEqual([
      2,
      expect.stringContaining('must be private'),
    ]);
    const { home, args } = setup(approversToml([bob]));
    const { client } = await stdioClient(home, args, NO_ELICITATION);
    const held = client
      .callTool({ name: 'refund', arguments: { amount: 3, to: 'z' } })
      .catch((e: Error) => e);
    const row = await pending(home, args);
    const dir = tempDir();
    const file = (name: string, text: string, mode = 0o600) => {
      const f = join(dir, name);
      writeFileSync(f, text, { mode });
      chmodSync(f, mode);
      return f;
    };
    const readable = file('readable.pem', readFileSync(bob.file, 'utf8'), 0o644);
    const garbage = file('garbage.pem', 'not a key\n');
    const rsa = file(
      'rsa.pem',
      generateKeyPairSync('rsa', { modulusLength: 1024 })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString(),
    );
    const unlisted = (await keygen(keys, 'eve')).file;
    const cases: [string, string][] = [
      [readable, 'readable or writable by others'],
      [garbage, 'not a PEM private key'],
      [rsa, 'approver keys are Ed25519'],
      [unlisted, 'is not listed in [gatehouse_approvals] approvers'],
      [join(dir, 'missing.pem'), 'cannot read the approver key (ENOENT)'],
    ];
    for (const [key, reason] of cases) {
      const r = await cli([...args, 'approvals', 'approve', row.id, '--key', key], {
        GATEHOUSE_HOME: home,
      });
      expect([r.code, r.stderr]).toEqual([12, expect.stringContaining(reason)]);
    }
    const refused = await held;
    expect(refused).toBeInstanceOf(Error);
    const events = await auditTypes(home, args);
    const rejected = events.filter((e) => e.type === 'approval.rejected' && e.channel === 'cli');
    expect(rejected.map((e) => e.reason)).toEqual(
      cases.map(([, reason]) => expect.stringContaining(reason)),
    );
    expect(events.some((e) => e.type === 'call.intent' && e.target === 'refund')).toBe(false);
  }, 60_000);

  test('an approval given on one server (one person) is not used on another server (two_person) with the same process and arguments', async () => {
    const keys = tempDir();
    const self = await keygen(keys, 'self', currentUser());
    const bob = await keygen(keys, 'bob');
    const server = `command = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(SERVER)}]\n`;
    const dir = writeFiles({
      'config.toml': `[mcp_servers.sandbox]\n${server}\n[mcp_servers.prod]\n${server}`,
      'requirements.toml': `[gatehouse_policy]\ndefault_approval = "gatehouse"\napproval_wait_seconds = 1\n\n[gatehouse_policy.tools."sandbox/refund"]\napproval = "always"\n\n[gatehouse_policy.tools."prod/refund"]\ncategory = "money"\napproval = "two_person"\n\n${approversToml([self, bob])}`,
    });
    const args = [
      '--config',
      join(dir, 'config.toml'),
      '--requirements',
      join(dir, 'requirements.toml'),
    ];
    const home = tempDir();
    const client = new Client({ name: 'two-servers', version: '1.0.0' }, { capabilities: {} });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, ...args, 'serve'],
        env: { ...process.env, GATEHOUSE_HOME: home } as Record<string, string>,
        stderr: 'pipe',
      }),
    );
    clients.push(client);
    const call = { amount: 10, to: 'x' };
    await expect(
      client.callTool({ name: 'sandbox__refund', arguments: call }),
    ).rejects.toMatchObject({ code: -32005 });
    const sandboxRow = await pending(home, args);
    // The requester may approve their own `always` call with their own listed key.
    const own = await cli([...args, 'approvals', 'approve', sandboxRow.id, '--key', self.file], {
      GATEHOUSE_HOME: home,
    });
    expect(own.code).toBe(0);
    await expect(client.callTool({ name: 'prod__refund', arguments: call })).rejects.toMatchObject({
      code: -32005,
      message: expect.stringContaining("a second person's signed approval"),
    });
    const rows = JSON.parse(
      (await cli([...args, 'approvals', 'list', '--all', '--json'], { GATEHOUSE_HOME: home }))
        .stdout,
    ) as { id: string; server: string; status: string; level: string }[];
    expect(rows.map((r) => [r.server, r.level, r.status]).sort()).toEqual([
      ['prod', 'two_person', 'pending'],
      ['sandbox', 'always', 'approved'],
    ]);
  }, 30_000);

  test('money/permissions/customer_records/production_state: the client’s in-band answer does not approve `always` unless the admin allows the category in-band', async () => {
    const base = `${REQUIREMENTS.replace('approval_wait_seconds = 4', 'approval_wait_seconds = 1')}\n[gatehouse_policy.tools."governed/update_note"]\ncategory = "customer_records"\n`;
    for (const inBand of [false, true]) {
      const dir = writeFiles({
        'config.toml': CONFIG,
        'requirements.toml': `${base}${inBand ? '\n[gatehouse_approvals]\nin_band_categories = ["customer_records"]\n' : ''}`,
      });
      const args = [
        '--config',
        join(dir, 'config.toml'),
        '--requirements',
        join(dir, 'requirements.toml'),
      ];
      const home = tempDir();
      const { client, seen } = await stdioClient(home, args, () => 'accept');
      const result = client
        .callTool({ name: 'update_note', arguments: { note: 'n' } })
        .catch((e: Error) => e);
      if (!inBand) {
        expect(await result).toMatchObject({
          message: expect.stringContaining('waiting for approval'),
        });
        expect(seen).toHaveLength(0);
        const row = await pending(home, args);
        expect(row).toMatchObject({ level: 'always' });
        continue;
      }
      expect(text(await result)).toBe('saved n');
      expect(seen).toHaveLength(1);
      let events = await auditTypes(home, args);
      for (let i = 0; i < 40 && !events.some((e) => e.type === 'approval.used'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        events = await auditTypes(home, args);
      }
      expect(events.find((e) => e.type === 'approval.granted')).toMatchObject({
        channel: 'elicitation',
        reason: expect.stringContaining("in-band: category 'customer_records' is allowed in-band"),
      });
    }
  }, 40_000);

  test('a forged `always` approval: without approver keys it is a use with no grant, which audit verify reports; with keys it is rejected', async () => {
    for (const withKeys of [false, true]) {
      const keys = tempDir();
      const extra = withKeys ? approversToml([await keygen(keys, 'self', currentUser())]) : '';
      const dir = writeFiles({
        'config.toml': CONFIG,
        'requirements.toml': `${REQUIREMENTS.replace('approval_wait_seconds = 4', 'approval_wait_seconds = 1')}\n[gatehouse_policy.tools."governed/update_note"]\napproval = "always"\n\n${extra}`,
      });
      const args = [
        '--config',
        join(dir, 'config.toml'),
        '--requirements',
        join(dir, 'requirements.toml'),
      ];
      const home = tempDir();
      const { client } = await stdioClient(home, args, NO_ELICITATION);
      await expect(
        client.callTool({ name: 'update_note', arguments: { note: 'n' } }),
      ).rejects.toMatchObject({ code: -32005 });
      const row = await pending(home, args);
      const db = new Database(join(home, 'audit.db'));
      db.prepare(
        "UPDATE approvals SET status = 'approved', approver = 'os:alice', decided_at = created_at WHERE id = ?",
      ).run(row.id);
      db.close();
      const again = await client
        .callTool({ name: 'update_note', arguments: { note: 'n' } })
        .catch((e: Error) => e);
      if (withKeys) {
        expect(again).toMatchObject({ message: expect.stringContaining('no signed grant') });
        continue;
      }
      expect(text(again)).toBe('saved n'); // the residual risk of keyless single-user approvals
      let verify = await cli([...args, 'audit', 'verify'], { GATEHOUSE_HOME: home });
      for (let i = 0; i < 40 && !verify.stdout.includes('approval evidence'); i++) {
        await new Promise((r) => setTimeout(r, 50));
        verify = await cli([...args, 'audit', 'verify'], { GATEHOUSE_HOME: home });
      }
      expect(verify.code).toBe(9);
      expect(verify.stdout).toContain(
        `approval ${row.id} was used, but no approval.granted record precedes it`,
      );
    }
  }, 40_000);

  test('tools/list hides what the policy refuses; a rule that matches no tool is warned about', async () => {
    const dir = writeFiles({
      'config.toml': CONFIG,
      'requirements.toml': `${REQUIREMENTS}\n[gatehouse_policy.tools."governed/wipe*"]\nallow = false\n\n[gatehouse_policy.tools."governed/delete_*"]\nallow = false\n`,
    });
    const args = [
      '--config',
      join(dir, 'config.toml'),
      '--requirements',
      join(dir, 'requirements.toml'),
    ];
    let stderr = '';
    const client = new Client({ name: 'lister', version: '1.0.0' }, { capabilities: {} });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, ...args, 'run', 'governed'],
      env: { ...process.env, GATEHOUSE_HOME: tempDir() } as Record<string, string>,
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await client.connect(transport);
    clients.push(client);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names.sort()).toEqual(['read_balance', 'refund', 'update_note']);
    await expect(client.callTool({ name: 'wipe', arguments: {} })).rejects.toMatchObject({
      code: -32004,
      message: expect.stringContaining('Gatehouse policy refuses governed/wipe'),
    });
    expect(stderr).toContain(
      'gatehouse_policy.tools.\\"governed/delete_*\\" matches no tool of server',
    );
    expect(stderr).not.toContain('governed/wipe*\\" matches no tool');
  });

  test('gatehouse serve applies the same policy under namespaced names, in-band approval included', async () => {
    const { home, args } = setup();
    const client = new Client(
      { name: 'serve-client', version: '1.0.0' },
      { capabilities: { elicitation: { form: {} } } },
    );
    const asked: string[] = [];
    client.setRequestHandler('elicitation/create', (request) => {
      asked.push((request.params as unknown as Elicitation).message);
      return { action: 'accept', content: {} } as never;
    });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, ...args, 'serve'],
        env: { ...process.env, GATEHOUSE_HOME: home } as Record<string, string>,
        stderr: 'pipe',
      }),
    );
    clients.push(client);
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual([
      'governed__read_balance',
      'governed__refund',
      'governed__update_note',
      'governed__wipe',
    ]);
    expect(
      text(await client.callTool({ name: 'governed__read_balance', arguments: { account: 'z' } })),
    ).toBe('balance of z: 100');
    expect(
      text(await client.callTool({ name: 'governed__update_note', arguments: { note: 'n' } })),
    ).toBe('saved n');
    expect(asked).toEqual([
      expect.stringContaining('Allow the governed MCP server to run tool "update_note"?'),
    ]);
  });
});
