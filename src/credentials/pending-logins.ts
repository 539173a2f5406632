import type { PendingLogin } from './login.js';

/** How long a started login waits for its browser (the authorization server's own limit is similar). */
export const PENDING_LOGIN_TTL_MS = 10 * 60_000;
/** Started logins one principal may hold at once: a new one pushes out its oldest. */
export const PENDING_PER_PRINCIPAL = 5;
/** All principals together: past this, new logins are refused until some finish or expire. */
export const PENDING_TOTAL = 10_000;

/**
 * The team gateway's started upstream logins, by `state`: held server-side so the browser's
 * redirect carries nothing but the random state, each taken at most once (a replayed redirect
 * finds nothing), gone after ten minutes, and bounded per principal so a caller cannot grow
 * the gateway's memory.
 */
export class PendingLogins {
  private readonly byState = new Map<string, { login: PendingLogin; expiresAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Holds a started login; its expiry (epoch ms), or null when the gateway holds too many. */
  add(login: PendingLogin): number | null {
    this.sweep();
    const mine = [...this.byState].filter(([, p]) => p.login.principal === login.principal);
    for (const [state] of mine.slice(0, Math.max(0, mine.length - PENDING_PER_PRINCIPAL + 1)))
      this.byState.delete(state);
    if (this.byState.size >= PENDING_TOTAL) return null;
    const expiresAt = this.now() + PENDING_LOGIN_TTL_MS;
    this.byState.set(login.state, { login, expiresAt });
    return expiresAt;
  }

  /** The login a redirect's state names, removed (single use); null when unknown or expired. */
  take(state: string): PendingLogin | null {
    const found = this.byState.get(state);
    this.byState.delete(state);
    return found && found.expiresAt > this.now() ? found.login : null;
  }

  get size(): number {
    this.sweep();
    return this.byState.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [state, p] of this.byState) if (p.expiresAt <= now) this.byState.delete(state);
  }
}
