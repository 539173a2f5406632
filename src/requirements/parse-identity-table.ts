import { isAbsolute } from 'node:path';
import { describeType } from '../config/field-reader.js';
import type { KeyPath } from '../config/toml-document.js';
import type { IdentitySettings } from '../identity/settings.js';
import {
  ASYMMETRIC_ALGORITHMS,
  MAX_CLOCK_SKEW_SECONDS,
  NO_IDENTITY,
} from '../identity/settings.js';
import { MAX_INTROSPECTION_CACHE_SECONDS } from '../identity/introspection.js';
import type { RequirementSource } from './model.js';
import type { TableReporter } from './parse-gatehouse-tables.js';
import { warnUnknownKey } from './parse-gatehouse-tables.js';

/**
 * `[gatehouse_identity]` (Gatehouse-only; Codex ignores it): how `serve --http` / `run --http`
 * identify each caller.
 *
 *   [gatehouse_identity]
 *   issuer = "https://login.example.com"
 *   resource = "https://gatehouse.example.com/mcp"
 *   required_scopes = ["mcp:tools"]
 *   service_tokens = "/etc/gatehouse/service-tokens.json"
 */
export type GatehouseIdentityLayer = Partial<{
  issuer: string;
  resource: string;
  jwksUrl: string;
  algorithms: string[];
  jwksCooldownSeconds: number;
  requiredScopes: string[];
  clockSkewSeconds: number;
  groupsClaim: string;
  introspectionEndpoint: string;
  introspectionClientId: string;
  introspectionClientSecretEnv: string;
  introspectionCacheSeconds: number;
  serviceTokens: string;
}>;

const KEYS = [
  'issuer',
  'resource',
  'jwks_url',
  'algorithms',
  'jwks_cooldown_seconds',
  'required_scopes',
  'clock_skew_seconds',
  'groups_claim',
  'introspection_endpoint',
  'introspection_client_id',
  'introspection_client_secret_env',
  'introspection_cache_seconds',
  'service_tokens',
];
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/; // RFC 6749 scope-token
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CLAIM = /^[A-Za-z0-9_.:/-]{1,128}$/;

/**
 * Whether `value` is an https URL, or http on a loopback address (tests, a local IdP). Tokens,
 * keys and introspection answers fetched over plain HTTP elsewhere could be forged in transit.
 */
export function secureUrlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `expected a URL, got ${JSON.stringify(value)}`;
  }
  if (url.username || url.password) return 'a URL with credentials in it is not allowed';
  if (url.hash) return 'a URL with a #fragment is not allowed';
  if (url.protocol === 'https:') return null;
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol === 'http:' && loopback) return null;
  return `expected an https:// URL (http:// only on 127.0.0.1, [::1] or localhost), got ${JSON.stringify(value)}`;
}

function str(value: unknown, at: KeyPath, r: TableReporter, test?: (v: string) => string | null) {
  if (typeof value !== 'string' || value === '') {
    r.error(
      at,
      `invalid type: ${describeType(value)}, expected a non-empty string`,
      undefined,
      'wrong_type',
    );
    return undefined;
  }
  const problem = test?.(value) ?? null;
  if (problem) {
    r.error(at, problem, undefined, 'invalid_value');
    return undefined;
  }
  return value;
}

function list(value: unknown, at: KeyPath, r: TableReporter, item: RegExp, what: string) {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || !item.test(v))) {
    r.error(
      at,
      `expected a list of ${what}, got ${JSON.stringify(value)}`,
      undefined,
      'invalid_value',
    );
    return undefined;
  }
  return [...new Set(value as string[])];
}

/** A whole number of seconds from 0 to `max`, or undefined after reporting why. */
function seconds(value: unknown, at: KeyPath, r: TableReporter, max: number, hint?: string) {
  if (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= max)
    return value as number;
  r.error(
    at,
    `expected a whole number of seconds from 0 to ${max}, got ${JSON.stringify(value)}`,
    hint,
    'invalid_value',
  );
  return undefined;
}

function algorithms(value: unknown, at: KeyPath, r: TableReporter): string[] | undefined {
  const known: readonly string[] = ASYMMETRIC_ALGORITHMS;
  const names = list(value, at, r, /^[A-Za-z0-9]+$/, 'JWS algorithm names');
  if (!names) return undefined;
  const bad = names.filter((a) => !known.includes(a));
  if (bad.length > 0 || names.length === 0) {
    r.error(
      at,
      names.length === 0
        ? 'an empty list would refuse every token'
        : `not allowed: ${bad.join(', ')} — only asymmetric algorithms can be checked against the issuer's public keys (\`none\` and HS* never)`,
      `choose from ${known.join(', ')}`,
      'invalid_value',
    );
    return undefined;
  }
  return names;
}

/** `[gatehouse_identity]`; a wrong value is an error (the layer fails closed), never ignored. */
export function parseIdentityTable(raw: unknown, r: TableReporter): GatehouseIdentityLayer {
  const out: GatehouseIdentityLayer = {};
  if (raw === undefined) return out;
  const path = ['gatehouse_identity'];
  if (!r.isTable(raw, path)) return out;
  const url = (v: unknown, at: KeyPath) => str(v, at, r, secureUrlProblem);
  for (const [key, value] of Object.entries(raw)) {
    const at = [...path, key];
    switch (key) {
      case 'issuer':
        out.issuer = url(value, at);
        break;
      case 'resource':
        out.resource = url(value, at);
        break;
      case 'jwks_url':
        out.jwksUrl = url(value, at);
        break;
      case 'introspection_endpoint':
        out.introspectionEndpoint = url(value, at);
        break;
      case 'algorithms':
        out.algorithms = algorithms(value, at, r);
        break;
      case 'required_scopes':
        out.requiredScopes = list(value, at, r, SCOPE, 'OAuth scopes (no spaces or quotes)');
        break;
      case 'clock_skew_seconds':
        out.clockSkewSeconds = seconds(value, at, r, MAX_CLOCK_SKEW_SECONDS);
        break;
      case 'jwks_cooldown_seconds':
        out.jwksCooldownSeconds = seconds(value, at, r, 3600);
        break;
      case 'introspection_cache_seconds':
        out.introspectionCacheSeconds = seconds(
          value,
          at,
          r,
          MAX_INTROSPECTION_CACHE_SECONDS,
          'this is how long a revoked token may still be accepted; 0 asks the endpoint on every request',
        );
        break;
      case 'groups_claim':
        out.groupsClaim = str(value, at, r, (v) =>
          CLAIM.test(v) ? null : `not a claim name: ${JSON.stringify(v)}`,
        );
        break;
      case 'introspection_client_id':
        out.introspectionClientId = str(value, at, r);
        break;
      case 'introspection_client_secret_env':
        out.introspectionClientSecretEnv = str(value, at, r, (v) =>
          ENV_NAME.test(v)
            ? null
            : `expected an environment variable name, got ${JSON.stringify(v)} (the secret itself never goes in this file)`,
        );
        break;
      case 'service_tokens':
        out.serviceTokens = str(value, at, r, (v) =>
          isAbsolute(v) ? null : `expected an absolute path, got ${JSON.stringify(v)}`,
        );
        break;
      default:
        warnUnknownKey(r, at, '[gatehouse_identity]', key, KEYS);
    }
  }
  const intro = [
    out.introspectionEndpoint,
    out.introspectionClientId,
    out.introspectionClientSecretEnv,
  ];
  if (intro.some((v) => v !== undefined) && intro.some((v) => v === undefined))
    r.error(
      path,
      'introspection needs all of introspection_endpoint, introspection_client_id and introspection_client_secret_env',
      undefined,
      'missing_field',
    );
  return out;
}

/** Layers an admin owns (a system file); the others are the governed user's. */
function adminOwned(source: RequirementSource): boolean {
  return source.kind === 'system_file' || source.kind === 'codex_file';
}

/**
 * Folds layers key by key (a higher layer's key wins). Which issuer and which tokens vouch for a
 * caller is the admin's decision: when any admin-owned layer exists, only admin-owned layers
 * count (the same rule as approver keys). Pure.
 */
export function composeIdentity(
  layers: readonly { source: RequirementSource; identity: GatehouseIdentityLayer }[],
): IdentitySettings {
  const anyAdmin = layers.some((l) => adminOwned(l.source));
  const s: IdentitySettings = { ...NO_IDENTITY, sources: [] };
  let intro: GatehouseIdentityLayer = {};
  for (const { source, identity: i } of layers) {
    if (anyAdmin && !adminOwned(source)) continue;
    if (Object.values(i).every((v) => v === undefined)) continue;
    s.sources.push(source);
    if (i.issuer !== undefined) s.issuer = i.issuer;
    if (i.resource !== undefined) s.resource = i.resource;
    if (i.jwksUrl !== undefined) s.jwksUrl = i.jwksUrl;
    if (i.algorithms !== undefined) s.algorithms = i.algorithms;
    if (i.jwksCooldownSeconds !== undefined) s.jwksCooldownSeconds = i.jwksCooldownSeconds;
    if (i.requiredScopes !== undefined) s.requiredScopes = i.requiredScopes;
    if (i.clockSkewSeconds !== undefined) s.clockSkewSeconds = i.clockSkewSeconds;
    if (i.groupsClaim !== undefined) s.groupsClaim = i.groupsClaim;
    if (i.serviceTokens !== undefined) s.serviceTokens = i.serviceTokens;
    if (i.introspectionCacheSeconds !== undefined)
      s.introspectionCacheSeconds = i.introspectionCacheSeconds;
    if (i.introspectionEndpoint !== undefined) intro = i;
  }
  if (
    intro.introspectionEndpoint &&
    intro.introspectionClientId &&
    intro.introspectionClientSecretEnv
  )
    s.introspection = {
      endpoint: intro.introspectionEndpoint,
      clientId: intro.introspectionClientId,
      clientSecretEnv: intro.introspectionClientSecretEnv,
    };
  return s;
}
