/**
 * The HTTP endpoint's live sessions: whose each is (the authenticated subject), how many upstream
 * processes it started, and when it was last used. Per-user limits are checked before a session
 * starts anything; sessions a client left without DELETE are ended after an idle time (their
 * upstream process trees with them). The clock and the ending are injected: no I/O here.
 */
export interface RegistryLimits {
  /** Most live sessions one subject may hold. */
  maxSessionsPerUser: number;
  /** Most upstream processes one subject's sessions may hold together. */
  maxProcessesPerUser: number;
  /** A session nobody used for this long (and with nothing in flight or streaming) is ended. */
  idleMs: number;
}

export const DEFAULT_LIMITS: RegistryLimits = {
  maxSessionsPerUser: 20,
  maxProcessesPerUser: 100,
  idleMs: 5 * 60_000,
};

interface Tracked<T> {
  value: T;
  subject: string;
  processes: number;
  lastUsed: number;
  /** Requests being answered and open streams: a busy session is never idle. */
  busy: number;
}

export type Admission = { ok: true } | { ok: false; message: string };

export class SessionRegistry<T> {
  private readonly sessions = new Map<string, Tracked<T>>();
  /** Admitted but not yet registered (its upstream is starting): counted against the limits. */
  private readonly pending = new Map<string, { sessions: number; processes: number }>();

  constructor(
    private readonly limits: RegistryLimits,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  get(id: string): T | undefined {
    return this.sessions.get(id)?.value;
  }

  ids(): string[] {
    return [...this.sessions.keys()];
  }

  private usage(subject: string): { sessions: number; processes: number } {
    const p = this.pending.get(subject) ?? { sessions: 0, processes: 0 };
    let sessions = p.sessions;
    let processes = p.processes;
    for (const s of this.sessions.values())
      if (s.subject === subject) {
        sessions += 1;
        processes += s.processes;
      }
    return { sessions, processes };
  }

  /**
   * Whether `subject` may open one more session starting `processes` upstream processes. When
   * it may, the room is held until `register` or `release`.
   */
  admit(subject: string, processes: number): Admission {
    const used = this.usage(subject);
    if (used.sessions + 1 > this.limits.maxSessionsPerUser)
      return {
        ok: false,
        message: `Too many sessions: ${subject} already holds ${used.sessions} (limit max_sessions_per_user = ${this.limits.maxSessionsPerUser}; end one with DELETE, or raise --max-sessions-per-user / [gatehouse_http] max_sessions_per_user)`,
      };
    if (used.processes + processes > this.limits.maxProcessesPerUser)
      return {
        ok: false,
        message: `Too many upstream processes: ${subject}'s sessions hold ${used.processes} and a new one starts ${processes} (limit max_processes_per_user = ${this.limits.maxProcessesPerUser}; end a session with DELETE, or raise --max-processes-per-user / [gatehouse_http] max_processes_per_user)`,
      };
    const p = this.pending.get(subject) ?? { sessions: 0, processes: 0 };
    this.pending.set(subject, { sessions: p.sessions + 1, processes: p.processes + processes });
    return { ok: true };
  }

  /** Gives back room `admit` held (the session was refused or failed to start). */
  release(subject: string, processes: number): void {
    const p = this.pending.get(subject);
    if (!p) return;
    if (p.sessions <= 1) this.pending.delete(subject);
    else
      this.pending.set(subject, { sessions: p.sessions - 1, processes: p.processes - processes });
  }

  /** A session that started: its room moves from pending to live. */
  register(id: string, value: T, subject: string, processes: number): void {
    this.release(subject, processes);
    this.sessions.set(id, { value, subject, processes, lastUsed: this.now(), busy: 0 });
  }

  remove(id: string): T | undefined {
    const s = this.sessions.get(id);
    this.sessions.delete(id);
    return s?.value;
  }

  /** Marks use of a session; the returned function ends it (a request answered, a stream closed). */
  use(id: string): () => void {
    const s = this.sessions.get(id);
    if (!s) return () => undefined;
    s.busy += 1;
    s.lastUsed = this.now();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      s.busy -= 1;
      s.lastUsed = this.now();
    };
  }

  /** Sessions idle longer than the limit, with nothing in flight: the ones to end now. */
  idle(): string[] {
    const cutoff = this.now() - this.limits.idleMs;
    return [...this.sessions]
      .filter(([, s]) => s.busy === 0 && s.lastUsed <= cutoff)
      .map(([id]) => id);
  }
}
