import type { PipelineContext } from './context.js';

/**
 * The stages, outermost first (docs/architecture.md). Each wraps the ones after it, the way
 * Hono's `compose` wraps middleware: the audit result is outermost so it records every outcome,
 * masking comes next so it sees every response and error, thrown or answered, and forward is
 * innermost. A request walks the list in order; its response walks it back.
 */
export const STAGE_NAMES = [
  'audit-result',
  'masking',
  'identify-caller',
  'resolve-target',
  'schema-pin',
  'policy',
  'approval',
  'audit-intent',
  'detokenize',
  'forward',
] as const;

export type StageName = (typeof STAGE_NAMES)[number];

/** Runs the stages after this one; resolves when the response has come back through them. */
export type Next = () => Promise<void>;

/**
 * One stage. It may answer by setting `ctx.response` without calling `next` (a deny: the
 * stages after it never run, the ones before it still see the answer on the way back), or call
 * `next` and then observe or rewrite `ctx.response`. `next` never rejects: an error thrown
 * inside becomes an internal error response there, which masking masks and the audit records.
 */
export interface Stage {
  readonly name: StageName;
  handle(ctx: PipelineContext, next: Next): Promise<void>;
}

/** A stage that only passes the request on (a seam a gateway mode does not use). */
export function passThrough(name: StageName): Stage {
  return { name, handle: (_ctx, next) => next() };
}
