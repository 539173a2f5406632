import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { tempDir } from '../../test/support/fixtures.js';
import {
  mergeCliPlugins,
  parseMarketplaceListJson,
  parsePluginListJson,
} from './codex-cli-json.js';
import type { CliPlugin } from './codex-cli-json.js';
import { diffInventories, inventoryDigest } from './digest.js';
import {
  classifyJson,
  maskEvidenceJson,
  storeStream,
  summarize,
  MAX_STORED_BYTES,
} from './evidence.js';
import { parseHooksDocument } from './hooks.js';
import { readMarketplaceManifest, readPluginContents } from './manifests.js';
import { gitSourceUrl, marketplaceSourceMismatch } from './marketplace-source.js';
import type { Inventory, InventoryPlugin } from './model.js';
import { isInside, resolveWithin } from '../config/contained-path.js';

const RECORDED_AVAILABLE = JSON.stringify({
  installed: [],
  available: [
    {
      pluginId: 'gh-tools@acme',
      name: 'gh-tools',
      marketplaceName: 'acme',
      version: '1.2.3',
      installed: false,
      enabled: false,
      source: { source: 'local', path: '/srv/mkt/plugins/gh-tools' },
      marketplaceSource: { sourceType: 'local', source: '/srv/mkt' },
      installPolicy: 'AVAILABLE',
      authPolicy: 'ON_USE',
    },
  ],
});

describe('codex CLI JSON', () => {
  test('plugin list --available --json (recorded shape)', () => {
    const r = parsePluginListJson(RECORDED_AVAILABLE);
    expect(r).toEqual({
      ok: true,
      problems: [],
      entries: [
        {
          pluginId: 'gh-tools@acme',
          name: 'gh-tools',
          marketplaceName: 'acme',
          version: '1.2.3',
          installed: false,
          enabled: false,
          source: { source: 'local', path: '/srv/mkt/plugins/gh-tools' },
          marketplaceSource: { source_type: 'local', source: '/srv/mkt' },
          installPolicy: 'AVAILABLE',
          authPolicy: 'ON_USE',
        },
      ],
    });
  });

  test('empty CODEX_HOME outputs', () => {
    expect(parsePluginListJson('{"installed": [], "available": []}')).toEqual({
      ok: true,
      entries: [],
      problems: [],
    });
    expect(parseMarketplaceListJson('{"marketplaces": []}')).toEqual({
      ok: true,
      entries: [],
      problems: [],
    });
  });

  test.each([
    ['not JSON', 'No marketplace plugins found.', 'not JSON'],
    ['wrong top level', '[]', 'expected an object'],
    ['neither list', '{"plugins": []}', 'neither "installed" nor "available"'],
  ])('plugin list: %s is an error, not a crash', (_n, text, message) => {
    const r = parsePluginListJson(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(message);
  });

  test('bad entries are skipped with a problem each; good ones kept', () => {
    const r = parsePluginListJson(
      '{"installed": [{"pluginId": "nope"}, {"pluginId": "a@m", "version": 3}], "available": 7}',
    );
    expect(r.ok && r.entries.map((e) => [e.pluginId, e.version, e.installed])).toEqual([
      ['a@m', null, true],
    ]);
    expect(r.ok && r.problems).toEqual([
      'installed[0]: "pluginId" missing or not <plugin>@<marketplace>; entry skipped',
      'installed[1]: "version" is number, expected a string',
      '"available" is not a list',
    ]);
  });

  test('marketplace list (recorded shape)', () => {
    const r = parseMarketplaceListJson(
      '{"marketplaces": [{"name": "acme", "root": "/srv/mkt", "marketplaceSource": {"sourceType": "local", "source": "/srv/mkt"}}]}',
    );
    expect(r).toEqual({
      ok: true,
      problems: [],
      entries: [
        {
          name: 'acme',
          root: '/srv/mkt',
          marketplaceSource: { source_type: 'local', source: '/srv/mkt' },
        },
      ],
    });
  });

  test('property: never throws, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc
            .jsonValue()
            .map((v) => JSON.stringify({ installed: v, available: v, marketplaces: v })),
        ),
        (text) => {
          parsePluginListJson(text);
          parseMarketplaceListJson(text);
        },
      ),
    );
  });

  const pluginArb = fc.record({
    name: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
    mkt: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/),
    version: fc.option(fc.stringMatching(/^\d\.\d\.\d$/), { nil: undefined }),
    installed: fc.boolean(),
  });

  test('property: every well-formed entry is read back with its id, and merging keeps one per id', () => {
    fc.assert(
      fc.property(fc.array(pluginArb, { maxLength: 8 }), (items) => {
        const entries = items.map((p) => ({
          pluginId: `${p.name}@${p.mkt}`,
          name: p.name,
          marketplaceName: p.mkt,
          installed: p.installed,
          enabled: p.installed,
          ...(p.version ? { version: p.version } : {}),
        }));
        const r = parsePluginListJson(JSON.stringify({ installed: [], available: entries }));
        expect(r.ok && r.problems).toEqual([]);
        if (!r.ok) return;
        expect(r.entries.map((e) => e.pluginId)).toEqual(entries.map((e) => e.pluginId));
        const merged = mergeCliPlugins([r.entries, r.entries]);
        expect(new Set(merged.map((m) => m.pluginId)).size).toBe(merged.length);
        for (const m of merged)
          expect(m.installed).toBe(r.entries.some((e) => e.pluginId === m.pluginId && e.installed));
      }),
    );
  });

  test('merge: an installed entry wins over an available one for the same id', () => {
    const base = parsePluginListJson(RECORDED_AVAILABLE);
    if (!base.ok) throw new Error('bad fixture');
    const available = base.entries[0] as CliPlugin;
    expect(
      mergeCliPlugins([[available], [{ ...available, installed: true, enabled: true }]])[0]
        ?.installed,
    ).toBe(true);
    expect(mergeCliPlugins([[{ ...available, installed: true }], [available]])[0]?.installed).toBe(
      true,
    );
  });
});

describe('paths stay inside their root', () => {
  test.each([
    ['./.mcp.json', true],
    ['skills/', true],
    ['a/../b', true],
    ['../x', false],
    ['a/../../x', false],
    ['/etc/passwd', false],
    ['C:\\Windows', false],
    ['..\\..\\x', false],
    ['', false],
  ])('%s → inside: %s', (declared, ok) => {
    expect(resolveWithin('/p/root', declared).ok).toBe(ok);
  });

  test('isInside works on whole segments', () => {
    expect(isInside('/srv/mkt', '/srv/mkt')).toBe(true);
    expect(isInside('/srv/mkt', '/srv/mkt/x')).toBe(true);
    expect(isInside('/srv/mkt', '/srv/mkt2')).toBe(false);
    expect(isInside('/srv/mkt/', '/srv/mkt/../etc')).toBe(false);
    expect(isInside('/', '/anything')).toBe(true);
  });

  test('property: whatever is declared, an accepted path is inside the root', () => {
    const segment = fc.constantFrom('..', '.', 'a', 'b', '', 'c d', '...');
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        (parts, backslash) => {
          const declared = parts.join(backslash ? '\\' : '/');
          const r = resolveWithin('/p/root', declared);
          if (r.ok) expect(isInside('/p/root', r.path)).toBe(true);
        },
      ),
    );
  });

  test('property: isInside(dir, x) means x starts with dir on a segment boundary', () => {
    const name = fc.stringMatching(/^[a-z]{1,3}$/);
    fc.assert(
      fc.property(
        fc.array(name, { minLength: 1, maxLength: 3 }),
        fc.array(name, { maxLength: 3 }),
        fc.string({ maxLength: 3 }),
        (dir, rest, suffix) => {
          const base = `/${dir.join('/')}`;
          expect(isInside(base, [base, ...rest].join('/'))).toBe(true);
          const sibling = `${base}${suffix.replace(/[/.]/g, '')}`;
          if (sibling !== base) expect(isInside(base, sibling)).toBe(false);
        },
      ),
    );
  });
});

describe('marketplace source matching', () => {
  const rule = (over: object) => ({
    name: 'r',
    type: 'git' as const,
    url: null,
    host: null,
    path: null,
    source: { kind: 'flag_file' as const, path: '/r' },
    location: { file: '/r', line: 1, column: 1 },
    ...over,
  });

  test.each([
    ['acme/plugins', 'https://github.com/acme/plugins'],
    ['acme/plugins@v2', 'https://github.com/acme/plugins'],
    ['git@github.com:acme/plugins.git', 'ssh://git@github.com/acme/plugins.git'],
    ['https://gitlab.example.com/a/b.git', 'https://gitlab.example.com/a/b.git'],
  ])('git source %s reads as %s', (source, url) => {
    expect(gitSourceUrl(source)).toBe(url);
  });

  test('a URL prefix is boundary-safe, as for server URLs', () => {
    const prefix = rule({ url: { match: 'prefix', value: 'https://github.com/acme' } });
    const ok = (source: string) =>
      marketplaceSourceMismatch({ source_type: 'git', source }, prefix);
    expect(ok('https://github.com/acme/plugins')).toBeNull();
    expect(ok('acme/plugins')).toBeNull();
    expect(ok('https://github.com/acme-evil/plugins')).toContain('not under');
    expect(ok('https://github.com.evil.com/acme/plugins')).not.toBeNull();
    expect(ok('https://github.com@evil.com/acme/plugins')).not.toBeNull();
  });

  test('property: a host rule never admits a longer host that merely starts with it', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z]{1,8}$/),
        fc.stringMatching(/^[a-z]{1,8}$/),
        (extra, path) => {
          const r = rule({ host: 'github.com' });
          expect(
            marketplaceSourceMismatch(
              { source_type: 'git', source: `https://github.com.${extra}/${path}` },
              r,
            ),
          ).not.toBeNull();
          expect(
            marketplaceSourceMismatch(
              { source_type: 'git', source: `https://${extra}github.com/${path}` },
              r,
            ),
          ).not.toBeNull();
          expect(
            marketplaceSourceMismatch(
              { source_type: 'git', source: `https://GitHub.com/${path}` },
              r,
            ),
          ).toBeNull();
        },
      ),
    );
  });
});

describe('hooks', () => {
  test('Claude/Codex hooks shape; an entry that cannot be read still counts as a hook', () => {
    const r = parseHooksDocument(
      {
        hooks: {
          PreToolUse: [
            { matcher: 'Bash', hooks: [{ type: 'command', command: './check.sh --token abc' }] },
          ],
          SessionStart: [{ nohooks: true }],
          Stop: 'x',
        },
      },
      'hooks.json',
    );
    expect(r.hooks).toEqual([
      {
        event: 'PreToolUse',
        matcher: 'Bash',
        command: './check.sh --token *****',
        type: 'command',
        file: 'hooks.json',
      },
      { event: 'SessionStart', matcher: null, command: null, type: 'unknown', file: 'hooks.json' },
      { event: 'Stop', matcher: null, command: null, type: 'unknown', file: 'hooks.json' },
    ]);
    expect(r.problems).toHaveLength(2);
  });
});

describe('manifests on disk', () => {
  test('a plugin whose manifest points outside its directory: problems, nothing followed', () => {
    const root = tempDir();
    const outside = tempDir();
    writeFileSync(join(outside, 'hooks.json'), '{"hooks": {"PreToolUse": []}}');
    mkdirSync(join(root, '.codex-plugin'));
    symlinkSync(join(outside, 'hooks.json'), join(root, 'linked.json'));
    writeFileSync(
      join(root, '.codex-plugin', 'plugin.json'),
      JSON.stringify({
        name: 'x',
        version: '1',
        mcpServers: '../x/.mcp.json',
        hooks: ['./linked.json', '/etc/hooks.json'],
        skills: 7,
      }),
    );
    const c = readPluginContents(root);
    expect(c.problems.map((p) => [p.kind, p.message.split(' ')[0]])).toEqual([
      ['escape', '"mcpServers"'],
      ['escape', '"hooks"'],
      ['escape', '"hooks"'],
      ['invalid', '"skills"'],
    ]);
    expect(c.hooks).toEqual([]);
    expect(c.version).toBe('1');
    expect(c.complete).toBe(false);
  });

  test('inline servers and hooks, default skills directory', () => {
    const root = tempDir();
    mkdirSync(join(root, '.claude-plugin'));
    mkdirSync(join(root, 'skills', 'fmt'), { recursive: true });
    writeFileSync(join(root, 'skills', 'fmt', 'SKILL.md'), '---\nname: formatter\n---\n');
    writeFileSync(
      join(root, '.claude-plugin', 'plugin.json'),
      JSON.stringify({
        name: 'y',
        mcpServers: { r: { type: 'http', url: 'https://r.example.com/mcp' } },
        hooks: { hooks: { Stop: [{ hooks: [{ type: 'command', command: 'true' }] }] } },
      }),
    );
    const c = readPluginContents(root);
    expect(c.problems).toEqual([]);
    expect(c.servers.map((s) => [s.name, s.transport.type])).toEqual([['r', 'streamable_http']]);
    expect(c.hooks.map((h) => h.event)).toEqual(['Stop']);
    expect(c.skills.map((s) => s.name)).toEqual(['formatter']);
    expect(c.complete).toBe(true);
  });

  test('unreadable and malformed manifests are problems, never exceptions', () => {
    const root = tempDir();
    mkdirSync(join(root, '.codex-plugin'));
    writeFileSync(join(root, '.codex-plugin', 'plugin.json'), '{ nope');
    expect(readPluginContents(root).problems[0]).toMatchObject({ kind: 'invalid' });
    expect(readPluginContents(join(root, 'missing')).problems[0]).toMatchObject({
      kind: 'unreadable',
    });
    const mkt = tempDir();
    mkdirSync(join(mkt, '.agents', 'plugins'), { recursive: true });
    writeFileSync(
      join(mkt, '.agents', 'plugins', 'marketplace.json'),
      JSON.stringify({
        name: 'm',
        plugins: [
          { name: 'a', source: '../../elsewhere' },
          { name: 'b', source: 'owner/repo' },
          { nope: 1 },
        ],
      }),
    );
    const m = readMarketplaceManifest(mkt);
    expect(m.plugins.map((p) => [p.name, p.dir])).toEqual([
      ['a', null],
      ['b', null],
    ]);
    expect(m.problems.map((p) => p.kind)).toEqual(['escape', 'invalid']);
  });
});

function plugin(id: string, version: string): InventoryPlugin {
  return {
    id,
    name: id.split('@')[0] ?? id,
    marketplace: 'm',
    version,
    installed: true,
    enabled: true,
    source: null,
    marketplace_source: null,
    install_policy: null,
    auth_policy: null,
    root: null,
    manifest: null,
    contents_known: true,
    hooks: [],
    mcp_servers: [],
    skills: [],
    manifest_problems: [],
  };
}

function inv(plugins: InventoryPlugin[]): Inventory {
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
    marketplaces: [],
    plugins,
    notices: [],
  };
}

describe('digest and diff', () => {
  const pluginsArb = fc
    .uniqueArray(
      fc.tuple(fc.stringMatching(/^[a-c]{1,2}@m$/), fc.constantFrom('1.0', '1.1', '2.0')),
      {
        selector: ([id]) => id,
        maxLength: 5,
      },
    )
    .map((list) => list.map(([id, v]) => plugin(id, v)));

  test('property: diff(a, a) is empty; added and removed mirror each other; same content, same digest', () => {
    fc.assert(
      fc.property(pluginsArb, pluginsArb, (a, b) => {
        const A = inv(a);
        const B = inv(b);
        expect(diffInventories(A, A)).toEqual([]);
        const ab = diffInventories(A, B);
        const ba = diffInventories(B, A);
        const ids = (list: typeof ab, change: string) =>
          list.filter((c) => c.change === change).map((c) => c.id);
        expect(ids(ab, 'added')).toEqual(ids(ba, 'removed'));
        expect(ids(ab, 'changed')).toEqual(ids(ba, 'changed'));
        expect(ab.length === 0).toBe(inventoryDigest(A) === inventoryDigest(B));
      }),
      // Once found: the same plugins in another order had another digest.
      {
        examples: [
          [
            [plugin('cb@m', '1.1'), plugin('c@m', '2.0')],
            [plugin('c@m', '2.0'), plugin('cb@m', '1.1')],
          ],
        ],
      },
    );
  });

  test('a version change is reported with before and after', () => {
    expect(diffInventories(inv([plugin('a@m', '1.0')]), inv([plugin('a@m', '1.1')]))).toEqual([
      { kind: 'plugin', id: 'a@m', change: 'changed', fields: { version: ['1.0', '1.1'] } },
    ]);
  });
});

describe('evidence', () => {
  test.each([
    [{ selectedMarketplaces: [], upgradedRoots: [], errors: [] }, 'codex.marketplace.upgrade'],
    [
      { marketplaceName: 'acme', installedRoot: '/srv/mkt', alreadyAdded: false },
      'codex.marketplace.add',
    ],
    [
      {
        pluginId: 'a@m',
        name: 'a',
        marketplaceName: 'm',
        version: '1',
        installedPath: '/x',
        authPolicy: 'ON_USE',
      },
      'codex.plugin.add',
    ],
    [{ pluginId: 'a@m', name: 'a', marketplaceName: 'm' }, 'codex.plugin.remove'],
    [{ installed: [], available: [] }, 'codex.plugin.list'],
    [{ marketplaces: [] }, 'codex.marketplace.list'],
    [{ something: 'else' }, 'json'],
    [[1, 2], 'json'],
  ])('classify %j', (value, kind) => {
    expect(classifyJson(value)).toBe(kind);
  });

  test('Codex fields survive masking; secrets do not', () => {
    const add = {
      pluginId: 'a@m',
      authPolicy: 'ON_INSTALL',
      appsNeedingAuth: ['github'],
      token: 'abc',
      url: 'https://u:pw@h/x',
    };
    expect(maskEvidenceJson(add)).toEqual({
      pluginId: 'a@m',
      authPolicy: 'ON_INSTALL',
      appsNeedingAuth: ['github'],
      token: '*****',
      url: 'https://u:*****@h/x',
    });
  });

  test('property: masking keeps the shape of any JSON document (every key, every array length)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        const masked = maskEvidenceJson(v);
        expect(Array.isArray(masked)).toBe(Array.isArray(v));
        if (Array.isArray(v)) expect((masked as unknown[]).length).toBe(v.length);
        if (v && typeof v === 'object' && !Array.isArray(v))
          expect(Object.keys(masked as object)).toEqual(Object.keys(v));
      }),
    );
  });

  test('streams: JSON parsed, text verbatim, oversized output truncated but counted and hashed', () => {
    expect(
      storeStream(Buffer.from('{"selectedMarketplaces":["a"],"upgradedRoots":[],"errors":[]}\n')),
    ).toMatchObject({
      format: 'json',
      kind: 'codex.marketplace.upgrade',
      json: { selectedMarketplaces: ['a'], upgradedRoots: [], errors: [] },
      truncated: false,
    });
    expect(storeStream(Buffer.from('Added plugin `gh-tools`.\n'))).toMatchObject({
      format: 'text',
      text: 'Added plugin `gh-tools`.\n',
    });
    expect(storeStream(Buffer.from(''))).toMatchObject({ format: 'empty', bytes: 0 });
    const big = storeStream(Buffer.alloc(MAX_STORED_BYTES + 10, 'a'));
    expect(big).toMatchObject({ format: 'text', truncated: true, bytes: MAX_STORED_BYTES + 10 });
    expect(big.text?.length).toBe(MAX_STORED_BYTES);
  });

  test('summary names what the command did', () => {
    const s = storeStream(
      Buffer.from(
        '{"selectedMarketplaces":["a","b"],"upgradedRoots":["/r"],"errors":[{"marketplaceName":"b","message":"x"}]}',
      ),
    );
    expect(summarize(s, 1, [])).toBe(
      '2 selected, 1 upgraded, 1 error(s); exit 1; inventory unchanged',
    );
  });
});
