import type { ServerResponse } from 'node:http';

/**
 * Server-sent events for open approvals pages: the queue lives in the audit store, shared with
 * every gateway process, so it is looked at every `everyMs` while someone is watching, and each
 * page is told when the set of pending approvals changes (a call starts waiting, or is decided
 * or expires). Pages then fetch the list again: the event itself carries nothing to render.
 */
export class LiveApprovals {
  private readonly watchers = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | null = null;
  private last = '';
  private beats = 0;

  constructor(
    private readonly pendingSignature: () => Promise<string>,
    private readonly everyMs = 1000,
  ) {}

  /** Keeps `res` open as an event stream until the page goes away. */
  watch(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write('retry: 2000\n\n');
    this.watchers.add(res);
    res.on('close', () => {
      this.watchers.delete(res);
      if (this.watchers.size === 0) this.stop();
    });
    if (!this.timer) this.timer = setInterval(() => void this.look(), this.everyMs);
  }

  /** Tells every page now (after a decision made here, without waiting for the next look). */
  async changed(): Promise<void> {
    await this.look(true);
  }

  private async look(force = false): Promise<void> {
    let signature: string;
    try {
      signature = await this.pendingSignature();
    } catch {
      return; // the store is briefly unavailable: look again next time
    }
    const beat = ++this.beats % 15 === 0;
    if (!force && signature === this.last) {
      if (beat) for (const w of this.watchers) w.write(': still here\n\n');
      return;
    }
    this.last = signature;
    for (const w of this.watchers) w.write('event: approvals\ndata: changed\n\n');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Ends every stream (the console is closing). */
  close(): void {
    this.stop();
    for (const w of this.watchers) w.end();
    this.watchers.clear();
  }
}
