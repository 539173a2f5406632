import type { PipelineContext, Target } from '../context.js';
import type { Stage } from '../stage.js';
import type { HiddenTool, ToolGate } from '../tool-filter.js';
import type { ToolAnnotations } from '../../policy/model.js';

/** Where a tool name the client used goes, or why it goes nowhere (null: unknown or hidden). */
export type ToolRoute =
  { server: string; tool: string } | { server: string; refusal: string } | null;

/**
 * Where a request other than tools/call goes: one server (`target`), no single server (`null`:
 * a list gathered from all, or answered by the gateway), or nowhere, with why (`refusal`).
 */
export type RequestRoute =
  { target: Target } | { refusal: { code: number; rule: string; message: string } } | null;

/**
 * How one gateway mode maps requests to servers and tools. `gatehouse run` has one server and
 * original names; `gatehouse serve` namespaces several. Both route tools only to names of the
 * checked listing (gateway/catalog.ts).
 */
export interface Router {
  /** The server a request goes to when it names no tool (resources, prompts, …). */
  defaultServer(): string | null;
  /**
   * Routing of requests other than tools/call (prompts, resources, completions, tasks), when the
   * mode has several servers; absent: every such request goes to `defaultServer()`.
   */
  resolveRequest?(
    method: string,
    params: Record<string, unknown> | undefined,
  ): Promise<RequestRoute>;
  /** A tool name as the client sees it → where it goes; null when unknown or hidden. */
  resolveTool(exposedName: string): ToolRoute | Promise<ToolRoute>;
  /**
   * A tool's annotations as the policy may trust them (from the checked listing, or the lock),
   * or null when the server does not list the tool.
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

/** Server-defined JSON-RPC error: the server(s) this gateway fronts cannot be used (session.ts). */
const SERVER_UNAVAILABLE = -32001;

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
            reason:
              'not in the tools the server listed, or hidden by enabled_tools / disabled_tools',
          };
          ctx.response = {
            error: {
              code: INVALID_PARAMS,
              message: `Unknown tool: ${typeof name === 'string' ? name : '(no name)'}`,
            },
          };
          return;
        }
        if ('refusal' in found) {
          ctx.target = { server: found.server, tool: null };
          ctx.decision = { kind: 'deny', rule: 'tools_not_checked', reason: found.refusal };
          ctx.response = { error: { code: SERVER_UNAVAILABLE, message: found.refusal } };
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
      if (router.resolveRequest) {
        const route = await router.resolveRequest(ctx.request.method, ctx.request.params);
        if (route && 'refusal' in route) {
          ctx.decision = { kind: 'deny', rule: route.refusal.rule, reason: route.refusal.message };
          ctx.response = {
            error: { code: route.refusal.code, message: route.refusal.message },
          };
          return;
        }
        ctx.target = route?.target ?? null;
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
