import type { PipelineStages } from '../pipeline.js';
import { passThrough } from '../stage.js';
import type { Forwarder } from './forward.js';
import { forward } from './forward.js';
import { identifyCaller } from './identify-caller.js';
import type { Router } from './resolve-target.js';
import { resolveTarget } from './resolve-target.js';
import { schemaPin } from './schema-pin.js';
import { exposureOnly } from './policy.js';

export type { Forwarder } from './forward.js';
export type { RequestRoute, Router, ToolRoute } from './resolve-target.js';

/**
 * The stages every session has whatever its settings: who is calling, where the request goes,
 * the schema lock, and forward. The governance stages (audit, masking, policy, approval,
 * detokenize) come from the session's settings (assemble-session.ts) through `overrides`, which
 * tests also use to deny, observe and rewrite.
 */
export function defaultStages(
  router: Router,
  forwarder: Forwarder,
  overrides: Partial<PipelineStages> = {},
): PipelineStages {
  return {
    'audit-result': passThrough('audit-result'),
    masking: passThrough('masking'),
    'identify-caller': identifyCaller(),
    'resolve-target': resolveTarget(router),
    'schema-pin': schemaPin(router),
    policy: exposureOnly(router),
    approval: passThrough('approval'),
    'audit-intent': passThrough('audit-intent'),
    detokenize: passThrough('detokenize'),
    forward: forward(forwarder),
    ...overrides,
  };
}
