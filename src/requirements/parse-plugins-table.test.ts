import { describe, expect, test } from 'vitest';
import { parseLayer } from '../../test/support/requirements-layer.js';
import { composeRequirementLayers } from './load-requirements.js';
import type { RequirementSource } from './model.js';

const SRC: RequirementSource = { kind: 'flag_file', path: '/r.toml' };

const parse = (text: string, source: RequirementSource = SRC) => parseLayer(text, source);

const FULL = `
[gatehouse_plugins]
hooks_require_review = true
remote_servers_require_allowlist = true
allowed_install_policies = ["AVAILABLE", "INSTALLED_BY_DEFAULT"]
allowed_auth_policies = ["ON_USE"]

[gatehouse_plugins.allowed_sources.corp]
type = "git"
url = { match = "prefix", value = "https://github.com/acme/" }

[gatehouse_plugins.allowed_sources.gh]
type = "git"
host = "GitHub.com"

[gatehouse_plugins.allowed_sources.mirror]
type = "local"
path = "/srv/marketplaces/"

[gatehouse_plugins.approved]
"gh-tools@acme" = ["1.2.3", "1.3.0"]
"docs@acme" = "2.0.0"
"linter@acme" = "*"
`;

describe('[gatehouse_plugins]', () => {
  test('every key, as the docs show it', () => {
    const { layer, diagnostics } = parse(FULL);
    expect(diagnostics).toEqual([]);
    const g = composeRequirementLayers([layer]).pluginGovernance;
    expect(g.hooksRequireReview).toEqual({ value: true, source: SRC });
    expect(g.remoteServersRequireAllowlist?.value).toBe(true);
    expect(g.allowedInstallPolicies?.value).toEqual(['AVAILABLE', 'INSTALLED_BY_DEFAULT']);
    expect(g.allowedAuthPolicies?.value).toEqual(['ON_USE']);
    expect(g.allowedSources?.get('corp')).toMatchObject({
      type: 'git',
      url: { match: 'prefix', value: 'https://github.com/acme/' },
      host: null,
      path: null,
      location: { file: '/r.toml', line: 8 },
    });
    expect(g.allowedSources?.get('gh')?.host).toBe('github.com');
    expect(g.allowedSources?.get('mirror')?.path).toBe('/srv/marketplaces');
    expect(g.approved?.get('gh-tools@acme')?.versions).toEqual(['1.2.3', '1.3.0']);
    expect(g.approved?.get('docs@acme')?.versions).toEqual(['2.0.0']);
    expect(g.approved?.get('linter@acme')?.versions).toBe('*');
  });

  test('absent table: no plugin policy at all', () => {
    const g = composeRequirementLayers([parse('').layer]).pluginGovernance;
    expect(g).toEqual({
      allowedSources: null,
      hooksRequireReview: null,
      remoteServersRequireAllowlist: null,
      allowedInstallPolicies: null,
      allowedAuthPolicies: null,
      approved: null,
    });
  });

  test.each([
    [
      'hooks_require_review = "yes"',
      'gatehouse_plugins.hooks_require_review',
      'expected true or false',
    ],
    [
      'allowed_install_policies = ["AVAILABLE", "available"]',
      'gatehouse_plugins.allowed_install_policies[1]',
      'unknown value "available"',
    ],
    [
      'allowed_auth_policies = "ON_USE"',
      'gatehouse_plugins.allowed_auth_policies',
      'expected a list',
    ],
    [
      'allowed_sources.x = { type = "svn", url = "https://x" }',
      'gatehouse_plugins.allowed_sources.x.type',
      'unknown marketplace source type "svn"',
    ],
    [
      'allowed_sources.x = { url = "https://x" }',
      'gatehouse_plugins.allowed_sources.x.type',
      'needs `type`',
    ],
    [
      'allowed_sources.x = { type = "git" }',
      'gatehouse_plugins.allowed_sources.x',
      'needs one of `url`, `host` or `path`',
    ],
    [
      'allowed_sources.x = { type = "git", url = "https://x", host = "x" }',
      'gatehouse_plugins.allowed_sources.x',
      'not `url` and `host`',
    ],
    [
      'allowed_sources.x = { type = "git", url = { match = "prefix", value = "https://github.com." } }',
      'gatehouse_plugins.allowed_sources.x.url.value',
      'partial host',
    ],
    [
      'allowed_sources.x = { type = "git", url = { match = "glob", value = "x" } }',
      'gatehouse_plugins.allowed_sources.x.url.match',
      'unknown matcher',
    ],
    [
      'allowed_sources.x = { type = "git", host = "*.github.com" }',
      'gatehouse_plugins.allowed_sources.x.host',
      'expected a host name',
    ],
    [
      'allowed_sources.x = { type = "local", path = "relative/dir" }',
      'gatehouse_plugins.allowed_sources.x.path',
      'absolute directory',
    ],
    [
      'allowed_sources.x = { type = "git", path = "/srv" }',
      'gatehouse_plugins.allowed_sources.x.path',
      'only',
    ],
    [
      'allowed_sources.x = { type = "local", url = "file:///srv" }',
      'gatehouse_plugins.allowed_sources.x.url',
      'matched by `path`',
    ],
    [
      'allowed_sources.x = { type = "git", host = "github.com", branch = "main" }',
      'gatehouse_plugins.allowed_sources.x.branch',
      'unknown key',
    ],
    [
      'approved = { "gh-tools" = "1.0" }',
      'gatehouse_plugins.approved.gh-tools',
      'must be "<plugin>@<marketplace>"',
    ],
    ['approved = { "a@m" = [] }', 'gatehouse_plugins.approved.a@m', 'expected a version'],
    ['approved = { "a@m" = 1 }', 'gatehouse_plugins.approved.a@m', 'expected a version'],
  ])('error: %s', (line, key, message) => {
    const { diagnostics } = parse(`[gatehouse_plugins]\n${line}\n`);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ key, location: { file: '/r.toml', line: 2 } });
    expect(errors[0]?.message).toContain(message);
  });

  test('an unknown key is a warning with a suggestion', () => {
    const { diagnostics } = parse('[gatehouse_plugins]\nhook_require_review = true\n');
    expect(diagnostics).toEqual([
      expect.objectContaining({
        severity: 'warning',
        key: 'gatehouse_plugins.hook_require_review',
        hint: 'did you mean `hooks_require_review`?',
      }),
    ]);
  });

  test('a lowercase policy gets the uppercase suggestion', () => {
    const { diagnostics } = parse('[gatehouse_plugins]\nallowed_auth_policies = ["on_use"]\n');
    expect(diagnostics[0]?.hint).toBe('did you mean "ON_USE"?');
  });

  test('layers: scalars replaced by the higher layer, sources and approvals unioned (same name replaced whole)', () => {
    const low = parse(
      '[gatehouse_plugins]\nhooks_require_review = true\nallowed_sources.a = { type = "git", host = "github.com" }\napproved = { "x@m" = "1.0", "y@m" = "*" }\n',
      { kind: 'system_file', path: '/etc/gatehouse/requirements.toml' },
    ).layer;
    const high = parse(
      '[gatehouse_plugins]\nhooks_require_review = false\nallowed_sources.b = { type = "local", path = "/srv" }\napproved = { "x@m" = "2.0" }\n',
    ).layer;
    const g = composeRequirementLayers([low, high]).pluginGovernance;
    expect(g.hooksRequireReview).toEqual({ value: false, source: SRC });
    expect([...(g.allowedSources?.keys() ?? [])].sort()).toEqual(['a', 'b']);
    expect(g.approved?.get('x@m')?.versions).toEqual(['2.0']);
    expect(g.approved?.get('y@m')?.versions).toBe('*');
  });
});
