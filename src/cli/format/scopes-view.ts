import type { Audience, ServerScope } from '../../policy/scope.js';
import { describeAudience } from '../../policy/scope.js';
import type { ToolPolicy, ToolRule } from '../../policy/model.js';
import { describeSource } from '../../requirements/model.js';
import { renderTable } from './table.js';

/** Whether the requirements say anything about who may see what (scopes or rule audiences). */
function scoped(policy: ToolPolicy): boolean {
  const s = policy.scopes;
  const rules = [...policy.rules, ...(policy.tighteningRules ?? [])];
  return Boolean(
    s?.enabled ||
    (s?.servers.length ?? 0) > 0 ||
    (s?.narrowing.length ?? 0) > 0 ||
    rules.some((r) => r.audience),
  );
}

const audienceJson = (a: Audience) => ({ subjects: [...a.subjects], groups: [...a.groups] });
const entryJson = (e: ServerScope) => ({
  server: e.pattern,
  ...audienceJson(e.audience),
  source: describeSource(e.source),
});
const ruleAudiences = (policy: ToolPolicy) =>
  [
    ...policy.rules.map((r) => ({ r, narrowing: false })),
    ...(policy.tighteningRules ?? []).map((r) => ({ r, narrowing: true })),
  ].filter((x): x is { r: ToolRule & { audience: Audience }; narrowing: boolean } =>
    Boolean(x.r.audience),
  );

/**
 * `[gatehouse_scopes]` and the tool rules with an audience, as `requirements check --json` prints
 * them: who may see what. Null when the requirements scope nothing (everyone sees every server).
 */
export function scopesJson(policy: ToolPolicy): Record<string, unknown> | null {
  if (!scoped(policy)) return null;
  const s = policy.scopes;
  return {
    enabled: s?.enabled ?? false,
    enabled_by: s?.enabledSource ? describeSource(s.enabledSource) : null,
    servers: (s?.servers ?? []).map(entryJson),
    narrowing: (s?.narrowing ?? []).map(entryJson),
    tool_rules: ruleAudiences(policy).map(({ r, narrowing }) => ({
      tools: r.key,
      ...audienceJson(r.audience),
      narrowing,
      source: describeSource(r.source),
    })),
  };
}

/** The same summary for the text report: one line on the default, then who sees each server. */
export function scopesLines(policy: ToolPolicy): string[] {
  if (!scoped(policy)) return [];
  const s = policy.scopes;
  const out = [
    s?.enabled
      ? `gatehouse_scopes: on (${s.enabledSource ? describeSource(s.enabledSource) : 'default'}): a server no entry covers is nobody's`
      : 'gatehouse_scopes: off: only the servers listed below are restricted; every other server is open to all',
  ];
  const rows = [
    ...(s?.servers ?? []).map((e) => [
      `server ${e.pattern}`,
      describeAudience(e.audience),
      describeSource(e.source),
    ]),
    ...(s?.narrowing ?? []).map((e) => [
      `server ${e.pattern} (narrowing: also)`,
      describeAudience(e.audience),
      describeSource(e.source),
    ]),
    ...ruleAudiences(policy).map(({ r, narrowing }) => [
      `tools ${r.key}${narrowing ? ' (narrowing: also)' : ''}`,
      describeAudience(r.audience),
      describeSource(r.source),
    ]),
  ];
  if (rows.length > 0) out.push(renderTable(['Scope', 'Who may see it', 'Set by'], rows).trimEnd());
  return out;
}
