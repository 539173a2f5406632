import { resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApproverKeyError, readApproverKey } from '../approval/approver-key-file.js';
import { approvalDecider, approvedByOf } from '../approval/decide.js';
import { gatewayProblem } from '../approval/signed-grant.js';
import type { ApprovalDecider } from '../approval/decide.js';
import { answerApprovals } from '../approval/http-api.js';
import type { Identity } from '../identity/identity.js';
import type { AuditRuntime } from './audit-runtime.js';
import { maskerForPeople, rowJson } from './commands/approvals.js';
import type { World } from './world.js';

/** The team gateway's `/approvals`: who decides is the caller the endpoint authenticated. */
export type GatewayApprovalsHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  approver: Identity,
) => Promise<void>;

/**
 * Sets up the approvals API a team gateway serves beside `/mcp` (`--approvals-key FILE`): the
 * gateway's own approver key, which the admin must have listed with `gateway = true`. Returns
 * the handler and the decision function (what a console calls), or the problem and its fix.
 */
export function gatewayApprovals(
  keyFile: string,
  world: World,
  audit: AuditRuntime,
  cwd: string,
): { handler: GatewayApprovalsHandler; decide: ApprovalDecider } | { error: string } {
  const file = resolve(cwd, keyFile);
  let key;
  try {
    key = readApproverKey(file);
  } catch (err) {
    if (err instanceof ApproverKeyError) return { error: `--approvals-key: ${err.message}` };
    throw err;
  }
  const approverKeys = world.requirements.invalid
    ? []
    : world.requirements.requirements.approvals.approvers;
  const listed = approverKeys.find((a) => a.fingerprint === key.fingerprint);
  if (!listed?.gateway)
    return {
      error: `--approvals-key ${file}: its public key (${key.fingerprint}) is not listed as a gateway key in [gatehouse_approvals] approvers${listed ? ` (it is listed for '${listed.name}' without gateway = true)` : ''}; the admin adds the line \`gatehouse approvals public-key --key ${file}\` prints, with gateway = true and the subjects/groups who may approve`,
    };
  const queue = audit.approvals;
  if (!queue)
    return { error: '--approvals-key: the audit store (and its approval queue) is unavailable' };
  const mask = maskerForPeople(world);
  const decide = approvalDecider({
    queue,
    signer: { privateKey: key.privateKey, listed },
    approverKeys,
    evidence: (event) => audit.recordDurable(event),
  });
  return {
    decide,
    handler: async (req, res, approver) => {
      // Only the people who may decide see the queue (its rows name others' calls).
      let problem: string | null;
      try {
        problem = gatewayProblem(listed, approvedByOf(approver));
      } catch (err) {
        problem = (err as Error).message;
      }
      if (problem) {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: `Forbidden: ${problem}` }));
        return;
      }
      await answerApprovals(req, res, {
        queue,
        rowJson: (row) => rowJson(row, mask),
        decide: (id, decision, reason) => decide(id, decision, reason, approver),
      });
    },
  };
}
