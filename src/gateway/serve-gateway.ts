import type { Readable, Writable } from 'node:stream';
import type { ServerCapabilities } from '@modelcontextprotocol/server';
import { maskTokens } from '../masking/mask-text.js';
import type { ServerDecision } from '../requirements/apply-requirements.js';
import { createPipeline } from '../pipeline/pipeline.js';
import type { PipelineStages } from '../pipeline/pipeline.js';
import { defaultStages } from '../pipeline/stages/index.js';
import type { Router } from '../pipeline/stages/index.js';
import { Catalog } from './catalog.js';
import type { ServedUpstream } from './catalog.js';
import { openStdioSession, Relay, runOnStdio, serveOn } from './downstream/session.js';
import type { InitInfo, OpenedSession } from './downstream/session.js';
import { DEFAULT_TOOL_TIMEOUT_SEC, refusalFor, reportUpstreamErrors } from './run-gateway.js';
import type { SessionContext } from './run-gateway.js';
import { serveForwarder } from './serve-forwarder.js';
import type { StateLine } from './state-line.js';
import { connectUpstream, describeStartFailure } from './upstream/connect.js';

export interface ServeGatewayOptions {
  decisions: readonly ServerDecision[];
  env: NodeJS.ProcessEnv;
  stdin: Readable;
  stdout: Writable;
  stateLine(line: StateLine): void;
  stages?: Partial<PipelineStages>;
  selfPath?: string;
  maxLineBytes?: number;
}

/** What the aggregate endpoint declares: each feature any ready server offers. */
function unionCapabilities(upstreams: readonly ServedUpstream[]): ServerCapabilities {
  const caps: ServerCapabilities = { tools: { listChanged: true } };
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
  const state = (server: string, s: string, detail: string | null = null) =>
    ctx.stateLine({
      event: 'server_state',
      server,
      state: s,
      detail: detail ? maskTokens(detail) : null,
      thread_id: null,
    });
  const relay = new Relay();
  const failedRequired: string[] = [];
  const started = await Promise.all(
    decisions.map(async (decision): Promise<ServedUpstream | null> => {
      const name = decision.server.name;
      const refusal = refusalFor(decision, ctx.env, ctx.selfPath);
      if (refusal) {
        state(name, 'disabled', refusal);
        return null;
      }
      state(name, 'starting');
      try {
        const upstream = await connectUpstream(decision.server, {
          env: ctx.env,
          capabilities: init.capabilities,
          clientInfo: init.clientInfo ?? { name: 'gatehouse', version: '0.1.0' },
          prepare: (client) => {
            relay.wireUpstream(client);
            client.onerror = reportUpstreamErrors(ctx.stateLine, name);
          },
        });
        state(name, 'ready');
        return { config: decision.server, upstream };
      } catch (err) {
        state(name, 'failed', describeStartFailure(err));
        if (decision.server.required) failedRequired.push(name);
        return null;
      }
    }),
  );
  let live = started.filter((u): u is ServedUpstream => u !== null);
  let stopping = false;
  const close = async () => {
    stopping = true;
    await Promise.all(started.map((u) => u?.upstream.close()));
    for (const u of started) if (u) state(u.config.name, 'stopped');
  };
  if (failedRequired.length > 0) {
    await close();
    return { refusal: `required server(s) failed to start: ${failedRequired.join(', ')}` };
  }
  for (const u of live) {
    u.upstream.client.onclose = () => {
      if (stopping) return;
      live = live.filter((x) => x !== u);
      state(u.config.name, 'failed', 'the upstream server stopped');
    };
  }
  const catalog = new Catalog(
    () => live,
    (server, message) =>
      ctx.stateLine({
        event: 'upstream_error',
        server,
        state: 'list',
        detail: maskTokens(message),
        thread_id: null,
      }),
  );
  const router: Router = {
    defaultServer: () => null,
    resolveTool: (name) => catalog.resolveTool(name),
    exposeTools: (tools) => [...tools],
  };
  const instructions = live
    .filter((u) => u.upstream.instructions)
    .map((u) => `## ${u.config.name}\n${u.upstream.instructions}`)
    .join('\n\n');
  return {
    // One server stopping does not end an aggregate session: the others keep serving.
    lost: new Promise<string>(() => undefined),
    serve: (transport, connection) =>
      serveOn(transport, connection, {
        info: { name: 'gatehouse', version: '0.1.0' },
        capabilities: unionCapabilities(live),
        ...(instructions ? { instructions } : {}),
        pipeline: (scopes) =>
          createPipeline(
            defaultStages(
              router,
              serveForwarder(
                catalog,
                () => live,
                scopes,
                (u) => (u.config.toolTimeoutSec ?? DEFAULT_TOOL_TIMEOUT_SEC) * 1000,
              ),
              ctx.stages,
            ),
          ),
        onNotification: async (n) => {
          await Promise.all(
            live.map((u) => u.upstream.client.notification(n as never).catch(() => undefined)),
          );
        },
        relay,
      }),
    close,
  };
}

/** `gatehouse serve` on stdio. Resolves when the client hangs up, after every upstream tree is gone. */
export async function serveGateway(
  options: ServeGatewayOptions,
): Promise<'served' | 'unavailable'> {
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
