import type { GatewayResponse, PipelineContext } from '../pipeline/context.js';
import type { Forwarder } from '../pipeline/stages/index.js';
import type { Upstream } from './upstream/connect.js';
import { isUpstreamTimeout, passThroughSchema, toWireError } from './wire.js';
import { gatehouseError } from '../pipeline/error-table.js';
import { httpStatus } from './upstream/connect.js';

/** What the downstream connection offers one in-flight request: its cancellation and a way to notify. */
export interface RequestScope {
  signal: AbortSignal;
  notify(notification: { method: string; params?: Record<string, unknown> }): Promise<void>;
  /** Asks the client (an MCP elicitation tied to this request); null when the client cannot. */
  elicit:
    ((params: Record<string, unknown>) => Promise<{ action: string; content?: unknown }>) | null;
  /**
   * A modern (2026-07-28) client's multi-round-trip material for this request: what it answered
   * (`inputResponses`) and the opaque `requestState` it echoed, both as received (untrusted).
   * Null or absent for a legacy client, which is asked in-band instead (`elicit`, `ask`).
   */
  mrtr?: {
    inputResponses: Record<string, unknown> | null;
    requestState: string | null;
  } | null;
  /**
   * Sends any server→client request (elicitation, sampling, roots) to a legacy client, tied to
   * this request; null when the client is modern (it gets `input_required` results instead).
   */
  ask?:
    | ((request: {
        method: string;
        params?: Record<string, unknown>;
      }) => Promise<Record<string, unknown>>)
    | null;
}

/** Other requests than tools/call (resources, prompts, …): long, and reset by progress. */
const DEFAULT_REQUEST_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * The `forward` stage's adapter for one upstream: relays the request untouched (no schema
 * stripping), passes cancellation through, re-emits progress under the client's own token,
 * and delivers that progress BEFORE the result (a client drops progress for a finished request).
 */
export function upstreamForwarder(
  currentUpstream: () => Upstream | null,
  scopes: ReadonlyMap<string | number, RequestScope>,
  toolTimeoutMs: number,
  serverName: string,
  /** An HTTP upstream answered 404 for our session: start a new one (MCP: re-initialise). */
  reinitialize?: (reason: string) => Promise<Upstream | null>,
  /**
   * Taken before the request is sent; run after a re-initialisation, before it is sent again:
   * why it may not be (the new session's tools could not be checked, or the tool changed), or null.
   */
  reconnectCheck?: (ctx: PipelineContext) => () => Promise<string | null>,
): Forwarder {
  return {
    async forward(ctx: PipelineContext): Promise<GatewayResponse> {
      const { method, params, id } = ctx.request;
      const upstream = currentUpstream();
      if (method === 'logging/setLevel' && upstream && !upstream.capabilities.logging) {
        return { result: {} }; // the server has no logs of its own; Gatehouse's are always sent
      }
      if (!upstream) {
        // Not a timeout: nothing was sent, and the audit says the server was unavailable.
        return {
          error: gatehouseError(
            'server_unavailable',
            `server '${serverName}' stopped and is being restarted; try again shortly`,
          ),
        };
      }
      const scope = scopes.get(id);
      const progressToken = (params?._meta as { progressToken?: string | number } | undefined)
        ?.progressToken;
      const progressSent: Promise<unknown>[] = [];
      const onprogress =
        progressToken !== undefined && scope
          ? (p: Record<string, unknown>) => {
              const notification = {
                method: 'notifications/progress',
                params: { ...p, progressToken },
              };
              progressSent.push(scope.notify(notification).catch(() => undefined));
            }
          : undefined;
      const send = (target: Upstream) =>
        target.client.request({ method, params } as never, passThroughSchema, {
          ...(scope ? { signal: scope.signal } : {}),
          timeout: method === 'tools/call' ? toolTimeoutMs : DEFAULT_REQUEST_TIMEOUT_MS,
          ...(onprogress ? { onprogress, resetTimeoutOnProgress: method !== 'tools/call' } : {}),
        });
      const afterReconnect = reconnectCheck?.(ctx);
      try {
        let result: unknown;
        try {
          result = await send(upstream);
        } catch (err) {
          const fresh =
            httpStatus(err) === 404 && reinitialize
              ? await reinitialize('the server answered 404 for our session')
              : null;
          if (!fresh) throw err;
          const refusal = (await afterReconnect?.()) ?? null;
          if (refusal) return { error: gatehouseError('server_unavailable', refusal) };
          result = await send(fresh);
        }
        await Promise.all(progressSent);
        return { result: result as Record<string, unknown> };
      } catch (err) {
        await Promise.all(progressSent);
        const wire = toWireError(err);
        if (isUpstreamTimeout(err) && method === 'tools/call') {
          const tool = typeof params?.name === 'string' ? ` '${params.name}'` : '';
          return {
            error: gatehouseError(
              'request_timeout',
              `server '${serverName}' did not answer tools/call${tool} within ${toolTimeoutMs / 1000}s (tool_timeout_sec); the call was cancelled`,
            ),
          };
        }
        return { error: wire };
      }
    },
  };
}
