import type { ToolCallDecision } from '../../policy/decide-tool-call.js';
import { decideToolCall } from '../../policy/decide-tool-call.js';
import type { ToolPolicy, UserApprovalMode } from '../../policy/model.js';
import type { annotationsOf } from '../../policy/model.js';
import type { PipelineContext } from '../context.js';
import type { Stage } from '../stage.js';
import type { Router } from './resolve-target.js';
import { matchGlob } from '../../policy/glob.js';

/** Server-defined JSON-RPC error: the admin's tool policy refuses the call. */
export const POLICY_DENIED = -32004;

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
    policy: settings.policy,
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
export function policyStage(router: Router, settings: PolicySettings): Stage {
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
    before: async function policyBefore(ctx: PipelineContext) {
      if (ctx.request.method !== 'tools/call' || !ctx.target?.tool) return;
      const { server, tool } = ctx.target;
      // An approval an earlier stage already requires (a changed schema) is a floor.
      const floor = ctx.decision.kind === 'needs_approval' ? ctx.decision : null;
      const d = decideFor(settings, server, tool, await router.toolAnnotations(server, tool));
      ctx.policy = {
        effect: d.effect,
        category: d.category,
        level: d.level,
        policyRevision: d.policy_revision,
      };
      if (d.decision === 'deny') {
        ctx.decision = { kind: 'deny', rule: d.rule, reason: d.reason };
        ctx.response = {
          error: {
            code: POLICY_DENIED,
            message: `Gatehouse policy refuses ${server}/${tool}: ${d.reason} (rule: ${d.rule})`,
          },
        };
        return;
      }
      ctx.decision =
        d.decision === 'allow'
          ? (floor ?? { kind: 'allow', rule: d.rule })
          : {
              kind: 'needs_approval',
              rule: d.rule,
              approver: d.approval === 'two_person' ? 'two_person' : 'user',
            };
    },
    after: async function policyAfter(ctx: PipelineContext) {
      if (ctx.request.method !== 'tools/list' || !ctx.response || !('result' in ctx.response))
        return;
      const tools = ctx.response.result.tools;
      if (!Array.isArray(tools)) return;
      const kept: unknown[] = [];
      const listed: { server: string; tool: string }[] = ctx.hiddenTools.map((h) => ({
        server: h.server,
        tool: h.tool,
      }));
      for (const item of tools) {
        const exposed = (item as { name?: unknown } | null)?.name;
        const route = typeof exposed === 'string' ? await router.resolveTool(exposed) : null;
        const target = route && 'tool' in route ? route : null;
        if (!target) {
          kept.push(item);
          continue;
        }
        listed.push(target);
        // The annotations a call would be classified by (the checked listing's, or the lock's).
        const d = decideFor(
          settings,
          target.server,
          target.tool,
          await router.toolAnnotations(target.server, target.tool),
        );
        if (d.decision === 'deny') {
          ctx.hiddenTools.push({
            server: target.server,
            tool: target.tool,
            reason: `policy: ${d.reason} (${d.rule})`,
          });
        } else kept.push(item);
      }
      warnUnmatched(listed);
      if (kept.length !== tools.length)
        ctx.response = { result: { ...ctx.response.result, tools: kept } };
    },
  };
}
