import type { ParkedCalls } from '../parked-calls.js';
import type { Readable, Writable } from 'node:stream';
import { LOG_LEVEL_META_KEY, ProtocolError, Server } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type {
  Implementation,
  JSONRPCMessage,
  ServerCapabilities,
  Transport,
} from '@modelcontextprotocol/server';
import type { Client } from '@modelcontextprotocol/client';
import type { ConnectionInfo } from '../../pipeline/context.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import type { RequestScope } from '../upstream-forwarder.js';
import { passThroughSchema } from '../wire.js';
import { BufferedTransport } from './buffered-transport.js';
import type { EdgeProblem } from './stdio-line-transport.js';
import { StdioLineTransport } from './stdio-line-transport.js';
import { codeOf } from '../../pipeline/error-table.js';
import { gatehouseVersion } from '../../version.js';
import type { Era } from './era.js';
import { envelopeOf, initFromEnvelope, logLevelAdmits, openingEra } from './era.js';

/** What the client said in `initialize`. */
export interface InitInfo {
  capabilities: Record<string, unknown>;
  clientInfo: { name: string; version: string } | null;
}

/** A stdio client that has sent its first message; nothing has answered it yet. */
export interface StdioSession {
  downstream: BufferedTransport;
  first: JSONRPCMessage;
  /** The era the first message opened (era.ts `openingEra`). */
  era: Era;
  /**
   * What the upstream side is opened with: `initialize`'s capabilities (legacy), or the first
   * request's `_meta` envelope (modern). A modern client's later requests may declare other
   * capabilities: each request's own envelope reaches the pipeline and, for a modern upstream,
   * rides the forwarded request (upstream-forwarder.ts); a legacy upstream keeps the ones it
   * was initialised with for the life of the process.
   */
  init: InitInfo;
  /** Resolves when the client hangs up. */
  closed: Promise<void>;
}

export async function openStdioSession(
  stdin: Readable,
  stdout: Writable,
  options: { maxLineBytes?: number; onProblem?: (p: EdgeProblem) => void } = {},
): Promise<StdioSession | null> {
  const downstream = new BufferedTransport(new StdioLineTransport(stdin, stdout, options));
  const first = await downstream.firstMessage().catch(() => null);
  if (!first) return null;
  const era = openingEra(first);
  const init = era === 'modern' ? initFromEnvelope(envelopeOf(first)) : asInitialize(first);
  return { downstream, first, era, init, closed: downstream.closed };
}

function asInitialize(message: JSONRPCMessage): InitInfo {
  const params =
    'method' in message && message.method === 'initialize'
      ? (message.params as Record<string, unknown> | undefined)
      : undefined;
  const info = params?.clientInfo as { name?: unknown; version?: unknown } | undefined;
  return {
    capabilities: (params?.capabilities as Record<string, unknown> | undefined) ?? {},
    clientInfo:
      typeof info?.name === 'string' && typeof info.version === 'string'
        ? { name: info.name, version: info.version }
        : null,
  };
}

/** The server(s) this gateway fronts cannot be used (pipeline/error-table.ts). */
export const SERVER_UNAVAILABLE = codeOf('server_unavailable');

/** Answers the client's `initialize` with an error that says why, then hangs up. */
export async function refuseInitialize(session: StdioSession, message: string): Promise<void> {
  const { first, downstream } = session;
  if ('id' in first && 'method' in first) {
    await downstream
      .send({
        jsonrpc: '2.0',
        id: first.id,
        error: { code: SERVER_UNAVAILABLE, message },
      } as JSONRPCMessage)
      .catch(() => undefined);
  }
  await downstream.close();
}

/**
 * Carries what upstream servers send to the client (sampling, elicitation and roots requests,
 * logs, list_changed, …) to the one downstream client, for any number of upstreams.
 */
export class Relay {
  private downstream: Server | null = null;
  /** Servers that asked the client for its roots: the ones told when the roots change. */
  private readonly rootsAskedBy = new Set<string | null>();
  /** Modern HTTP clients' `subscriptions/listen` streams (no one Server holds them). */
  private readonly listeners = new Set<(notification: ClientNotice) => void>();

  /**
   * Where a legacy upstream's question goes while it works on a modern client's call (which
   * cannot be sent server→client requests): held there and asked as `input_required`.
   */
  parking: ParkedCalls | null = null;

  /** `shape` masks what a server sends (logs, sampling and elicitation text) on its way. */
  constructor(private readonly shape: OutgoingShaper = (_server, m) => m) {}

  wireUpstream(client: Client, server: string | null = null): void {
    client.fallbackRequestHandler = async (request, ctx) => {
      const held =
        server === null
          ? null
          : this.parking?.hold(server, { method: request.method, params: request.params });
      if (held) return (await held) as never;
      if (!this.downstream)
        throw new ProtocolError(
          codeOf('internal_error'),
          this.listeners.size > 0
            ? `the client speaks MCP 2026-07-28, which has no server→client requests: '${request.method}' cannot be sent to it`
            : 'client not connected yet',
        );
      if (request.method === 'roots/list') this.rootsAskedBy.add(server);
      const shaped = this.shape(server, { method: request.method, params: request.params });
      return (await this.downstream.request(
        { method: shaped.method, params: shaped.params } as never,
        passThroughSchema,
        {
          signal: ctx.mcpReq.signal,
        },
      )) as never;
    };
    client.fallbackNotificationHandler = async (notification) => {
      await this.toClient(this.shape(server, notification));
    };
  }

  /** Tells the client something unasked (list_changed, logs): its Server and any listen streams. */
  async toClient(notification: ClientNotice): Promise<void> {
    for (const listener of this.listeners) listener(notification);
    await this.downstream?.notification(notification as never).catch(() => undefined);
  }

  /** Receives what the session tells its client unasked; returns the way to stop. */
  listen(listener: (notification: ClientNotice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether `server` has asked the client for its roots (roots/list) in this session. */
  askedForRoots(server: string): boolean {
    return this.rootsAskedBy.has(server);
  }

  attach(server: Server): void {
    this.downstream = server;
  }
}

/** A notification on its way to the client. */
export type ClientNotice = { method: string; params?: unknown };

/** Rewrites a message a server sends toward the client (masking); `server` when known. */
export type OutgoingShaper = (
  server: string | null,
  message: { method: string; params?: unknown },
) => { method: string; params?: unknown };

export interface ServeSessionOptions {
  info: Implementation;
  capabilities: ServerCapabilities;
  instructions?: string;
  /** Builds the pipeline; `scopes` gives the forwarder each request's cancellation and notifier. */
  pipeline(scopes: ReadonlyMap<string | number, RequestScope>): Pipeline;
  /** A notification from the client (cancellations are handled by the SDK). */
  onNotification(notification: { method: string; params?: unknown }): Promise<void>;
  /** The client's thread (e.g. Codex's `x-codex-turn-metadata.thread_id`), once a request names one. */
  onThread?(threadId: string, parentThreadId: string | null): void;
  relay: Relay;
  /**
   * Masks what servers say outside results on its way to the client: notifications sent for a
   * request (progress), and the `initialize` answer (serverInfo, capabilities, instructions).
   */
  shapeOutgoing?: OutgoingShaper;
}

/** The connection facts of a stdio client (the OS user is read by identify-caller). */
export function stdioConnection(init: InitInfo, era: Era = 'legacy'): ConnectionInfo {
  return { transport: 'stdio', headers: {}, authSubject: null, clientInfo: init.clientInfo, era };
}

/** Answers `initialize` on `transport` and serves every later request through the pipeline. */
export async function serveOn(
  transport: Transport,
  connection: ConnectionInfo,
  options: ServeSessionOptions,
): Promise<Server> {
  const mcp = buildServer(connection, options, true);
  await mcp.connect(transport);
  return mcp;
}

/**
 * The one MCP server builder for both eras: the answer to `initialize` / `server/discover`
 * (masked), and a fallback handler that sends every request through the pipeline. A legacy
 * connection gets one for its session; a modern client gets one per connection (stdio, pinned by
 * `serveStdio`) or per HTTP request (the SDK connects it to a per-request transport). `attach`
 * makes it the Relay's downstream (the one that receives what upstreams send unasked); an HTTP
 * modern request's server is never attached (its notifications go to listen streams instead).
 */
export function buildServer(
  connection: ConnectionInfo,
  options: ServeSessionOptions,
  attach: boolean,
): Server {
  const era: Era = connection.era ?? 'legacy';
  // The initialize answer is server-authored text too (instructions, serverInfo): masked like the rest.
  const init = shapeInitialize(options);
  const mcp = new Server(init.info, {
    capabilities:
      era === 'modern' ? withoutResourceSubscribe(init.capabilities) : init.capabilities,
    ...(init.instructions ? { instructions: init.instructions } : {}),
  });
  // Forward logging/setLevel instead of answering it locally (SDK pitfall: the Server installs its own).
  mcp.removeRequestHandler('logging/setLevel');
  const scopes = new Map<string | number, RequestScope>();
  const pipeline = options.pipeline(scopes);
  mcp.fallbackRequestHandler = async (request, ctx) => {
    const envelope = era === 'modern' ? modernEnvelope(ctx.mcpReq.envelope) : null;
    const shape = (n: ClientNotice) => (options.shapeOutgoing ? options.shapeOutgoing(null, n) : n);
    scopes.set(
      request.id,
      era === 'modern'
        ? {
            signal: ctx.mcpReq.signal,
            // 2026-07-28 has no logging/setLevel: a request's `_meta` log level filters logs.
            notify: async (n) => {
              const level = (n.params as { level?: unknown } | undefined)?.level;
              if (
                n.method === 'notifications/message' &&
                !logLevelAdmits(envelope?.logLevel ?? null, level)
              )
                return;
              await ctx.mcpReq.notify(shape(n) as never);
            },
            elicit: null,
            ask: null,
            // Raw, as received: Gatehouse's own sealed state is verified in the pipeline
            // (no ServerOptions.requestState.verify hook, so the SDK hands over the wire string).
            mrtr: {
              inputResponses: ctx.mcpReq.inputResponses ?? null,
              requestState: rawRequestState(ctx.mcpReq.requestState()),
            },
          }
        : {
            signal: ctx.mcpReq.signal,
            notify: (n) => ctx.mcpReq.notify(shape(n) as never),
            elicit: mcp.getClientCapabilities()?.elicitation
              ? (params) => ctx.mcpReq.elicitInput(params as never) as never
              : null,
            ask: (r) =>
              ctx.mcpReq.send(
                { method: r.method, ...(r.params ? { params: r.params } : {}) } as never,
                passThroughSchema,
                { signal: ctx.mcpReq.signal },
              ) as Promise<Record<string, unknown>>,
            mrtr: null,
          },
    );
    try {
      const done = await pipeline.handle(
        {
          id: request.id,
          method: request.method,
          params: withLogLevel(
            request.params as Record<string, unknown> | undefined,
            envelope?.logLevel ?? null,
          ),
        },
        // A modern client names itself and what it can do on every request: this request's
        // envelope is the one that counts (the pipeline's questions, the upstream's envelope).
        era === 'modern'
          ? {
              ...connection,
              era,
              clientInfo: envelope?.clientInfo ?? connection.clientInfo,
              clientCapabilities: envelope?.clientCapabilities ?? {},
            }
          : connection,
      );
      if (done.caller?.threadId)
        options.onThread?.(done.caller.threadId, done.caller.parentThreadId);
      const response = done.response;
      if (!response)
        throw new ProtocolError(codeOf('internal_error'), 'Gatehouse produced no response');
      if ('error' in response)
        throw new ProtocolError(response.error.code, response.error.message, response.error.data);
      return response.result as never;
    } finally {
      scopes.delete(request.id);
    }
  };
  mcp.fallbackNotificationHandler = (notification) => options.onNotification(notification as never);
  if (attach) options.relay.attach(mcp);
  return mcp;
}

/**
 * What a modern client is offered: `resources.subscribe` would let the SDK acknowledge the
 * resource URIs of its `subscriptions/listen`, which Gatehouse never sees (the SDK's listen router
 * holds the filter), so no upstream would be asked for them: not offered rather than faked. A
 * legacy client's `resources/subscribe` is forwarded, or bridged onto a modern server's listen.
 */
function withoutResourceSubscribe(capabilities: ServerCapabilities): ServerCapabilities {
  if (!capabilities.resources?.subscribe) return capabilities;
  const { subscribe: _notBridged, ...resources } = capabilities.resources;
  return { ...capabilities, resources };
}

/** The SDK's lifted envelope (`ctx.mcpReq.envelope`) read like a wire `_meta`. */
function modernEnvelope(lifted: unknown) {
  return envelopeOf({ params: { _meta: lifted ?? {} } });
}

/** `requestState` as the client echoed it (a string), else null. */
function rawRequestState(state: unknown): string | null {
  return typeof state === 'string' ? state : null;
}

/**
 * Puts a modern request's log level back in the `_meta` it is forwarded with (the SDK lifts the
 * envelope keys out): a modern upstream gets it as the client asked, a legacy one ignores it.
 */
function withLogLevel(
  params: Record<string, unknown> | undefined,
  level: string | null,
): Record<string, unknown> | undefined {
  if (level === null) return params;
  const meta = (params?._meta as Record<string, unknown> | undefined) ?? {};
  return { ...params, _meta: { ...meta, [LOG_LEVEL_META_KEY]: level } };
}

/** What the client's `initialize` is answered with, after the shaper (masking) saw it. */
function shapeInitialize(options: ServeSessionOptions): {
  info: Implementation;
  capabilities: ServerCapabilities;
  instructions?: string;
} {
  const raw = {
    info: options.info,
    capabilities: options.capabilities,
    ...(options.instructions ? { instructions: options.instructions } : {}),
  };
  if (!options.shapeOutgoing) return raw;
  const shaped = options.shapeOutgoing(null, {
    method: 'initialize',
    params: {
      serverInfo: options.info,
      capabilities: options.capabilities,
      ...(options.instructions ? { instructions: options.instructions } : {}),
    },
  }).params as { serverInfo?: unknown; capabilities?: unknown; instructions?: unknown } | undefined;
  const info = shaped?.serverInfo as Implementation | undefined;
  return {
    info:
      info && typeof info.name === 'string' && typeof info.version === 'string'
        ? info
        : { name: 'gatehouse', version: gatehouseVersion() },
    capabilities: (shaped?.capabilities as ServerCapabilities | undefined) ?? {},
    ...(typeof shaped?.instructions === 'string' ? { instructions: shaped.instructions } : {}),
  };
}

/**
 * One client's session with a gateway mode, before any transport: the upstream side is ready
 * (or the session is refused), and it can be served on stdio or on an HTTP session.
 */
export interface GatewaySession {
  /** Serves a legacy session (initialize, then its requests) on `transport`. */
  serve(transport: Transport, connection: ConnectionInfo): Promise<Server>;
  /**
   * A server from the same builder for modern requests, not connected: `serveStdio` pins one
   * per stdio connection (`attach`: it receives what upstreams send), the HTTP endpoint makes
   * one per request (not attached: its session's notices reach `listen` streams).
   */
  build(connection: ConnectionInfo, attach: boolean): Server;
  /** What the session tells its client unasked (list_changed, resources/updated, logs). */
  listen(listener: (notification: ClientNotice) => void): () => void;
  /** Resolves if the session cannot go on without the client hanging up (its upstream stopped). */
  readonly lost: Promise<string>;
  /** Ends the upstream side: every process tree it started is gone when this resolves. */
  close(): Promise<void>;
}

export type OpenedSession =
  | GatewaySession
  | {
      refusal: string;
      /** The refusal is an upstream credential Gatehouse could not produce (login, secret). */
      credentialUnavailable?: boolean;
    };

/** Runs an opened session on a stdio client until either side goes away. */
export async function runOnStdio(
  session: StdioSession,
  opened: OpenedSession,
): Promise<'served' | 'unavailable' | 'credential_unavailable'> {
  if ('refusal' in opened) {
    await refuseInitialize(session, opened.refusal);
    return opened.credentialUnavailable ? 'credential_unavailable' : 'unavailable';
  }
  if (session.era === 'modern') return runModernOnStdio(session, opened);
  const mcp = await opened.serve(session.downstream, stdioConnection(session.init));
  const lost = await Promise.race([session.closed.then(() => null), opened.lost]);
  if (lost)
    await mcp
      .sendLoggingMessage({ level: 'error', logger: 'gatehouse', data: lost })
      .catch(() => undefined);
  await opened.close();
  await mcp.close().catch(() => undefined);
  return 'served';
}

/**
 * A modern stdio client: the SDK's `serveStdio` owns the era machinery (server/discover, envelope
 * validation, -32022 for an unserved revision, `resultType`, subscriptions/listen) over our
 * transport, and pins ONE server from the same builder (same pipeline) for the connection. A
 * client that probes and then falls back to `initialize` gets a legacy server from that builder.
 */
async function runModernOnStdio(session: StdioSession, opened: GatewaySession): Promise<'served'> {
  const handle = serveStdio((ctx) => opened.build(stdioConnection(session.init, ctx.era), true), {
    transport: session.downstream,
  });
  await Promise.race([session.closed, opened.lost]);
  await opened.close();
  await handle.close().catch(() => undefined);
  return 'served';
}
