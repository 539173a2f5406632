import { resolve } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApproverKeyError, readApproverKey } from '../approval/approver-key-file.js';
import { approvalDecider, approvedByOf } from '../approval/decide.js';
import { gatewayProblem } from '../approval/signed-grant.js';
import type { ApprovalDecider } from '../approval/decide.js';
import { answerApprovals } from '../approval/http-api.js';
import type { Identity } from '../identity/identity.js';
import { principalOf } from '../identity/identity.js';
import { ApprovalError } from '../approval/queue.js';
import type { ApprovalQueue } from '../approval/queue.js';
import type { ConsoleData } from '../console/data.js';
import type { ConsoleHandler } from '../console/handler.js';
import { consoleHandler } from '../console/handler.js';
import { ConsoleLogin } from '../console/login.js';
import { loadConsoleAssets } from '../console/page.js';
import { ExitCode } from './exit-codes.js';
import type { AuditRuntime } from './audit-runtime.js';
import { maskerForPeople, rowJson } from './commands/approvals.js';
import { approveBlocked } from './commands/console.js';
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
):
  | { handler: GatewayApprovalsHandler; decide: ApprovalDecider; console: ConsoleHandler }
  | { error: string } {
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
  // Only the people who may decide see the queue (its rows name others' calls).
  const mayDecide = (approver: Identity): string | null => {
    try {
      return gatewayProblem(listed, approvedByOf(approver));
    } catch (err) {
      return (err as Error).message;
    }
  };
  return {
    decide,
    console: teamConsole(queue, mask, decide, mayDecide),
    handler: async (req, res, approver) => {
      const problem = mayDecide(approver);
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

/**
 * The console under the team gateway (`/console/`): people sign in with their identity-provider
 * token, only those who may decide through the gateway key; its approvals inbox is the gateway's
 * queue and every decision goes through `decide` as the signed-in person (so two_person holds).
 * The other pages read the CLI's local state and are not served here.
 */
function teamConsole(
  queue: ApprovalQueue,
  mask: (value: unknown) => unknown,
  decide: ApprovalDecider,
  mayDecide: (approver: Identity) => string | null,
): ConsoleHandler {
  const dataFor = (person: Identity | null): ConsoleData => {
    const me = person ? principalOf(person) : null;
    return {
      viewer: { name: me ?? 'nobody', signs: true },
      approvals: async (all) =>
        (await queue.list({ all })).map((row) => {
          const own = me !== null && row.requester === me;
          return {
            ...rowJson(row, mask),
            id: row.id,
            status: row.status,
            own,
            approve_blocked: approveBlocked(row, own, true, true),
          };
        }),
      decide: async (id, decision, reason) => {
        try {
          const row = await decide(id, decision, reason, person);
          return { code: ExitCode.ok, json: rowJson(row, mask), message: null };
        } catch (err) {
          if (!(err instanceof ApprovalError)) throw err;
          const notFound = err.code === 'not_found';
          const forbidden = ['not_allowed', 'not_a_person', 'unauthenticated'].includes(err.code);
          return {
            code: notFound ? ExitCode.notFound : ExitCode.approvalRefused,
            json: null,
            message: err.message,
            ...(forbidden ? { status: 403 } : {}),
          };
        }
      },
      views: {},
      actions: {},
    };
  };
  return consoleHandler({
    data: dataFor,
    login: new ConsoleLogin(),
    assets: loadConsoleAssets(),
    basePath: '/console',
    cookieName: () => 'gatehouse_console',
    people: mayDecide,
  });
}
