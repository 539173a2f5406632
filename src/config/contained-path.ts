import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, posix } from 'node:path';

/**
 * Paths a manifest declares (`"mcpServers": "./.mcp.json"`, a marketplace's `"./plugins/x"`)
 * must stay inside the directory the manifest belongs to: a plugin that points at
 * `../../.ssh/config` or `/etc/passwd` is a finding, never followed. Pure, lexical; the
 * adapter also checks where symbolic links lead.
 */
export type Within = { ok: true; path: string } | { ok: false; reason: string };

export function resolveWithin(root: string, declared: string): Within {
  if (declared === '' || declared.includes('\0'))
    return { ok: false, reason: 'is empty or contains a NUL byte' };
  if (isAbsolute(declared) || /^[A-Za-z]:[\\/]/.test(declared) || declared.startsWith('\\'))
    return {
      ok: false,
      reason: `is an absolute path (${declared}); it must be relative to ${root}`,
    };
  const parts = declared.split(/[\\/]+/);
  if (parts.includes('..')) {
    const resolved = posix.normalize(posix.join(root, declared.replace(/\\/g, '/')));
    if (!isInside(root, resolved))
      return { ok: false, reason: `leaves ${root} (${declared} → ${resolved})` };
  }
  return { ok: true, path: posix.normalize(posix.join(root, declared.replace(/\\/g, '/'))) };
}

/** `candidate` is `dir` itself or below it, on whole path segments (`/srv/mkt2` is not in `/srv/mkt`). */
export function isInside(dir: string, candidate: string): boolean {
  const base = posix.normalize(dir).replace(/\/+$/, '') || '/';
  const path = posix.normalize(candidate);
  if (base === '/') return path.startsWith('/');
  return path === base || path.startsWith(`${base}/`);
}

/**
 * `resolveWithin`, then where symbolic links lead: a path inside the root that is a link to
 * `/etc/shadow` is refused too. The reason names what was declared and where it leads.
 */
export function containedPath(root: string, declared: string): Within {
  const within = resolveWithin(root, declared);
  if (!within.ok || !existsSync(within.path)) return within;
  try {
    const real = realpathSync(within.path);
    if (!isInside(realpathSync(root), real))
      return { ok: false, reason: `(${declared}) is a link leading outside ${root}, to ${real}` };
  } catch {
    // unreadable: reported by whoever reads it
  }
  return within;
}
