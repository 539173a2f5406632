import { describeType, isPlainTable } from '../config/field-reader.js';
import type { KeyPath } from '../config/toml-document.js';
import type { Audience, ScopeSettings, ServerScope } from '../policy/scope.js';
import { NO_SCOPES } from '../policy/scope.js';
import type { RequirementSource } from './model.js';
import type { TableReporter } from './parse-gatehouse-tables.js';
import { readBoolean, warnUnknownKey } from './parse-gatehouse-tables.js';

/**
 * `[gatehouse_scopes]` (Gatehouse-only; Codex ignores it): which callers may see and use each
 * server.
 *
 *   [gatehouse_scopes]
 *   enabled = true                       # a server with no entry below is nobody's
 *   [gatehouse_scopes.servers."payments"]
 *   subjects = ["user:alice", "service:ci-bot", "os:alice"]
 *   groups = ["finance"]
 */
export interface GatehouseScopesLayer {
  enabled?: boolean;
  servers: Map<string, ServerScope>;
}

const KEYS = ['enabled', 'servers'];
const AUDIENCE_KEYS = ['subjects', 'groups'];
/** A principal kind, then a non-empty name (globs allowed). */
const SUBJECT = /^(user|service|os):\S+$/;
const GROUP = /^[^\s*?]+$/;

/**
 * One audience key (`subjects` or `groups`) as a list, or undefined after reporting why (the
 * layer then fails closed). Subjects name their kind, so a service can never pass as a person.
 */
export function readAudienceList(
  key: 'subjects' | 'groups',
  value: unknown,
  at: KeyPath,
  r: TableReporter,
): string[] | undefined {
  const test = key === 'subjects' ? SUBJECT : GROUP;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || !test.test(v))) {
    r.error(
      at,
      key === 'subjects'
        ? `expected a list of principals "user:SUBJECT", "service:SUBJECT" or "os:USERNAME" (globs * and ? allowed), got ${describeType(value) === 'array' ? JSON.stringify(value) : describeType(value)}`
        : `expected a list of group names (no spaces, no globs), got ${describeType(value) === 'array' ? JSON.stringify(value) : describeType(value)}`,
      key === 'subjects'
        ? 'e.g. subjects = ["user:alice", "service:ci-bot"]'
        : 'e.g. groups = ["finance"]',
      'invalid_value',
    );
    return undefined;
  }
  return [...new Set(value as string[])];
}

/** `[gatehouse_scopes]`; a wrong value is an error (the layer fails closed), never ignored. */
export function parseScopesTable(
  raw: unknown,
  r: TableReporter,
  source: RequirementSource,
): GatehouseScopesLayer {
  const out: GatehouseScopesLayer = { servers: new Map() };
  if (raw === undefined) return out;
  const path = ['gatehouse_scopes'];
  if (!r.isTable(raw, path)) return out;
  for (const [key, value] of Object.entries(raw)) {
    const at = [...path, key];
    if (key === 'enabled') {
      const v = readBoolean(value, at, r);
      if (v !== undefined) out.enabled = v;
    } else if (key === 'servers') {
      if (!isPlainTable(value)) {
        r.error(
          at,
          `invalid type: ${describeType(value)}, expected a table of servers ([gatehouse_scopes.servers."NAME"])`,
          undefined,
          'wrong_type',
        );
        continue;
      }
      for (const [pattern, entry] of Object.entries(value)) {
        const scope = parseServerScope(pattern, entry, [...at, pattern], r, source);
        if (scope) out.servers.set(pattern, scope);
      }
    } else warnUnknownKey(r, at, '[gatehouse_scopes]', key, KEYS);
  }
  return out;
}

function parseServerScope(
  pattern: string,
  entry: unknown,
  at: KeyPath,
  r: TableReporter,
  source: RequirementSource,
): ServerScope | null {
  if (!r.isTable(entry, at)) return null;
  const audience: { subjects: string[]; groups: string[] } = { subjects: [], groups: [] };
  let bad = false;
  for (const [key, value] of Object.entries(entry)) {
    if (key === 'subjects' || key === 'groups') {
      const list = readAudienceList(key, value, [...at, key], r);
      if (list) audience[key] = list;
      else bad = true;
    } else warnUnknownKey(r, [...at, key], 'a server scope', key, AUDIENCE_KEYS);
  }
  if (bad) return null;
  if (audience.subjects.length === 0 && audience.groups.length === 0)
    r.warn(
      at,
      `server scope "${pattern}" names nobody`,
      'set subjects or groups; as written, nobody may use it',
    );
  return { pattern, audience: audience as Audience, source };
}

/**
 * Folds the composing layers key by key (a higher layer's entry of the same pattern replaces a lower
 * one's; `enabled` as the highest layer that sets it says). Pure.
 */
export function composeScopes(
  layers: readonly { source: RequirementSource; scopes: GatehouseScopesLayer }[],
): ScopeSettings {
  const out: ScopeSettings = { ...NO_SCOPES, servers: [], narrowing: [] };
  const entries = new Map<string, ServerScope>();
  for (const { source, scopes } of layers) {
    if (scopes.enabled !== undefined) {
      out.enabled = scopes.enabled;
      out.enabledSource = source;
    }
    for (const [pattern, entry] of scopes.servers) entries.set(pattern, entry);
  }
  out.servers = [...entries.values()];
  return out;
}

/**
 * A layer the user controls over an admin's: it can turn scopes on and add entries that every
 * matching caller must ALSO be in (narrowing); it cannot turn scopes off. Pure.
 */
export function tightenScopes(
  base: ScopeSettings,
  layer: GatehouseScopesLayer,
  source: RequirementSource,
  ignore: (key: string, why: string) => void,
): ScopeSettings {
  const out: ScopeSettings = { ...base, narrowing: [...base.narrowing] };
  if (layer.enabled === true && !base.enabled) {
    out.enabled = true;
    out.enabledSource = source;
  } else if (layer.enabled === false && base.enabled)
    ignore('gatehouse_scopes.enabled = false', 'the admin turned scopes on');
  out.narrowing.push(...layer.servers.values());
  return out;
}
