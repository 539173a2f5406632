import type { RequirementSource } from '../requirements/model.js';
import { describeSource } from '../requirements/model.js';
import { matchGlob, specificity } from './glob.js';
import type { ToolPolicy, ToolRule } from './model.js';
import { ruleLenses } from './decide-tool-call.js';

/**
 * Team and workspace scope: who may see and use a server or the tools a rule matches. Pure: the
 * caller comes in as plain data, so `policy explain --as` and the gateway decide alike.
 */

/** `subjects` (principals, globs allowed) and `groups` (exact names) that are in scope. */
export interface Audience {
  /** `user:SUB`, `service:SUB` or `os:NAME`; `*` and `?` are globs (`user:*@example.com`). */
  subjects: readonly string[];
  /** Group names from the caller's verified identity (exact, case-sensitive). */
  groups: readonly string[];
}

/** Who is asking, as the scope sees them. No principal and no groups: in no audience. */
export interface ScopeCaller {
  /** `user:SUB` / `service:SUB` (HTTP identity), `token:HASH` (shared token), `os:NAME` (stdio). */
  principal: string | null;
  /** Verified groups (HTTP identity only; OS users have none). */
  groups: readonly string[];
}

/** `[gatehouse_scopes.servers."PATTERN"]`: who may see a server whose name matches. */
export interface ServerScope {
  pattern: string;
  audience: Audience;
  source: RequirementSource;
}

/** `[gatehouse_scopes]`, all layers composed. */
export interface ScopeSettings {
  /** On: a server no entry covers is nobody's. Off: only servers with an entry are restricted. */
  enabled: boolean;
  enabledSource: RequirementSource | null;
  /** The admin's entries (a higher admin layer's entry replaces a lower one's of the same key). */
  servers: ServerScope[];
  /** Entries from layers that may only narrow: each matching one must ALSO admit the caller. */
  narrowing: ServerScope[];
}

export const NO_SCOPES: ScopeSettings = {
  enabled: false,
  enabledSource: null,
  servers: [],
  narrowing: [],
};

/** Nobody: the caller for whom every audience is closed. */
export const NOBODY: ScopeCaller = { principal: null, groups: [] };

/** Whether the caller is in the audience: its principal matches a subject, or it has a listed group. */
export function inAudience(audience: Audience, caller: ScopeCaller): boolean {
  const p = caller.principal;
  if (p !== null && p !== '' && audience.subjects.some((s) => matchGlob(s, p))) return true;
  return caller.groups.some((g) => g !== '' && audience.groups.includes(g));
}

/** How an audience reads in a refusal or `policy explain`. */
export function describeAudience(a: Audience): string {
  const parts = [
    ...(a.subjects.length > 0 ? [`subjects ${a.subjects.join(', ')}`] : []),
    ...(a.groups.length > 0 ? [`groups ${a.groups.join(', ')}`] : []),
  ];
  return parts.length > 0 ? parts.join('; ') : 'nobody';
}

/** Who the caller is, as a refusal names them. */
export function describeCaller(c: ScopeCaller): string {
  if (c.principal === null) return 'a caller with no identity';
  return c.groups.length > 0 ? `${c.principal} (groups ${c.groups.join(', ')})` : c.principal;
}

/** Out of scope, with why (for the audit and `policy explain`; never shown to that caller). */
export interface OutOfScope {
  rule: string;
  reason: string;
}

const entryName = (e: ServerScope) =>
  `gatehouse_scopes.servers."${e.pattern}" (${describeSource(e.source)})`;

/** The most specific entry matching a server (exact beats glob), as rules are picked. */
function mostSpecific(entries: readonly ServerScope[], server: string): ServerScope | null {
  return (
    entries
      .filter((e) => matchGlob(e.pattern, server))
      .sort(
        (a, b) =>
          specificity(b.pattern) - specificity(a.pattern) || (a.pattern < b.pattern ? -1 : 1),
      )[0] ?? null
  );
}

/**
 * Whether a server is in the caller's scope: the most specific admin entry must admit the caller
 * (no entry: only when scopes are off), and so must every narrowing entry that matches. Pure.
 */
export function serverOutOfScope(
  scopes: ScopeSettings,
  server: string,
  caller: ScopeCaller,
): OutOfScope | null {
  const entry = mostSpecific(scopes.servers, server);
  if (!entry && scopes.enabled)
    return {
      rule: `gatehouse_scopes.enabled${scopes.enabledSource ? ` (${describeSource(scopes.enabledSource)})` : ''}`,
      reason: `no [gatehouse_scopes.servers] entry covers '${server}', so it is nobody's`,
    };
  if (entry && !inAudience(entry.audience, caller))
    return {
      rule: entryName(entry),
      reason: `'${server}' is for ${describeAudience(entry.audience)}; ${describeCaller(caller)} is not among them`,
    };
  for (const n of scopes.narrowing) {
    if (!matchGlob(n.pattern, server) || inAudience(n.audience, caller)) continue;
    return {
      rule: entryName(n),
      reason: `a narrowing layer keeps '${server}' for ${describeAudience(n.audience)}; ${describeCaller(caller)} is not among them`,
    };
  }
  return null;
}

/** Rules that apply to this caller: those without an audience, and those whose audience admits it. */
export function rulesFor(rules: readonly ToolRule[], caller: ScopeCaller): ToolRule[] {
  return rules.filter((r) => !r.audience || inAudience(r.audience, caller));
}

/** The policy as this caller sees it: rules with an audience that excludes the caller are left out. */
export function policyFor(policy: ToolPolicy, caller: ScopeCaller): ToolPolicy {
  return {
    ...policy,
    rules: rulesFor(policy.rules, caller),
    ...(policy.tighteningRules
      ? { tighteningRules: rulesFor(policy.tighteningRules, caller) }
      : {}),
  };
}

/**
 * Whether a tool is in the caller's scope by its rules: when any rule matching it (under its own
 * name or an alias) has an audience, the caller must be in at least one of those audiences; the
 * rules of a layer that may only narrow are checked the same way on their own, so adding such a
 * layer can only take tools away. Pure.
 */
export function toolOutOfScope(
  policy: ToolPolicy,
  server: string,
  tool: string,
  aliases: readonly string[],
  caller: ScopeCaller,
): OutOfScope | null {
  const lenses = ruleLenses(policy, server, tool, aliases);
  for (const tightening of [false, true]) {
    const scoped = lenses
      .filter((l) => l.tightening === tightening)
      .flatMap((l) => l.rules)
      .filter((r) => r.audience);
    if (scoped.length === 0) continue;
    if (scoped.some((r) => inAudience(r.audience as Audience, caller))) continue;
    const first = scoped[0] as ToolRule;
    return {
      rule: `gatehouse_policy.tools."${first.key}" (${describeSource(first.source)})`,
      reason: `${server}/${tool} is for ${scoped.map((r) => describeAudience(r.audience as Audience)).join(' or ')}; ${describeCaller(caller)} is not among them`,
    };
  }
  return null;
}
