import type { Identity, IdentityVia } from './identity.js';
import type { Refusal } from './challenge.js';
import { parseScopes } from './challenge.js';

/** What a token's claims must say (the signature, if any, is checked before this). */
export interface ClaimExpectation {
  /** Required `iss`; null: not checked (introspection without a configured issuer). */
  issuer: string | null;
  /** This gateway's resource URI: `aud` must name it. */
  audience: string;
  requiredScopes: readonly string[];
  clockSkewSeconds: number;
  groupsClaim: string;
}

export type ClaimCheck =
  { ok: true; identity: Identity; scopes: string[] } | { ok: false; refusal: Refusal };

const invalid = (description: string): ClaimCheck => ({
  ok: false,
  refusal: { status: 401, error: 'invalid_token', description },
});

function numeric(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Checks a token's claims against what this gateway accepts, and reads the identity out of
 * them. Used for verified JWT payloads and for introspection answers alike, so both ways in
 * refuse the same tokens: a wrong or missing issuer or audience, expiry (`exp` required) and
 * not-before with the allowed skew, a missing subject, missing scopes (403 insufficient_scope).
 * Pure: `now` is seconds since the epoch.
 */
export function checkClaims(
  claims: Record<string, unknown>,
  expect: ClaimExpectation,
  now: number,
  via: IdentityVia,
): ClaimCheck {
  const skew = expect.clockSkewSeconds;
  const iss = typeof claims.iss === 'string' ? claims.iss : null;
  if (expect.issuer !== null && iss !== expect.issuer)
    return invalid(
      `the token's issuer ${iss === null ? 'is missing' : `'${iss}'`} is not the trusted issuer`,
    );
  const aud = claims.aud;
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(expect.audience))
    return invalid(`the token is not for this gateway (audience must be ${expect.audience})`);
  const exp = numeric(claims.exp);
  if (exp === null) return invalid('the token has no expiry (exp)');
  if (now - skew >= exp) return invalid('the token has expired');
  const nbf = claims.nbf === undefined ? null : numeric(claims.nbf);
  if (claims.nbf !== undefined && nbf === null) return invalid('the token has a malformed nbf');
  if (nbf !== null && now + skew < nbf) return invalid('the token is not valid yet (nbf)');
  const iat = claims.iat === undefined ? null : numeric(claims.iat);
  if (iat !== null && now + skew < iat) return invalid('the token was issued in the future (iat)');
  const sub =
    typeof claims.sub === 'string' && claims.sub !== ''
      ? claims.sub
      : typeof claims.client_id === 'string' && claims.client_id !== ''
        ? claims.client_id
        : null;
  if (sub === null) return invalid('the token names no subject (sub)');
  const scopes = parseScopes(claims.scope ?? claims.scp);
  const missing = expect.requiredScopes.filter((s) => !scopes.includes(s));
  if (missing.length > 0)
    return {
      ok: false,
      refusal: {
        status: 403,
        error: 'insufficient_scope',
        description: `the token lacks the scope ${missing.join(' ')}`,
      },
    };
  const groupsRaw = claims[expect.groupsClaim];
  const groups = Array.isArray(groupsRaw)
    ? groupsRaw.filter((g): g is string => typeof g === 'string')
    : typeof groupsRaw === 'string'
      ? [groupsRaw]
      : [];
  return {
    ok: true,
    scopes,
    identity: {
      issuer: iss ?? 'unknown',
      subject: sub,
      email: typeof claims.email === 'string' ? claims.email : null,
      groups,
      via,
    },
  };
}
