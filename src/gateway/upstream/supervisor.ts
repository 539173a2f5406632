import type { McpServerConfig } from '../../config/mcp-server.js';
import type { ConnectOptions, Upstream } from './connect.js';
import { connectUpstream, describeStartFailure } from './connect.js';

export interface SupervisorEvents {
  /** A state change worth reporting: `failed` (it stopped), `restarting`, `ready` (again). */
  onState(state: 'failed' | 'restarting' | 'ready', detail: string | null): void;
}

/** Backoff between restart attempts: 0.5 s, 1 s, 2 s, … up to 30 s. */
export function restartDelayMs(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, attempt - 1));
}

/**
 * Keeps one upstream connected: when it stops on its own (a crash), it is restarted with
 * backoff; requests in the meantime get a clear error instead of hanging. Other upstreams are
 * not affected. `stop()` ends it for good (and kills its process tree).
 */
export class SupervisedUpstream {
  private upstream: Upstream | null = null;
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;

  constructor(
    readonly config: McpServerConfig,
    private readonly options: ConnectOptions,
    private readonly events: SupervisorEvents,
  ) {}

  /** The connection in use, or null while it is restarting. */
  get current(): Upstream | null {
    return this.upstream;
  }

  /** First start; throws when the server cannot start at all (the caller decides what that means). */
  async start(): Promise<Upstream> {
    return this.adopt(await connectUpstream(this.config, this.options));
  }

  private adopt(upstream: Upstream): Upstream {
    this.upstream = upstream;
    upstream.client.onclose = () => {
      if (this.stopping || this.upstream !== upstream) return;
      this.upstream = null;
      const tail = upstream.stderr().trim().split('\n').pop() ?? '';
      this.events.onState('failed', `the server stopped${tail ? `: ${tail}` : ''}`);
      void upstream.close();
      this.schedule();
    };
    return upstream;
  }

  private schedule(): void {
    if (this.stopping) return;
    this.attempt++;
    const delay = restartDelayMs(this.attempt);
    this.events.onState('restarting', `attempt ${this.attempt} in ${delay / 1000}s`);
    this.timer = setTimeout(() => void this.restart(), delay);
  }

  private async restart(): Promise<void> {
    this.timer = null;
    if (this.stopping) return;
    try {
      const upstream = await connectUpstream(this.config, this.options);
      if (this.stopping) {
        await upstream.close();
        return;
      }
      this.adopt(upstream);
      this.events.onState('ready', `restarted after ${this.attempt} attempt(s)`);
      this.attempt = 0;
    } catch (err) {
      this.events.onState('failed', `restart failed: ${describeStartFailure(err)}`);
      this.schedule();
    }
  }

  /**
   * The server says our session is gone (HTTP 404): start a new session now, without backoff.
   * Resolves with the new connection, or null when that fails (the backoff loop takes over).
   */
  async reconnect(reason: string): Promise<Upstream | null> {
    if (this.stopping) return null;
    const old = this.upstream;
    this.upstream = null;
    await old?.close();
    try {
      const fresh = this.adopt(await connectUpstream(this.config, this.options));
      this.events.onState('ready', `re-initialised: ${reason}`);
      return fresh;
    } catch (err) {
      this.events.onState('failed', `re-initialise failed: ${describeStartFailure(err)}`);
      this.schedule();
      return null;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    const upstream = this.upstream;
    this.upstream = null;
    await upstream?.close();
  }
}
