import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './fixtures.js';

/** The real codex-cli 0.169 from npm @openai/codex. */
export const CODEX = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'codex');

/**
 * Codex reads requirements only from /etc/codex/requirements.toml, so each run gets a private
 * mount namespace with its own /etc/codex. Needs Linux, root and unshare.
 */
export const canRunCodex = (() => {
  if (process.platform !== 'linux' || !existsSync(CODEX) || process.getuid?.() !== 0) return false;
  try {
    if (!existsSync('/etc/codex')) mkdirSync('/etc/codex');
    return spawnSync('unshare', ['--mount', 'true']).status === 0;
  } catch {
    return false;
  }
})();

export type Verdicts = Record<string, boolean>;

/** `codex mcp list --json` with CODEX_HOME=home and the given requirements: name → enabled. */
export function runCodexList(home: string, requirements: string): Verdicts | { error: string } {
  const etc = tempDir();
  writeFileSync(join(etc, 'requirements.toml'), requirements);
  const r = spawnSync(
    'unshare',
    ['--mount', 'sh', '-c', `mount --bind "${etc}" /etc/codex && exec "${CODEX}" mcp list --json`],
    { env: { ...process.env, CODEX_HOME: home }, encoding: 'utf8' },
  );
  if (r.status !== 0) return { error: r.stderr };
  const list = JSON.parse(r.stdout) as { name: string; enabled: boolean }[];
  return Object.fromEntries(list.map((s) => [s.name, s.enabled]));
}
