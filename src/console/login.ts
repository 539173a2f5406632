import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Identity } from '../identity/identity.js';

/**
 * Who may use the console. Locally the proof is a one-time login link the CLI prints to the
 * person who started it (like Jupyter's token): opening it trades the link for a session cookie
 * (HttpOnly, SameSite=Strict) and the link stops working. Every state change must also carry the
 * session's CSRF token. Only hashes of links and sessions are kept; comparisons are constant time.
 */
export interface ConsoleSession {
  /** The CSRF token the page must send with every state change (`x-csrf-token`). */
  csrf: string;
  expiresAt: number;
  /** Under the team gateway: the person the identity provider vouched for; locally null. */
  person: Identity | null;
}

export type LoginRefusal = { ok: false; message: string };

/** How long a printed link stays usable, and how long a session lasts. */
export const LOGIN_LINK_TTL_MS = 60 * 60 * 1000;
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/**
 * A session from an identity-provider token (team gateway): about an access token's life, so a
 * person the IdP stops vouching for loses the console soon (their token is not checked again).
 */
export const PERSON_SESSION_TTL_MS = 60 * 60 * 1000;

const digest = (value: string) => createHash('sha256').update(value).digest('hex');
const secret = () => randomBytes(32).toString('base64url');

/** Constant-time equality of two strings (false for different lengths). */
export function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of cookie `name` in a Cookie header, or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export class ConsoleLogin {
  /** Link token hash → expiry (ms), or 'used' once exchanged (so a reuse is named as such). */
  private readonly links = new Map<string, number | 'used'>();
  /** Session id hash → session. */
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new single-use login token, valid for `ttlMs`. */
  issueLink(ttlMs = LOGIN_LINK_TTL_MS): string {
    const token = secret();
    this.links.set(digest(token), this.now() + ttlMs);
    return token;
  }

  /** Trades a login token for a new session (id for the cookie, and its CSRF token). */
  exchange(token: string): { ok: true; sessionId: string; session: ConsoleSession } | LoginRefusal {
    const key = digest(token);
    const link = this.links.get(key);
    if (link === undefined)
      return { ok: false, message: 'This login link is not one this console issued.' };
    if (link === 'used')
      return {
        ok: false,
        message:
          'This login link was already used: each link signs in once. Ask for a new link from a signed-in console, or restart `gatehouse console`.',
      };
    if (link <= this.now()) {
      this.links.delete(key);
      return {
        ok: false,
        message:
          'This login link has expired. Restart `gatehouse console` (or ask a signed-in console) for a new one.',
      };
    }
    this.links.set(key, 'used');
    return { ok: true, ...this.open(null) };
  }

  /** A new session for `person` (the team gateway, once their identity-provider token checked out). */
  open(
    person: Identity | null,
    ttlMs = person ? PERSON_SESSION_TTL_MS : SESSION_TTL_MS,
  ): { sessionId: string; session: ConsoleSession } {
    const sessionId = secret();
    const session = { csrf: secret(), expiresAt: this.now() + ttlMs, person };
    this.sessions.set(digest(sessionId), session);
    return { sessionId, session };
  }

  /** The live session a cookie value names, or null (unknown or expired). */
  session(sessionId: string | null): ConsoleSession | null {
    if (!sessionId) return null;
    const key = digest(sessionId);
    const found = this.sessions.get(key);
    if (!found) return null;
    if (found.expiresAt <= this.now()) {
      this.sessions.delete(key);
      return null;
    }
    return found;
  }

  /** Ends a session (sign out). */
  end(sessionId: string | null): void {
    if (sessionId) this.sessions.delete(digest(sessionId));
  }
}
