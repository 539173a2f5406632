import type { PipelineContext } from './context.js';
import type { StageName } from './stage.js';

/**
 * Watches requests walk the pipeline without taking part (telemetry: spans and metrics). The
 * runner calls it, so no stage knows it exists; it must not throw, and it only reads `ctx`,
 * except `ctx.outgoingMeta` (the trace context sent upstream).
 */
export interface PipelineObserver {
  /** A request entered the pipeline; null: this one is not watched. */
  request(ctx: PipelineContext): RequestWatch | null;
}

/** One request's walk: each stage entered and left (nested, outermost first), then the end. */
export interface RequestWatch {
  enter(stage: StageName): void;
  leave(stage: StageName): void;
  end(): void;
}
