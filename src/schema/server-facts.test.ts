import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { server, stdio, tempDir } from '../../test/support/fixtures.js';
import { identityOf, npxPackageSpec, resolveNpxPackage, splitPackageSpec } from './server-facts.js';

describe('npx package resolution (local only, never the network)', () => {
  test.each([
    [
      ['-y', '@modelcontextprotocol/server-filesystem@2026.8.31', '/tmp'],
      '@modelcontextprotocol/server-filesystem@2026.8.31',
    ],
    [['--yes', 'mcp-server-git'], 'mcp-server-git'],
    [['-p', '@acme/tools@1.0.0', 'acme-mcp'], '@acme/tools@1.0.0'],
    [['--package=@acme/tools', 'acme-mcp'], '@acme/tools'],
    [['--', 'pkg@2'], 'pkg@2'],
    [['-y'], null],
  ])('npx %j runs %s', (args, spec) => {
    expect(npxPackageSpec('npx', args)).toBe(spec);
  });

  test('only npx commands name a package', () => {
    expect(npxPackageSpec('node', ['server.js'])).toBeNull();
    expect(npxPackageSpec('/usr/local/bin/npx', ['x'])).toBe('x');
  });

  test.each([
    ['@scope/name@1.2.3', { name: '@scope/name', version: '1.2.3' }],
    ['@scope/name', { name: '@scope/name', version: null }],
    ['name@latest', { name: 'name', version: 'latest' }],
    ['name', { name: 'name', version: null }],
  ])('%s splits into name and version', (spec, parts) => {
    expect(splitPackageSpec(spec)).toEqual(parts);
  });

  function install(root: string, name: string, version: string, integrity: string | null) {
    mkdirSync(join(root, 'node_modules', name), { recursive: true });
    writeFileSync(
      join(root, 'node_modules', name, 'package.json'),
      JSON.stringify({ name, version }),
    );
    writeFileSync(
      join(root, 'package-lock.json'),
      JSON.stringify({
        packages: { [`node_modules/${name}`]: { version, ...(integrity ? { integrity } : {}) } },
      }),
    );
  }

  test('from the npx cache: name, version and integrity; the requested version must match', () => {
    const cache = tempDir();
    install(join(cache, '_npx', 'abc123'), '@acme/mcp', '1.4.0', 'sha512-xyz');
    const env = { npm_config_cache: cache };
    const s = (spec: string) => server('acme', stdio('npx', ['-y', spec]));
    expect(resolveNpxPackage(s('@acme/mcp'), env, tempDir())).toEqual({
      package: { name: '@acme/mcp', version: '1.4.0', integrity: 'sha512-xyz' },
      note: null,
    });
    const other = resolveNpxPackage(s('@acme/mcp@2.0.0'), env, tempDir());
    expect(other.package).toBeNull();
    expect(other.note).toMatch(
      /@acme\/mcp@2.0.0 is not in node_modules nor in the npx cache .*run the server once/,
    );
  });

  test('the project node_modules first; a missing integrity is stated, not guessed', () => {
    const project = tempDir();
    install(project, 'local-mcp', '0.3.0', null);
    const r = resolveNpxPackage(
      server('l', stdio('npx', ['local-mcp'], { cwd: project })),
      {},
      '/',
    );
    expect(r).toEqual({
      package: { name: 'local-mcp', version: '0.3.0', integrity: null },
      note: 'no integrity for local-mcp@0.3.0 in the local package-lock',
    });
  });

  test('a path or URL is not a registry package', () => {
    expect(resolveNpxPackage(server('p', stdio('npx', ['./tools/server'])), {}, '/').note).toMatch(
      /a path or URL/,
    );
  });

  test('identity masks secrets in args and URLs (the lock is committed)', () => {
    expect(
      identityOf(server('a', stdio('node', ['s.js', '--token', 'sk-live-abcdef1234567890']))),
    ).toEqual({
      transport: 'stdio',
      command: 'node',
      args: ['s.js', '--token', expect.not.stringContaining('abcdef1234567890')],
    });
  });
});
