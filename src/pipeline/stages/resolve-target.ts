import type { PipelineContext } from '../context.js';
import type { Stage } from '../stage.js';
import type { HiddenTool, ToolGate } from '../tool-filter.js';
import type { ToolAnnotations } from '../../policy/model.js';

/**
 * How one gateway mode maps requests to servers and tools. `gatehouse run` has one server and
 * original names; `gatehouse serve` namespaces several.
 */
export interface Router {
  /** The server a request goes to when it names no tool (resources, prompts, …). */
  defaultServer(): string | null;
  /** A tool name as the client sees it → where it goes; null when unknown or hidden. */
  resolveTool(
    exposedName: string,
  ): { server: string; tool: string } | null | Promise<{ server: string; tool: string } | null>;
  /**
   * A tool's annotations as its server declares them (untrusted: the policy lets an admin's
   * class override them), or null when the server does not list the tool.
   */
  toolAnnotations(server: string, tool: string): Promise<ToolAnnotations | null>;
  /** A tool's declared `outputSchema` (undefined when it has none or is not listed). */
  toolOutputSchema(server: string, tool: string): Promise<unknown>;
  /** The `tools/list` result's tools as the client may see them, and those it may not. */
  exposeTools(tools: readonly unknown[]): { tools: unknown[]; hidden: HiddenTool[] };
  /** A call's check beyond exposure (the schema lock), when the gateway has one. */
  toolGate?(server: string, tool: string): Promise<ToolGate | null>;
}

/** JSON-RPC invalid params: the code MCP servers use for an unknown tool. */
export const INVALID_PARAMS = -32602;

/** Server-defined JSON-RPC error: the tool changed since it was locked (`gatehouse schema`). */
export const SCHEMA_BLOCKED = -32013;

export function resolveTarget(router: Router): Stage {
  return {
    name: 'resolve-target',
    before: async function resolveTargetBefore(ctx: PipelineContext) {
      if (ctx.request.method === 'tools/call') {
        const name = ctx.request.params?.name;
        const found = typeof name === 'string' ? await router.resolveTool(name) : null;
        if (!found) {
          // A hidden tool is refused exactly like one that does not exist.
          ctx.decision = {
            kind: 'deny',
            rule: 'unknown_or_hidden_tool',
            reason: 'not offered by the server, or hidden by enabled_tools / disabled_tools',
          };
          ctx.response = {
            error: {
              code: INVALID_PARAMS,
              message: `Unknown tool: ${typeof name === 'string' ? name : '(no name)'}`,
            },
          };
          return;
        }
        ctx.target = found;
        // The schema lock: a changed tool is refused here, before policy, approval and forward.
        const gate = await router.toolGate?.(found.server, found.tool);
        if (gate?.action === 'refuse') {
          ctx.decision = { kind: 'deny', rule: gate.rule, reason: gate.message };
          ctx.response = { error: { code: SCHEMA_BLOCKED, message: gate.message } };
        } else if (gate?.action === 'needs_approval') {
          ctx.decision = { kind: 'needs_approval', rule: gate.rule, approver: 'user' };
        }
        return;
      }
      const server = router.defaultServer();
      ctx.target = server ? { server, tool: null } : null;
    },
    after: function resolveTargetAfter(ctx: PipelineContext) {
      if (ctx.request.method !== 'tools/list' || !ctx.response || !('result' in ctx.response))
        return;
      const tools = ctx.response.result.tools;
      if (!Array.isArray(tools)) return;
      const exposed = router.exposeTools(tools);
      ctx.hiddenTools = exposed.hidden;
      ctx.response = { result: { ...ctx.response.result, tools: exposed.tools } };
    },
  };
}
