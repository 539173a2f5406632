import { checkGrantSelfContained } from '../approval/signed-grant.js';
import type { StoredRecord } from './chain.js';

/** An approval use the trail does not back with a valid grant. */
export interface ApprovalEvidenceProblem {
  seq: number;
  approval_id: string;
  message: string;
}

export interface ApprovalEvidenceReport {
  /** `approval.used` records checked. */
  uses: number;
  problems: ApprovalEvidenceProblem[];
  /** Uses whose grant may lie before a prune (not counted as problems). */
  unverifiable: number;
}

interface ApprovalEventLike {
  type?: unknown;
  approval_id?: unknown;
  binding_sha256?: unknown;
  level?: unknown;
  channel?: unknown;
  grant?: unknown;
  requester?: unknown;
}

/**
 * Checks that every `approval.used` in the trail rests on a grant: an earlier `approval.granted`
 * for the same approval id and binding; and where the use is two_person or carries a signed
 * grant, a signature that verifies with the key it names, over a statement for that approval
 * and binding. A queue row forged in the database produces a use without either, and is
 * reported here. With a pruned store, a grant may lie before the prune: such uses are counted
 * as unverifiable, not reported. Streams the records (constant memory per approval id).
 */
export async function verifyApprovalEvidence(
  records: AsyncIterable<StoredRecord[]>,
  prunedBefore: number | null,
): Promise<ApprovalEvidenceReport> {
  const granted = new Map<string, string>();
  const report: ApprovalEvidenceReport = { uses: 0, problems: [], unverifiable: 0 };
  for await (const batch of records) {
    for (const record of batch) {
      if (!record.body.includes('"approval.')) continue;
      let event: ApprovalEventLike;
      try {
        event = JSON.parse(record.body) as ApprovalEventLike;
      } catch {
        continue; // the chain verifier reports unreadable records
      }
      const id = typeof event.approval_id === 'string' ? event.approval_id : null;
      const binding = typeof event.binding_sha256 === 'string' ? event.binding_sha256 : null;
      if (!id || !binding) continue;
      if (event.type === 'approval.granted') {
        const why = event.grant ? grantProblem(event.grant, id, binding) : null;
        if (why) report.problems.push({ seq: record.seq, approval_id: id, message: why });
        else granted.set(id, binding);
        continue;
      }
      if (event.type !== 'approval.used') continue;
      report.uses += 1;
      const problem = (message: string) =>
        report.problems.push({ seq: record.seq, approval_id: id, message });
      if (event.level === 'two_person' && !event.grant) {
        problem('a two_person approval was used without a signed grant');
        continue;
      }
      if (event.grant) {
        const why = grantProblem(event.grant, id, binding) ?? ownApproval(event);
        if (why) {
          problem(why);
          continue;
        }
      }
      const grantedBinding = granted.get(id);
      if (grantedBinding === undefined) {
        if (prunedBefore !== null) report.unverifiable += 1;
        else problem(`approval ${id} was used, but no approval.granted record precedes it`);
      } else if (grantedBinding !== binding)
        problem(
          `approval ${id} was granted for another call (binding differs) than it was used for`,
        );
    }
  }
  return report;
}

function grantProblem(grant: unknown, id: string, binding: string): string | null {
  const why = checkGrantSelfContained(grant);
  if (why) return `the signed grant of approval ${id} does not verify: ${why}`;
  const s = (grant as { statement: { approval_id?: unknown; binding?: unknown } }).statement;
  if (s.approval_id !== id)
    return `the signed grant names approval ${String(s.approval_id)}, not ${id}`;
  if (s.binding !== binding) return `the signed grant of approval ${id} is for another binding`;
  return null;
}

/**
 * A two_person use whose grant a gateway signed for the requester themself (`approved_by`): the
 * gateway refuses to sign one, so finding it means the gateway key signed what it must not.
 */
function ownApproval(event: ApprovalEventLike): string | null {
  const by = (event.grant as { statement?: { approved_by?: { principal?: unknown } } }).statement
    ?.approved_by?.principal;
  return event.level === 'two_person' && by !== undefined && by === event.requester
    ? `a two_person approval was approved by its own requester (${String(by)})`
    : null;
}

/** The text `audit verify` prints about approval evidence (nothing when all is well and none). */
export function printApprovalEvidence(
  io: { stdout(text: string): void },
  report: ApprovalEvidenceReport,
): void {
  if (report.problems.length === 0) {
    if (report.uses > 0)
      io.stdout(
        `  approval evidence OK: ${report.uses} approval use(s), each backed by a grant${report.unverifiable > 0 ? ` (${report.unverifiable} whose grant may have been pruned)` : ''}\n`,
      );
    return;
  }
  io.stdout(
    `approval evidence BROKEN: ${report.problems.length} approval use(s) or grant(s) without a valid grant\n${report.problems
      .map((p) => `  record ${p.seq} (approval ${p.approval_id}): ${p.message}\n`)
      .join('')}`,
  );
}
