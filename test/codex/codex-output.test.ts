import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CODEX, canRunCodex } from '../support/codex.js';
import { tempDir } from '../support/fixtures.js';

/**
 * Human output, byte for byte. Gatehouse runs inside the same private mount namespace and reads
 * /etc/codex/requirements.toml as its --requirements, so even the source in the Status column is
 * the same. Gatehouse may only ADD lines after Codex's (the "Why disabled" section).
 */
const GATEHOUSE = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');

const CONFIG = `
[mcp_servers.docs]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-everything"]
env = { API_KEY = "supersecret", LOG_LEVEL = "debug" }
env_vars = ["GITHUB_TOKEN"]
cwd = "/srv/docs"
startup_timeout_sec = 20
tool_timeout_sec = 45
enabled_tools = ["echo", "add"]
disabled_tools = ["add"]

[mcp_servers.legacy_fs]
command = "node"
args = ["/opt/fs-server.js", "--root", "/srv"]
enabled = false

[mcp_servers.notallowed]
command = "uvx"

[mcp_servers.linear]
url = "http://127.0.0.1:8765/mcp"
bearer_token_env_var = "LINEAR_TOKEN"
http_headers = { X-Org = "acme" }
env_http_headers = { X-Trace = "TRACE_ID_ENV" }
`;

function both(requirements: string, args: string): { codex: string; gatehouse: string } {
  const home = tempDir();
  const etc = tempDir();
  writeFileSync(join(home, 'config.toml'), CONFIG);
  writeFileSync(join(etc, 'requirements.toml'), requirements);
  const script = [
    `mount --bind "${etc}" /etc/codex`,
    `CODEX_HOME="${home}" "${CODEX}" mcp ${args} > "${home}/codex.txt" 2>/dev/null`,
    `GATEHOUSE_HOME="${home}/none" "${process.execPath}" "${GATEHOUSE}" --config "${home}/config.toml" --requirements /etc/codex/requirements.toml mcp ${args} > "${home}/gatehouse.txt" 2>/dev/null`,
    `cat "${home}/codex.txt"; printf '\\0'; cat "${home}/gatehouse.txt"`,
  ].join('; ');
  const r = spawnSync('unshare', ['--mount', 'sh', '-c', script], { encoding: 'utf8' });
  const [codex = '', gatehouse = ''] = r.stdout.split('\0');
  return { codex, gatehouse };
}

const RULES =
  '[mcp_servers.docs.identity]\ncommand = "npx"\n[mcp_servers.linear.identity]\nurl = "http://127.0.0.1:8765/mcp"\n[mcp_servers.legacy_fs.identity]\ncommand = "node"\n';

describe.skipIf(!canRunCodex || !existsSync(GATEHOUSE))(
  'human output identical to Codex 0.169',
  () => {
    test.each([
      ['no requirements', ''],
      ['with requirements', RULES],
    ])('mcp list, %s', (_name, requirements) => {
      const { codex, gatehouse } = both(requirements, 'list');
      expect(codex.length).toBeGreaterThan(0);
      expect(gatehouse.startsWith(codex)).toBe(true);
      expect(gatehouse.slice(codex.length)).toMatch(/^(\nWhy disabled:\n[\s\S]*)?$/);
    });

    test.each([
      ['a disabled server', 'get legacy_fs', RULES],
      ['a requirements-disabled server', 'get notallowed', RULES],
    ])('mcp %s: Codex line first', (_name, args, requirements) => {
      const { codex, gatehouse } = both(requirements, args);
      expect(gatehouse.startsWith(codex)).toBe(true);
    });

    test.each([['get docs'], ['get linear']])(
      'mcp %s: Codex lines first (except its `remove:` hint)',
      (args) => {
        const { codex, gatehouse } = both(RULES, args);
        const codexLines = codex.split('\n').filter((l) => !l.startsWith('  remove:') && l !== '');
        expect(gatehouse.split('\n').slice(0, codexLines.length)).toEqual(codexLines);
      },
    );
  },
);

describe.skipIf(!canRunCodex || !existsSync(GATEHOUSE))(
  'JSON identical to Codex 0.169 for every Codex key',
  () => {
    test.each([['list --json'], ['get docs --json'], ['get linear --json']])('mcp %s', (args) => {
      const { codex, gatehouse } = both(RULES, args);
      const theirs = [JSON.parse(codex)].flat() as Record<string, unknown>[];
      const ours = [JSON.parse(gatehouse)].flat() as Record<string, unknown>[];
      expect(ours.map((s) => s.name)).toEqual(theirs.map((s) => s.name));
      theirs.forEach((server, i) => {
        const mine = ours[i] as Record<string, unknown>;
        for (const [key, value] of Object.entries(server)) {
          if (key !== 'transport') {
            expect(mine[key], `${String(server.name)}.${key}`).toEqual(value);
            continue;
          }
          const t = value as Record<string, unknown>;
          const m = mine.transport as Record<string, unknown>;
          expect(Object.keys(m).sort()).toEqual(Object.keys(t).sort());
          for (const [tk, tv] of Object.entries(t)) {
            if ((tk === 'env' || tk === 'http_headers') && tv) {
              // Codex prints these secrets in clear; Gatehouse keeps the keys and masks the values.
              expect(Object.keys(m[tk] as object).sort()).toEqual(Object.keys(tv as object).sort());
              expect(Object.values(m[tk] as object).every((v) => v === '*****')).toBe(true);
            } else expect(m[tk], `${String(server.name)}.transport.${tk}`).toEqual(tv);
          }
        }
      });
    });
  },
);
