import { describeSource } from '../requirements/model.js';
import { matchGlob, specificity } from './glob.js';
import type {
  ApprovalLevel,
  Effect,
  ToolAnnotations,
  ToolPolicy,
  ToolRule,
  UserApprovalMode,
} from './model.js';
import { APPROVAL_LEVELS, HUMAN_APPROVAL_CATEGORIES } from './model.js';

/** Everything a decision about one tool call depends on (plain data). */
export interface ToolCallFacts {
  server: string;
  tool: string;
  /** What the server declares (untrusted), or null when unknown. */
  annotations: ToolAnnotations | null;
  /** The user's Codex settings for this server: `tools.<tool>.approval_mode`, then the default. */
  user: { toolMode: UserApprovalMode | null; defaultMode: UserApprovalMode | null };
  policy: ToolPolicy;
  /** A hash of the effective policy: approvals are bound to it. */
  policyRevision: string;
}

export interface ToolCallDecision {
  decision: 'allow' | 'deny' | 'approval';
  /** Who must approve: nobody, the user (in-band or the queue), or a second identity. */
  approval: 'none' | 'user' | 'two_person';
  level: ApprovalLevel;
  /** A grant may cover the same call again in this session (only at level `prompt`). */
  sessionScope: boolean;
  effect: Effect;
  /** Where the effect came from: the admin's rule, the server's annotations, or the default. */
  effectSource: 'admin' | 'annotations' | 'default';
  category: string | null;
  /** The rule that decided, as a user can find it (`gatehouse_policy.tools."payments/*"`, …). */
  rule: string;
  reason: string;
  policy_revision: string;
}

/**
 * Classifies a tool from its annotations the way Codex's `auto` mode reads them: destructive if
 * it says so; read if it says read-only; a plain write if it says neither destructive nor
 * open-world; otherwise — no hints at all included — a side effect (unsafe).
 */
export function effectFromAnnotations(a: ToolAnnotations | null): Effect {
  if (!a) return 'side_effect';
  if (a.destructiveHint === true) return 'destructive';
  if (a.readOnlyHint === true) return 'read';
  if (a.destructiveHint === false && a.openWorldHint === false) return 'write';
  return 'side_effect';
}

const rank = (level: ApprovalLevel) => APPROVAL_LEVELS.indexOf(level);
const stricter = (a: ApprovalLevel, b: ApprovalLevel) => (rank(a) >= rank(b) ? a : b);

/** Without an admin rule: reads flow, anything else asks the user (the product's floor). */
function defaultLevel(effect: Effect): ApprovalLevel {
  return effect === 'read' ? 'never' : 'prompt';
}

/** What a Codex approval mode asks for this tool. */
function userLevel(mode: UserApprovalMode, effect: Effect): ApprovalLevel {
  switch (mode) {
    case 'prompt':
      return 'prompt';
    case 'writes':
      return effect === 'read' ? 'never' : 'prompt';
    case 'approve':
      return 'never';
    case 'auto':
      return defaultLevel(effect);
  }
}

export function ruleName(rule: ToolRule): string {
  return `gatehouse_policy.tools."${rule.key}" (${describeSource(rule.source)})`;
}

/** The matching rules, most specific first (exact beats glob; server first, then tool). */
export function matchingRules(policy: ToolPolicy, server: string, tool: string): ToolRule[] {
  return policy.rules
    .filter((r) => matchGlob(r.server, server) && matchGlob(r.tool, tool))
    .sort(
      (a, b) =>
        specificity(b.server) - specificity(a.server) ||
        specificity(b.tool) - specificity(a.tool) ||
        a.key.localeCompare(b.key),
    );
}

/**
 * The one decision for a tool call. Precedence: `allow = false` beats everything; read-only
 * mode refuses anything not classified `read`; otherwise the most specific rule that sets a
 * field decides it. The user's approval mode can only make a call stricter than an admin rule
 * (an admin's effect class counts: a tool the admin calls destructive asks, whatever the user's
 * mode); with no admin rule it applies as in Codex;
 * a human-approval category (money, permissions, customer_records, production_state) always
 * needs approval for every call, whatever the user or the server says. Pure.
 */
export function decideToolCall(f: ToolCallFacts): ToolCallDecision {
  const rules = matchingRules(f.policy, f.server, f.tool);
  const effectRule = rules.find((r) => r.effect !== null);
  const effect = effectRule?.effect ?? effectFromAnnotations(f.annotations);
  const effectSource = effectRule ? 'admin' : f.annotations ? 'annotations' : 'default';
  const categoryRule = rules.find((r) => r.category !== null);
  const category = categoryRule?.category ?? null;
  const base = {
    effect,
    effectSource,
    category,
    policy_revision: f.policyRevision,
  } as const;
  const deny = (rule: string, reason: string): ToolCallDecision => ({
    ...base,
    decision: 'deny',
    approval: 'none',
    level: 'never',
    sessionScope: false,
    rule,
    reason,
  });

  const denied = rules.find((r) => r.allow === false);
  if (denied) return deny(ruleName(denied), `the admin does not allow ${f.server}/${f.tool}`);
  if (f.policy.readOnly && effect !== 'read') {
    return deny(
      `gatehouse_policy.read_only${f.policy.readOnlySource ? ` (${describeSource(f.policy.readOnlySource)})` : ''}`,
      `read-only mode: ${f.server}/${f.tool} is classified '${effect}'${effectRule ? ` by ${ruleName(effectRule)}` : ' from its annotations'}`,
    );
  }

  // An admin rule that sets the approval, or failing that one that classifies the effect, sets
  // a floor: the user's mode can tighten it, never loosen it.
  const approvalRule = rules.find((r) => r.approval !== null);
  const floor: { level: ApprovalLevel; rule: ToolRule } | null = approvalRule?.approval
    ? { level: approvalRule.approval, rule: approvalRule }
    : effectRule
      ? { level: defaultLevel(effect), rule: effectRule }
      : null;
  const mode = f.user.toolMode ?? f.user.defaultMode;
  const modeName = f.user.toolMode
    ? `tools.${f.tool}.approval_mode = "${f.user.toolMode}" (user config)`
    : `default_tools_approval_mode = "${f.user.defaultMode}" (user config)`;
  let level: ApprovalLevel;
  let rule: string;
  if (floor) {
    level = floor.level;
    rule = ruleName(floor.rule);
    if (mode && rank(userLevel(mode, effect)) > rank(level)) {
      level = userLevel(mode, effect);
      rule = modeName;
    }
  } else if (mode && mode !== 'auto') {
    level = userLevel(mode, effect);
    rule = modeName;
  } else if (f.policy.defaultApproval === 'client' && effect !== 'read') {
    level = 'never';
    rule = `gatehouse_policy.default_approval = "client": no admin rule covers this ${effect} tool, so the client's own approval applies`;
  } else {
    level = defaultLevel(effect);
    rule = `default: ${effect} tools ${level === 'never' ? 'need no approval' : 'need the user to approve'} (${effectRule ? ruleName(effectRule) : effectSource === 'annotations' ? 'classified from the server annotations' : 'no annotations: treated as a side effect'})`;
  }
  if (category && (HUMAN_APPROVAL_CATEGORIES as readonly string[]).includes(category)) {
    const floor = stricter(level, 'always');
    if (floor !== level) {
      level = floor;
      rule = `category '${category}' always needs a human's approval (${categoryRule ? ruleName(categoryRule) : ''})`;
    }
  }
  if (level === 'never') {
    return {
      ...base,
      decision: 'allow',
      approval: 'none',
      level,
      sessionScope: false,
      rule,
      reason: 'no approval needed',
    };
  }
  return {
    ...base,
    decision: 'approval',
    approval: level === 'two_person' ? 'two_person' : 'user',
    level,
    sessionScope: level === 'prompt',
    rule,
    reason:
      level === 'two_person'
        ? 'a second person (not the requester) must approve this exact call'
        : level === 'always'
          ? 'a person must approve this exact call, every time'
          : 'the user must approve this call',
  };
}
