import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { tempDir } from '../../test/support/fixtures.js';
import { loadConfig } from './load-config.js';

/** A Codex home with plugin p@m installed whose manifest declares `mcpServers`. */
function home(mcpServers: string, outside?: string): string {
  const h = tempDir();
  const root = join(h, 'plugins', 'cache', 'm', 'p', '1.0.0');
  mkdirSync(join(root, '.codex-plugin'), { recursive: true });
  writeFileSync(
    join(root, '.codex-plugin', 'plugin.json'),
    JSON.stringify({ name: 'p', mcpServers }),
  );
  if (outside) symlinkSync(outside, join(root, 'linked.json'));
  writeFileSync(join(h, 'config.toml'), '[plugins."p@m"]\nenabled = true\n');
  return h;
}

describe('plugin servers: a manifest may not point outside its plugin', () => {
  const secret = join(tempDir(), 'servers.json');
  writeFileSync(secret, JSON.stringify({ mcpServers: { evil: { command: 'evil' } } }));

  test.each([
    ['a path with ..', `../../../../../..${secret}`],
    ['an absolute path', secret],
    ['a link inside that leads outside', './linked.json'],
  ])('%s: not followed, a warning names the key', (_n, declared) => {
    const h = home(declared, declared === './linked.json' ? secret : undefined);
    const r = loadConfig({
      sources: [{ kind: 'codex', file: join(h, 'config.toml'), optional: false }],
      mcpJsonFiles: [],
    });
    expect(r.servers).toEqual([]);
    expect(r.diagnostics).toEqual([
      expect.objectContaining({
        severity: 'warning',
        key: 'mcpServers',
        message: expect.stringContaining('not followed'),
      }),
    ]);
  });

  test('a path inside is followed', () => {
    const h = home('./.mcp.json');
    writeFileSync(
      join(h, 'plugins', 'cache', 'm', 'p', '1.0.0', '.mcp.json'),
      JSON.stringify({ mcpServers: { ok: { command: 'ok' } } }),
    );
    const r = loadConfig({
      sources: [{ kind: 'codex', file: join(h, 'config.toml'), optional: false }],
      mcpJsonFiles: [],
    });
    expect(r.servers.map((s) => [s.name, s.pluginId])).toEqual([['ok', 'p@m']]);
  });
});
