import type { GatewayResponse, PipelineContext } from '../context.js';
import type { Stage } from '../stage.js';

/** Sends a request to the resolved upstream; implemented by the gateway's upstream adapter. */
export interface Forwarder {
  forward(ctx: PipelineContext): Promise<GatewayResponse>;
}

/** Sends the request upstream: as the client sent it, or with `ctx.forwardParams` when set. */
export function forward(forwarder: Forwarder): Stage {
  return {
    name: 'forward',
    before: async function forwardBefore(ctx) {
      const started = performance.now();
      try {
        const outgoing = ctx.forwardParams
          ? { ...ctx, request: { ...ctx.request, params: ctx.forwardParams } }
          : ctx;
        ctx.response = await forwarder.forward(outgoing);
      } finally {
        ctx.upstreamMs = performance.now() - started;
      }
    },
  };
}
