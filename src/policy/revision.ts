import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/canonical-json.js';
import type { ToolPolicy } from './model.js';

/**
 * The policy revision: a short hash of the effective tool policy (where each rule came from does
 * not count, what it says does). Decisions and approvals carry it; an approval granted under one
 * revision is not valid under another.
 */
export function policyRevision(policy: ToolPolicy): string {
  const body = canonicalJson({
    read_only: policy.readOnly,
    default_approval: policy.defaultApproval,
    approval_ttl_seconds: policy.approvalTtlSeconds,
    categories: [...policy.categories].sort(),
    rules: [...policy.rules]
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
      .map((r) => ({
        key: r.key,
        allow: r.allow,
        effect: r.effect,
        category: r.category,
        approval: r.approval,
      })),
  });
  return `pol-${createHash('sha256').update(body).digest('hex').slice(0, 16)}`;
}
