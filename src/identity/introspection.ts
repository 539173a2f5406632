import type { ClaimCheck, ClaimExpectation } from './claims.js';
import { checkClaims } from './claims.js';

const TIMEOUT_MS = 5000;

export interface IntrospectionOptions {
  endpoint: string;
  clientId: string;
  /** The client secret (read from the environment variable the admin named). */
  clientSecret: string;
  /** The issuer label for identities when the answer names none and no issuer is configured. */
  fallbackIssuer: string;
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding. */
function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/**
 * Opaque tokens via RFC 7662 introspection: the gateway authenticates as its own client, asks
 * whether the token is active, and applies the same claim checks as for JWTs. Anything but a
 * clear `active: true` answer that passes them is a refusal (fail closed).
 */
export function introspector(options: IntrospectionOptions) {
  return async function introspect(token: string, expect: ClaimExpectation): Promise<ClaimCheck> {
    const refuse = (description: string): ClaimCheck => ({
      ok: false,
      refusal: { status: 401, error: 'invalid_token', description },
    });
    let answer: Record<string, unknown>;
    try {
      const res = await fetch(options.endpoint, {
        method: 'POST',
        headers: {
          authorization: basicAuth(options.clientId, options.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (!res.ok) return refuse(`the token could not be introspected (HTTP ${res.status})`);
      answer = (await res.json()) as Record<string, unknown>;
    } catch (err) {
      return refuse(`the token could not be introspected: ${(err as Error).message}`);
    }
    if (answer === null || typeof answer !== 'object' || answer.active !== true)
      return refuse('the token is not active');
    const check = checkClaims(answer, expect, Math.floor(Date.now() / 1000), 'introspection');
    if (check.ok && check.identity.issuer === 'unknown')
      check.identity.issuer = options.fallbackIssuer;
    return check;
  };
}
