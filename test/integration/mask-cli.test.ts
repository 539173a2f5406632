import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { SECRETS } from '../fixtures/servers/customer-secrets.mjs';
import { tempDir, writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');

function maskBin(args: string[], input?: Buffer | string) {
  const home = tempDir();
  return spawnSync(process.execPath, [BIN, ...args], {
    input,
    env: { ...process.env, GATEHOUSE_HOME: home },
    maxBuffer: 64 << 20,
  });
}

describe('gatehouse mask', () => {
  const log = `2026-11-21 INFO token=${SECRETS.github} user=${SECRETS.email}\nplain line\n`;

  test('prints the masked text; --json lists findings with offsets and never the values', async () => {
    const dir = writeFiles({ 'app.log': log });
    const masked = await cli(['mask', join(dir, 'app.log')]);
    expect(masked.code).toBe(0);
    expect(masked.stdout).toBe(
      '2026-11-21 INFO token=[REDACTED:github_token] user=[REDACTED:email]\nplain line\n',
    );
    const json = await cli(['mask', '--json', join(dir, 'app.log')]);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout) as {
      counts: Record<string, number>;
      findings: { kind: string; rule: string; start: number; end: number; line: number }[];
    };
    expect(out.counts).toEqual({ github_token: 1, email: 1 });
    for (const f of out.findings) {
      expect(log.slice(f.start, f.end)).toMatch(/^(ghp_|jane)/);
      expect(f.line).toBe(1);
    }
    expect(json.stdout).not.toContain(SECRETS.github);
    expect(json.stdout).not.toContain(SECRETS.email);
  });

  test('JSON Lines keep every closing brace; a secret number becomes a quoted mask', async () => {
    // Issue 15 item 12: `{"password": 12345678901}` lost its `}` (the value took it along).
    const lines = `{"password": ${'1234'}5678901}\n{"a": {"db_password": ${'9876'}54321}}\n{"n": 1}\n`;
    const dir = writeFiles({ 'events.jsonl': lines });
    const r = await cli(['mask', join(dir, 'events.jsonl')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      '{"password": "[REDACTED:generic_secret]"}\n{"a": {"db_password": "[REDACTED:generic_secret]"}}\n{"n": 1}\n',
    );
    for (const line of r.stdout.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });

  test('--check exits 16 when something would be masked, 0 when not', async () => {
    const dir = writeFiles({ 'a.log': log, 'b.log': 'nothing here\n' });
    expect((await cli(['mask', '--check', join(dir, 'a.log')])).code).toBe(16);
    const clean = await cli(['mask', '--check', join(dir, 'b.log')]);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toBe('nothing to mask\n');
  });

  test('custom rules from requirements apply; a catastrophic one is refused naming the key', async () => {
    const good = writeFiles({
      'r.toml': '[gatehouse_masking.patterns]\nemployee_id = "EMP-[0-9]{6}"\n',
      'in.txt': 'owner EMP-123456\n',
    });
    const ok = await cli(['--requirements', join(good, 'r.toml'), 'mask', join(good, 'in.txt')]);
    expect(ok.stdout).toBe('owner [REDACTED:employee_id]\n');
    const bad = writeFiles({ 'r.toml': '[gatehouse_masking.patterns]\nbad = "(a|aa)+\\\\1"\n' });
    const refused = await cli([
      '--requirements',
      join(bad, 'r.toml'),
      'mask',
      join(good, 'in.txt'),
    ]);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('gatehouse_masking.patterns.bad');
    expect(refused.stderr).toContain('linear time');
    expect(refused.stderr).toContain('r.toml:2');
  });

  test('a missing file is a clear error with exit 6', async () => {
    const r = await cli(['mask', '/no/such/file.log']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('cannot read /no/such/file.log');
  });

  test.skipIf(!existsSync(BIN))(
    'stdin; bytes that are not UTF-8 come back unchanged around the masked value',
    () => {
      const input = Buffer.concat([
        Buffer.from([0xff, 0xfe, 0x41]),
        Buffer.from(` key ${SECRETS.github} `),
        Buffer.from([0xe9, 0x0a]),
      ]);
      const r = maskBin(['mask', '-'], input);
      expect(r.status).toBe(0);
      expect([...r.stdout.subarray(0, 3)]).toEqual([0xff, 0xfe, 0x41]);
      expect([...r.stdout.subarray(r.stdout.length - 2)]).toEqual([0xe9, 0x0a]);
      expect(r.stdout.toString('latin1')).toContain(' key [REDACTED:github_token] ');
    },
  );

  test.skipIf(!existsSync(BIN))(
    'a big log is masked in pieces without cutting a private key in two',
    () => {
      const line = 'INFO request handled in 12 ms path=/api/v1/items\n';
      const filler = line.repeat(Math.ceil((1 << 20) / line.length) - 2);
      const body = Array.from(
        { length: 20 },
        (_, i) => `MIIEpAIBAAKCAQEA${'x7Kq'.repeat(15)}${i}`,
      ).join('\n');
      const pem = `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----\n`;
      const text = `${filler}${pem}${filler}card ${SECRETS.card}\n`;
      const dir = tempDir();
      writeFileSync(join(dir, 'big.log'), text);
      const r = maskBin(['mask', join(dir, 'big.log')]);
      expect(r.status).toBe(0);
      const out = r.stdout.toString();
      expect(out).not.toContain('MIIEpAIBAAKCAQEA');
      expect(out).toContain('[REDACTED:private_key]');
      expect(out.endsWith('card [REDACTED:card]\n')).toBe(true);
      expect(out.length).toBeLessThan(text.length);
    },
  );
});
