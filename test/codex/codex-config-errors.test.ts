import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { canRunCodex, runCodexList } from '../support/codex.js';
import { tempDir } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

/** Each snippet is the body of `[mcp_servers.x]`. */
const CASES: [string, string][] = [
  ['command only', 'command = "npx"'],
  ['url only', 'url = "https://x.example/mcp"'],
  ['neither', 'args = ["a"]'],
  ['url on stdio', 'command = "npx"\nurl = "https://x.example/mcp"'],
  ['env on http', 'url = "https://x.example/mcp"\nenv = { A = "b" }'],
  ['args on http', 'url = "https://x.example/mcp"\nargs = ["a"]'],
  ['cwd on http', 'url = "https://x.example/mcp"\ncwd = "/tmp"'],
  ['headers on stdio', 'command = "npx"\nhttp_headers = { A = "b" }'],
  ['bearer_token inline', 'url = "https://x.example/mcp"\nbearer_token = "abc"'],
  ['oauth on stdio', 'command = "npx"\noauth = { client_id = "a" }'],
  ['scopes on stdio (Codex accepts)', 'command = "npx"\nscopes = ["a"]'],
  ['command wrong type', 'command = 5'],
  ['args wrong type', 'command = "npx"\nargs = "a"'],
  ['enabled wrong type', 'command = "npx"\nenabled = "yes"'],
  ['env value wrong type', 'command = "npx"\nenv = { A = 1 }'],
  ['bad env_vars source', 'command = "npx"\nenv_vars = [{ name = "A", source = "cloud" }]'],
  ['negative timeout', 'command = "npx"\nstartup_timeout_sec = -1'],
  ['bad approval mode', 'command = "npx"\ndefault_tools_approval_mode = "bogus"'],
  ['bad per-tool approval mode', 'command = "npx"\ntools = { a = { approval_mode = "bogus" } }'],
  ['empty headers helper', 'url = "https://x.example/mcp"\nhttp_headers_helper = ""'],
  [
    'client_secret without client_id',
    'url = "https://x.example/mcp"\noauth = { client_secret = "s" }',
  ],
  [
    'issuer without ema_auth',
    'url = "https://x.example/mcp"\noauth = { client_id = "a", authorization_server_issuer = "https://as" }',
  ],
  ['bad auth mode', 'url = "https://x.example/mcp"\nauth = "basic"'],
  ['bad startup_readiness', 'command = "npx"\nstartup_readiness = "soon"'],
  [
    'callback_port wrong type',
    'url = "https://x.example/mcp"\noauth = { client_id = "a", callback_port = "x" }',
  ],
  ['unknown field (warning only)', 'command = "npx"\nbogus_field = 1'],
];

/** Gatehouse rejects these; Codex accepts them and fails later (docs/requirements.md, stricter #7). */
const STRICTER: [string, string][] = [
  ['empty command', 'command = ""'],
  ['url that is not a URL', 'url = "not a url"'],
];

async function gatehouseAccepts(body: string): Promise<boolean> {
  const dir = tempDir();
  writeFileSync(join(dir, 'c.toml'), `[mcp_servers.x]\n${body}\n`);
  const r = await cli(['--config', join(dir, 'c.toml'), 'mcp', 'list', '--json']);
  expect([0, 3]).toContain(r.code);
  return r.code === 0;
}

function codexAccepts(body: string): boolean {
  const home = tempDir();
  writeFileSync(join(home, 'config.toml'), `[mcp_servers.x]\n${body}\n`);
  return !('error' in runCodexList(home, ''));
}

describe.skipIf(!canRunCodex)('config accepted or rejected exactly as by Codex 0.169', () => {
  test.each(CASES)('%s', async (_name, body) => {
    expect(await gatehouseAccepts(body)).toBe(codexAccepts(body));
  });

  test.each(STRICTER)('stricter than Codex: %s', async (_name, body) => {
    expect(codexAccepts(body)).toBe(true);
    expect(await gatehouseAccepts(body)).toBe(false);
  });
});
