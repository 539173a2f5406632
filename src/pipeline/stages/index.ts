import type { PipelineStages } from '../pipeline.js';
import { passThrough } from '../stage.js';
import type { Forwarder } from './forward.js';
import { forward } from './forward.js';
import { identifyCaller } from './identify-caller.js';
import type { Router } from './resolve-target.js';
import { resolveTarget } from './resolve-target.js';

export type { Forwarder } from './forward.js';
export type { RequestRoute, Router, ToolRoute } from './resolve-target.js';

/**
 * The stages as wired today. policy, approval, audit-intent, schema-check, masking and
 * audit-result are pass-through seams that the policy, approval, audit, schema and masking
 * issues fill; `overrides` replaces any of them (tests use it to deny, observe and rewrite).
 */
export function defaultStages(
  router: Router,
  forwarder: Forwarder,
  overrides: Partial<PipelineStages> = {},
): PipelineStages {
  return {
    'identify-caller': identifyCaller(),
    'resolve-target': resolveTarget(router),
    policy: passThrough('policy'),
    approval: passThrough('approval'),
    'audit-intent': passThrough('audit-intent'),
    forward: forward(forwarder),
    'schema-check': passThrough('schema-check'),
    masking: passThrough('masking'),
    'audit-result': passThrough('audit-result'),
    ...overrides,
  };
}
