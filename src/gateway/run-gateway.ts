import { ParkedCalls, parkingForwarder } from './parked-calls.js';
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { McpServerConfig } from '../config/mcp-server.js';
import { maskTokens } from '../masking/mask-text.js';
import type { ServerDecision } from '../requirements/apply-requirements.js';
import { findExecutable } from '../requirements/executable.js';
import { pinOf } from '../requirements/executable-pin.js';
import type { PipelineStages } from '../pipeline/pipeline.js';
import { assembleSession } from '../pipeline/assemble-session.js';
import type { GovernanceFactory, SessionStageSource } from '../pipeline/assemble-session.js';
import {
  openStdioSession,
  refuseInitialize,
  Relay,
  type OutgoingShaper,
  runOnStdio,
  serveOn,
  buildServer,
} from './downstream/session.js';
import type { InitInfo, OpenedSession, ServeSessionOptions } from './downstream/session.js';
import { Catalog, reconnectCheck } from './catalog.js';
import { clientNotificationHandler } from './client-notifications.js';
import type { NotifiableServer } from './client-notifications.js';
import { catalogRouter } from './catalog-router.js';
import type { StateLine } from './state-line.js';
import type { Upstream } from './upstream/connect.js';
import { describeStartFailure, readiness, startFailureState } from './upstream/connect.js';
import { DEFAULT_STARTUP_TIMEOUT_SEC } from '../config/mcp-server.js';
import { toWireError } from './wire.js';
import { SupervisedUpstream } from './upstream/supervisor.js';
import type { Server } from '@modelcontextprotocol/server';
import { upstreamForwarder } from './upstream-forwarder.js';
import type { GatewayResponse, PipelineContext } from '../pipeline/context.js';

import type { SchemaGuardFactory } from './schema-guard.js';
import { gatehouseVersion } from '../version.js';
import { CredentialUnavailable } from '../credentials/token-endpoint.js';

export type { StateLine } from './state-line.js';

/** Codex's documented default per-call budget for tools. */
export const DEFAULT_TOOL_TIMEOUT_SEC = 60;

export interface RunGatewayOptions {
  decision: ServerDecision;
  env: NodeJS.ProcessEnv;
  stdin: Readable;
  stdout: Writable;
  /** Writes one line to stderr. */
  stateLine(line: StateLine): void;
  /** Test seam: replace pipeline stages (policy, masking, …). */
  stages?: Partial<PipelineStages>;
  /** The schema lock's enforcement (see SessionContext). */
  schema?: SchemaGuardFactory;
  /** Path of the running gatehouse entry point, to refuse launching ourselves. */
  selfPath?: string;
  /** Longest line the client may send (default 16 MiB). */
  maxLineBytes?: number;
}

/** Why a definition would make Gatehouse start Gatehouse (the Codex wrapper copied into our config). */
export function selfLaunchReason(
  server: McpServerConfig,
  env: NodeJS.ProcessEnv,
  selfPath?: string,
): string | null {
  const t = server.transport;
  if (t.type !== 'stdio') return null;
  const real = (p: string | null) => {
    try {
      return p ? realpathSync(p) : null;
    } catch {
      return null;
    }
  };
  const self = real(selfPath ?? null);
  const exe = real(findExecutable(t, env));
  const launchesSelf =
    basename(t.command) === 'gatehouse' ||
    (self !== null && exe === self) ||
    (self !== null && t.args.some((a) => real(a) === self));
  return launchesSelf
    ? `server '${server.name}' would launch Gatehouse itself (${t.command} ${t.args.join(' ')}): put the real server definition in Gatehouse's config, not the \`gatehouse run\` wrapper`
    : null;
}

/** Why a decided server cannot be started, or null. */
export function refusalFor(
  decision: ServerDecision,
  env: NodeJS.ProcessEnv,
  selfPath?: string,
): string | null {
  const server = decision.server;
  if (!decision.enabled) {
    const reason = decision.disabledReason;
    const display = reason?.display ? `${reason.display} — ` : '';
    return `server '${server.name}' is disabled: ${display}${reason?.detail ?? 'disabled'}`;
  }
  return selfLaunchReason(server, env, selfPath);
}

/**
 * How long calls wait for a server's tools to be checked after it (re)started or said its tools
 * changed: its startup budget (startup_timeout_sec covers initialize and the first tools/list).
 */
export function recheckTimeoutMs(server: McpServerConfig): number {
  return (server.startupTimeoutSec ?? DEFAULT_STARTUP_TIMEOUT_SEC) * 1000;
}

/** Reports upstream protocol errors (e.g. junk on stdout) on stderr; set before the handshake. */
export function reportUpstreamErrors(stateLine: (l: StateLine) => void, serverName: string) {
  return (err: Error) =>
    stateLine({
      event: 'upstream_error',
      server: serverName,
      state: 'protocol',
      detail: maskTokens(err.message),
      thread_id: null,
    });
}

export type { GovernanceFactory } from '../pipeline/assemble-session.js';

export interface SessionContext extends SessionStageSource {
  env: NodeJS.ProcessEnv;
  stateLine(line: StateLine): void;
  stages?: Partial<PipelineStages>;
  governance?: GovernanceFactory;
  /** The schema lock's enforcement, one guard per session. */
  schema?: SchemaGuardFactory;
  /** Masks what servers send the client outside results (logs, progress, sampling, elicitation). */
  shapeOutgoing?: OutgoingShaper;
  selfPath?: string;
  /** Whose upstream credentials this session uses (HTTP: the caller; absent: the local OS user). */
  credentials?: {
    caller: string | null;
    subjectToken?: string | null;
    /** The team gateway's `…/login/` URL, named first when this caller must log in. */
    loginUrl?: string | null;
  };
}

/**
 * The upstream side of one `gatehouse run NAME` client session: starts the server advertising
 * the client's capabilities, or says why it will not. A crash later is not the end: the server
 * is restarted with backoff, and the client is told (log notifications). Used by stdio and HTTP.
 */
export async function openSingleServerSession(
  decision: ServerDecision,
  init: InitInfo,
  ctx: SessionContext,
): Promise<OpenedSession> {
  const server = decision.server;
  // The client's thread, learned from its requests' _meta: state lines say which session they belong to.
  let threadId: string | null = null;
  let parentThreadId: string | null = null;
  const state = (s: string, detail: string | null = null) =>
    ctx.stateLine({
      event: 'server_state',
      server: server.name,
      state: s,
      detail: detail ? maskTokens(detail) : null,
      thread_id: threadId,
      parent_thread_id: parentThreadId,
    });
  const refusal = refusalFor(decision, ctx.env, ctx.selfPath);
  if (refusal) {
    state('disabled', refusal);
    return { refusal };
  }
  state('starting');
  const relay = new Relay(ctx.shapeOutgoing);
  // A legacy upstream's question during a modern client's call is held and asked in a round.
  const parking = new ParkedCalls();
  relay.parking = parking;
  let downstream: Server | null = null;
  const guard = ctx.schema?.();
  const catalog = new Catalog(
    () => (supervisor.current ? [{ config: server, upstream: supervisor.current }] : []),
    {
      naming: 'raw',
      onListError: (name, message) =>
        ctx.stateLine({
          event: 'upstream_error',
          server: name,
          state: 'list',
          detail: maskTokens(message),
          thread_id: null,
        }),
      ...(guard ? { guard } : {}),
      recheckTimeoutMs: recheckTimeoutMs,
    },
  );
  const supervisor = new SupervisedUpstream(
    server,
    {
      env: ctx.env,
      pin: pinOf(decision.allowedBy?.identity),
      ...(ctx.credentials ? { credentials: ctx.credentials } : {}),
      capabilities: init.capabilities,
      clientInfo: init.clientInfo ?? { name: 'gatehouse', version: gatehouseVersion() },
      prepare: (client) => {
        relay.wireUpstream(client, server.name);
        recheckOnListChanged(client, () => catalog.recheck(server.name, 'said its tools changed'));
        // Before the handshake: a server that prints junk while starting is reported too.
        client.onerror = reportUpstreamErrors(ctx.stateLine, server.name);
      },
    },
    {
      onState: (s, detail) => {
        state(s, detail);
        // Back after a restart: calls wait until its tools are checked again (never the old list).
        if (s === 'ready' && supervisor.current) {
          guard?.connected(server, supervisor.current);
          void catalog.recheck(server.name, 'restarted');
        }
        void tellClient(downstream, server.name, s, detail);
      },
    },
  );
  let upstream: Upstream;
  try {
    upstream = await supervisor.start();
  } catch (err) {
    const detail = describeStartFailure(err);
    state(startFailureState(err), detail);
    return {
      refusal: `server '${server.name}' failed to start: ${detail}`,
      ...(err instanceof CredentialUnavailable ? { credentialUnavailable: true } : {}),
    };
  }
  guard?.connected(server, upstream);
  await catalog.recheck(server.name, 'started');
  const ready = await readiness(upstream);
  state(ready.state, ready.detail);
  const toolTimeoutMs = (server.toolTimeoutSec ?? DEFAULT_TOOL_TIMEOUT_SEC) * 1000;
  const serving: ServeSessionOptions = {
    info: upstream.serverInfo,
    // Gatehouse reports state changes as log notifications, so it always declares logging.
    capabilities: { ...upstream.capabilities, logging: upstream.capabilities.logging ?? {} },
    ...(upstream.instructions ? { instructions: upstream.instructions } : {}),
    pipeline: (scopes) => {
      const router = catalogRouter(catalog, server.name);
      const upstreamSide = parkingForwarder(
        upstreamForwarder(
          () => supervisor.current,
          scopes,
          toolTimeoutMs,
          server.name,
          (why) => supervisor.reconnect(why),
          reconnectCheck(catalog),
          {
            ...(ctx.shapeOutgoing ? { shape: ctx.shapeOutgoing } : {}),
            clientCapabilities: () => init.capabilities,
          },
        ),
        parking,
        scopes,
        () => supervisor.current?.era !== 'modern',
      );
      // tools/list is the catalog's checked listing: the names calls are routed by.
      const forwarder = {
        forward: async (pctx: PipelineContext): Promise<GatewayResponse> => {
          if (pctx.request.method !== 'tools/list') return upstreamSide.forward(pctx);
          try {
            return { result: { tools: await catalog.listTools() } };
          } catch (err) {
            return { error: toWireError(err) };
          }
        },
      };
      return assembleSession(ctx, router, forwarder, scopes);
    },
    onNotification: clientNotificationHandler({
      servers: () => (supervisor.current ? [notifiable(server.name, supervisor.current)] : []),
      askedForRoots: (name) => relay.askedForRoots(name),
      dropped: reportDroppedNotification(ctx.stateLine, server.name, () => threadId),
    }),
    relay,
    ...(ctx.shapeOutgoing ? { shapeOutgoing: ctx.shapeOutgoing } : {}),
    onThread: (id, parent) => {
      threadId = id;
      parentThreadId = parent;
    },
  };
  return {
    // A crash is not the end of the session: the supervisor restarts the server.
    lost: new Promise<string>(() => undefined),
    serve: async (transport, connection) => {
      downstream = await serveOn(transport, connection, serving);
      return downstream;
    },
    build: (connection, attach) => {
      const built = buildServer(connection, serving, attach);
      if (attach) downstream = built;
      return built;
    },
    listen: (listener) => relay.listen(listener),
    close: async () => {
      await supervisor.stop();
      state('stopped');
    },
  };
}

/** An upstream as a target of client notifications. */
export function notifiable(name: string, upstream: Upstream): NotifiableServer {
  return {
    name,
    notify: (n) => upstream.client.notification(n as never),
  };
}

/** A client notification that was not forwarded: a stderr line (and, via the audit runtime, a record). */
export function reportDroppedNotification(
  stateLine: (line: StateLine) => void,
  server: string,
  thread: () => string | null,
): (method: string, reason: string) => void {
  return (method, reason) =>
    stateLine({
      event: 'notification_dropped',
      server,
      state: maskTokens(method),
      detail: reason,
      thread_id: thread(),
    });
}

/** Runs `recheck` when the upstream says its tools changed, before the client hears of it. */
export function recheckOnListChanged(
  client: { fallbackNotificationHandler?: ((n: { method: string }) => Promise<void>) | undefined },
  recheck: () => Promise<void>,
): void {
  const relayed = client.fallbackNotificationHandler;
  client.fallbackNotificationHandler = async (notification) => {
    // A failed check is the catalog's to report (calls are refused); the client still hears of it.
    if (notification.method === 'notifications/tools/list_changed')
      await Promise.resolve()
        .then(recheck)
        .catch(() => undefined);
    await relayed?.(notification);
  };
}

/** Runtime state changes also reach the client, as MCP log notifications from `gatehouse`. */
export async function tellClient(
  downstream: Server | null,
  server: string,
  state: string,
  detail: string | null,
): Promise<void> {
  const level = state === 'ready' ? 'notice' : state === 'failed' ? 'error' : 'warning';
  await downstream
    ?.sendLoggingMessage({
      level,
      logger: 'gatehouse',
      data: { event: 'server_state', server, state, detail },
    })
    .catch(() => undefined);
}

/**
 * `gatehouse run NAME` on stdio: one governed server, tools under their original names.
 * Resolves when the client hangs up (stdin closes); the upstream's whole tree is gone by then.
 */
export async function runGateway(
  options: RunGatewayOptions,
): Promise<'served' | 'unavailable' | 'credential_unavailable'> {
  const server = options.decision.server;
  const session = await openStdioSession(options.stdin, options.stdout, {
    ...(options.maxLineBytes ? { maxLineBytes: options.maxLineBytes } : {}),
    onProblem: (p) =>
      options.stateLine({
        event: 'client_error',
        server: server.name,
        state: String(p.code),
        detail: p.message,
        thread_id: null,
      }),
  });
  if (!session) return 'served';
  return runOnStdio(
    session,
    await openSingleServerSession(options.decision, session.init, options),
  );
}

/** Answers the client's `initialize` with an error that says why, then hangs up. */
export async function refuseSession(
  stdin: Readable,
  stdout: Writable,
  message: string,
): Promise<void> {
  const session = await openStdioSession(stdin, stdout);
  if (session) await refuseInitialize(session, message);
}
