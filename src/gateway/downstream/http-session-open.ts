import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONRPCMessage, Server } from '@modelcontextprotocol/server';
import type { ConnectionInfo } from '../../pipeline/context.js';
import type { Identity } from '../../identity/identity.js';
import { bearerToken } from '../../identity/challenge.js';
import { lowerHeaders, rpcError, sendJson } from './http-messages.js';
import { HttpSessionTransport } from './http-session-transport.js';
import type { SessionRegistry } from './session-registry.js';
import type { GatewaySession, InitInfo, OpenedSession } from './session.js';
import { SERVER_UNAVAILABLE } from './session.js';
import { INVALID_REQUEST } from './stdio-line-transport.js';
import { codeOf } from '../../pipeline/error-table.js';

/** A transport-level refusal (headers, session, media type, a limit): error-table.ts. */
const HTTP_REFUSED = codeOf('http_refused');

/** One live HTTP session: its transport, its upstream side and the MCP server answering it. */
export interface HttpSessionEntry {
  transport: HttpSessionTransport;
  opened: GatewaySession;
  server: Server | null;
  /** Who opened the session: only the same caller may use it (and its limits are theirs). */
  principal: string;
}

/** Who is asking, as the endpoint authenticated the request. */
export interface HttpCaller {
  /** `user:SUB`, `service:SUB`, `token:HASH`, or `anonymous` (loopback without a token). */
  principal: string;
  /** The verified identity (null: no token, or only the endpoint's own shared token check). */
  identity: Identity | null;
  /** Whether a token was checked at all (the pipeline's `authSubject` is set only then). */
  authenticated: boolean;
  /**
   * The caller's verified identity-provider token: sent only to the IdP to exchange it for an
   * upstream-audience token (`exchange` servers), never to an upstream.
   */
  subjectToken?: string | null;
  /** Where this caller logs in to `user`-model upstreams through the gateway (`…/login/`), if served. */
  upstreamLoginUrl?: string;
}

/** The bearer of a person's IdP-verified token (OIDC or introspection), else null. */
export function subjectTokenOf(
  identity: Identity,
  authorization: string | string[] | undefined,
): string | null {
  if (identity.via !== 'oidc' && identity.via !== 'introspection') return null;
  const token = bearerToken(authorization);
  return typeof token === 'string' ? token : null;
}

/** What opening a session needs from the endpoint. */
export interface SessionOpening {
  registry: SessionRegistry<HttpSessionEntry>;
  /** Upstream processes the new session starts. */
  perSession: number;
  options: {
    open(init: InitInfo, connection: ConnectionInfo, caller?: HttpCaller): Promise<OpenedSession>;
    onLost?(sessionId: string, reason: string): void;
    /** Prefixes session ids (`ID.uuid`) so a proxy can route each session to its replica. */
    replicaId?: string;
  };
  drop(id: string): Promise<void>;
}

/** A session id: `REPLICA.UUID` on a named replica (a proxy routes by the prefix), else a UUID. */
function newSessionId(replicaId: string | undefined): string {
  return replicaId ? `${replicaId}.${randomUUID()}` : randomUUID();
}

/**
 * A POST without `Mcp-Session-Id`: it must be a lone `initialize`. The per-user limits are
 * checked before the gateway mode starts anything; a refused initialize keeps no session.
 */
export async function openHttpSession(
  ctx: SessionOpening,
  req: IncomingMessage,
  res: ServerResponse,
  messages: JSONRPCMessage[],
  forwarded: boolean,
  caller: HttpCaller,
): Promise<void> {
  const message = messages[0] as {
    method?: unknown;
    id?: unknown;
    params?: Record<string, unknown>;
  };
  if (messages.length !== 1 || message.method !== 'initialize' || !('id' in message)) {
    const initInBatch = messages.some((m) => 'method' in m && m.method === 'initialize');
    rpcError(
      res,
      400,
      initInBatch ? INVALID_REQUEST : HTTP_REFUSED,
      initInBatch
        ? 'Invalid Request: initialize must be sent alone'
        : 'Bad Request: no session: start with initialize (without Mcp-Session-Id)',
      message.id,
    );
    return;
  }
  const admitted = ctx.registry.admit(caller.principal, ctx.perSession);
  if (!admitted.ok) {
    rpcError(res, 429, HTTP_REFUSED, admitted.message, message.id);
    return;
  }
  let registered = false;
  try {
    const info = message.params?.clientInfo as { name?: unknown; version?: unknown } | undefined;
    const init: InitInfo = {
      capabilities: (message.params?.capabilities as Record<string, unknown> | undefined) ?? {},
      clientInfo:
        typeof info?.name === 'string' && typeof info.version === 'string'
          ? { name: info.name, version: info.version }
          : null,
    };
    const connection: ConnectionInfo = {
      transport: 'http',
      headers: lowerHeaders(req, forwarded),
      authSubject: caller.authenticated ? caller.principal : null,
      clientInfo: init.clientInfo,
      identity: caller.identity,
    };
    const opened = await ctx.options.open(init, connection, caller);
    if ('refusal' in opened) {
      sendJson(res, 200, {
        jsonrpc: '2.0',
        id: message.id,
        error: { code: SERVER_UNAVAILABLE, message: opened.refusal },
      });
      return;
    }
    const id = newSessionId(ctx.options.replicaId);
    connection.sessionId = id;
    const transport = new HttpSessionTransport(id);
    const entry: HttpSessionEntry = {
      transport,
      opened,
      server: null,
      principal: caller.principal,
    };
    ctx.registry.register(id, entry, caller.principal, ctx.perSession);
    registered = true;
    const used = ctx.registry.use(id);
    res.once('close', used);
    void opened.lost.then((reason) => {
      if (ctx.registry.get(id) !== entry) return;
      ctx.options.onLost?.(id, reason);
      void ctx.drop(id);
    });
    entry.server = await opened.serve(transport, connection);
    transport.handlePost(res, messages, false, (answers) => {
      // A refused initialize leaves nothing to keep (the client cannot use the session).
      if (answers.some((a) => 'error' in a)) void ctx.drop(id);
    });
  } finally {
    if (!registered) ctx.registry.release(caller.principal, ctx.perSession);
  }
}
