import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ProtocolError, Server } from '@modelcontextprotocol/server';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import type { McpServerConfig } from '../config/mcp-server.js';
import { maskTokens } from '../masking/mask-text.js';
import type { ServerDecision } from '../requirements/apply-requirements.js';
import { findExecutable } from '../requirements/executable.js';
import type { ConnectionInfo } from '../pipeline/context.js';
import { createPipeline } from '../pipeline/pipeline.js';
import type { PipelineStages } from '../pipeline/pipeline.js';
import { defaultStages } from '../pipeline/stages/index.js';
import { BufferedTransport } from './downstream/buffered-transport.js';
import { StdioLineTransport } from './downstream/stdio-line-transport.js';
import { singleServerRouter } from './single-server-router.js';
import type { Upstream } from './upstream/connect.js';
import { connectUpstream, UpstreamTimeout } from './upstream/connect.js';
import { passThroughSchema } from './wire.js';
import { upstreamForwarder } from './upstream-forwarder.js';
import type { RequestScope } from './upstream-forwarder.js';

/** Codex's documented default per-call budget for tools. */
const DEFAULT_TOOL_TIMEOUT_SEC = 60;

/** One JSON line on stderr per runtime state change (docs/cli.md § gatehouse run). */
export type StateLine = {
  event: 'server_state' | 'client_error' | 'upstream_error';
  server: string;
  state: string;
  detail: string | null;
  thread_id: string | null;
};

export interface RunGatewayOptions {
  decision: ServerDecision;
  env: NodeJS.ProcessEnv;
  stdin: Readable;
  stdout: Writable;
  /** Writes one line to stderr. */
  stateLine(line: StateLine): void;
  /** Test seam: replace pipeline stages (policy, masking, …). */
  stages?: Partial<PipelineStages>;
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

/**
 * `gatehouse run NAME`: one governed server behind a stdio MCP endpoint, tools under their
 * original names. Reads the client's `initialize` first, starts the upstream advertising the
 * client's capabilities, then answers with the upstream's. Resolves when the client hangs up
 * (stdin closes); the upstream's whole process tree is gone by then.
 */
export async function runGateway(options: RunGatewayOptions): Promise<'served' | 'unavailable'> {
  const { decision, env } = options;
  const server = decision.server;
  const downstream = new BufferedTransport(
    new StdioLineTransport(options.stdin, options.stdout, {
      ...(options.maxLineBytes ? { maxLineBytes: options.maxLineBytes } : {}),
      onProblem: (p) =>
        options.stateLine({
          event: 'client_error',
          server: server.name,
          state: String(p.code),
          detail: p.message,
          thread_id: null,
        }),
    }),
  );
  const closed = new Promise<void>((resolve) => {
    const previous = downstream.onclose;
    downstream.onclose = () => {
      previous?.();
      resolve();
    };
  });
  const first = await downstream.firstMessage().catch(() => null);
  if (!first) return 'served';
  const init = asInitialize(first);
  const threadId = null;
  const state = (s: string, detail: string | null = null) =>
    options.stateLine({
      event: 'server_state',
      server: server.name,
      state: s,
      detail: detail ? maskTokens(detail) : null,
      thread_id: threadId,
    });

  const refusal = !decision.enabled
    ? `server '${server.name}' is disabled: ${decision.disabledReason?.display ?? 'disabled'} — ${decision.disabledReason?.detail ?? ''}`
    : selfLaunchReason(server, env, options.selfPath);
  if (refusal) {
    state('disabled', refusal);
    await refuseInitialize(downstream, first, refusal);
    return 'unavailable';
  }

  state('starting');
  let upstream: Upstream;
  const relay = new Relay();
  try {
    upstream = await connectUpstream(server, {
      env,
      capabilities: init.capabilities,
      clientInfo: init.clientInfo ?? { name: 'gatehouse', version: '0.1.0' },
      prepare: (client) => {
        relay.wireUpstream(client);
        // Before the handshake: a server that prints junk while starting is reported too.
        client.onerror = (err) =>
          options.stateLine({
            event: 'upstream_error',
            server: server.name,
            state: 'protocol',
            detail: maskTokens(err.message),
            thread_id: threadId,
          });
      },
    });
  } catch (err) {
    const detail = describeStartFailure(err);
    state('failed', detail);
    await refuseInitialize(downstream, first, `server '${server.name}' failed to start: ${detail}`);
    return 'unavailable';
  }
  state('ready');

  const mcp = new Server(upstream.serverInfo, {
    capabilities: upstream.capabilities,
    ...(upstream.instructions ? { instructions: upstream.instructions } : {}),
  });
  // Forward logging/setLevel instead of answering it locally (SDK pitfall: the Server installs its own).
  mcp.removeRequestHandler('logging/setLevel');
  const connection: ConnectionInfo = {
    transport: 'stdio',
    headers: {},
    authSubject: null,
    clientInfo: init.clientInfo,
  };
  const inflight = new Map<string | number, RequestScope>();
  const toolTimeoutMs = (server.toolTimeoutSec ?? DEFAULT_TOOL_TIMEOUT_SEC) * 1000;
  const pipeline = createPipeline(
    defaultStages(
      singleServerRouter(server),
      upstreamForwarder(upstream, inflight, toolTimeoutMs, server.name),
      options.stages,
    ),
  );
  mcp.fallbackRequestHandler = async (request, ctx) => {
    inflight.set(request.id, {
      signal: ctx.mcpReq.signal,
      notify: (n) => ctx.mcpReq.notify(n as never),
    });
    try {
      const done = await pipeline.handle(
        {
          id: request.id,
          method: request.method,
          params: request.params as Record<string, unknown> | undefined,
        },
        connection,
      );
      const response = done.response;
      if (!response) throw new ProtocolError(-32603, 'Gatehouse produced no response');
      if ('error' in response)
        throw new ProtocolError(response.error.code, response.error.message, response.error.data);
      return response.result as never;
    } finally {
      inflight.delete(request.id);
    }
  };
  mcp.fallbackNotificationHandler = async (notification) => {
    await upstream.client.notification(notification as never).catch(() => undefined);
  };
  relay.attachDownstream(mcp);

  const upstreamGone = new Promise<void>((resolve) => {
    upstream.client.onclose = () => resolve();
  });
  await mcp.connect(downstream);
  const ended = await Promise.race([
    closed.then(() => 'client' as const),
    upstreamGone.then(() => 'upstream' as const),
  ]);
  if (ended === 'upstream') {
    const tail = upstream.stderr().trim().split('\n').pop() ?? '';
    state('failed', `the upstream server stopped${tail ? `: ${tail}` : ''}`);
    await mcp
      .sendLoggingMessage?.({
        level: 'error',
        logger: 'gatehouse',
        data: `server '${server.name}' stopped`,
      })
      .catch(() => undefined);
  }
  await upstream.close();
  await mcp.close().catch(() => undefined);
  state('stopped');
  return 'served';
}

/** Requests and notifications the upstream sends to the client (sampling, elicitation, roots, logs, list_changed). */
class Relay {
  private downstream: Server | null = null;

  wireUpstream(client: Upstream['client']): void {
    client.fallbackRequestHandler = async (request, ctx) => {
      if (!this.downstream) throw new ProtocolError(-32603, 'client not connected yet');
      return (await this.downstream.request(
        { method: request.method, params: request.params } as never,
        passThroughSchema,
        { signal: ctx.mcpReq.signal },
      )) as never;
    };
    client.fallbackNotificationHandler = async (notification) => {
      await this.downstream?.notification(notification as never).catch(() => undefined);
    };
  }

  attachDownstream(server: Server): void {
    this.downstream = server;
  }
}

function asInitialize(message: JSONRPCMessage): {
  capabilities: Record<string, unknown>;
  clientInfo: { name: string; version: string } | null;
} {
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

/** Server-defined JSON-RPC error: the server this gateway fronts cannot be used. */
export const SERVER_UNAVAILABLE = -32001;

/** Answers the client's `initialize` with an error that says why, then hangs up. */
export async function refuseSession(
  stdin: Readable,
  stdout: Writable,
  message: string,
): Promise<void> {
  const downstream = new BufferedTransport(new StdioLineTransport(stdin, stdout));
  const first = await downstream.firstMessage().catch(() => null);
  if (first) await refuseInitialize(downstream, first, message);
}

async function refuseInitialize(
  downstream: BufferedTransport,
  first: JSONRPCMessage,
  message: string,
): Promise<void> {
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

function describeStartFailure(err: unknown): string {
  if (err instanceof UpstreamTimeout) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'executable not found';
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]?.slice(0, 300) ?? 'unknown error';
}
