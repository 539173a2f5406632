import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { RawStdioClient } from '../support/raw-stdio.js';
import { until } from '../support/processes.js';
import { cli } from '../support/run-cli.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');

// A server that leaks what it read: a stray stdout line and its dying stderr carry PII.
const LEAKY = [
  "process.stdout.write('loaded customer jane.doe@example.com card 4111 1111 1111 1111\\n');",
  "setTimeout(() => { process.stderr.write('fatal: row for bob.smith@example.org (SSN 536-22-8149)\\n'); process.exit(3); }, 200);",
].join(' ');

describe.skipIf(!existsSync(BIN))("Gatehouse's own stderr", () => {
  test("never quotes personal data from a server's stray output or dying stderr", async () => {
    const dir = writeFiles({
      'c.toml': `[mcp_servers.leaky]\ncommand = ${JSON.stringify(process.execPath)}\nargs = ["-e", ${JSON.stringify(LEAKY)}]\n`,
    });
    const client = new RawStdioClient(
      process.execPath,
      [BIN, '--config', join(dir, 'c.toml'), 'run', 'leaky'],
      { ...process.env, GATEHOUSE_HOME: tempDir() },
    );
    await client.initialize().catch(() => undefined);
    await until(() => client.stderr.includes('"state":"failed"'), 10_000);
    client.close();
    expect(client.stderr).toContain('not JSON-RPC on stdout (ignored)');
    for (const pii of [
      'jane.doe@example.com',
      '4111 1111 1111 1111',
      'bob.smith@example.org',
      '536-22-8149',
    ])
      expect(client.stderr).not.toContain(pii);
  });
});

describe.skipIf(!existsSync(BIN))("the audit's call records", () => {
  test('keep the server identity with short-flag and user:password arguments masked', async () => {
    const home = tempDir();
    const args = [join(FIXTURES, 'crashy.mjs'), '-u', 'bob:B0bsAuditPw', '-pSh0rtAuditPw'];
    const dir = writeFiles({
      'c.toml': `[mcp_servers.crashy]\ncommand = ${JSON.stringify(process.execPath)}\nargs = ${JSON.stringify(args)}\n`,
    });
    const client = new RawStdioClient(
      process.execPath,
      [BIN, '--config', join(dir, 'c.toml'), 'run', 'crashy'],
      { ...process.env, GATEHOUSE_HOME: home },
    );
    await client.initialize();
    const r = await client.request(1, 'tools/call', { name: 'ping', arguments: {} });
    expect(JSON.stringify(r)).toContain('pong');
    client.close();
    const audit = await cli(['audit', 'query', '--json'], { GATEHOUSE_HOME: home });
    expect(audit.stdout).toContain('"call.intent"');
    expect(audit.stdout).toContain('-p*****');
    for (const s of ['B0bsAuditPw', 'Sh0rtAuditPw']) expect(audit.stdout).not.toContain(s);
  });
});

describe('diagnostics and listings', () => {
  test('config errors do not echo numeric env values or array header values', async () => {
    const dir = writeFiles({
      'c.toml':
        '[mcp_servers.a]\ncommand = "npx"\nenv = { API_KEY = 98127364501234 }\n\n[mcp_servers.b]\nurl = "https://example.com/mcp"\nhttp_headers = { Authorization = ["Bearer s3kr1tHeaderValue"] }\n',
    });
    const r = await cli(['--config', join(dir, 'c.toml'), 'mcp', 'list']);
    expect(r.stderr).toContain('invalid type: integer, expected a string');
    expect(r.stderr).not.toContain('98127364501234');
    expect(r.stderr).not.toContain('s3kr1tHeaderValue');
  });

  test('a requirements URL with credentials is masked in the error (text and --json)', async () => {
    const dir = writeFiles({
      'r.toml':
        '[mcp_servers.x.identity]\nurl = { match = "prefix", value = "https://bob:hunter2pass@example.com/mcp?x" }\n',
    });
    for (const extra of [[], ['--json']]) {
      const r = await cli([
        '--requirements',
        join(dir, 'r.toml'),
        'requirements',
        'check',
        ...extra,
      ]);
      expect(r.stdout + r.stderr).toContain('URL prefix');
      expect(r.stdout + r.stderr).not.toContain('hunter2pass');
    }
  });

  test('mcp list --json, mcp get and inventory --json mask short-flag passwords, -u user:PASS, webhook paths, ?pw= and token userinfo', async () => {
    const dir = writeFiles({
      'c.toml': [
        '[mcp_servers.db]',
        'command = "mcp-mysql"',
        'args = ["-u", "root", "-pR00tPassw0rd", "--conn", "https://ghs_Abcdefghij0123456789zz@github.com/x"]',
        '[mcp_servers.curl]',
        'command = "curl-mcp"',
        'args = ["-u", "bob:B0bsPassw0rd", "-p", "Sh0rtFlagPw", "https://example.com/api?pw=Qu3ryPw0rd", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"]',
        '',
      ].join('\n'),
    });
    const secrets = [
      'R00tPassw0rd',
      'ghs_Abcdefghij0123456789zz',
      'B0bsPassw0rd',
      'Sh0rtFlagPw',
      'Qu3ryPw0rd',
      'XXXXXXXXXXXXXXXXXXXXXXXX',
    ];
    const outputs = [
      await cli(['--config', join(dir, 'c.toml'), 'mcp', 'list', '--json']),
      await cli(['--config', join(dir, 'c.toml'), 'mcp', 'get', 'db']),
      await cli(['--config', join(dir, 'c.toml'), 'mcp', 'get', 'curl', '--json']),
      await cli(['--config', join(dir, 'c.toml'), 'inventory', '--json']),
    ];
    for (const r of outputs) {
      expect(r.stdout.length).toBeGreaterThan(0);
      for (const s of secrets) expect(r.stdout + r.stderr).not.toContain(s);
    }
  });
});
