import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { MCP_SERVER_KEYS } from '../../src/config/parse-mcp-server.js';
import { CODEX, canRunCodex } from '../support/codex.js';
import { tempDir } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

/**
 * Every `[mcp_servers.NAME]` key Gatehouse accepts must be one Codex 0.169 accepts: Codex's
 * `exec --strict-config` rejects unknown fields before doing anything else (after that it would
 * try to reach a model, so the run is cut off once config loading is clearly past).
 */
const ALL_KEYS = `
[mcp_servers.s]
command = "npx"
args = ["-y", "pkg"]
env = { A = "b" }
env_vars = ["C", { name = "D", source = "remote" }]
cwd = "/tmp"
enabled = true
required = false
startup_timeout_sec = 10
startup_timeout_ms = 10000
tool_timeout_sec = 60
enabled_tools = ["a"]
disabled_tools = ["b"]
default_tools_approval_mode = "prompt"
tools = { a = { approval_mode = "approve" } }
supports_parallel_tool_calls = true
scopes = ["s"]
startup_readiness = "catalog"
tool_input_schema_max_bytes = 4000
environment_id = "local"
name = "legacy"

[mcp_servers.h]
url = "https://x.example/mcp"
bearer_token_env_var = "T"
http_headers = { X = "y" }
env_http_headers = { Z = "ZV" }
http_headers_helper = "helper"
oauth = { client_id = "id", client_secret = "s", callback_port = 5555, callback_url = "http://127.0.0.1:5555/cb" }
oauth_resource = "https://x.example"
auth = "oauth"

[mcp_servers.e]
url = "https://e.example/mcp"
auth = "ema_auth"
oauth = { client_id = "id", client_secret = "s", token_endpoint_auth_method = "client_secret_post", authorization_server_issuer = "https://as.example" }
`;

function codexStrict(config: string): string {
  const home = tempDir();
  writeFileSync(join(home, 'config.toml'), config);
  const r = spawnSync(CODEX, ['exec', '--strict-config', '--skip-git-repo-check', 'hi'], {
    env: { ...process.env, CODEX_HOME: home },
    encoding: 'utf8',
    timeout: 3000,
    input: '',
  });
  return `${r.stdout}${r.stderr}`;
}

test('the fixture uses every key Gatehouse accepts', () => {
  const used = new Set([...ALL_KEYS.matchAll(/^([a-z_]+) =/gm)].map((m) => m[1]));
  expect([...MCP_SERVER_KEYS].filter((k) => k !== 'bearer_token' && !used.has(k))).toEqual([]);
});

test('Gatehouse accepts that config without a warning', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'c.toml'), ALL_KEYS);
  const r = await cli(['--strict', '--config', join(dir, 'c.toml'), 'mcp', 'list', '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
});

test.skipIf(!canRunCodex)(
  'Codex 0.169 --strict-config accepts every one of those keys, and rejects one we warn about',
  () => {
    const accepted = codexStrict(ALL_KEYS);
    expect(accepted).not.toContain('unknown configuration field');
    expect(accepted).not.toMatch(/failed to load|Error loading/);
    const rejected = codexStrict(`${ALL_KEYS}\nexperimental_environment = "local"\n`);
    expect(rejected).toContain(
      'unknown configuration field `mcp_servers.e.experimental_environment`',
    );
  },
);
