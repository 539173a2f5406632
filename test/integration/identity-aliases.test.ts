import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, test } from 'vitest';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

// Issue 14 item 15: tool rules are keyed by the server name, which the user chooses. The
// payments server registered under another allowlisted name (whose identity rule compares only
// the command) must still get payments' money, two_person and deny rules.
const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const SERVER = join(FIXTURES, 'governed.mjs');
const NODE = JSON.stringify(process.execPath);
const CONFIG = `[mcp_servers.sandbox]\ncommand = ${NODE}\nargs = [${JSON.stringify(SERVER)}]\n`;
const REQUIREMENTS = `
[mcp_servers.payments.identity]
command = ${NODE}
[mcp_servers.sandbox.identity]
command = ${NODE}

[gatehouse_policy]
approval_wait_seconds = 1

[gatehouse_policy.tools."payments/*"]
category = "money"
[gatehouse_policy.tools."payments/refund"]
approval = "two_person"
[gatehouse_policy.tools."payments/wipe"]
allow = false
[gatehouse_policy.tools."sandbox/*"]
effect = "read"
approval = "never"
`;

function setup() {
  const dir = writeFiles({ 'config.toml': CONFIG, 'requirements.toml': REQUIREMENTS });
  return {
    home: tempDir(),
    args: ['--config', join(dir, 'config.toml'), '--requirements', join(dir, 'requirements.toml')],
  };
}

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
});

describe.skipIf(!existsSync(BIN))('a server registered under another allowlisted name', () => {
  test('policy explain: sandbox/refund gets payments/refund (two_person, money)', async () => {
    const { home, args } = setup();
    const r = await cli(
      [...args, 'policy', 'explain', '--server', 'sandbox', '--tool', 'refund', '--json'],
      { GATEHOUSE_HOME: home },
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      decision: 'approval',
      approval: 'two_person',
      category: 'money',
      rule: expect.stringContaining("allowlist rule for 'payments'"),
    });
  });

  test('requirements explain names the other allowlisted names whose rules apply', async () => {
    const { home, args } = setup();
    const r = await cli([...args, 'requirements', 'explain', 'sandbox'], { GATEHOUSE_HOME: home });
    expect(r.stdout).toContain("also satisfies the allowlist rule(s) for 'payments'");
    const check = await cli([...args, 'requirements', 'check', '--json'], { GATEHOUSE_HOME: home });
    expect(JSON.parse(check.stdout).identity_overlaps).toMatchObject([
      { servers: ['payments', 'sandbox'], certain: true },
    ]);
  });

  test('run: an auto-accepting client cannot get refund or wipe through the sandbox name', async () => {
    const { home, args } = setup();
    const client = new Client(
      { name: 'alias-test', version: '1.0.0' },
      { capabilities: { elicitation: { form: {} } } },
    );
    client.setRequestHandler(
      'elicitation/create',
      () => ({ action: 'accept', content: {} }) as never,
    );
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, ...args, 'run', 'sandbox'],
        env: { ...process.env, GATEHOUSE_HOME: home } as Record<string, string>,
        stderr: 'pipe',
      }),
    );
    clients.push(client);
    const listed = (await client.listTools()).tools.map((t) => t.name);
    expect(listed).toContain('refund');
    expect(listed).not.toContain('wipe');
    await expect(
      client.callTool({ name: 'refund', arguments: { amount: 10, to: 'mallory' } }),
    ).rejects.toMatchObject({
      code: -32005,
      message: expect.stringMatching(/two_person|second person/),
    });
    await expect(client.callTool({ name: 'wipe', arguments: {} })).rejects.toMatchObject({
      code: -32004,
    });
  }, 30_000);
});
