import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { cli } from '../support/run-cli.js';
import { tempDir } from '../support/fixtures.js';
import { CODEX, canRunCodex, runCodexList } from '../support/codex.js';
import type { Verdicts } from '../support/codex.js';

/**
 * Runs the real codex-cli 0.169 (npm @openai/codex) on the same config and requirements as
 * Gatehouse and compares the enable/disable decision for every server.
 */
function runCodex(config: string, requirements: string): Verdicts | { error: string } {
  const home = tempDir();
  writeFileSync(join(home, 'config.toml'), config);
  return runCodexList(home, requirements);
}

async function runGatehouse(
  config: string,
  requirements: string,
): Promise<{ verdicts: Verdicts; code: number; codes: Record<string, string | null> }> {
  const dir = tempDir();
  writeFileSync(join(dir, 'config.toml'), config);
  writeFileSync(join(dir, 'requirements.toml'), requirements);
  const r = await cli([
    '--config',
    join(dir, 'config.toml'),
    '--requirements',
    join(dir, 'requirements.toml'),
    'mcp',
    'list',
    '--json',
  ]);
  const list = JSON.parse(r.stdout) as {
    name: string;
    enabled: boolean;
    disabled_reason_code: string | null;
  }[];
  return {
    verdicts: Object.fromEntries(list.map((s) => [s.name, s.enabled])),
    codes: Object.fromEntries(list.map((s) => [s.name, s.disabled_reason_code])),
    code: r.code,
  };
}

const CONFIG = `
[mcp_servers.exact_npx]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-everything"]
[mcp_servers.abs_npx]
command = "/usr/bin/npx"
[mcp_servers.url_exact]
url = "https://a.example/mcp"
[mcp_servers.url_slash]
url = "https://a.example/mcp/"
[mcp_servers.matcher_ok]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-everything"]
[mcp_servers.matcher_extra]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-everything", "--extra"]
[mcp_servers.matcher_regex_reject]
command = "npx"
args = ["-y", "evil-package"]
[mcp_servers.transport_mismatch]
command = "http://127.0.0.1:8765/mcp"
[mcp_servers.not_allowlisted]
command = "node"
[mcp_servers.prefix_ok]
url = "https://mcp.linear.app/mcp"
[mcp_servers.prefix_evil_host]
url = "https://mcp.linear.app.evil.com/mcp"
[mcp_servers.prefix_userinfo]
url = "https://mcp.linear.app@evil.com/"
[mcp_servers.user_disabled]
command = "npx"
enabled = false
[mcp_servers.user_disabled_not_allowed]
command = "npx"
enabled = false
[mcp_servers.regex_ci]
url = "HTTPS://A.EXAMPLE/MCP"
[mcp_servers.pinned_wrong]
command = "npx"
`;

const MATCHER = `args = [ { match = "exact", value = "-y" }, { match = "regex", expression = "@modelcontextprotocol/.*" } ]`;
const REQUIREMENTS = `
[mcp_servers.exact_npx.identity]
command = "npx"
[mcp_servers.abs_npx.identity]
command = "npx"
[mcp_servers.url_exact.identity]
url = "https://a.example/mcp"
[mcp_servers.url_slash.identity]
url = "https://a.example/mcp"
[mcp_servers.matcher_ok.identity.command]
executable = "npx"
${MATCHER}
[mcp_servers.matcher_extra.identity.command]
executable = "npx"
${MATCHER}
[mcp_servers.matcher_regex_reject.identity.command]
executable = "npx"
${MATCHER}
[mcp_servers.transport_mismatch.identity]
url = "http://127.0.0.1:8765/mcp"
[mcp_servers.prefix_ok.identity]
url = { match = "prefix", value = "https://mcp.linear.app" }
[mcp_servers.prefix_evil_host.identity]
url = { match = "prefix", value = "https://mcp.linear.app" }
[mcp_servers.prefix_userinfo.identity]
url = { match = "prefix", value = "https://mcp.linear.app" }
[mcp_servers.user_disabled.identity]
command = "npx"
[mcp_servers.regex_ci.identity]
url = { match = "regex", expression = "(?i)https://a\\\\.example/mcp" }
[mcp_servers.pinned_wrong.identity]
command = "npx"
sha256 = "${'0'.repeat(64)}"
`;

/** Where Gatehouse is deliberately stricter (docs/requirements.md § Where Gatehouse is stricter). */
const SAFER: Record<string, string> = {
  prefix_evil_host: 'identity_mismatch',
  prefix_userinfo: 'identity_mismatch',
  pinned_wrong: 'pin_mismatch',
};

describe.skipIf(!canRunCodex)(
  'same decisions as the real Codex 0.169 binary (needs root + unshare)',
  () => {
    test('every case of the table: identical, except the documented safer ones', async () => {
      const codex = runCodex(CONFIG, REQUIREMENTS);
      expect(codex).not.toHaveProperty('error');
      const ours = await runGatehouse(CONFIG, REQUIREMENTS);
      const names = Object.keys(codex as Verdicts).sort();
      expect(Object.keys(ours.verdicts).sort()).toEqual(names);
      for (const name of names) {
        const safer = SAFER[name];
        if (safer) {
          expect((codex as Verdicts)[name], `${name}: Codex allows it`).toBe(true);
          expect(ours.verdicts[name], `${name}: Gatehouse must not`).toBe(false);
          expect(ours.codes[name]).toBe(safer);
        } else {
          expect(ours.verdicts[name], name).toBe((codex as Verdicts)[name]);
        }
      }
    });

    test('an empty [mcp_servers] table denies every server in both', async () => {
      const codex = runCodex(CONFIG, '[mcp_servers]\n') as Verdicts;
      const ours = await runGatehouse(CONFIG, '[mcp_servers]\n');
      expect(Object.values(codex).every((e) => !e)).toBe(true);
      expect(Object.values(ours.verdicts).every((e) => !e)).toBe(true);
    });

    test('no requirements: both leave every user-enabled server enabled', async () => {
      const codex = runCodex(CONFIG, '') as Verdicts;
      const ours = await runGatehouse(CONFIG, '');
      expect(ours.verdicts).toEqual(codex);
    });

    test('the seed form: Codex enforces nothing, Gatehouse enforces it (safer) and warns', async () => {
      const seed = '[mcp_server_allowlist.exact_npx]\ncommand = "npx"\n';
      const codex = runCodex(CONFIG, seed) as Verdicts;
      expect(codex.not_allowlisted).toBe(true);
      const ours = await runGatehouse(CONFIG, seed);
      expect(ours.verdicts.exact_npx).toBe(true);
      expect(ours.verdicts.not_allowlisted).toBe(false);
    });

    test('an invalid regex: Codex refuses to start; Gatehouse fails closed and lists every server disabled', async () => {
      const bad = '[mcp_servers.exact_npx.identity]\nurl = { match = "regex", expression = "(" }\n';
      expect(runCodex(CONFIG, bad)).toHaveProperty('error');
      const ours = await runGatehouse(CONFIG, bad);
      expect(ours.code).toBe(4);
      expect(Object.values(ours.verdicts).every((e) => !e)).toBe(true);
    });

    test('Codex itself loads a requirements file with a Gatehouse sha256 pin beside command', () => {
      const r = runCodex(
        '[mcp_servers.a]\ncommand = "npx"\n',
        `[mcp_servers.a.identity]\ncommand = "npx"\nsha256 = "${'a'.repeat(64)}"\n`,
      );
      expect(r).toEqual({ a: true });
    });

    test('Codex loads a requirements file using every [gatehouse_policy] key, and still enforces its allowlist', () => {
      const policy = [
        '[gatehouse_policy]',
        'read_only = false',
        'categories = ["pii_exports"]',
        '[gatehouse_policy.tools."payments/*"]',
        'allow = true',
        'effect = "destructive"',
        'category = "money"',
        'approval = "two_person"',
        '[gatehouse_policy.tools."*/export_*"]',
        'category = "pii_exports"',
        'approval = "always"',
        '',
      ].join('\n');
      expect(runCodex('[mcp_servers.a]\ncommand = "npx"\n', policy)).toEqual({ a: true });
      expect(
        runCodex(
          '[mcp_servers.a]\ncommand = "npx"\n[mcp_servers.b]\ncommand = "uvx"\n',
          `${policy}[mcp_servers.a.identity]\ncommand = "npx"\n`,
        ),
      ).toEqual({ a: true, b: false });
    });

    test('Codex loads a requirements file using every [gatehouse_audit] key, and still enforces its allowlist', () => {
      const audit =
        '[gatehouse_audit]\nfail_open = false\nstore = "postgres://audit@db.internal/gatehouse"\ncheckpoint_every_records = 500\ncheckpoint_every_seconds = 30\nshared_appender = false\nwitness = "/var/lib/gatehouse/witness.jsonl"\n';
      expect(runCodex('[mcp_servers.a]\ncommand = "npx"\n', audit)).toEqual({ a: true });
      expect(
        runCodex(
          '[mcp_servers.a]\ncommand = "npx"\n[mcp_servers.b]\ncommand = "uvx"\n',
          `${audit}[mcp_servers.a.identity]\ncommand = "npx"\n`,
        ),
      ).toEqual({ a: true, b: false });
    });

    test('Codex loads a requirements file using every [gatehouse_schema] key, and still enforces its allowlist', () => {
      const schema =
        '[gatehouse_schema]\nlock_path = "/etc/gatehouse/gatehouse.lock.json"\nlock = "required"\non_drift = "block"\non_breaking = "block"\non_risky = "approve"\non_widening = "warn"\non_cosmetic = "allow"\n';
      expect(runCodex('[mcp_servers.a]\ncommand = "npx"\n', schema)).toEqual({ a: true });
      expect(
        runCodex(
          '[mcp_servers.a]\ncommand = "npx"\n[mcp_servers.b]\ncommand = "uvx"\n',
          `${schema}[mcp_servers.a.identity]\ncommand = "npx"\n`,
        ),
      ).toEqual({ a: true, b: false });
    });
  },
);

test('codex binary present (the differential suite above needs it)', () => {
  expect(existsSync(CODEX)).toBe(true);
  expect(execFileSync(CODEX, ['--version'], { encoding: 'utf8' })).toContain('0.169.0');
});
