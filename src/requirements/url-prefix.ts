/**
 * A URL prefix that respects URL structure. Codex compares raw strings, so
 * `https://mcp.linear.app` admits `https://mcp.linear.app.evil.com/mcp` and
 * `https://mcp.linear.app@evil.com/`. Gatehouse requires BOTH Codex's raw prefix AND a
 * structural match (same scheme, host, port; path on a segment boundary; no credentials), so
 * it can only ever be stricter than Codex, never looser.
 */
export interface UrlPrefix {
  protocol: string;
  hostname: string;
  port: string;
  /** Path without a trailing slash; '' means "any path". */
  path: string;
  /** The prefix ended in '/', so the candidate's path must continue below it. */
  directory: boolean;
}

export function parseUrlPrefix(value: string): {
  prefix: UrlPrefix | null;
  problem: string | null;
} {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return {
      prefix: null,
      problem: 'is not a URL: a prefix must be a whole origin such as https://mcp.example.com',
    };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return { prefix: null, problem: 'must use http or https' };
  if (url.hostname === '') return { prefix: null, problem: 'has no host' };
  if (url.hostname.endsWith('.')) {
    return {
      prefix: null,
      problem: `names a partial host (\`${url.hostname}\`): a prefix matches whole hosts only`,
    };
  }
  if (url.username || url.password)
    return { prefix: null, problem: 'must not contain credentials' };
  if (url.search || url.hash || value.includes('?') || value.includes('#')) {
    return { prefix: null, problem: 'must not contain a query or fragment' };
  }
  const pathname = url.pathname === '/' ? '' : url.pathname;
  const directory = pathname.endsWith('/');
  return {
    prefix: {
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: directory ? pathname.slice(0, -1) : pathname,
      directory,
    },
    problem: null,
  };
}

/** Why a candidate fails a structural prefix, or null when it matches. */
export function urlPrefixMismatch(prefixValue: string, candidate: string): string | null {
  if (!candidate.startsWith(prefixValue)) return `does not start with ${prefixValue}`;
  const { prefix } = parseUrlPrefix(prefixValue);
  if (!prefix) return 'the prefix is not a valid URL';
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return 'is not a valid URL';
  }
  if (url.username || url.password) return 'contains credentials (user@host)';
  if (url.protocol !== prefix.protocol) return `scheme ${url.protocol} is not ${prefix.protocol}`;
  if (url.hostname !== prefix.hostname) return `host ${url.hostname} is not ${prefix.hostname}`;
  if (url.port !== prefix.port)
    return `port ${url.port || '(default)'} is not ${prefix.port || '(default)'}`;
  if (prefix.path === '' && !prefix.directory) return null;
  const path = url.pathname;
  if (
    prefix.directory
      ? path.startsWith(`${prefix.path}/`)
      : path === prefix.path || path.startsWith(`${prefix.path}/`)
  )
    return null;
  return `path ${path} is not under ${prefix.path}${prefix.directory ? '/' : ''}`;
}
