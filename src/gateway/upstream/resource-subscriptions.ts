import type { Client, McpSubscription } from '@modelcontextprotocol/client';

/**
 * How many resources one client session may watch on one 2026-07-28 server: each is a
 * `subscriptions/listen` stream Gatehouse holds open (a long-lived POST on HTTP), so a client
 * cannot make Gatehouse hold an unbounded number (the SDK's own servers refuse past 1024).
 */
export const MAX_RESOURCE_SUBSCRIPTIONS = 32;

/** Why a legacy `resources/subscribe` could not be bridged (the message says what to do). */
export class ResourceSubscriptionError extends Error {
  constructor(
    readonly kind: 'method_not_found' | 'invalid_request' | 'server_unavailable',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A legacy (2025-11-25) client's `resources/subscribe` / `unsubscribe` toward a 2026-07-28 server,
 * which has neither: each subscribed URI is one `subscriptions/listen` stream whose filter names
 * only that URI. The server's `notifications/resources/updated` arrive on it and reach the
 * client's handlers like any other server notification (the Relay, masked).
 *
 * One stream per URI rather than one per server holding the union: `subscribe` is answered once
 * the server acknowledged that very URI (never faked), `unsubscribe` ends exactly that stream,
 * and a change to the set never re-opens the others (no window where their updates are lost or
 * doubled). The cost, a stream per URI, is bounded by MAX_RESOURCE_SUBSCRIPTIONS.
 */
export class ResourceSubscriptions {
  private readonly streams = new Map<string, Promise<McpSubscription>>();
  private closed = false;

  constructor(
    private readonly client: Client,
    private readonly serverName: string,
    private readonly limit = MAX_RESOURCE_SUBSCRIPTIONS,
  ) {}

  /** The URIs watched now (opened or being opened). */
  uris(): string[] {
    return [...this.streams.keys()];
  }

  /** Opens a listen stream for `uri` (once: subscribing again to a watched URI changes nothing). */
  async subscribe(uri: string): Promise<void> {
    if (this.closed)
      throw new ResourceSubscriptionError(
        'server_unavailable',
        `server '${this.serverName}' is stopping; subscribe again once it is back`,
      );
    const existing = this.streams.get(uri);
    if (existing) {
      await existing;
      return;
    }
    if (!this.client.getServerCapabilities()?.resources?.subscribe)
      throw new ResourceSubscriptionError(
        'method_not_found',
        `server '${this.serverName}' does not offer resource subscriptions (its capabilities have no resources.subscribe); read the resource again instead`,
      );
    if (this.streams.size >= this.limit)
      throw new ResourceSubscriptionError(
        'invalid_request',
        `Gatehouse refused resources/subscribe of ${uri}: this session already watches ${this.limit} resources of server '${this.serverName}' (the limit); unsubscribe from one first`,
      );
    const opening = this.open(uri);
    this.streams.set(uri, opening);
    try {
      await opening;
    } catch (err) {
      if (this.streams.get(uri) === opening) this.streams.delete(uri);
      throw err;
    }
  }

  /** Ends the stream for `uri`; a URI not watched is already unsubscribed. */
  async unsubscribe(uri: string): Promise<void> {
    const stream = this.streams.get(uri);
    if (!stream) return;
    this.streams.delete(uri);
    await (await stream.catch(() => null))?.close().catch(() => undefined);
  }

  /** The session ended (or the server stops): every stream is closed, none opens again. */
  async closeAll(): Promise<void> {
    this.closed = true;
    const streams = [...this.streams.values()];
    this.streams.clear();
    await Promise.all(
      streams.map(async (s) => (await s.catch(() => null))?.close().catch(() => undefined)),
    );
  }

  private async open(uri: string): Promise<McpSubscription> {
    let subscription: McpSubscription;
    try {
      subscription = await this.client.listen({ resourceSubscriptions: [uri] });
    } catch (err) {
      throw new ResourceSubscriptionError(
        'server_unavailable',
        `server '${this.serverName}' refused subscriptions/listen for ${uri}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    // The acknowledgement says what the server will deliver: a URI it left out is not watched.
    if (!subscription.honoredFilter.resourceSubscriptions?.includes(uri)) {
      await subscription.close().catch(() => undefined);
      throw new ResourceSubscriptionError(
        'method_not_found',
        `server '${this.serverName}' did not accept a subscription to ${uri} (its acknowledgement left the URI out); read the resource again instead`,
      );
    }
    void subscription.closed.then((how) => {
      if (how === 'local' || this.streams.get(uri) === undefined) return;
      // The server ended it: forget it (a new subscribe opens another) and say so.
      void this.streams.get(uri)?.then((current) => {
        if (current !== subscription) return;
        this.streams.delete(uri);
        this.client.onerror?.(
          new Error(
            `the server ended the subscriptions/listen stream for ${uri} (${how}); the client will not hear of its updates until it subscribes again`,
          ),
        );
      });
    });
    return subscription;
  }
}
