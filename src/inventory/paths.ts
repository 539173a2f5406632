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
      return { ok: false, reason: `leaves the plugin directory (${declared} → ${resolved})` };
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
