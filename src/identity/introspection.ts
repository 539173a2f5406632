import { createHash } from 'node:crypto';
import type { ClaimCheck, ClaimExpectation } from './claims.js';
import { checkClaims } from './claims.js';

const TIMEOUT_MS = 5000;
/** Most answers kept at once; the oldest goes first (a flood of tokens cannot grow the cache). */
export const INTROSPECTION_CACHE_ENTRIES = 10_000;
export const DEFAULT_INTROSPECTION_CACHE_SECONDS = 30;
export const MAX_INTROSPECTION_CACHE_SECONDS = 300;

export interface IntrospectionOptions {
  endpoint: string;
  clientId: string;
  /** The client secret (read from the environment variable the admin named). */
  clientSecret: string;
  /** The issuer label for identities when the answer names none and no issuer is configured. */
  fallbackIssuer: string;
  /** How long an `active` answer is reused (0: ask for every request). Never past the token's `exp`. */
  cacheSeconds: number;
  /** Milliseconds since the epoch (tests pass a clock). */
  now?: () => number;
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding. */
function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64')}`;
}

/**
 * Active answers by token hash (the token itself is never kept). An entry lasts `seconds`, and
 * never past the token's own `exp` (no clock skew added): a revoked token is accepted from the
 * cache for at most `seconds` after the revocation, an expired one never.
 */
function answerCache(seconds: number, now: () => number) {
  const entries = new Map<string, { answer: Record<string, unknown>; until: number }>();
  const keyOf = (token: string) => createHash('sha256').update(token).digest('base64url');
  return {
    get(token: string): Record<string, unknown> | null {
      const key = keyOf(token);
      const hit = entries.get(key);
      if (!hit) return null;
      if (now() < hit.until) return hit.answer;
      entries.delete(key);
      return null;
    },
    put(token: string, answer: Record<string, unknown>): void {
      const exp = typeof answer.exp === 'number' ? answer.exp * 1000 : 0;
      const until = Math.min(now() + seconds * 1000, exp);
      if (seconds <= 0 || until <= now()) return;
      while (entries.size >= INTROSPECTION_CACHE_ENTRIES) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
      entries.set(keyOf(token), { answer, until });
    },
  };
}

/**
 * Opaque tokens via RFC 7662 introspection: the gateway authenticates as its own client, asks
 * whether the token is active, and applies the same claim checks as for JWTs. Anything but a
 * clear `active: true` answer that passes them is a refusal (fail closed). Active answers are
 * reused for a short, bounded time so a session's every request does not cost the issuer a call;
 * refusals and failures are never cached.
 */
export function introspector(options: IntrospectionOptions) {
  const now = options.now ?? Date.now;
  const cache = answerCache(options.cacheSeconds, now);
  return async function introspect(token: string, expect: ClaimExpectation): Promise<ClaimCheck> {
    const refuse = (description: string): ClaimCheck => ({
      ok: false,
      refusal: { status: 401, error: 'invalid_token', description },
    });
    let answer = cache.get(token);
    const fresh = answer === null;
    if (answer === null) {
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
    }
    if (answer === null || typeof answer !== 'object' || answer.active !== true)
      return refuse('the token is not active');
    const check = checkClaims(answer, expect, Math.floor(now() / 1000), 'introspection');
    if (!check.ok) return check;
    if (fresh) cache.put(token, answer);
    if (check.identity.issuer === 'unknown') check.identity.issuer = options.fallbackIssuer;
    return check;
  };
}
