import { suggestKey } from '../diagnostics/suggest.js';
import type { SourceLocation } from '../diagnostics/diagnostic.js';
import { describeType } from '../config/field-reader.js';
import type { KeyPath } from '../config/toml-document.js';
import type { RequirementSource, SetBy, StringMatcher } from './model.js';
import type { TableReporter } from './parse-gatehouse-tables.js';
import { readBoolean, warnUnknownKey } from './parse-gatehouse-tables.js';

/**
 * `[gatehouse_plugins]`: the admin's plugin approval policy (Gatehouse-only; Codex ignores the
 * table). `gatehouse inventory check` evaluates installed and available plugins against it.
 */
export const MARKETPLACE_SOURCE_TYPES = ['local', 'git'] as const;
export type MarketplaceSourceType = (typeof MARKETPLACE_SOURCE_TYPES)[number];
export const INSTALL_POLICIES = ['NOT_AVAILABLE', 'AVAILABLE', 'INSTALLED_BY_DEFAULT'] as const;
export const AUTH_POLICIES = ['ON_INSTALL', 'ON_USE'] as const;

/** One `[gatehouse_plugins.allowed_sources.NAME]` entry: a type plus exactly one of url/host/path. */
export interface MarketplaceSourceRule {
  name: string;
  type: MarketplaceSourceType;
  /** `url = "…"` (exact) or a matcher; a `prefix` is boundary-safe (scheme, host, port, path segments). */
  url: StringMatcher | null;
  /** `host = "github.com"`: the source's host, exactly (case-insensitive). */
  host: string | null;
  /** `path = "/srv/mkt"` (local): that directory or anything below it, on path segments. */
  path: string | null;
  source: RequirementSource;
  location: SourceLocation;
}

/** `approved."<plugin>@<marketplace>"`: the versions an admin reviewed, or `*` (any version). */
export interface ApprovedPlugin {
  id: string;
  versions: string[] | '*';
  source: RequirementSource;
  location: SourceLocation;
}

export interface PluginGovernance {
  /** null: any marketplace source is allowed (no table in any layer). */
  allowedSources: Map<string, MarketplaceSourceRule> | null;
  hooksRequireReview: SetBy<boolean> | null;
  remoteServersRequireAllowlist: SetBy<boolean> | null;
  allowedInstallPolicies: SetBy<string[]> | null;
  allowedAuthPolicies: SetBy<string[]> | null;
  /** null: no approval list (every plugin id is acceptable as far as this key goes). */
  approved: Map<string, ApprovedPlugin> | null;
}

export const NO_PLUGIN_GOVERNANCE: PluginGovernance = {
  allowedSources: null,
  hooksRequireReview: null,
  remoteServersRequireAllowlist: null,
  allowedInstallPolicies: null,
  allowedAuthPolicies: null,
  approved: null,
};

/** What one layer's `[gatehouse_plugins]` says. */
export interface GatehousePluginsLayer {
  allowedSources?: Map<string, MarketplaceSourceRule>;
  hooksRequireReview?: boolean;
  remoteServersRequireAllowlist?: boolean;
  allowedInstallPolicies?: string[];
  allowedAuthPolicies?: string[];
  approved?: Map<string, ApprovedPlugin>;
}

/** The reporter plus what this table needs from the requirements parser. */
export interface PluginsTableReporter extends TableReporter {
  /** A URL matcher exactly as `[mcp_servers.X.identity] url` takes it (same checks, same errors). */
  urlMatcher(path: KeyPath, raw: unknown): StringMatcher | null;
  locate(path: KeyPath): SourceLocation;
}

const PLUGINS_KEYS = [
  'allowed_sources',
  'hooks_require_review',
  'remote_servers_require_allowlist',
  'allowed_install_policies',
  'allowed_auth_policies',
  'approved',
];
const SOURCE_KEYS = ['type', 'url', 'host', 'path'];
const PLUGIN_ID = /^[^@\s]+@[^@\s]+$/;
const HOST = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

function quoteList(values: readonly string[]): string {
  return values.map((v) => `"${v}"`).join(', ');
}

/** `[gatehouse_plugins]`; any wrong value is an error (the layer fails closed), never ignored. */
export function parsePluginsTable(
  raw: unknown,
  r: PluginsTableReporter,
  source: RequirementSource,
): GatehousePluginsLayer {
  const out: GatehousePluginsLayer = {};
  if (raw === undefined) return out;
  const path = ['gatehouse_plugins'];
  if (!r.isTable(raw, path)) return out;
  for (const [key, value] of Object.entries(raw)) {
    const at = [...path, key];
    switch (key) {
      case 'hooks_require_review':
      case 'remote_servers_require_allowlist': {
        const v = readBoolean(value, at, r);
        if (v === undefined) break;
        if (key === 'hooks_require_review') out.hooksRequireReview = v;
        else out.remoteServersRequireAllowlist = v;
        break;
      }
      case 'allowed_install_policies':
      case 'allowed_auth_policies': {
        const known = key === 'allowed_install_policies' ? INSTALL_POLICIES : AUTH_POLICIES;
        const list = enumList(value, known, at, r);
        if (list && key === 'allowed_install_policies') out.allowedInstallPolicies = list;
        else if (list) out.allowedAuthPolicies = list;
        break;
      }
      case 'allowed_sources':
        out.allowedSources = parseSources(value, at, r, source);
        break;
      case 'approved':
        out.approved = parseApproved(value, at, r, source);
        break;
      default:
        warnUnknownKey(r, at, '[gatehouse_plugins]', key, PLUGINS_KEYS);
    }
  }
  return out;
}

function enumList(
  value: unknown,
  known: readonly string[],
  at: KeyPath,
  r: PluginsTableReporter,
): string[] | null {
  if (!Array.isArray(value)) {
    r.error(
      at,
      `invalid type: ${describeType(value)}, expected a list such as [${quoteList(known.slice(0, 2))}]`,
      undefined,
      'wrong_type',
    );
    return null;
  }
  let ok = true;
  value.forEach((v: unknown, i) => {
    if (typeof v === 'string' && known.includes(v)) return;
    ok = false;
    const guess = typeof v === 'string' ? suggestKey(v.toUpperCase(), known) : null;
    r.error(
      [...at, i],
      `unknown value ${JSON.stringify(v)}: expected one of ${quoteList(known)}`,
      guess ? `did you mean "${guess}"?` : undefined,
      'invalid_value',
    );
  });
  return ok ? (value as string[]) : null;
}

function parseSources(
  value: unknown,
  at: KeyPath,
  r: PluginsTableReporter,
  source: RequirementSource,
): Map<string, MarketplaceSourceRule> | undefined {
  if (!r.isTable(value, at)) return undefined;
  const rules = new Map<string, MarketplaceSourceRule>();
  for (const [name, entry] of Object.entries(value)) {
    const here = [...at, name];
    if (!r.isTable(entry, here)) continue;
    let ok = true;
    for (const key of Object.keys(entry)) {
      if (SOURCE_KEYS.includes(key)) continue;
      ok = false;
      const guess = suggestKey(key, SOURCE_KEYS);
      r.error(
        [...here, key],
        `unknown key \`${key}\` in an allowed marketplace source`,
        guess ? `did you mean \`${guess}\`?` : `known keys: ${SOURCE_KEYS.join(', ')}`,
        'unknown_key',
      );
    }
    const type = entry.type;
    if (!(MARKETPLACE_SOURCE_TYPES as readonly unknown[]).includes(type)) {
      r.error(
        [...here, 'type'],
        type === undefined
          ? 'an allowed marketplace source needs `type`'
          : `unknown marketplace source type ${JSON.stringify(type)}: expected one of ${quoteList(MARKETPLACE_SOURCE_TYPES)}`,
        'e.g. { type = "git", url = { match = "prefix", value = "https://github.com/acme/" } }',
        type === undefined ? 'missing_field' : 'invalid_value',
      );
      continue;
    }
    const given = ['url', 'host', 'path'].filter((k) => entry[k] !== undefined);
    if (given.length !== 1) {
      r.error(
        here,
        given.length === 0
          ? 'an allowed marketplace source needs one of `url`, `host` or `path`'
          : `an allowed marketplace source takes one of \`url\`, \`host\`, \`path\`, not ${given.map((k) => `\`${k}\``).join(' and ')}`,
        'write two entries to allow two sources',
        given.length === 0 ? 'missing_field' : 'invalid_value',
      );
      continue;
    }
    const rule: MarketplaceSourceRule = {
      name,
      type: type as MarketplaceSourceType,
      url: null,
      host: null,
      path: null,
      source,
      location: r.locate(here),
    };
    if (entry.path !== undefined) {
      if (type !== 'local') {
        r.error([...here, 'path'], '`path` applies to `type = "local"` sources only');
        ok = false;
      } else if (typeof entry.path !== 'string' || !entry.path.startsWith('/')) {
        r.error(
          [...here, 'path'],
          'expected an absolute directory path',
          'e.g. path = "/srv/marketplaces"',
        );
        ok = false;
      } else rule.path = entry.path.length > 1 ? entry.path.replace(/\/+$/, '') : '/';
    } else if (type === 'local') {
      r.error(
        [...here, entry.url !== undefined ? 'url' : 'host'],
        'a `type = "local"` source is matched by `path`',
        'e.g. path = "/srv/marketplaces"',
      );
      ok = false;
    } else if (entry.host !== undefined) {
      if (typeof entry.host !== 'string' || !HOST.test(entry.host)) {
        r.error(
          [...here, 'host'],
          'expected a host name such as "github.com" (no scheme, port, path or wildcard)',
        );
        ok = false;
      } else rule.host = entry.host.toLowerCase();
    } else {
      rule.url = r.urlMatcher([...here, 'url'], entry.url);
      if (!rule.url) ok = false;
    }
    if (ok) rules.set(name, rule);
  }
  return rules;
}

function parseApproved(
  value: unknown,
  at: KeyPath,
  r: PluginsTableReporter,
  source: RequirementSource,
): Map<string, ApprovedPlugin> | undefined {
  if (!r.isTable(value, at)) return undefined;
  const approved = new Map<string, ApprovedPlugin>();
  for (const [id, versions] of Object.entries(value)) {
    const here = [...at, id];
    if (!PLUGIN_ID.test(id)) {
      r.error(
        here,
        `plugin id "${id}" must be "<plugin>@<marketplace>"`,
        'e.g. approved."gh-tools@acme" = ["1.2.3"]',
      );
      continue;
    }
    const location = r.locate(here);
    if (versions === '*') {
      approved.set(id, { id, versions: '*', source, location });
      continue;
    }
    const list = typeof versions === 'string' ? [versions] : versions;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      list.some((v) => typeof v !== 'string' || v.trim() === '' || v === '*')
    ) {
      r.error(
        here,
        `expected a version, a list of versions, or "*" (any version), got ${describeType(versions)}`,
        'e.g. approved."gh-tools@acme" = ["1.2.3", "1.3.0"]',
        'wrong_type',
      );
      continue;
    }
    approved.set(id, { id, versions: list as string[], source, location });
  }
  return approved;
}

/** Folds layers low → high: scalar keys replaced, sources and approvals unioned by name/id. Pure. */
export function composePluginGovernance(
  layers: readonly { source: RequirementSource; plugins: GatehousePluginsLayer }[],
): PluginGovernance {
  const out: PluginGovernance = { ...NO_PLUGIN_GOVERNANCE };
  for (const { source, plugins: p } of layers) {
    if (p.hooksRequireReview !== undefined)
      out.hooksRequireReview = { value: p.hooksRequireReview, source };
    if (p.remoteServersRequireAllowlist !== undefined)
      out.remoteServersRequireAllowlist = { value: p.remoteServersRequireAllowlist, source };
    if (p.allowedInstallPolicies !== undefined)
      out.allowedInstallPolicies = { value: p.allowedInstallPolicies, source };
    if (p.allowedAuthPolicies !== undefined)
      out.allowedAuthPolicies = { value: p.allowedAuthPolicies, source };
    if (p.allowedSources)
      out.allowedSources = new Map([...(out.allowedSources ?? []), ...p.allowedSources]);
    if (p.approved) out.approved = new Map([...(out.approved ?? []), ...p.approved]);
  }
  return out;
}
