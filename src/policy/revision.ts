import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/canonical-json.js';
import type { ToolPolicy, ToolRule } from './model.js';

/**
 * The policy revision: a short hash of the effective tool policy (where each rule came from does
 * not count, what it says does). Decisions and approvals carry it; an approval granted under one
 * revision is not valid under another.
 */
export function policyRevision(policy: ToolPolicy): string {
  const ruleJson = (rules: readonly ToolRule[]) =>
    [...rules]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((r) => ({
        key: r.key,
        allow: r.allow,
        effect: r.effect,
        category: r.category,
        approval: r.approval,
        // Only when set, so revisions of rules without an audience stay as they were.
        ...(r.audience ? { subjects: r.audience.subjects, groups: r.audience.groups } : {}),
      }));
  const tightening = policy.tighteningRules ?? [];
  const body = canonicalJson({
    read_only: policy.readOnly,
    default_approval: policy.defaultApproval,
    approval_ttl_seconds: policy.approvalTtlSeconds,
    categories: [...policy.categories].sort(),
    rules: ruleJson(policy.rules),
    // Only when present, so revisions of policies without a tightening layer stay as they were.
    ...(tightening.length > 0 ? { tightening_rules: ruleJson(tightening) } : {}),
    ...(policy.scopes &&
    (policy.scopes.enabled ||
      policy.scopes.servers.length > 0 ||
      policy.scopes.narrowing.length > 0)
      ? {
          scopes: {
            enabled: policy.scopes.enabled,
            servers: policy.scopes.servers.map((e) => ({ pattern: e.pattern, ...e.audience })),
            narrowing: policy.scopes.narrowing.map((e) => ({ pattern: e.pattern, ...e.audience })),
          },
        }
      : {}),
  });
  return `pol-${createHash('sha256').update(body).digest('hex').slice(0, 16)}`;
}
