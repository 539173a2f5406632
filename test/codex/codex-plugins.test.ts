import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { canRunCodex, runCodexList } from '../support/codex.js';
import type { Verdicts } from '../support/codex.js';
import { tempDir } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

/**
 * Plugin-bundled servers: a Codex home with plugin gh-tools@acme installed (gh over stdio,
 * gh_remote over HTTP) and one config server. Gatehouse reads the same home with --codex-home.
 */
function codexHome(extraConfig = ''): string {
  const home = tempDir();
  const root = join(home, 'plugins', 'cache', 'acme', 'gh-tools', '1.2.3');
  mkdirSync(join(root, '.codex-plugin'), { recursive: true });
  writeFileSync(
    join(root, '.codex-plugin', 'plugin.json'),
    JSON.stringify({ name: 'gh-tools', version: '1.2.3', mcpServers: './.mcp.json' }),
  );
  writeFileSync(
    join(root, '.mcp.json'),
    JSON.stringify({
      mcpServers: {
        gh: { command: 'gh-mcp', args: ['--stdio'] },
        gh_remote: { type: 'http', url: 'https://api.example.com/mcp' },
      },
    }),
  );
  writeFileSync(
    join(home, 'config.toml'),
    `[mcp_servers.docs]\ncommand = "npx"\n\n[plugins."gh-tools@acme"]\nenabled = true\n${extraConfig}`,
  );
  return home;
}

async function gatehouse(home: string, requirements: string) {
  const dir = tempDir();
  writeFileSync(join(dir, 'r.toml'), requirements);
  const r = await cli([
    '--codex-home',
    home,
    '--requirements',
    join(dir, 'r.toml'),
    'mcp',
    'list',
    '--json',
  ]);
  const list = JSON.parse(r.stdout) as {
    name: string;
    enabled: boolean;
    plugin_id: string | null;
    disabled_reason_code: string | null;
    disabled_detail: string | null;
  }[];
  return {
    byName: Object.fromEntries(list.map((s) => [s.name, s])),
    verdicts: Object.fromEntries(list.map((s) => [s.name, s.enabled])) as Verdicts,
    stderr: r.stderr,
  };
}

const TOP_DOCS = '[mcp_servers.docs.identity]\ncommand = "npx"\n';
const PLUGIN_GH = '[plugins."gh-tools@acme".mcp_servers.gh.identity]\ncommand = "gh-mcp"\n';

describe.skipIf(!canRunCodex)(
  'plugin servers: same decisions as Codex 0.169, except the documented safer case',
  () => {
    test('no requirements: plugin servers are listed and enabled, with their plugin id', async () => {
      const home = codexHome();
      const ours = await gatehouse(home, '');
      expect(ours.verdicts).toEqual(runCodexList(home, ''));
      expect(ours.byName.gh?.plugin_id).toBe('gh-tools@acme');
    });

    test('a plugin-scoped rule governs that plugin: gh allowed, gh_remote disabled', async () => {
      const home = codexHome();
      const req = TOP_DOCS + PLUGIN_GH;
      expect(runCodexList(home, req)).toEqual({ docs: true, gh: true, gh_remote: false });
      expect((await gatehouse(home, req)).verdicts).toEqual({
        docs: true,
        gh: true,
        gh_remote: false,
      });
    });

    test('plugin rules alone do not restrict config servers', async () => {
      const home = codexHome();
      expect((await gatehouse(home, PLUGIN_GH)).verdicts).toEqual(runCodexList(home, PLUGIN_GH));
    });

    test('the empty table disables plugin servers too', async () => {
      const home = codexHome();
      expect(runCodexList(home, '[mcp_servers]\n')).toEqual({
        docs: false,
        gh: false,
        gh_remote: false,
      });
      expect((await gatehouse(home, '[mcp_servers]\n')).verdicts).toEqual({
        docs: false,
        gh: false,
        gh_remote: false,
      });
    });

    test('SAFER: a restricted top-level table no longer lets plugin servers escape it', async () => {
      const home = codexHome();
      expect(runCodexList(home, TOP_DOCS)).toEqual({ docs: true, gh: true, gh_remote: true });
      const ours = await gatehouse(home, TOP_DOCS);
      expect(ours.verdicts).toEqual({ docs: true, gh: false, gh_remote: false });
      expect(ours.byName.gh_remote?.disabled_reason_code).toBe('not_allowlisted');
      expect(ours.byName.gh_remote?.disabled_detail).toContain(
        '[plugins."gh-tools@acme".mcp_servers.gh_remote.identity]',
      );
    });

    test('a config server shadows a plugin server of the same name, and Gatehouse says so', async () => {
      const home = codexHome('\n[mcp_servers.gh]\ncommand = "my-gh"\n');
      const ours = await gatehouse(home, '');
      expect(ours.verdicts).toEqual(runCodexList(home, ''));
      expect(ours.byName.gh?.plugin_id).toBeNull();
      expect(ours.stderr).toContain("plugin gh-tools@acme's server 'gh' is shadowed");
    });

    test('a disabled plugin contributes no servers', async () => {
      const home = codexHome();
      writeFileSync(
        join(home, 'config.toml'),
        '[mcp_servers.docs]\ncommand = "npx"\n[plugins."gh-tools@acme"]\nenabled = false\n',
      );
      expect((await gatehouse(home, '')).verdicts).toEqual(runCodexList(home, ''));
    });
  },
);
