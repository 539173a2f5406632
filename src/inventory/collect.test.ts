import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { tempDir } from '../../test/support/fixtures.js';
import { collectPlugins } from './collect.js';

function fakeCodex(script: string): string {
  const bin = join(tempDir(), 'codex');
  writeFileSync(bin, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return bin;
}

const base = { codexHome: tempDir(), env: process.env, cwd: process.cwd() };

describe('collectPlugins', () => {
  test('a codex that hangs is stopped at the timeout; the inventory goes on without it', async () => {
    const r = await collectPlugins({
      ...base,
      codexBinary: fakeCodex('exec sleep 30'),
      timeoutMs: 300,
    });
    expect(r.mode).toBe('codex_cli');
    expect(r.plugins).toEqual([]);
    expect(r.notices.map((n) => n.message)).toEqual([
      expect.stringContaining('plugin list --json: timed out after 0.3 s'),
      expect.stringContaining('plugin list --available --json: timed out'),
      expect.stringContaining('plugin marketplace list --json: timed out'),
    ]);
  });

  test('codex is run with CODEX_HOME set to the Codex home being inventoried', async () => {
    const bin = fakeCodex(
      'case "$*" in *marketplace*) echo "{\\"marketplaces\\": [{\\"name\\": \\"$(basename "$CODEX_HOME")\\"}]}";; *) echo "{\\"installed\\": []}";; esac',
    );
    const r = await collectPlugins({ ...base, codexBinary: bin });
    expect(r.notices).toEqual([]);
    expect(r.marketplaces.map((m) => m.name)).toEqual([base.codexHome.split('/').pop()]);
  });

  test('saved output that is missing is a notice per file', async () => {
    const r = await collectPlugins({ ...base, savedDir: tempDir() });
    expect(r.mode).toBe('saved');
    expect(r.notices).toHaveLength(3);
    expect(r.notices[0]?.message).toContain('plugin-list.json not found');
  });
});
