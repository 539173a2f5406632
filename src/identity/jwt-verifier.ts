import { createRemoteJWKSet, errors, jwtVerify } from 'jose';
import type { JWTPayload } from 'jose';
import type { ClaimCheck, ClaimExpectation } from './claims.js';
import { checkClaims } from './claims.js';
import { secureUrlProblem } from '../requirements/parse-identity-table.js';

/** How long a discovery or key fetch may take before the token is refused. */
const FETCH_TIMEOUT_MS = 5000;

export interface JwtVerifierOptions {
  issuer: string;
  /** The JWKS URL; null: read `jwks_uri` from the issuer's discovery document. */
  jwksUrl: string | null;
  algorithms: readonly string[];
  /** Seconds after a key fetch before an unknown `kid` may trigger another one. */
  cooldownSeconds: number;
}

/**
 * Finds the issuer's JWKS URL: OpenID discovery, then RFC 8414 metadata. The document must name
 * the same issuer (else a different server's keys would vouch for this one's tokens).
 */
async function discoverJwksUrl(issuer: string): Promise<string> {
  const base = issuer.replace(/\/$/, '');
  const u = new URL(issuer);
  const candidates = [
    `${base}/.well-known/openid-configuration`,
    `${u.origin}/.well-known/oauth-authorization-server${u.pathname === '/' ? '' : u.pathname}`,
  ];
  const problems: string[] = [];
  for (const url of candidates) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!res.ok) {
        problems.push(`${url}: HTTP ${res.status}`);
        continue;
      }
      const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
      if (doc.issuer !== issuer) {
        problems.push(`${url} names another issuer (${String(doc.issuer)})`);
        continue;
      }
      if (typeof doc.jwks_uri !== 'string' || secureUrlProblem(doc.jwks_uri)) {
        problems.push(`${url}: jwks_uri missing or not https`);
        continue;
      }
      return doc.jwks_uri;
    } catch (err) {
      problems.push(`${url}: ${(err as Error).message}`);
    }
  }
  throw new Error(`cannot discover the issuer's keys: ${problems.join('; ')}`);
}

/** A reason for a JOSE failure, phrased for the client (never the token itself). */
function describeJoseError(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'the token is not valid yet (nbf)';
    if (err.claim === 'iss') return 'the token is not from the trusted issuer';
    if (err.claim === 'aud') return 'the token is not for this gateway (audience)';
    return `the token's ${err.claim} claim is not acceptable`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return 'the token is signed with an algorithm this gateway does not accept';
  if (err instanceof errors.JWKSNoMatchingKey)
    return "no key of the issuer matches the token's key id (kid)";
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (err instanceof errors.JWKSTimeout) return "the issuer's keys could not be fetched in time";
  if (err instanceof errors.JOSEError) return `the token is malformed (${err.code})`;
  return `the token could not be checked: ${(err as Error).message ?? String(err)}`;
}

/**
 * Verifies JWT access tokens with `jose`: the signature against the issuer's JWKS (fetched once,
 * cached, fetched again when a token names an unknown `kid`), only the allowed algorithms, then
 * the same claim checks as every other way in (`checkClaims`).
 */
export function jwtVerifier(options: JwtVerifierOptions) {
  let jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | null = null;
  const keySet = () => {
    jwks ??= (options.jwksUrl ? Promise.resolve(options.jwksUrl) : discoverJwksUrl(options.issuer))
      .then((url) =>
        createRemoteJWKSet(new URL(url), {
          timeoutDuration: FETCH_TIMEOUT_MS,
          cooldownDuration: options.cooldownSeconds * 1000,
        }),
      )
      .catch((err: unknown) => {
        jwks = null; // try discovery again on the next token
        throw err;
      });
    return jwks;
  };
  return async function verifyJwt(token: string, expect: ClaimExpectation): Promise<ClaimCheck> {
    let payload: JWTPayload;
    try {
      const keys = await keySet();
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: [...options.algorithms],
        issuer: options.issuer,
        audience: expect.audience,
        clockTolerance: expect.clockSkewSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      return {
        ok: false,
        refusal: { status: 401, error: 'invalid_token', description: describeJoseError(err) },
      };
    }
    return checkClaims(
      payload as Record<string, unknown>,
      expect,
      Math.floor(Date.now() / 1000),
      'oidc',
    );
  };
}
