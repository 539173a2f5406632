import type {
  ConnectionInfo,
  GatewayRequest,
  GatewayResponse,
  PipelineContext,
} from './context.js';
import { newContext } from './context.js';
import type { Stage, StageName } from './stage.js';
import { STAGE_NAMES } from './stage.js';

/**
 * The interception pipeline every client request passes through:
 *
 *   identify caller → resolve server/tool → policy → approval → audit intent
 *     → forward → schema check → masking → audit result
 *
 * The stages up to forward run their `before` hooks in that order (the way there); then every
 * stage runs its `after` hook in that order (the way back). Stages after forward only have
 * `after`, and may have `beforeForward` (masking puts back reversible tokens right before the
 * request leaves, so every earlier stage saw only tokens). A stage that answers on the way there (a deny) stops the rest of the way there, but
 * the way back still runs: masking sees every response and audit-result records every outcome,
 * failures included.
 */
export type PipelineStages = { readonly [K in StageName]: Stage };

export interface Pipeline {
  handle(request: GatewayRequest, connection: ConnectionInfo): Promise<PipelineContext>;
}

/** JSON-RPC internal error: a bug or an unexpected failure inside Gatehouse, never the client's fault. */
export const INTERNAL_ERROR = -32603;

export function createPipeline(stages: PipelineStages): Pipeline {
  const ordered = STAGE_NAMES.map((name) => {
    const stage = stages[name];
    if (stage.name !== name)
      throw new Error(`pipeline stage '${name}' is wired with a stage named '${stage.name}'`);
    return stage;
  });
  const forwardAt = STAGE_NAMES.indexOf('forward');
  const wayThere = ordered.slice(0, forwardAt + 1);
  const shapeOutgoing = ordered.slice(forwardAt + 1).filter((s) => s.beforeForward);
  for (const stage of ordered.slice(forwardAt + 1)) {
    if (stage.before) {
      throw new Error(
        `pipeline stage '${stage.name}' runs after forward: it can only have an 'after' hook`,
      );
    }
  }
  const auditResult = stages['audit-result'];

  return {
    async handle(request, connection) {
      const ctx = newContext(request, connection);
      try {
        for (const stage of wayThere) {
          if (ctx.response) break;
          if (stage.name === 'forward') {
            for (const later of shapeOutgoing) await later.beforeForward?.(ctx);
            if (ctx.response) break;
          }
          await stage.before?.(ctx);
          if (ctx.response && stage.name !== 'forward') ctx.answeredBy = stage.name;
        }
        for (const stage of ordered) {
          if (stage !== auditResult) await stage.after?.(ctx);
        }
      } catch (err) {
        ctx.response = internalError(err);
      } finally {
        await auditResult.after?.(ctx);
      }
      return ctx;
    },
  };
}

function internalError(err: unknown): GatewayResponse {
  const detail = err instanceof Error ? err.message : String(err);
  return { error: { code: INTERNAL_ERROR, message: `Gatehouse internal error: ${detail}` } };
}
