import type { PipelineContext } from '../context.js';
import { gatehouseError } from '../error-table.js';
import type { Stage } from '../stage.js';
import type { Router } from './resolve-target.js';

/**
 * The schema lock's enforcement for calls (`gatehouse schema`): a call to a tool that changed
 * since it was locked is refused here, before policy, approval and forward, or goes on only with
 * a person's approval (a floor the policy stage keeps). The lock's per-session state (what each
 * server's live listing is checked against) sits behind `router.toolGate`, in the session's
 * schema guard; the same guard hides changed tools from the checked listing, so a call and a
 * listing never disagree about a tool.
 */
export function schemaPin(router: Router): Stage {
  return {
    name: 'schema-pin',
    handle: async function schemaPin(ctx: PipelineContext, next) {
      const target = ctx.target;
      if (ctx.request.method === 'tools/call' && target?.tool && router.toolGate) {
        const gate = await router.toolGate(target.server, target.tool);
        if (gate?.action === 'refuse') {
          ctx.decision = { kind: 'deny', rule: gate.rule, reason: gate.message };
          ctx.response = { error: gatehouseError('schema_blocked', gate.message) };
          return;
        }
        if (gate?.action === 'needs_approval')
          ctx.decision = { kind: 'needs_approval', rule: gate.rule, approver: 'user' };
      }
      await next();
    },
  };
}
