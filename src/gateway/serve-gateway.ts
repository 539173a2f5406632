import { ParkedCalls, parkingForwarder } from './parked-calls.js';
import type { Readable, Writable } from 'node:stream';
import type { ServerCapabilities } from '@modelcontextprotocol/server';
import { maskTokens } from '../masking/mask-text.js';
import type { ServerDecision } from '../requirements/apply-requirements.js';
import { pinOf } from '../requirements/executable-pin.js';
import type { PipelineStages } from '../pipeline/pipeline.js';
import { assembleSession } from '../pipeline/assemble-session.js';
import { Catalog } from './catalog.js';
import { catalogRouter } from './catalog-router.js';
import { clientNotificationHandler } from './client-notifications.js';
import type { ServedUpstream } from './catalog.js';
import { buildServer, openStdioSession, Relay, runOnStdio, serveOn } from './downstream/session.js';
import type { InitInfo, OpenedSession, ServeSessionOptions } from './downstream/session.js';
import {
  DEFAULT_TOOL_TIMEOUT_SEC,
  notifiable,
  recheckOnListChanged,
  reportDroppedNotification,
  recheckTimeoutMs,
  refusalFor,
  reportUpstreamErrors,
  tellClient,
} from './run-gateway.js';
import type { GovernanceFactory, SessionContext } from './run-gateway.js';
import type { SchemaGuardFactory } from './schema-guard.js';
import { serveForwarder } from './serve-forwarder.js';
import type { StateLine } from './state-line.js';
import {
  describeStartFailure,
  needsCallerLogin,
  readiness,
  startFailureState,
} from './upstream/connect.js';
import { SupervisedUpstream } from './upstream/supervisor.js';
import type { Server } from '@modelcontextprotocol/server';
import { gatehouseVersion } from '../version.js';

export interface ServeGatewayOptions {
  decisions: readonly ServerDecision[];
  env: NodeJS.ProcessEnv;
  stdin: Readable;
  stdout: Writable;
  stateLine(line: StateLine): void;
  stages?: Partial<PipelineStages>;
  governance?: GovernanceFactory;
  schema?: SchemaGuardFactory;
  selfPath?: string;
  maxLineBytes?: number;
}

/** What the aggregate endpoint declares: each feature any ready server offers. */
function unionCapabilities(upstreams: readonly ServedUpstream[]): ServerCapabilities {
  // Gatehouse reports state changes as log notifications, so it always declares logging.
  const caps: ServerCapabilities = { tools: { listChanged: true }, logging: {} };
  for (const { upstream } of upstreams) {
    const c = upstream.capabilities;
    if (c.prompts) caps.prompts = { listChanged: true };
    if (c.resources)
      caps.resources = {
        listChanged: true,
        ...(caps.resources?.subscribe || c.resources.subscribe ? { subscribe: true } : {}),
      };
    if (c.logging) caps.logging = {};
    if (c.completions) caps.completions = {};
    if (c.tasks) caps.tasks = { ...caps.tasks, ...c.tasks };
  }
  return caps;
}

/**
 * The upstream side of one `gatehouse serve` client session: every allowed server started in
 * parallel. Disabled servers are never started; one that fails is reported and left out, unless
 * it is `required`, which refuses the session.
 */
export async function openAggregateSession(
  decisions: readonly ServerDecision[],
  init: InitInfo,
  ctx: SessionContext,
): Promise<OpenedSession> {
  // The client's thread, learned from its requests' _meta: state lines say which session they belong to.
  let threadId: string | null = null;
  let parentThreadId: string | null = null;
  const state = (server: string, s: string, detail: string | null = null) =>
    ctx.stateLine({
      event: 'server_state',
      server,
      state: s,
      detail: detail ? maskTokens(detail) : null,
      thread_id: threadId,
      parent_thread_id: parentThreadId,
    });
  const relay = new Relay(ctx.shapeOutgoing);
  // A legacy upstream's question during a modern client's call is held and asked in a round.
  const parking = new ParkedCalls();
  relay.parking = parking;
  const failedRequired: string[] = [];
  /** Servers left out until this caller logs in (their names still answer with how). */
  const waiting = new Map<string, string>();
  let downstream: Server | null = null;
  // Filled once every server has started; the catalog asks before that too (list_changed at start).
  let supervisors: SupervisedUpstream[] = [];
  const live = (): ServedUpstream[] =>
    supervisors.flatMap((s) =>
      s.current
        ? [
            {
              config: s.config,
              upstream: s.current,
              reinitialize: (why: string) => s.reconnect(why),
            },
          ]
        : [],
    );
  const guard = ctx.schema?.();
  const catalog = new Catalog(() => live(), {
    naming: 'namespaced',
    onListError: (server, message) =>
      ctx.stateLine({
        event: 'upstream_error',
        server,
        state: 'list',
        detail: maskTokens(message),
        thread_id: null,
      }),
    ...(guard ? { guard } : {}),
    recheckTimeoutMs,
  });
  const supervised = await Promise.all(
    decisions.map(async (decision): Promise<SupervisedUpstream | null> => {
      const name = decision.server.name;
      const refusal = refusalFor(decision, ctx.env, ctx.selfPath);
      if (refusal) {
        state(name, 'disabled', refusal);
        return null;
      }
      state(name, 'starting');
      const supervisor = new SupervisedUpstream(
        decision.server,
        {
          env: ctx.env,
          pin: pinOf(decision.allowedBy?.identity),
          ...(ctx.credentials ? { credentials: ctx.credentials } : {}),
          capabilities: init.capabilities,
          clientInfo: init.clientInfo ?? { name: 'gatehouse', version: gatehouseVersion() },
          prepare: (client) => {
            relay.wireUpstream(client, name);
            const relayed = client.fallbackNotificationHandler;
            client.fallbackNotificationHandler = async (notification) => {
              if (notification.method.endsWith('/list_changed')) catalog.invalidate();
              await relayed?.(notification);
            };
            recheckOnListChanged(client, () => catalog.recheck(name, 'said its tools changed'));
            client.onerror = reportUpstreamErrors(ctx.stateLine, name);
          },
        },
        {
          onState: (s, detail) => {
            state(name, s, detail);
            void tellClient(downstream, name, s, detail);
            // Back after a restart: calls wait until its tools are checked again (never the old
            // list), and the client's lists may have changed (the others never did).
            if (s === 'ready' && supervisor.current) {
              guard?.connected(decision.server, supervisor.current);
              void catalog.recheck(name, 'restarted');
            }
            if (s === 'ready' || s === 'failed') {
              catalog.invalidate();
              void listsChanged(relay);
            }
          },
        },
      );
      try {
        const upstream = await supervisor.start();
        guard?.connected(decision.server, upstream);
        const ready = await readiness(upstream);
        state(name, ready.state, ready.detail);
        return supervisor;
      } catch (err) {
        state(name, startFailureState(err), describeStartFailure(err));
        if (needsCallerLogin(err))
          waiting.set(name, loginRequiredMessage(name, describeStartFailure(err), ctx));
        if (decision.server.required) failedRequired.push(name);
        return null;
      }
    }),
  );
  supervisors = supervised.filter((s): s is SupervisedUpstream => s !== null);
  const close = async () => {
    await Promise.all(supervisors.map((s) => s.stop()));
    for (const s of supervisors) state(s.config.name, 'stopped');
  };
  if (failedRequired.length > 0) {
    await close();
    return { refusal: `required server(s) failed to start: ${failedRequired.join(', ')}` };
  }
  // Every server's tools are checked before the first call (calls wait for it, bounded).
  await Promise.all(supervisors.map((s) => catalog.recheck(s.config.name, 'started')));
  const router = catalogRouter(catalog, null, waiting);
  const instructions = [
    ...live()
      .filter((u) => u.upstream.instructions)
      .map((u) => `## ${u.config.name}\n${u.upstream.instructions}`),
    ...(waiting.size > 0 ? [waitingInstructions(waiting)] : []),
  ].join('\n\n');
  const serving: ServeSessionOptions = {
    info: { name: 'gatehouse', version: gatehouseVersion() },
    capabilities: unionCapabilities(live()),
    ...(instructions ? { instructions } : {}),
    pipeline: (scopes) =>
      assembleSession(
        ctx,
        router,
        parkingForwarder(
          serveForwarder(
            catalog,
            live,
            scopes,
            (u) => (u.config.toolTimeoutSec ?? DEFAULT_TOOL_TIMEOUT_SEC) * 1000,
            {
              ...(ctx.shapeOutgoing ? { shape: ctx.shapeOutgoing } : {}),
              clientCapabilities: () => init.capabilities,
            },
          ),
          parking,
          scopes,
          (pctx) =>
            live().find((u) => u.config.name === pctx.target?.server)?.upstream.era !== 'modern',
        ),
        scopes,
      ),
    onNotification: clientNotificationHandler({
      servers: () => live().map((u) => notifiable(u.config.name, u.upstream)),
      askedForRoots: (name) => relay.askedForRoots(name),
      dropped: reportDroppedNotification(ctx.stateLine, '*', () => threadId),
    }),
    relay,
    ...(ctx.shapeOutgoing ? { shapeOutgoing: ctx.shapeOutgoing } : {}),
    onThread: (id, parent) => {
      threadId = id;
      parentThreadId = parent;
    },
  };
  return {
    // One server stopping does not end an aggregate session: the others keep serving.
    lost: new Promise<string>(() => undefined),
    serve: async (transport, connection) => {
      downstream = await serveOn(transport, connection, serving);
      // Logging may be sent before `initialized` (MCP lifecycle); over HTTP it reaches a client
      // only on an open stream, so the instructions say it too.
      for (const [server, message] of waiting)
        await downstream
          .sendLoggingMessage({
            level: 'warning',
            logger: 'gatehouse',
            data: { event: 'server_state', server, state: 'login_required', detail: message },
          })
          .catch(() => undefined);
      return downstream;
    },
    build: (connection, attach) => {
      const built = buildServer(connection, serving, attach);
      if (attach) downstream = built;
      return built;
    },
    listen: (listener) => relay.listen(listener),
    close,
  };
}

/**
 * What a call to a server waiting for this caller's login is answered with: the start failure
 * (which names the caller and `gatehouse login NAME`), and for a team gateway's caller who cannot
 * run the command on the gateway's host, the gateway's own `/login/SERVER` first, then who can.
 */
function loginRequiredMessage(server: string, detail: string, ctx: SessionContext): string {
  const caller = ctx.credentials?.caller;
  const loginUrl = ctx.credentials?.loginUrl;
  const operator = `its operator runs \`gatehouse login ${server} --for ${caller}\` while you sign in at the link it prints`;
  const remote = !caller
    ? ''
    : loginUrl
      ? ` Log in through this gateway: GET ${loginUrl}${encodeURIComponent(server)} with your gateway token answers {"authorization_url": …}; open that URL in a browser and sign in. Or ${operator}.`
      : ` On a team gateway, ${operator}.`;
  return maskTokens(
    `Gatehouse refused the call: server '${server}' needs your own login before its tools can be used: ${detail}.${remote} Then start a new session.`,
  );
}

function waitingInstructions(waiting: ReadonlyMap<string, string>): string {
  return [
    '## Servers waiting for your login',
    ...[...waiting.values()].map((message) => `- ${message}`),
  ].join('\n');
}

/** `gatehouse serve` on stdio. Resolves when the client hangs up, after every upstream tree is gone. */
export async function serveGateway(
  options: ServeGatewayOptions,
): Promise<'served' | 'unavailable' | 'credential_unavailable'> {
  const session = await openStdioSession(options.stdin, options.stdout, {
    ...(options.maxLineBytes ? { maxLineBytes: options.maxLineBytes } : {}),
    onProblem: (p) =>
      options.stateLine({
        event: 'client_error',
        server: '*',
        state: String(p.code),
        detail: p.message,
        thread_id: null,
      }),
  });
  if (!session) return 'served';
  return runOnStdio(session, await openAggregateSession(options.decisions, session.init, options));
}

/** Through the relay: a legacy client's Server and any modern client's listen streams hear it. */
async function listsChanged(relay: Relay): Promise<void> {
  for (const method of [
    'notifications/tools/list_changed',
    'notifications/prompts/list_changed',
    'notifications/resources/list_changed',
  ]) {
    await relay.toClient({ method });
  }
}
