import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { FIXTURES } from '../support/fixtures.js';
import { PG_URL, dropSchemas, postgresAvailable } from '../support/postgres.js';
import { RawStdioClient } from '../support/raw-stdio.js';
import { cli } from '../support/run-cli.js';

/**
 * Approvals end to end with two real OS users and two approver keys: the gateway runs as user A
 * (setpriv), A's own listed key cannot satisfy A's two_person call, B cannot use A's key file,
 * root cannot use B's, and B's key approves. The queue and the audit trail are one PostgreSQL
 * store both users reach, as in a team deployment.
 */
const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const SERVER = join(FIXTURES, 'governed.mjs');
const isRoot = process.getuid?.() === 0;
const hasTools = existsSync('/usr/bin/setpriv') && existsSync('/usr/sbin/useradd');
if (!isRoot || !hasTools)
  console.warn(
    `\n⚠ approvals with two OS users SKIPPED: ${!isRoot ? 'needs root (to create users with useradd; CI runs as root)' : 'setpriv/useradd missing'}\n`,
  );

const suffix = `${process.pid % 100000}`;
const USERS = { a: `ghapa${suffix}`, b: `ghapb${suffix}` };
const SCHEMA = `gh_two_users_${suffix}`;
const created: string[] = [];
let gateway: RawStdioClient | null = null;

afterAll(async () => {
  gateway?.close();
  for (const u of created) {
    // userdel refuses while the user still runs a process (the gateway exits on stdin's end).
    for (let i = 0; i < 50 && spawnSync('pgrep', ['-u', u]).status === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    spawnSync('userdel', [u]);
  }
  if (created.length > 0) await dropSchemas([SCHEMA]);
});

interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function addUser(name: string, base: string): Account {
  const r = spawnSync('useradd', ['--no-create-home', '--shell', '/bin/sh', '--user-group', name]);
  if (r.status !== 0) throw new Error(`useradd ${name}: ${r.stderr.toString()}`);
  created.push(name);
  const id = (flag: string) => Number(spawnSync('id', [flag, name]).stdout.toString().trim());
  const home = join(base, name);
  mkdirSync(home, { mode: 0o700 });
  const account = { name, uid: id('-u'), gid: id('-g'), home };
  chownSync(home, account.uid, account.gid);
  return account;
}

function envFor(user: Account): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: user.home,
    GATEHOUSE_HOME: join(user.home, '.gatehouse'),
    TMPDIR: user.home,
  };
}

function asUserArgs(user: Account, args: string[]): string[] {
  return [
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    '--init-groups',
    process.execPath,
    BIN,
    ...args,
  ];
}

/** Runs the gatehouse CLI as `user` (a separate process with that user's uid, gid and groups). */
function asUser(user: Account, args: string[]) {
  const r = spawnSync('setpriv', asUserArgs(user, args), {
    env: envFor(user),
    cwd: user.home,
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe.skipIf(!isRoot || !hasTools || !existsSync(BIN))('approvals with two OS users', () => {
  test('the gateway runs as A; A’s own key is refused for two_person, B cannot use A’s key, root cannot use B’s; B’s key approves once', async () => {
    if (!(await postgresAvailable())) return;
    const base = mkdtempSync(join(tmpdir(), 'gh-two-users-'));
    chmodSync(base, 0o755);
    const a = addUser(USERS.a, base);
    const b = addUser(USERS.b, base);
    const keyOf = (u: Account) => {
      const r = asUser(u, ['approvals', 'keygen', '--json']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { key_file: string; public_key: string; fingerprint: string };
    };
    const keyA = keyOf(a);
    const keyB = keyOf(b);
    expect(keyA.key_file).toBe(join(a.home, '.gatehouse', 'approver', 'approver-key.pem'));
    const store = `${PG_URL}?schema=${SCHEMA}`;
    const files = join(base, 'admin');
    mkdirSync(files, { mode: 0o755 });
    writeFileSync(
      join(files, 'config.toml'),
      `[mcp_servers.governed]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(SERVER)}]\n`,
      { mode: 0o644 },
    );
    writeFileSync(
      join(files, 'requirements.toml'),
      `[gatehouse_policy]
default_approval = "gatehouse"
approval_wait_seconds = 60

[gatehouse_policy.tools."governed/refund"]
category = "money"
approval = "two_person"

[gatehouse_approvals]
approvers = [
  { name = "${a.name}", public_key = "${keyA.public_key}" },
  { name = "${b.name}", public_key = "${keyB.public_key}" },
]
`,
      { mode: 0o644 },
    );
    const args = [
      '--config',
      join(files, 'config.toml'),
      '--requirements',
      join(files, 'requirements.toml'),
      '--audit',
      store,
    ];
    gateway = new RawStdioClient('setpriv', asUserArgs(a, [...args, 'run', 'governed']), envFor(a));
    await gateway.initialize();
    const call = gateway.request(1, 'tools/call', {
      name: 'refund',
      arguments: { amount: 12, to: 'carol' },
    });

    let row: { id: string; requester: string; level: string } | undefined;
    for (let i = 0; i < 100 && !row; i++) {
      const listed = await cli([...args, 'approvals', 'list', '--json']);
      row = (JSON.parse(listed.stdout || '[]') as (typeof row)[])[0];
      if (!row) await new Promise((r) => setTimeout(r, 100));
    }
    expect(row).toMatchObject({ requester: `os:${a.name}`, level: 'two_person' });
    const id = row?.id as string;

    const own = asUser(a, [...args, 'approvals', 'approve', id, '--key', keyA.key_file]);
    expect([own.code, own.stderr]).toEqual([
      12,
      expect.stringContaining(`${a.name}'s key is listed for the requester (os:${a.name})`),
    ]);
    const stolen = asUser(b, [...args, 'approvals', 'approve', id, '--key', keyA.key_file]);
    expect([stolen.code, stolen.stderr]).toEqual([
      12,
      expect.stringContaining('cannot read the approver key (EACCES)'),
    ]);
    const root = await cli([...args, 'approvals', 'approve', id, '--key', keyB.key_file]);
    expect([root.code, root.stderr]).toEqual([
      12,
      expect.stringContaining(`belongs to uid ${b.uid}, not to you`),
    ]);

    const byB = asUser(b, [...args, 'approvals', 'approve', id, '--key', keyB.key_file]);
    expect(byB.code, byB.stderr).toBe(0);
    expect(byB.stdout).toContain(`signing as ${b.name}`);
    const response = await call;
    expect(response).toMatchObject({
      result: { content: [{ type: 'text', text: 'refunded 12 to carol' }] },
    });

    // Single use: the same call again waits for a new approval.
    const again = gateway.request(2, 'tools/call', {
      name: 'refund',
      arguments: { amount: 12, to: 'carol' },
    });
    let next: { id: string } | undefined;
    for (let i = 0; i < 100 && !next; i++) {
      const listed = await cli([...args, 'approvals', 'list', '--json']);
      next = (JSON.parse(listed.stdout || '[]') as { id: string }[])[0];
      if (!next) await new Promise((r) => setTimeout(r, 100));
    }
    expect(next?.id).not.toBe(id);
    const deny = asUser(b, [
      ...args,
      'approvals',
      'deny',
      next?.id as string,
      '--reason',
      'once is enough',
    ]);
    expect(deny.code, deny.stderr).toBe(0);
    expect(await again).toMatchObject({
      error: { message: expect.stringContaining(`denied governed/refund`) },
    });
    // The identical call again is refused with that denial (who, when, why), never asked anew.
    const third = await gateway.request(3, 'tools/call', {
      name: 'refund',
      arguments: { amount: 12, to: 'carol' },
    });
    expect(third).toMatchObject({
      error: {
        message: expect.stringMatching(
          new RegExp(`os:${b.name} denied governed/refund with these arguments .*: once is enough`),
        ),
      },
    });
    const stillPending = await cli([...args, 'approvals', 'list', '--json']);
    expect(JSON.parse(stillPending.stdout || '[]')).toEqual([]);

    const events = JSON.parse((await cli([...args, 'audit', 'query', '--json'])).stdout) as {
      event: Record<string, unknown>;
    }[];
    const used = events.map((e) => e.event).find((e) => e.type === 'approval.used');
    expect(used).toMatchObject({
      approval_id: id,
      requester: `os:${a.name}`,
      approver: b.name,
      grant: { key_fingerprint: keyB.fingerprint, statement: { approver: b.name } },
    });
    const rejected = events
      .map((e) => e.event)
      .filter((e) => e.type === 'approval.rejected')
      .map((e) => e.reason);
    expect(rejected).toEqual(
      expect.arrayContaining([expect.stringContaining('is listed for the requester')]),
    );
    const denied = events.map((e) => e.event).find((e) => e.type === 'approval.denied');
    expect(denied).toMatchObject({ approver: `os:${b.name}`, reason: 'once is enough' });
  }, 120_000);

  test('a uid without a passwd entry (a container) is an unknown requester: its two_person call is refused with the reason, never queued', async () => {
    const uid = 54321;
    if (spawnSync('getent', ['passwd', String(uid)]).status === 0) return; // taken on this host
    const base = mkdtempSync(join(tmpdir(), 'gh-no-passwd-'));
    chmodSync(base, 0o755);
    const home = join(base, 'home');
    mkdirSync(home, { mode: 0o700 });
    chownSync(home, uid, uid);
    const files = join(base, 'admin');
    mkdirSync(files, { mode: 0o755 });
    writeFileSync(
      join(files, 'config.toml'),
      `[mcp_servers.governed]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(SERVER)}]\n`,
      { mode: 0o644 },
    );
    writeFileSync(
      join(files, 'requirements.toml'),
      '[gatehouse_policy]\ndefault_approval = "gatehouse"\napproval_wait_seconds = 30\n\n[gatehouse_policy.tools."governed/refund"]\napproval = "two_person"\n\n[gatehouse_policy.tools."governed/update_note"]\ncategory = "permissions"\n',
      { mode: 0o644 },
    );
    const args = [
      '--config',
      join(files, 'config.toml'),
      '--requirements',
      join(files, 'requirements.toml'),
    ];
    const nobody: Account = { name: String(uid), uid, gid: uid, home };
    const client = new RawStdioClient(
      'setpriv',
      [
        `--reuid=${uid}`,
        `--regid=${uid}`,
        '--clear-groups',
        process.execPath,
        BIN,
        ...args,
        'run',
        'governed',
      ],
      envFor(nobody),
    );
    try {
      await client.initialize();
      for (const [id, name, args2] of [
        [1, 'refund', { amount: 1, to: 'x' }],
        [2, 'update_note', { note: 'n' }],
      ] as const) {
        const r = await client.request(id, 'tools/call', { name, arguments: args2 });
        expect(r).toMatchObject({
          error: {
            code: -32005,
            message: expect.stringContaining("the caller's identity is unknown"),
          },
        });
      }
      // Read as that uid: the store is its own (Gatehouse refuses a store another user owns).
      const queued = spawnSync(
        'setpriv',
        [
          `--reuid=${uid}`,
          `--regid=${uid}`,
          '--clear-groups',
          process.execPath,
          BIN,
          ...args,
          'approvals',
          'list',
          '--all',
          '--json',
        ],
        { env: envFor(nobody), cwd: home, timeout: 60_000 },
      );
      expect(queued.stderr.toString()).toBe('');
      expect(JSON.parse(queued.stdout.toString())).toEqual([]);
    } finally {
      client.close();
    }
  }, 60_000);
});
