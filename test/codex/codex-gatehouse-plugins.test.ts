import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { canRunCodex, runCodexList } from '../support/codex.js';
import { tempDir } from '../support/fixtures.js';

/** Every [gatehouse_plugins] key as docs/requirements.md shows it: Codex must still load the file. */
const PLUGINS = `
[gatehouse_plugins]
hooks_require_review = true
remote_servers_require_allowlist = true
allowed_install_policies = ["AVAILABLE", "INSTALLED_BY_DEFAULT"]
allowed_auth_policies = ["ON_USE"]

[gatehouse_plugins.allowed_sources.corp]
type = "git"
url = { match = "prefix", value = "https://github.com/acme/" }

[gatehouse_plugins.allowed_sources.mirror]
type = "local"
path = "/srv/marketplaces"

[gatehouse_plugins.approved]
"gh-tools@acme" = ["1.2.3"]
"formatter@acme" = "*"
`;

function home(config: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'config.toml'), config);
  return dir;
}

describe.skipIf(!canRunCodex)('Codex 0.169 and [gatehouse_plugins]', () => {
  test('Codex loads a requirements file using every [gatehouse_plugins] key, and still enforces its allowlist', () => {
    expect(runCodexList(home('[mcp_servers.a]\ncommand = "npx"\n'), PLUGINS)).toEqual({ a: true });
    expect(
      runCodexList(
        home('[mcp_servers.a]\ncommand = "npx"\n[mcp_servers.b]\ncommand = "uvx"\n'),
        `[mcp_servers.a.identity]\ncommand = "npx"\n${PLUGINS}`,
      ),
    ).toEqual({ a: true, b: false });
  });
});
