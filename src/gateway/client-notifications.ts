/**
 * What a client may tell the servers behind a gateway without asking (JSON-RPC notifications),
 * and where each goes. MCP 2025-11-25 defines four client→server notifications:
 *  - `notifications/initialized`: the gateway's own handshake (the SDK's Server takes it);
 *  - `notifications/cancelled`: the SDK's Server aborts the request in flight with that id, and
 *    the abort reaches the one upstream that request went to, under that upstream's own id;
 *  - `notifications/progress`: progress of a request the gateway sent the client (the SDK takes it);
 *  - `notifications/roots/list_changed`: handled here, sent to the servers that asked for roots.
 * Anything else (a `tools/call` without an id, an unknown method, a server→client notification)
 * is never forwarded: it would reach a server with no policy, approval or audit. It is dropped
 * and recorded.
 */

export const ROOTS_LIST_CHANGED = 'notifications/roots/list_changed';

/** The client→server notifications of the protocol (for the drop reason). */
export const CLIENT_NOTIFICATIONS = [
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  ROOTS_LIST_CHANGED,
] as const;

/** A server a notification may go to. */
export interface NotifiableServer {
  name: string;
  notify(notification: { method: string; params?: unknown }): Promise<void>;
}

export interface ClientNotificationRouting {
  /** The servers running now. */
  servers(): readonly NotifiableServer[];
  /** Whether a server has asked the client for its roots (roots/list) in this session. */
  askedForRoots(server: string): boolean;
  /** A notification was not forwarded, and why (stderr line + audit record). */
  dropped(method: string, reason: string): void;
}

const MAX_METHOD_CHARS = 200;

/** The gateway's handler for every client notification the SDK does not take itself. */
export function clientNotificationHandler(
  routing: ClientNotificationRouting,
): (notification: { method: string; params?: unknown }) => Promise<void> {
  return async (notification) => {
    const method =
      typeof notification.method === 'string'
        ? notification.method.slice(0, MAX_METHOD_CHARS)
        : String(notification.method);
    if (method === ROOTS_LIST_CHANGED) {
      const targets = routing.servers().filter((s) => routing.askedForRoots(s.name));
      await Promise.all(
        targets.map((s) => s.notify({ method: ROOTS_LIST_CHANGED }).catch(() => undefined)),
      );
      return;
    }
    if (method === 'notifications/initialized') return; // a repeat: the handshake is ours
    const reason =
      method === 'notifications/cancelled'
        ? 'no request in flight has that id'
        : method === 'notifications/progress'
          ? 'no request the gateway sent the client has that progress token'
          : `not a notification a client may send a server (MCP client→server notifications: ${CLIENT_NOTIFICATIONS.join(', ')}); it is never forwarded, so nothing reaches a server outside policy and audit`;
    routing.dropped(method, reason);
  };
}
