import type { PipelineContext, Target } from '../context.js';
import type { Stage } from '../stage.js';
import type { HiddenTool, ToolGate } from '../tool-filter.js';
import type { ToolAnnotations } from '../../policy/model.js';
import type { ErrorKind } from '../error-table.js';
import { gatehouseError } from '../error-table.js';

/** Where a tool name the client used goes, or why it goes nowhere (null: unknown or hidden). */
export type ToolRoute =
  | { server: string; tool: string }
  /** Refused with why; `kind`/`rule` default to a server whose tools are not checked yet. */
  | { server: string; refusal: string; kind?: ErrorKind; rule?: string }
  | null;

/**
 * Where a request other than tools/call goes: one server (`target`), no single server (`null`:
 * a list gathered from all, or answered by the gateway), or nowhere, with why (`refusal`).
 */
export type RequestRoute =
  { target: Target } | { refusal: { kind: ErrorKind; rule: string; message: string } } | null;

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
  /**
   * The servers an item of a prompts/resources list belongs to (`serve`: several may offer one
   * URI); absent: every item is the default server's.
   */
  serversOfListed?(method: string, item: unknown): Promise<string[]>;
  /** A call's check beyond exposure (the schema lock), when the gateway has one. */
  toolGate?(server: string, tool: string): Promise<ToolGate | null>;
}

/**
 * Routing, for every method and both gateway modes: a tools/call goes only to a name of the
 * checked listing (an unknown or hidden tool is refused the same way), other requests to the
 * one server that owns them (or to none: a list gathered from all), through the mode's Router.
 * What a tools/list shows is decided in one place on the way back (policy.ts, visibleTools).
 */
export function resolveTarget(router: Router): Stage {
  return {
    name: 'resolve-target',
    handle: async function resolveTarget(ctx: PipelineContext, next) {
      const refusal = await route(ctx, router);
      if (refusal) {
        ctx.decision = { kind: 'deny', rule: refusal.rule, reason: refusal.reason };
        ctx.response = { error: gatehouseError(refusal.kind, refusal.message) };
        return;
      }
      await next();
    },
  };
}

interface Refusal {
  kind: ErrorKind;
  rule: string;
  reason: string;
  message: string;
}

/** Sets `ctx.target`, or says why the request goes nowhere. */
async function route(ctx: PipelineContext, router: Router): Promise<Refusal | null> {
  if (ctx.request.method === 'tools/call') {
    const name = ctx.request.params?.name;
    const found = typeof name === 'string' ? await router.resolveTool(name) : null;
    if (!found)
      // A hidden tool is refused exactly like one that does not exist.
      return {
        kind: 'unknown_target',
        rule: 'unknown_or_hidden_tool',
        reason: 'not in the tools the server listed, or hidden by enabled_tools / disabled_tools',
        message: `Unknown tool: ${typeof name === 'string' ? name : '(no name)'}`,
      };
    if ('refusal' in found) {
      ctx.target = { server: found.server, tool: null };
      return {
        kind: found.kind ?? 'server_unavailable',
        rule: found.rule ?? 'tools_not_checked',
        reason: found.refusal,
        message: found.refusal,
      };
    }
    ctx.target = found;
    return null;
  }
  if (router.resolveRequest) {
    const routed = await router.resolveRequest(ctx.request.method, ctx.request.params);
    if (routed && 'refusal' in routed)
      return {
        kind: routed.refusal.kind,
        rule: routed.refusal.rule,
        reason: routed.refusal.message,
        message: routed.refusal.message,
      };
    ctx.target = routed?.target ?? null;
    return null;
  }
  const server = router.defaultServer();
  ctx.target = server ? { server, tool: null } : null;
  return null;
}
