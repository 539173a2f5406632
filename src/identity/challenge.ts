/**
 * The pure HTTP side of a bearer refusal (RFC 6750 §3, RFC 9728 §5.1): the `WWW-Authenticate`
 * header a client reads to find the authorization server (`resource_metadata`), why its token
 * failed (`error`), and which scopes to ask for (`scope`).
 */

export type BearerError = 'invalid_request' | 'invalid_token' | 'insufficient_scope';

export interface Refusal {
  /** 401 missing or bad token; 403 a good token without the required scope. */
  status: 401 | 403;
  /** Absent when no token was presented at all (RFC 6750: then no error code). */
  error?: BearerError;
  /** Why, for the response body and the client's logs (never the token). */
  description: string;
}

/** Header parameter values are quoted-strings: no control characters, `"` and `\` escaped. */
export function quoteParam(value: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\x00-\x1f\x7f]/g, ' ');
  return `"${clean.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** `Bearer resource_metadata="…", error="…", error_description="…", scope="…"`. */
export function bearerChallenge(
  refusal: Refusal,
  resourceMetadata: string | null,
  scopes: readonly string[],
): string {
  const params: string[] = [];
  if (resourceMetadata) params.push(`resource_metadata=${quoteParam(resourceMetadata)}`);
  else params.push('realm="gatehouse"');
  if (refusal.error) {
    params.push(`error=${quoteParam(refusal.error)}`);
    params.push(`error_description=${quoteParam(asciiOnly(refusal.description))}`);
  }
  if (scopes.length > 0 && refusal.error !== 'invalid_request')
    params.push(`scope=${quoteParam(scopes.join(' '))}`);
  return `Bearer ${params.join(', ')}`;
}

/** RFC 6750: error_description is restricted to %x20-21 / %x23-5B / %x5D-7E. */
function asciiOnly(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 300);
}

/**
 * The bearer token of an `Authorization` header: `Bearer TOKEN` (scheme case-insensitive, one
 * token of RFC 6750 b64token characters), `null` when there is no header, or `'malformed'`.
 */
export function bearerToken(header: string | string[] | undefined): string | null | 'malformed' {
  if (header === undefined || header === '') return null;
  if (Array.isArray(header)) return 'malformed';
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return m?.[1] ?? 'malformed';
}

/** RFC 9728 §3.1: the well-known metadata URL of a resource (path-suffixed form). */
export function resourceMetadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/oauth-protected-resource${path}`;
}

/** The `scope` claim (space-separated string, or a list as some issuers send `scp`) as a list. */
export function parseScopes(value: unknown): string[] {
  if (typeof value === 'string') return value.split(' ').filter((s) => s !== '');
  if (Array.isArray(value))
    return value.filter((s): s is string => typeof s === 'string' && s !== '');
  return [];
}
