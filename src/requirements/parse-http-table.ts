/**
 * `[gatehouse_http]` (Gatehouse-only; Codex ignores it): how `serve --http` / `run --http` may be
 * deployed — the names and origins it answers to, the proxies whose `X-Forwarded-*` it believes,
 * its TLS files, and its per-user limits. A wrong value is an error (the layer fails closed).
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { describeType } from '../config/field-reader.js';
import { cidrProblem } from '../gateway/downstream/trusted-proxy.js';
import type { TableReporter } from './parse-gatehouse-tables.js';
import { warnUnknownKey } from './parse-gatehouse-tables.js';
import type { RequirementSource, SetBy } from './model.js';

/** The list keys: names, origins and proxy blocks (security: an admin's list cannot be widened). */
export const HTTP_LIST_KEYS = ['allowed_hosts', 'allowed_origins', 'trusted_proxies'] as const;
/** The file keys (an admin's files stay). */
export const HTTP_FILE_KEYS = ['tls_cert', 'tls_key'] as const;
/** The number keys: limits and times (a smaller value is the tightening). */
export const HTTP_NUMBER_KEYS = [
  'idle_session_seconds',
  'max_sessions_per_user',
  'max_processes_per_user',
  'drain_seconds',
] as const;

export type HttpListKey = (typeof HTTP_LIST_KEYS)[number];
export type HttpFileKey = (typeof HTTP_FILE_KEYS)[number];
export type HttpNumberKey = (typeof HTTP_NUMBER_KEYS)[number];
export type HttpKey = HttpListKey | HttpFileKey | HttpNumberKey;

/** `[gatehouse_http]` keys one layer sets. */
export type GatehouseHttpLayer = Partial<
  Record<HttpListKey, string[]> & Record<HttpFileKey, string> & Record<HttpNumberKey, number>
>;

/** The composed `[gatehouse_http]`, each value with the layer that set it. */
export type HttpRequirements = Partial<
  Record<HttpListKey, SetBy<string[]>> &
    Record<HttpFileKey, SetBy<string>> &
    Record<HttpNumberKey, SetBy<number>>
>;

export const NO_HTTP_REQUIREMENTS: HttpRequirements = {};

const KEYS: readonly string[] = [...HTTP_LIST_KEYS, ...HTTP_FILE_KEYS, ...HTTP_NUMBER_KEYS];

/** Why a host name entry is not an exact name (`gw.example.com`, `gw.example.com:8443`, `[::1]:80`). */
export function hostEntryProblem(entry: string): string | null {
  if (
    /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*(?::\d{1,5})?$/i.test(
      entry,
    )
  )
    return null;
  if (/^\[[0-9a-f:.]+\](?::\d{1,5})?$/i.test(entry)) return null;
  return `'${entry}' is not an exact host name (a name or address, optionally :PORT; no wildcards, schemes or paths)`;
}

/** Why an origin entry is not an exact origin (`https://app.example.com[:port]`). */
export function originEntryProblem(entry: string): string | null {
  try {
    const url = new URL(entry);
    if (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.origin === entry.replace(/\/$/, '').toLowerCase()
    )
      return null;
  } catch {
    // not a URL
  }
  return `'${entry}' is not an exact origin (scheme://host[:port], e.g. https://app.example.com)`;
}

const ENTRY_CHECKS: Record<HttpListKey, (entry: string) => string | null> = {
  allowed_hosts: hostEntryProblem,
  allowed_origins: originEntryProblem,
  trusted_proxies: cidrProblem,
};

export function parseHttpTable(
  raw: unknown,
  r: TableReporter,
  source: RequirementSource,
): GatehouseHttpLayer {
  const out: GatehouseHttpLayer = {};
  if (raw === undefined) return out;
  const path = ['gatehouse_http'];
  if (!r.isTable(raw, path)) return out;
  for (const [key, value] of Object.entries(raw)) {
    const at = [...path, key];
    if (!KEYS.includes(key)) {
      warnUnknownKey(r, at, '[gatehouse_http]', key, KEYS);
    } else if ((HTTP_LIST_KEYS as readonly string[]).includes(key)) {
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
        r.error(
          at,
          `invalid type: ${describeType(value)}, expected an array of strings`,
          undefined,
          'wrong_type',
        );
        continue;
      }
      const problems = (value as string[])
        .map(ENTRY_CHECKS[key as HttpListKey])
        .filter((p) => p !== null);
      if (problems.length > 0) r.error(at, problems.join('; '), undefined, 'invalid_value');
      else
        out[key as HttpListKey] = (value as string[]).map((v) =>
          v.trim().toLowerCase().replace(/\/$/, ''),
        );
    } else if ((HTTP_FILE_KEYS as readonly string[]).includes(key)) {
      if (typeof value !== 'string' || value.trim() === '')
        r.error(
          at,
          `expected a non-empty file path, got ${describeType(value)}`,
          undefined,
          'wrong_type',
        );
      else if (isAbsolute(value)) out[key as HttpFileKey] = value;
      else if (source.kind === 'env')
        r.error(
          at,
          `a relative ${key} in ${source.name} has no directory to be relative to`,
          'write an absolute path',
          'invalid_value',
        );
      else out[key as HttpFileKey] = resolve(dirname(source.path), value);
    } else if (typeof value === 'number' && Number.isInteger(value) && value > 0) {
      out[key as HttpNumberKey] = value;
    } else {
      r.error(
        at,
        `expected a whole number > 0, got ${describeType(value)}`,
        undefined,
        'invalid_value',
      );
    }
  }
  if ((out.tls_cert === undefined) !== (out.tls_key === undefined))
    r.error(
      path,
      'tls_cert and tls_key go together: set both or neither',
      undefined,
      'invalid_value',
    );
  return out;
}

/** Folds layers low → high: each key set by a higher layer wins (no admin floor). Pure. */
export function composeHttpLayers(
  layers: readonly { source: RequirementSource; http: GatehouseHttpLayer }[],
): HttpRequirements {
  const out: Record<string, SetBy<unknown>> = {};
  for (const { source, http } of layers)
    for (const [key, value] of Object.entries(http)) out[key] = { value, source };
  return out as HttpRequirements;
}

/**
 * A user layer over an admin layer: lists only narrow (entries the admin did not list are
 * ignored), files apply only when the admin set none, numbers only when smaller. Pure.
 */
export function tightenHttp(
  base: HttpRequirements,
  layer: GatehouseHttpLayer,
  source: RequirementSource,
  ignore: (key: string, why: string) => void,
): HttpRequirements {
  const out: HttpRequirements = { ...base };
  for (const key of HTTP_LIST_KEYS) {
    const mine = layer[key];
    if (mine === undefined) continue;
    const admin = base[key];
    if (!admin) {
      out[key] = { value: mine, source };
      continue;
    }
    const kept = mine.filter((e) => admin.value.includes(e));
    const extra = mine.filter((e) => !admin.value.includes(e));
    if (extra.length > 0)
      ignore(
        `gatehouse_http.${key} ${extra.join(', ')}`,
        "not in the admin's list; a user layer cannot widen it",
      );
    out[key] = { value: kept, source };
  }
  for (const key of HTTP_FILE_KEYS) {
    const mine = layer[key];
    if (mine === undefined) continue;
    const admin = base[key];
    if (!admin) out[key] = { value: mine, source };
    else if (admin.value !== mine) ignore(`gatehouse_http.${key}`, "the admin's TLS files stay");
  }
  for (const key of HTTP_NUMBER_KEYS) {
    const mine = layer[key];
    if (mine === undefined) continue;
    const admin = base[key];
    if (!admin || mine <= admin.value) out[key] = { value: mine, source };
    else ignore(`gatehouse_http.${key}`, `only a value ≤ ${admin.value} is a tightening`);
  }
  return out;
}

/** `requirements check`: each set key with its value and the layer that set it. */
export function httpRequirementsJson(
  http: HttpRequirements,
  describe: (source: RequirementSource) => string,
): Record<string, { value: unknown; set_by: string }> {
  return Object.fromEntries(
    Object.entries(http).map(([key, set]) => [
      key,
      { value: (set as SetBy<unknown>).value, set_by: describe((set as SetBy<unknown>).source) },
    ]),
  );
}
