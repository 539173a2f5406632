import type { GatewayResponse, PipelineContext } from '../context.js';
import type { Stage } from '../stage.js';
import { isGatehouseError } from '../error-table.js';

/** Sends a request to the resolved upstream; implemented by the gateway's upstream adapter. */
export interface Forwarder {
  forward(ctx: PipelineContext): Promise<GatewayResponse>;
}

/**
 * The params as the target server names things: a tool or prompt under its own (raw) name, and
 * with the reversible tokens detokenize put back (`ctx.forwardParams`).
 */
export function upstreamParams(ctx: PipelineContext): Record<string, unknown> | undefined {
  const params = withOutgoingMeta(ctx.forwardParams ?? ctx.request.params, ctx.outgoingMeta);
  const target = ctx.target;
  if (!target) return params;
  const method = ctx.request.method;
  if (method === 'tools/call' && target.tool && params?.name !== target.tool)
    return { ...params, name: target.tool };
  if (method === 'prompts/get' && target.prompt !== undefined)
    return { ...params, name: target.prompt };
  if (method === 'completion/complete' && target.prompt !== undefined)
    return { ...params, ref: { ...(params?.ref as object), name: target.prompt } };
  return params;
}

/** The params with the observer's `_meta` entries (trace context) over the client's own. */
function withOutgoingMeta(
  params: Record<string, unknown> | undefined,
  meta: Record<string, string> | undefined,
): Record<string, unknown> | undefined {
  if (!meta) return params;
  const own = params?._meta;
  return { ...params, _meta: { ...(own && typeof own === 'object' ? own : {}), ...meta } };
}

/**
 * The innermost stage: sends the request upstream, addressed as resolve-target routed it (the
 * target's own names), and times the wait for the audit's latency split. It only forwards.
 */
export function forward(forwarder: Forwarder): Stage {
  return {
    name: 'forward',
    handle: async function forwardToUpstream(ctx) {
      const started = performance.now();
      try {
        const params = upstreamParams(ctx);
        const outgoing =
          params === ctx.request.params ? ctx : { ...ctx, request: { ...ctx.request, params } };
        const response = await forwarder.forward(outgoing);
        // Decided here, before masking may copy the error: who made it (see isGatehouseError).
        if ('error' in response)
          ctx.errorOrigin = isGatehouseError(response.error) ? 'gatehouse' : 'upstream';
        ctx.response = response;
      } finally {
        ctx.upstreamMs = performance.now() - started;
      }
    },
  };
}
