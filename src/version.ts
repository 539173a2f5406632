import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * Gatehouse's version, read from its package.json: the one source for `--version`, `doctor`,
 * the lock file's generator and the clientInfo sent upstream, so a release bumps one file.
 * Looked up by walking up from this module because it runs from src/ (tests), dist/ (the
 * library) and dist/bin/ or dist/bin/chunks/ (the bundled CLI).
 */
export function gatehouseVersion(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'gatehouse' && typeof pkg.version === 'string') {
        cached = pkg.version;
        return cached;
      }
    } catch {
      // no (readable) package.json at this level: keep walking up
    }
    dir = dirname(dir);
  }
  // Only a broken install gets here; the version is informational, never a security input.
  cached = '0.0.0-unknown';
  return cached;
}
