import type { JSONRPCMessage, Transport, TransportSendOptions } from '@modelcontextprotocol/server';

/**
 * Wraps a transport so the gateway can read the client's first message (its `initialize`, with
 * its capabilities) before the MCP `Server` that answers it exists: messages that arrive before
 * a consumer is attached are queued and delivered, in order, when it attaches.
 */
export class BufferedTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private consumer?: (message: JSONRPCMessage) => void;
  private readonly queue: JSONRPCMessage[] = [];
  private opened = false;
  private ended = false;
  private waiting: { resolve: (m: JSONRPCMessage) => void; reject: (e: Error) => void } | null =
    null;
  /**
   * Resolves when the client hangs up. Kept apart from `onclose`, which whoever serves the
   * connection owns (the SDK's `serveStdio` installs its own on a modern connection).
   */
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  constructor(private readonly inner: Transport) {
    this.closed = new Promise<void>((resolve) => {
      this.markClosed = resolve;
    });
    inner.onmessage = (message) => this.deliver(message);
    inner.onerror = (error) => this.onerror?.(error);
    inner.onclose = () => {
      this.ended = true;
      this.waiting?.reject(new Error('the client closed the connection before initializing'));
      this.waiting = null;
      this.markClosed();
      this.onclose?.();
    };
  }

  get onmessage(): ((message: JSONRPCMessage) => void) | undefined {
    return this.consumer;
  }

  set onmessage(handler: ((message: JSONRPCMessage) => void) | undefined) {
    this.consumer = handler;
  }

  /** Starts the inner transport and resolves with the first message the client sends. */
  async firstMessage(): Promise<JSONRPCMessage> {
    const first = new Promise<JSONRPCMessage>((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
    await this.open();
    return first;
  }

  private async open(): Promise<void> {
    if (this.opened) return;
    this.opened = true;
    await this.inner.start();
  }

  private deliver(message: JSONRPCMessage): void {
    if (this.waiting) {
      const { resolve } = this.waiting;
      this.waiting = null;
      this.queue.push(message);
      resolve(message);
      return;
    }
    if (this.consumer && this.queue.length === 0) this.consumer(message);
    else this.queue.push(message);
  }

  /** Called by `Server.connect()`: flushes what arrived before the server existed. */
  async start(): Promise<void> {
    await this.open();
    queueMicrotask(() => {
      while (this.consumer && this.queue.length > 0)
        this.consumer(this.queue.shift() as JSONRPCMessage);
    });
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    return this.inner.send(message, options);
  }

  close(): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.ended = true;
    return this.inner.close();
  }
}
