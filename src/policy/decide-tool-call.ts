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
import { APPROVAL_LEVELS, EFFECTS, HUMAN_APPROVAL_CATEGORIES } from './model.js';

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
  /**
   * Other allowlisted server names whose identity rule this server's transport also satisfies.
   * Their tool rules apply too (strictest wins): a name is the user's choice, the identity is not.
   */
  aliases?: readonly string[];
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
 * The rules that speak about one call as seen under one server name and from one rule list:
 * the composed rules (`tightening` false: one lens per name, even with no rule, since a name
 * without rules falls to the defaults) or the rules of a layer that may only tighten.
 */
export interface RuleLens {
  /** The server name the rules were matched against: the server's own, or an alias. */
  name: string;
  tightening: boolean;
  /** Matching rules, most specific first. */
  rules: ToolRule[];
}

const effectRank = (e: Effect) => EFFECTS.indexOf(e);
const isHumanCategory = (c: string) => (HUMAN_APPROVAL_CATEGORIES as readonly string[]).includes(c);

/**
 * The lenses for a call: each name (own first, then aliases) under the composed rules, then
 * each name under the tightening rules where any matches. Pure.
 */
export function ruleLenses(
  policy: ToolPolicy,
  server: string,
  tool: string,
  aliases: readonly string[] = [],
): RuleLens[] {
  const names = [server, ...new Set(aliases.filter((a) => a !== server))];
  const out: RuleLens[] = names.map((name) => ({
    name,
    tightening: false,
    rules: matchingRules(policy, name, tool),
  }));
  const tightening = policy.tighteningRules ?? [];
  for (const name of names) {
    const rules = matchingRules({ ...policy, rules: tightening }, name, tool);
    if (rules.length > 0) out.push({ name, tightening: true, rules });
  }
  return out;
}

/**
 * The one decision for a tool call. Precedence: `allow = false` beats everything; read-only
 * mode refuses anything not classified `read`; otherwise the most specific rule that sets a
 * field decides it. The user's approval mode can only make a call stricter than an admin rule
 * (an admin's effect class counts: a tool the admin calls destructive asks, whatever the user's
 * mode); with no admin rule it applies as in Codex, unless the admin's `default_approval =
 * "gatehouse"` makes Gatehouse's default a floor the user may only tighten;
 * a human-approval category (money, permissions, customer_records, production_state) always
 * needs approval for every call, whatever the user or the server says.
 *
 * When several lenses apply (aliases: other allowlisted names this server's identity
 * satisfies; the rules of a layer that may only tighten), each field takes the strictest value
 * any lens gives it: a deny anywhere denies; the riskiest effect class (a name without an effect
 * rule counts with the annotations' class, so an alias's `effect = "read"` cannot relabel);
 * a human-approval category if any lens names one; the highest approval level, where a name
 * without an approval rule counts with the defaults. Adding a lens never loosens. Pure.
 */
export function decideToolCall(f: ToolCallFacts): ToolCallDecision {
  const lenses = ruleLenses(f.policy, f.server, f.tool, f.aliases ?? []);
  const via = (lens: RuleLens) =>
    lens.name === f.server
      ? ''
      : ` — applies to '${f.server}' because its identity also satisfies the allowlist rule for '${lens.name}'`;
  const named = (lens: RuleLens, r: ToolRule) => `${ruleName(r)}${via(lens)}`;

  // Effect: per name its own effect rule, else the annotations; tightening lenses only by rule.
  const annotated = effectFromAnnotations(f.annotations);
  let effectRule: { lens: RuleLens; rule: ToolRule } | null = null;
  let effect: Effect | null = null;
  for (const lens of lenses) {
    const r = lens.rules.find((x) => x.effect !== null) ?? null;
    if (!r && lens.tightening) continue;
    const e = r ? (r.effect as Effect) : annotated;
    if (effect === null || effectRank(e) > effectRank(effect)) {
      effect = e;
      effectRule = r ? { lens, rule: r } : null;
    }
  }
  effect ??= annotated;
  const effectSource = effectRule ? 'admin' : f.annotations ? 'annotations' : 'default';
  let categoryRule: { lens: RuleLens; rule: ToolRule } | null = null;
  for (const lens of lenses) {
    const r = lens.rules.find((x) => x.category !== null);
    if (!r) continue;
    if (
      !categoryRule ||
      (isHumanCategory(r.category as string) &&
        !isHumanCategory(categoryRule.rule.category as string))
    )
      categoryRule = { lens, rule: r };
  }
  const category = categoryRule?.rule.category ?? null;
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

  for (const lens of lenses) {
    const denied = lens.rules.find((r) => r.allow === false);
    if (denied)
      return deny(
        named(lens, denied),
        `the admin does not allow ${lens.name}/${f.tool}${via(lens)}`,
      );
  }
  if (f.policy.readOnly && effect !== 'read') {
    return deny(
      `gatehouse_policy.read_only${f.policy.readOnlySource ? ` (${describeSource(f.policy.readOnlySource)})` : ''}`,
      `read-only mode: ${f.server}/${f.tool} is classified '${effect}'${effectRule ? ` by ${named(effectRule.lens, effectRule.rule)}` : ' from its annotations'}`,
    );
  }

  const mode = f.user.toolMode ?? f.user.defaultMode;
  const modeName = f.user.toolMode
    ? `tools.${f.tool}.approval_mode = "${f.user.toolMode}" (user config)`
    : `default_tools_approval_mode = "${f.user.defaultMode}" (user config)`;
  const describeDefault = (e: Effect) =>
    `${e} tools ${defaultLevel(e) === 'never' ? 'need no approval' : 'need the user to approve'} (${effectRule ? named(effectRule.lens, effectRule.rule) : effectSource === 'annotations' ? 'classified from the server annotations' : 'no annotations: treated as a side effect'})`;
  /** The level for one floor (or none): the user's mode can tighten a floor, never loosen it. */
  const resolve = (
    floor: { level: ApprovalLevel; rule: string } | null,
  ): { level: ApprovalLevel; rule: string } => {
    if (!floor && f.policy.defaultApproval === 'gatehouse') {
      // The admin asked Gatehouse itself to approve what no rule covers: that default is a
      // floor like any admin setting, and the user's mode may only tighten it.
      floor = {
        level: defaultLevel(effect),
        rule: `gatehouse_policy.default_approval = "gatehouse": ${describeDefault(effect)}`,
      };
    }
    if (floor) {
      if (mode && rank(userLevel(mode, effect)) > rank(floor.level))
        return { level: userLevel(mode, effect), rule: modeName };
      return floor;
    }
    if (mode && mode !== 'auto') return { level: userLevel(mode, effect), rule: modeName };
    if (effect !== 'read')
      return {
        level: 'never',
        rule: `gatehouse_policy.default_approval = "client": no admin rule covers this ${effect} tool, so the client's own approval applies`,
      };
    return { level: 'never', rule: `default: ${describeDefault(effect)}` };
  };
  // An admin rule that sets the approval, or failing that one that classifies the effect, sets
  // a floor. Each name counts (one without either falls to the defaults); the strictest wins.
  let decided: { level: ApprovalLevel; rule: string } | null = null;
  for (const lens of lenses) {
    const approvalRule = lens.rules.find((r) => r.approval !== null);
    const lensEffectRule = lens.rules.find((r) => r.effect !== null);
    const floor = approvalRule?.approval
      ? { level: approvalRule.approval, rule: named(lens, approvalRule) }
      : lensEffectRule
        ? { level: defaultLevel(effect), rule: named(lens, lensEffectRule) }
        : null;
    if (!floor && lens.tightening) continue;
    const candidate = resolve(floor);
    if (!decided || rank(candidate.level) > rank(decided.level)) decided = candidate;
  }
  let { level, rule } = decided ?? resolve(null);
  if (category && isHumanCategory(category)) {
    const humanFloor = stricter(level, 'always');
    if (humanFloor !== level) {
      level = humanFloor;
      rule = `category '${category}' always needs a human's approval (${categoryRule ? named(categoryRule.lens, categoryRule.rule) : ''})`;
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
