import { stringMismatch } from '../requirements/match-server-identity.js';
import type { MarketplaceSourceRule } from '../requirements/parse-plugins-table.js';
import { maskUrl } from '../masking/mask-text.js';
import type { MarketplaceSource } from './model.js';
import { isInside } from '../config/contained-path.js';

const GITHUB_SHORTHAND = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)(?:@[^\s/]+)?$/;
const SCP_LIKE = /^([A-Za-z0-9_.-]+@)?([A-Za-z0-9.-]+):(?!\/\/)(.+)$/;

/**
 * A Git marketplace source as a URL, the way `codex plugin marketplace add` reads it:
 * `owner/repo[@ref]` is GitHub, `git@host:path` is SSH. Anything else is taken as written.
 */
export function gitSourceUrl(source: string): string {
  const short = GITHUB_SHORTHAND.exec(source);
  if (short && !source.startsWith('.')) return `https://github.com/${short[1]}/${short[2]}`;
  const scp = SCP_LIKE.exec(source);
  if (scp && !source.includes('://')) return `ssh://${scp[1] ?? ''}${scp[2]}/${scp[3]}`;
  return source;
}

function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname.toLowerCase() || null;
  } catch {
    return null;
  }
}

/**
 * Why `source` does not satisfy `rule`, or null when it does. URL prefixes are matched the
 * way server URLs are (scheme, host, port, whole path segments; no credentials), local paths
 * on whole path segments, hosts exactly.
 */
export function marketplaceSourceMismatch(
  source: MarketplaceSource,
  rule: MarketplaceSourceRule,
): string | null {
  if (source.source_type !== rule.type)
    return `source type ${source.source_type} is not ${rule.type}`;
  if (rule.path !== null) {
    return isInside(rule.path, source.source) && source.source.startsWith('/')
      ? null
      : `path ${source.source} is not ${rule.path} or below it`;
  }
  const url = gitSourceUrl(source.source);
  if (rule.host !== null) {
    const host = hostOf(url);
    if (host === null) return `source ${maskUrl(source.source)} has no host`;
    if (/^[^/]*:\/\/[^/]*@/.test(url) && !url.startsWith('ssh://'))
      return 'the source URL contains credentials (user@host)';
    return host === rule.host ? null : `host ${host} is not ${rule.host}`;
  }
  if (rule.url === null) return 'the rule names no url, host or path';
  const why = stringMismatch(rule.url, url, 'url', 'gatehouse');
  return why ? `url ${maskUrl(url)} ${why}` : null;
}

/** The first allowed source (by name order) a marketplace source satisfies, or why none does. */
export function findAllowedSource(
  source: MarketplaceSource,
  rules: ReadonlyMap<string, MarketplaceSourceRule>,
): { rule: MarketplaceSourceRule } | { rule: null; why: string[] } {
  const why: string[] = [];
  for (const rule of [...rules.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const miss = marketplaceSourceMismatch(source, rule);
    if (miss === null) return { rule };
    why.push(`${rule.name}: ${miss}`);
  }
  return { rule: null, why };
}
