import type { GatewayResponse, PipelineContext } from '../context.js';
import type { Stage } from '../stage.js';

/** Sends a request to the resolved upstream; implemented by the gateway's upstream adapter. */
export interface Forwarder {
  forward(ctx: PipelineContext): Promise<GatewayResponse>;
}

export function forward(forwarder: Forwarder): Stage {
  return {
    name: 'forward',
    before: async function forwardBefore(ctx) {
      const started = performance.now();
      try {
        ctx.response = await forwarder.forward(ctx);
      } finally {
        ctx.upstreamMs = performance.now() - started;
      }
    },
  };
}
