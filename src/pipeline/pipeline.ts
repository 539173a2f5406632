import type {
  ConnectionInfo,
  GatewayRequest,
  GatewayResponse,
  PipelineContext,
} from './context.js';
import { newContext } from './context.js';
import { gatehouseError } from './error-table.js';
import type { PipelineObserver } from './observer.js';
import type { Stage, StageName } from './stage.js';
import { STAGE_NAMES } from './stage.js';
import { maskTokens } from '../masking/mask-text.js';

/**
 * The interception pipeline every client request passes through, outermost first:
 *
 *   audit result ⊃ masking ⊃ identify caller → resolve server/tool → schema pin → policy
 *     → approval → audit intent → detokenize → forward
 *
 * Each stage wraps the rest (stage.ts). Nothing is special-cased here: a stage that answers
 * stops the way in, a stage that throws becomes an internal error where it threw (`next()`
 * never rejects), and either way every outer stage still sees the response on the way out.
 */
export type PipelineStages = { readonly [K in StageName]: Stage };

export interface Pipeline {
  handle(request: GatewayRequest, connection: ConnectionInfo): Promise<PipelineContext>;
}

/** `observer` (telemetry) watches each request and stage from outside; absent, nothing is watched. */
export function createPipeline(stages: PipelineStages, observer?: PipelineObserver): Pipeline {
  const ordered = STAGE_NAMES.map((name) => {
    const stage = stages[name];
    if (stage.name !== name)
      throw new Error(`pipeline stage '${name}' is wired with a stage named '${stage.name}'`);
    return stage;
  });

  return {
    async handle(request, connection) {
      const ctx = newContext(request, connection);
      const watch = observer?.request(ctx) ?? null;
      const dispatch = async (index: number): Promise<void> => {
        const stage = ordered[index];
        if (!stage) return;
        let passedOn = false;
        watch?.enter(stage.name);
        await stage.handle(ctx, async () => {
          if (passedOn) throw new Error(`pipeline stage '${stage.name}' passed a request on twice`);
          passedOn = true;
          try {
            await dispatch(index + 1);
          } catch (err) {
            // A failure inside is an answer like any other: every outer stage still sees it.
            ctx.response = internalError(err);
          }
        });
        if (!passedOn && stage.name !== 'forward' && ctx.response && ctx.answeredBy === null)
          ctx.answeredBy = stage.name;
        watch?.leave(stage.name);
      };
      try {
        await dispatch(0);
        if (!ctx.response) throw new Error(`no stage answered ${request.method}`);
      } catch (err) {
        ctx.response = internalError(err);
      }
      watch?.end();
      return ctx;
    },
  };
}

/**
 * What a failure inside Gatehouse becomes: an internal error that says what failed, with any
 * token-shaped value in the message masked (masking normally masks it again on the way out).
 */
export function internalError(err: unknown): GatewayResponse {
  const detail = err instanceof Error ? err.message : String(err);
  return {
    error: gatehouseError('internal_error', `Gatehouse internal error: ${maskTokens(detail)}`),
  };
}
