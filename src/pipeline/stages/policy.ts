import type { ToolCallDecision } from '../../policy/decide-tool-call.js';
import { decideToolCall } from '../../policy/decide-tool-call.js';
import type { ToolPolicy, UserApprovalMode } from '../../policy/model.js';
import type { annotationsOf } from '../../policy/model.js';
import type { PipelineContext } from '../context.js';
import { gatehouseError } from '../error-table.js';
import type { Stage } from '../stage.js';
import type { Router } from './resolve-target.js';
import type { HiddenTool } from '../tool-filter.js';
import { matchGlob } from '../../policy/glob.js';
import type { OutOfScope, ScopeCaller } from '../../policy/scope.js';
import { NOBODY, policyFor, serverOutOfScope, toolOutOfScope } from '../../policy/scope.js';
import type { Caller } from '../context.js';

/**
 * The caller as the scope sees them: the verified principal (HTTP) or `os:NAME` (stdio), and
 * the identity's groups (OS users have none). No caller: nobody (fail closed).
 */
export function scopeCallerOf(caller: Caller | null): ScopeCaller {
  if (!caller) return NOBODY;
  const principal = caller.tokenSubject ?? (caller.osUser ? `os:${caller.osUser}` : null);
  return { principal, groups: caller.tokenSubject ? (caller.identity?.groups ?? []) : [] };
}

/**
 * Whether a server (and, given one, a tool) is out of the caller's scope, and why. Every name
 * the server answers to (its own and its identity aliases) must admit the caller, so a second
 * name for the same server never widens who may use it.
 */
export function outOfScope(
  settings: PolicySettings,
  server: string,
  tool: string | null,
  caller: ScopeCaller,
): OutOfScope | null {
  const aliases = settings.aliasesOf?.(server) ?? [];
  const scopes = settings.policy.scopes;
  if (scopes) {
    const own = serverOutOfScope(scopes, server, caller);
    if (own) return own;
    for (const alias of aliases) {
      if (alias === server) continue;
      const found = serverOutOfScope({ ...scopes, enabled: false }, alias, caller);
      if (found) return found;
    }
  }
  return tool === null ? null : toolOutOfScope(settings.policy, server, tool, aliases, caller);
}

/** What the policy stage needs besides the router: the policy and the user's approval modes. */
export interface PolicySettings {
  policy: ToolPolicy;
  revision: string;
  /** A rule that names tools none of which a server offers (said once per rule). */
  onWarning?(message: string): void;
  /** The user's Codex approval modes for a server (its config), if any. */
  userModes(server: string): {
    defaultMode: UserApprovalMode | null;
    tools: Record<string, { approvalMode: UserApprovalMode | null }>;
  } | null;
  /** Other allowlisted names whose identity rule this server satisfies (their tool rules apply too). */
  aliasesOf?(server: string): readonly string[];
}

export function decideFor(
  settings: PolicySettings,
  server: string,
  tool: string,
  annotations: ReturnType<typeof annotationsOf>,
  /** A tool approval mode to assume instead of the user's (`policy test` cases). */
  toolModeOverride: UserApprovalMode | null = null,
  /** Who asks: rules whose audience leaves them out do not apply. */
  caller: ScopeCaller = NOBODY,
): ToolCallDecision {
  const modes = settings.userModes(server);
  return decideToolCall({
    server,
    tool,
    annotations,
    user: {
      toolMode: toolModeOverride ?? modes?.tools[tool]?.approvalMode ?? null,
      defaultMode: modes?.defaultMode ?? null,
    },
    policy: policyFor(settings.policy, caller),
    policyRevision: settings.revision,
    aliases: settings.aliasesOf?.(server) ?? [],
  });
}

/**
 * The policy stage: decides every tools/call (allow, deny, or approval needed — the approval
 * stage then gets it), from the admin's rules, the user's modes and the server's annotations;
 * and removes from tools/list what the policy would refuse (allow = false, read-only mode), so
 * the model is not offered tools it cannot call.
 */
/** The refusal a name that does not exist gets (as the router words it), so scope reveals nothing. */
function notFound(request: PipelineContext['request']): string {
  const p = request.params ?? {};
  const ref = (p.ref ?? {}) as { type?: unknown; name?: unknown; uri?: unknown };
  if (request.method === 'prompts/get') return `Unknown prompt: ${String(p.name)}`;
  if (request.method === 'completion/complete')
    return ref.type === 'ref/prompt'
      ? `Unknown prompt: ${String(ref.name)}`
      : `Resource not found: ${String(ref.uri)}`;
  if (request.method.startsWith('tasks/')) return `Unknown task: ${String(p.taskId)}`;
  if (request.method.startsWith('resources/')) return `Resource not found: ${String(p.uri)}`;
  return `Method not found: ${request.method}`;
}

/** List methods whose items belong to servers, and the result key that holds them. */
const LISTS: Record<string, string> = {
  'prompts/list': 'prompts',
  'resources/list': 'resources',
  'resources/templates/list': 'resourceTemplates',
  'tasks/list': 'tasks',
};

/** Methods that reach a server out of scope only to come back filtered (empty), never refused. */
const SHOWN_FILTERED = new Set(['tools/list', 'ping', ...Object.keys(LISTS)]);

/** Tells the client something about its request (an MCP log notification tied to it). */
export type ClientNotice = (ctx: PipelineContext, params: Record<string, unknown>) => Promise<void>;

export function policyStage(
  router: Router,
  settings: PolicySettings,
  /** Tells the agent why tools are missing from its list (the schema lock hid them). */
  notice?: ClientNotice,
): Stage {
  const warned = new Set<string>();
  /** Rules whose server pattern matches a listed server but whose tool pattern matches none of its tools. */
  const warnUnmatched = (listed: { server: string; tool: string }[]) => {
    const servers = new Set(listed.map((t) => t.server));
    for (const rule of settings.policy.rules) {
      if (warned.has(rule.key)) continue;
      for (const server of servers) {
        if (!matchGlob(rule.server, server)) continue;
        if (listed.some((t) => t.server === server && matchGlob(rule.tool, t.tool))) continue;
        warned.add(rule.key);
        settings.onWarning?.(
          `gatehouse_policy.tools."${rule.key}" matches no tool of server '${server}' (it offers ${listed.filter((t) => t.server === server).length}); check the tool name`,
        );
      }
    }
  };
  return {
    name: 'policy',
    handle: async function policy(ctx: PipelineContext, next) {
      if (ctx.request.method === 'tools/call' && ctx.target?.tool) {
        if (!(await decideCall(ctx))) return;
      } else if (ctx.target && !SHOWN_FILTERED.has(ctx.request.method)) {
        if (refuseOutOfScope(ctx, ctx.target.server)) return;
      }
      await next();
      if (ctx.request.method === 'tools/list') await hideRefusedTools(ctx);
      else if (LISTS[ctx.request.method]) await hideOutOfScopeItems(ctx);
    },
  };

  /** Decides a call; false when the policy refused it (the response says why). */
  async function decideCall(ctx: PipelineContext): Promise<boolean> {
    if (!ctx.target?.tool) return true;
    const { server, tool } = ctx.target;
    const caller = scopeCallerOf(ctx.caller);
    const scope = outOfScope(settings, server, tool, caller);
    if (scope) {
      // Refused exactly like a tool that does not exist: a caller out of scope learns nothing.
      // The audit keeps the scope rule and reason for the admin.
      ctx.decision = { kind: 'deny', rule: scope.rule, reason: `scope: ${scope.reason}` };
      const name = ctx.request.params?.name;
      ctx.response = {
        error: gatehouseError(
          'unknown_target',
          `Unknown tool: ${typeof name === 'string' ? name : '(no name)'}`,
        ),
      };
      return false;
    }
    // An approval an earlier stage already requires (a changed schema) is a floor.
    const floor = ctx.decision.kind === 'needs_approval' ? ctx.decision : null;
    const d = decideFor(
      settings,
      server,
      tool,
      await router.toolAnnotations(server, tool),
      null,
      caller,
    );
    ctx.policy = {
      effect: d.effect,
      category: d.category,
      level: d.level,
      policyRevision: d.policy_revision,
    };
    if (d.decision === 'deny') {
      ctx.decision = { kind: 'deny', rule: d.rule, reason: d.reason };
      ctx.response = {
        error: gatehouseError(
          'policy_denied',
          `Gatehouse policy refuses ${server}/${tool}: ${d.reason} (rule: ${d.rule})`,
        ),
      };
      return false;
    }
    ctx.decision =
      d.decision === 'allow'
        ? (floor ?? { kind: 'allow', rule: d.rule })
        : {
            kind: 'needs_approval',
            rule: d.rule,
            approver: d.approval === 'two_person' ? 'two_person' : 'user',
          };
    return true;
  }

  /**
   * A request routed to one server (a prompt, a resource, a completion, a task) out of the
   * caller's scope: refused like a name that does not exist, so the server stays invisible.
   */
  function refuseOutOfScope(ctx: PipelineContext, server: string): boolean {
    const scope = outOfScope(settings, server, null, scopeCallerOf(ctx.caller));
    if (!scope) return false;
    ctx.decision = { kind: 'deny', rule: scope.rule, reason: `scope: ${scope.reason}` };
    ctx.response = { error: gatehouseError('unknown_target', notFound(ctx.request)) };
    return true;
  }

  /** prompts/list, resources/list, resources/templates/list: items of servers out of scope go. */
  async function hideOutOfScopeItems(ctx: PipelineContext): Promise<void> {
    const key = LISTS[ctx.request.method] as string;
    const scopes = settings.policy.scopes;
    // Without server scopes every server is everybody's: nothing to filter.
    if (!scopes || (!scopes.enabled && scopes.servers.length + scopes.narrowing.length === 0))
      return;
    if (!ctx.response || !('result' in ctx.response)) return;
    const items = ctx.response.result[key];
    if (!Array.isArray(items)) return;
    const caller = scopeCallerOf(ctx.caller);
    const kept: unknown[] = [];
    for (const item of items) {
      const servers = (await router.serversOfListed?.(ctx.request.method, item)) ?? [
        router.defaultServer(),
      ];
      // Unknown owner: hidden (fail closed); several owners: each must be in scope.
      const visible =
        servers.length > 0 &&
        servers.every((s) => s !== null && !outOfScope(settings, s, null, caller));
      if (visible) kept.push(item);
    }
    if (kept.length !== items.length)
      ctx.response = { result: { ...ctx.response.result, [key]: kept } };
  }

  /**
   * An empty or shorter list alone would leave the agent guessing: tools the schema lock hid are
   * named with the reason and the fix, in a log notification before the list arrives.
   */
  async function tellWhyHidden(ctx: PipelineContext, hidden: readonly HiddenTool[]) {
    const drifted = hidden.filter((h) => h.reason.startsWith('schema:'));
    if (!notice || drifted.length === 0) return;
    await notice(ctx, {
      level: 'warning',
      logger: 'gatehouse',
      data: {
        event: 'tools_hidden',
        why: 'these tools changed since they were locked, so Gatehouse hides them until an admin reviews the change (`gatehouse schema diff`) and accepts it (`gatehouse schema approve SERVER/TOOL`)',
        tools: drifted.map((h) => ({ server: h.server, tool: h.tool, reason: h.reason })),
      },
    }).catch(() => undefined);
  }

  /** What a tools/list may show this caller (one place: visibleTools), and what it hides. */
  async function hideRefusedTools(ctx: PipelineContext): Promise<void> {
    if (!ctx.response || !('result' in ctx.response)) return;
    const tools = ctx.response.result.tools;
    if (!Array.isArray(tools)) return;
    const seen = await visibleTools(tools, router, settings, scopeCallerOf(ctx.caller));
    ctx.hiddenTools = [...seen.hidden, ...ctx.hiddenTools];
    ctx.listedRoutes = seen.routes;
    warnUnmatched(seen.listed);
    await tellWhyHidden(ctx, seen.hidden);
    if (seen.tools.length !== tools.length || seen.tools.some((t, i) => t !== tools[i]))
      ctx.response = { result: { ...ctx.response.result, tools: seen.tools } };
  }
}

/**
 * What a caller may see of a tools/list: the checked listing's exposure (enabled_tools /
 * disabled_tools, the schema lock) and then the policy (a tool it would refuse is not offered).
 * The one rule listing, calling (resolve-target routes only exposed names; the policy decides a
 * call with the same `decideFor`) and `mcp list --probe` share. `listed` names every tool the
 * server offered, hidden or not (for the rules-match-nothing warning).
 */
export async function visibleTools(
  tools: readonly unknown[],
  router: Router,
  /** null: no tool policy in this pipeline (exposure only). */
  settings: PolicySettings | null,
  /** Who asks: a tool out of their scope (`[gatehouse_scopes]`, rule audiences) is hidden. */
  caller: ScopeCaller = NOBODY,
): Promise<{
  tools: unknown[];
  hidden: HiddenTool[];
  listed: { server: string; tool: string }[];
  /** Each shown name → where a call to it goes. */
  routes: Map<string, { server: string; tool: string }>;
}> {
  const exposed = router.exposeTools(tools);
  const hidden = [...exposed.hidden];
  const listed = hidden.map((h) => ({ server: h.server, tool: h.tool }));
  const kept: unknown[] = [];
  const routes = new Map<string, { server: string; tool: string }>();
  for (const item of exposed.tools) {
    const name = (item as { name?: unknown } | null)?.name;
    const route = typeof name === 'string' ? await router.resolveTool(name) : null;
    const target = route && 'tool' in route ? route : null;
    if (!target) {
      kept.push(item);
      continue;
    }
    listed.push(target);
    if (!settings) {
      kept.push(item);
      routes.set(name as string, target);
      continue;
    }
    const scope = outOfScope(settings, target.server, target.tool, caller);
    if (scope) {
      hidden.push({
        server: target.server,
        tool: target.tool,
        reason: `scope: ${scope.reason} (${scope.rule})`,
      });
      continue;
    }
    // The annotations a call would be classified by (the checked listing's, or the lock's).
    const d = decideFor(
      settings,
      target.server,
      target.tool,
      await router.toolAnnotations(target.server, target.tool),
      null,
      caller,
    );
    if (d.decision === 'deny')
      hidden.push({
        server: target.server,
        tool: target.tool,
        reason: `policy: ${d.reason} (${d.rule})`,
      });
    else {
      kept.push(item);
      routes.set(name as string, target);
    }
  }
  return { tools: kept, hidden, listed, routes };
}

/**
 * The policy seam of a pipeline with no tool policy (tests, probes): calls are not decided, but a
 * tools/list still shows only what the checked listing exposes, through the same visibleTools.
 */
export function exposureOnly(router: Router): Stage {
  return {
    name: 'policy',
    handle: async function exposeListing(ctx: PipelineContext, next) {
      await next();
      if (ctx.request.method !== 'tools/list' || !ctx.response || !('result' in ctx.response))
        return;
      const tools = ctx.response.result.tools;
      if (!Array.isArray(tools)) return;
      const seen = await visibleTools(tools, router, null);
      ctx.hiddenTools = [...seen.hidden, ...ctx.hiddenTools];
      ctx.listedRoutes = seen.routes;
      ctx.response = { result: { ...ctx.response.result, tools: seen.tools } };
    },
  };
}
