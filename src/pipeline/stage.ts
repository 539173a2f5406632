import type { PipelineContext } from './context.js';

/** The names of the pipeline's stages, in the order they run (docs/architecture.md). */
export const STAGE_NAMES = [
  'identify-caller',
  'resolve-target',
  'policy',
  'approval',
  'audit-intent',
  'forward',
  'schema-check',
  'masking',
  'audit-result',
] as const;

export type StageName = (typeof STAGE_NAMES)[number];

/**
 * One stage. `before` runs on the way to the upstream (it may answer by setting
 * `ctx.response`, which stops the way there); `after` runs on the way back, in the same
 * order, and may observe or rewrite `ctx.response`.
 */
export interface Stage {
  readonly name: StageName;
  before?(ctx: PipelineContext): void | Promise<void>;
  after?(ctx: PipelineContext): void | Promise<void>;
  /**
   * Runs just before forward, for a stage of the way back that must also shape what goes out:
   * masking puts back the reversible tokens the target server may receive (`ctx.forwardParams`),
   * after policy, approval and audit-intent saw only the tokens.
   */
  beforeForward?(ctx: PipelineContext): void | Promise<void>;
}

/** A stage that does nothing yet: the seam another issue fills. */
export function passThrough(name: StageName): Stage {
  return { name };
}
