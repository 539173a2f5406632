import { describe, expect, test } from 'vitest';
import type { RequirementSource } from '../requirements/model.js';
import type { PluginGovernance } from '../requirements/parse-plugins-table.js';
import { NO_PLUGIN_GOVERNANCE } from '../requirements/parse-plugins-table.js';
import type { Inventory, InventoryMarketplace, InventoryPlugin } from './model.js';
import { evaluateInventory, marketplaceRisk, pluginRisk } from './policy.js';

const SRC: RequirementSource = { kind: 'flag_file', path: '/r.toml' };
const AT = { file: '/r.toml', line: 1, column: 1 };
const LOCAL = { source_type: 'local', source: '/srv/mkt' };

function plugin(over: Partial<InventoryPlugin> = {}): InventoryPlugin {
  return {
    id: 'gh-tools@acme',
    name: 'gh-tools',
    marketplace: 'acme',
    version: '1.2.3',
    installed: true,
    enabled: true,
    source: { source: 'local', path: '/srv/mkt/plugins/gh-tools' },
    marketplace_source: LOCAL,
    install_policy: 'AVAILABLE',
    auth_policy: 'ON_USE',
    root: '/home/u/.codex/plugins/cache/acme/gh-tools/1.2.3',
    manifest: null,
    contents_known: true,
    hooks: [],
    mcp_servers: [],
    skills: [],
    manifest_problems: [],
    ...over,
  };
}

const HOOK = {
  event: 'PreToolUse',
  matcher: '*',
  command: './check.sh',
  type: 'command',
  file: 'h',
};
const REMOTE = {
  name: 'gh_remote',
  transport: 'streamable_http' as const,
  remote: true,
  identity: { url: 'https://api.example.com/mcp' },
  allowed: true,
  allowed_by: null,
  disabled_reason_code: null,
};

function marketplace(over: Partial<InventoryMarketplace> = {}): InventoryMarketplace {
  return {
    name: 'acme',
    root: '/srv/mkt',
    marketplace_source: LOCAL,
    manifest: null,
    manifest_problems: [],
    ...over,
  };
}

function inventory(
  plugins: InventoryPlugin[],
  marketplaces: InventoryMarketplace[] = [marketplace()],
): Inventory {
  return {
    schema_version: 1,
    sources: {
      plugins: 'saved',
      codex_binary: null,
      codex_home: '/h',
      saved_dir: null,
      config: [],
    },
    servers: [],
    marketplaces,
    plugins,
    notices: [],
  };
}

function policy(over: Partial<PluginGovernance>): PluginGovernance {
  return { ...NO_PLUGIN_GOVERNANCE, ...over };
}

const set = <T>(value: T) => ({ value, source: SRC });
const approved = (id: string, versions: string[] | '*') =>
  new Map([[id, { id, versions, source: SRC, location: AT }]]);
const sources = (rule: { type: 'local' | 'git'; path?: string; host?: string }) =>
  new Map([
    [
      'corp',
      {
        name: 'corp',
        type: rule.type,
        url: null,
        host: rule.host ?? null,
        path: rule.path ?? null,
        source: SRC,
        location: AT,
      },
    ],
  ]);

const rulesOf = (inv: Inventory, p: PluginGovernance) =>
  evaluateInventory(inv, p).map((f) => `${f.severity} ${f.rule} ${f.subject.id}`);

describe('evaluateInventory', () => {
  test.each<[string, InventoryPlugin[], Partial<PluginGovernance>, string[]]>([
    ['no policy: nothing to find', [plugin({ hooks: [HOOK], mcp_servers: [REMOTE] })], {}, []],
    [
      'hooks need review: "*" is not a review',
      [plugin({ hooks: [HOOK] })],
      { hooksRequireReview: set(true), approved: approved('gh-tools@acme', '*') },
      ['error hooks_not_reviewed gh-tools@acme'],
    ],
    [
      'hooks reviewed at this exact version',
      [plugin({ hooks: [HOOK] })],
      { hooksRequireReview: set(true), approved: approved('gh-tools@acme', ['1.2.3']) },
      [],
    ],
    [
      'hooks reviewed at another version only',
      [plugin({ hooks: [HOOK] })],
      { hooksRequireReview: set(true), approved: approved('gh-tools@acme', ['1.2.2']) },
      ['error hooks_not_reviewed gh-tools@acme', 'error plugin_version_not_approved gh-tools@acme'],
    ],
    [
      'hooks of an available plugin: a warning',
      [plugin({ hooks: [HOOK], installed: false, enabled: false })],
      { hooksRequireReview: set(true) },
      ['warning hooks_not_reviewed gh-tools@acme'],
    ],
    [
      'hooks of a plugin not offered for install: nothing',
      [plugin({ hooks: [HOOK], installed: false, install_policy: 'NOT_AVAILABLE' })],
      { hooksRequireReview: set(true) },
      [],
    ],
    [
      'remote server not on the allowlist',
      [plugin({ mcp_servers: [REMOTE] })],
      { remoteServersRequireAllowlist: set(true) },
      ['error remote_server_not_allowlisted gh-tools@acme'],
    ],
    [
      'remote server allowed by a rule',
      [
        plugin({
          mcp_servers: [
            { ...REMOTE, allowed_by: '[plugins."gh-tools@acme".mcp_servers.gh_remote] (/r.toml)' },
          ],
        }),
      ],
      { remoteServersRequireAllowlist: set(true) },
      [],
    ],
    [
      'local servers are not this rule’s business',
      [
        plugin({
          mcp_servers: [
            {
              ...REMOTE,
              name: 'gh',
              remote: false,
              transport: 'stdio',
              identity: { command: 'gh', args: [] },
            },
          ],
        }),
      ],
      { remoteServersRequireAllowlist: set(true) },
      [],
    ],
    [
      'install policy not allowed',
      [plugin({ install_policy: 'INSTALLED_BY_DEFAULT' })],
      { allowedInstallPolicies: set(['AVAILABLE']) },
      ['error install_policy_not_allowed gh-tools@acme'],
    ],
    [
      'auth policy not allowed; unknown policy also fails',
      [plugin({ auth_policy: 'ON_INSTALL' }), plugin({ id: 'x@acme', auth_policy: null })],
      { allowedAuthPolicies: set(['ON_USE']) },
      ['error auth_policy_not_allowed gh-tools@acme', 'error auth_policy_not_allowed x@acme'],
    ],
    [
      'not approved',
      [plugin()],
      { approved: approved('other@acme', '*') },
      ['error plugin_not_approved gh-tools@acme'],
    ],
    ['approved, any version', [plugin()], { approved: approved('gh-tools@acme', '*') }, []],
    [
      'version not approved',
      [plugin({ version: '2.0.0' })],
      { approved: approved('gh-tools@acme', ['1.2.3']) },
      ['error plugin_version_not_approved gh-tools@acme'],
    ],
    [
      'unknown version is not approved',
      [plugin({ version: null })],
      { approved: approved('gh-tools@acme', ['1.2.3']) },
      ['error plugin_version_not_approved gh-tools@acme'],
    ],
    [
      'approval list ignores plugins not installed',
      [plugin({ installed: false })],
      { approved: approved('other@acme', '*') },
      [],
    ],
    [
      'contents unknown while a content rule applies',
      [plugin({ contents_known: false })],
      { hooksRequireReview: set(true) },
      ['error plugin_contents_unknown gh-tools@acme'],
    ],
    [
      'contents unknown with no content rule: nothing',
      [plugin({ contents_known: false })],
      { allowedAuthPolicies: set(['ON_USE']) },
      [],
    ],
    [
      'installed but no longer offered: a warning in any case',
      [plugin({ install_policy: 'NOT_AVAILABLE' })],
      {},
      ['warning installed_but_not_available gh-tools@acme'],
    ],
    [
      'escaping path in an installed plugin: an error with no policy',
      [
        plugin({
          manifest_problems: [
            { kind: 'escape', file: 'p.json', message: '"hooks" is an absolute path' },
          ],
        }),
      ],
      {},
      ['error manifest_path_escapes_root gh-tools@acme'],
    ],
    [
      'unreadable manifest: a warning',
      [
        plugin({
          manifest_problems: [
            { kind: 'unreadable', file: 'p.json', message: 'cannot be read (EACCES)' },
          ],
        }),
      ],
      {},
      ['warning manifest_unreadable gh-tools@acme'],
    ],
  ])('%s', (_name, plugins, over, expected) => {
    expect(rulesOf(inventory(plugins), policy(over))).toEqual(expected);
  });

  test.each<
    [
      string,
      InventoryMarketplace,
      { type: 'local' | 'git'; path?: string; host?: string },
      string[],
    ]
  >([
    [
      'local marketplace inside the allowed directory',
      marketplace(),
      { type: 'local', path: '/srv' },
      [],
    ],
    [
      'a sibling directory with the same prefix is outside',
      marketplace({ marketplace_source: { source_type: 'local', source: '/srv/mkt2' } }),
      { type: 'local', path: '/srv/mkt' },
      [
        'error marketplace_source_not_allowed acme',
        'error plugin_marketplace_not_allowed gh-tools@acme',
      ],
    ],
    [
      'wrong type',
      marketplace(),
      { type: 'git', host: 'github.com' },
      [
        'error marketplace_source_not_allowed acme',
        'error plugin_marketplace_not_allowed gh-tools@acme',
      ],
    ],
    [
      'GitHub shorthand matched by host',
      marketplace({ marketplace_source: { source_type: 'git', source: 'acme/plugins' } }),
      { type: 'git', host: 'github.com' },
      [],
    ],
    [
      'unknown source',
      marketplace({ marketplace_source: null }),
      { type: 'local', path: '/srv' },
      [
        'error marketplace_source_unknown acme',
        'error plugin_marketplace_not_allowed gh-tools@acme',
      ],
    ],
  ])('allowed sources: %s', (_name, m, rule, expected) => {
    const p = plugin({ marketplace_source: m.marketplace_source });
    expect(rulesOf(inventory([p], [m]), policy({ allowedSources: sources(rule) }))).toEqual(
      expected,
    );
  });

  test('requirements invalid is a violation of its own, first', () => {
    const f = evaluateInventory(inventory([]), NO_PLUGIN_GOVERNANCE, { invalid: true });
    expect(f.map((x) => x.rule)).toEqual(['requirements_invalid']);
  });

  test('every finding has a message and a fix; errors come first', () => {
    const inv = inventory([
      plugin({ hooks: [HOOK], mcp_servers: [REMOTE], install_policy: 'NOT_AVAILABLE' }),
      plugin({ id: 'b@acme', installed: false, hooks: [HOOK] }),
    ]);
    const f = evaluateInventory(
      inv,
      policy({ hooksRequireReview: set(true), remoteServersRequireAllowlist: set(true) }),
    );
    expect(f.length).toBeGreaterThan(2);
    expect(f.every((x) => x.message !== '' && x.fix !== '')).toBe(true);
    const order = f.map((x) => x.severity);
    expect(order).toEqual(
      [...order].sort((a, b) => (a === b ? 0 : a === 'error' ? -1 : b === 'error' ? 1 : 0)),
    );
  });

  test('risk: violations, then things worth a look (hooks, remote servers, unknown contents), then ok', () => {
    const hooked = plugin({ hooks: [HOOK] });
    const plain = plugin({ id: 'p@acme' });
    const findings = evaluateInventory(
      inventory([hooked, plain]),
      policy({ approved: approved('gh-tools@acme', '*') }),
    );
    expect(pluginRisk(hooked, findings)).toBe('review');
    expect(pluginRisk(plain, findings)).toBe('violation');
    expect(pluginRisk(plugin({ id: 'q@acme', contents_known: false }), [])).toBe('review');
    expect(pluginRisk(plugin({ id: 'r@acme' }), [])).toBe('ok');
    expect(marketplaceRisk(marketplace(), findings)).toBe('ok');
  });
});
