import type { RequestScope } from '../gateway/upstream-forwarder.js';
import type { PipelineObserver } from './observer.js';
import type { Pipeline, PipelineStages } from './pipeline.js';
import { createPipeline } from './pipeline.js';
import type { Forwarder, Router } from './stages/index.js';
import { defaultStages } from './stages/index.js';

/**
 * A session's governance stages (audit, masking, policy, approval, detokenize), built from
 * settings the CLI resolved once for the whole process (cli/audit-runtime.ts); a session adds
 * its router and its requests' client channels.
 */
export type GovernanceFactory = (
  router: Router,
  scopes: ReadonlyMap<string | number, RequestScope>,
) => Partial<PipelineStages>;

/** Where a session's stages come from: the process's governance, and a test seam. */
export interface SessionStageSource {
  governance?: GovernanceFactory;
  /** Test seam: replaces any stage after governance is applied. */
  stages?: Partial<PipelineStages>;
  /** Telemetry watching every request (src/telemetry); absent when it is off. */
  observer?: PipelineObserver;
}

/**
 * The one session assembler: both gateway modes, stdio and HTTP, build a session's pipeline
 * here, from the same settings, so no mode can miss a stage.
 */
export function assembleSession(
  source: SessionStageSource,
  router: Router,
  forwarder: Forwarder,
  scopes: ReadonlyMap<string | number, RequestScope>,
): Pipeline {
  return createPipeline(
    defaultStages(router, forwarder, {
      ...source.governance?.(router, scopes),
      ...source.stages,
    }),
    source.observer,
  );
}
