import type { KeyObject } from 'node:crypto';
import type { AuditEventBody } from '../audit/event.js';
import type { Identity } from '../identity/identity.js';
import { principalOf } from '../identity/identity.js';
import type { ApprovalQueue, ApprovalRow } from './queue.js';
import { ApprovalError, decisionEvidence } from './queue.js';
import type { ApprovedBy, ApproverKey } from './signed-grant.js';
import { gatewayProblem, grantStatementFor, signStatement, verifyGrant } from './signed-grant.js';

/**
 * Decisions by authenticated people on a team gateway. The person proves who they are with their
 * identity-provider token; the GATEWAY signs the grant with its own key — a key the admin lists
 * with `gateway = true` and the subjects/groups who may approve through it — naming that person
 * in the signed statement (`approved_by`). The queue row and the audit record the person by
 * subject; two_person compares subjects, so nobody approves their own call.
 */

/** The gateway's approver key: its private half and the entry the admin listed for it. */
export interface GatewaySigner {
  privateKey: KeyObject;
  listed: ApproverKey;
}

export interface ApprovalDeciderOptions {
  queue: ApprovalQueue;
  signer: GatewaySigner;
  /** The admin's approver keys, as the pipeline verifies grants against them. */
  approverKeys: readonly ApproverKey[];
  /** Writes evidence to the audit trail (decisions and refused attempts). */
  evidence(event: AuditEventBody): Promise<void>;
}

/** Decides one queued approval for an authenticated person; throws ApprovalError with why not. */
export type ApprovalDecider = (
  approvalId: string,
  decision: 'approved' | 'denied',
  reason: string | null,
  approver: Identity | null,
) => Promise<ApprovalRow>;

/** The person an identity is, as a signed statement names them; throws when it is not a person. */
export function approvedByOf(identity: Identity | null): ApprovedBy {
  if (!identity)
    throw new ApprovalError(
      'approving or denying needs a signed-in person: send the identity provider’s access token',
      'unauthenticated',
    );
  if (identity.via !== 'oidc' && identity.via !== 'introspection')
    throw new ApprovalError(
      `${principalOf(identity)} is not a person (a service or shared token): only people signed in through the identity provider approve`,
      'not_a_person',
    );
  return {
    principal: principalOf(identity),
    issuer: identity.issuer,
    subject: identity.subject,
    groups: [...identity.groups],
  };
}

/**
 * The one decision function the gateway's approvals API (and a web console) calls. An approval
 * is signed by the gateway for the caller and verified exactly as the gateway that waits for it
 * will verify it; a denial needs a reason. Who may decide is the gateway key's subjects/groups.
 */
export function approvalDecider(options: ApprovalDeciderOptions): ApprovalDecider {
  const channel = 'http';
  const { signer } = options;
  return async (approvalId, decision, reason, identity) => {
    const approvedBy = approvedByOf(identity);
    const allowed = gatewayProblem(signer.listed, approvedBy);
    if (allowed) throw new ApprovalError(allowed, 'not_allowed');
    const who = approvedBy.principal;
    if (decision === 'denied') {
      if (!reason) throw new ApprovalError('a denial needs a reason', 'reason_required');
      const row = await options.queue.decide(approvalId, 'denied', who, reason);
      await options.evidence(decisionEvidence(row, 'denied', who, channel, reason));
      return row;
    }
    const pending = await options.queue.get(approvalId);
    if (!pending) throw new ApprovalError(`no approval with id ${approvalId}`, 'not_found');
    const now = new Date().toISOString();
    const grant = signStatement(
      grantStatementFor(pending, signer.listed, reason, now, approvedBy),
      signer.privateKey,
    );
    const checked = verifyGrant(grant, options.approverKeys, {
      approvalId: pending.id,
      binding: pending.binding,
      server: pending.server,
      tool: pending.tool,
      level: pending.level,
      requester: pending.requester,
      now,
    });
    if (!checked.ok) {
      await options.evidence({
        type: 'approval.rejected',
        approval_id: pending.id,
        channel,
        server: pending.server,
        tool: pending.tool,
        requester: pending.requester,
        approver: who,
        binding_sha256: pending.binding,
        policy_revision: pending.policyRevision,
        level: pending.level,
        reason: checked.reason,
      });
      throw new ApprovalError(`not approved: ${checked.reason}`, 'not_allowed');
    }
    const row = await options.queue.decide(approvalId, 'approved', who, reason, checked.grant);
    await options.evidence(decisionEvidence(row, 'approved', who, channel, reason, checked.grant));
    return row;
  };
}
