import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditEventBody } from '../audit/event.js';
import { checkHttpRequest, policyFor } from '../gateway/downstream/http-checks.js';
import type { ApprovalQueue, ApprovalRow } from './queue.js';
import { ApprovalError, decisionEvidence } from './queue.js';
import type { ApproverKey } from './signed-grant.js';
import { verifyGrant } from './signed-grant.js';

/** One approver: a name and the token that proves it (only its hash is kept). */
export interface ApproverToken {
  name: string;
  tokenSha256: Buffer;
}

/** `name:token,name:token` (the env var's value) → approvers; null when malformed. */
export function parseApproverTokens(value: string): ApproverToken[] | null {
  const out: ApproverToken[] = [];
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const colon = part.indexOf(':');
    const name = part.slice(0, colon);
    const token = part.slice(colon + 1);
    if (colon <= 0 || token.length < 16 || !/^[A-Za-z0-9._@-]+$/.test(name)) return null;
    out.push({ name, tokenSha256: createHash('sha256').update(token).digest() });
  }
  return out.length > 0 ? out : null;
}

function approverFor(req: IncomingMessage, approvers: readonly ApproverToken[]): string | null {
  const presented = /^Bearer (.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
  if (!presented) return null;
  const digest = createHash('sha256').update(presented).digest();
  let found: string | null = null;
  for (const a of approvers) if (timingSafeEqual(a.tokenSha256, digest)) found = a.name;
  return found;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.length > 65_536) req.destroy();
    });
    req.on('end', () => {
      try {
        const v = JSON.parse(text || '{}') as unknown;
        resolve(
          v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {},
        );
      } catch {
        resolve({});
      }
    });
  });
}

export interface ApprovalApiOptions {
  host: string;
  port: number;
  /** Bearer tokens that give access to the API (list, show, deny). */
  approvers: readonly ApproverToken[];
  /** The admin's approver keys: an approval must carry a grant signed by one of them. */
  approverKeys: readonly ApproverKey[];
  queue: ApprovalQueue;
  rowJson(row: ApprovalRow): Record<string, unknown>;
  evidence(event: AuditEventBody): Promise<void>;
}

/** Makes one decision for the request's caller; throws ApprovalError with why not. */
export type DecideFromBody = (
  id: string,
  decision: 'approved' | 'denied',
  reason: string | null,
  body: Record<string, unknown>,
) => Promise<ApprovalRow>;

/** What the approval routes need: the queue (to read), how rows look, and who decides. */
export interface ApprovalRoutes {
  queue: ApprovalQueue;
  rowJson(row: ApprovalRow): Record<string, unknown>;
  decide: DecideFromBody;
}

const ERROR_STATUS: Partial<Record<ApprovalError['code'], number>> = {
  not_found: 404,
  unauthenticated: 401,
  not_a_person: 403,
  not_allowed: 403,
  reason_required: 400,
};

/**
 * `GET /approvals[?all=1]`, `GET /approvals/ID`, `POST /approvals/ID/approve|deny` for a caller
 * already checked (Host, Origin, who): shared by `approvals serve` and the team gateway.
 */
export async function answerApprovals(
  req: IncomingMessage,
  res: ServerResponse,
  routes: ApprovalRoutes,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://gatehouse');
  const parts = url.pathname.split('/').filter(Boolean);
  try {
    if (req.method === 'GET' && parts.length === 1 && parts[0] === 'approvals') {
      const rows = await routes.queue.list({ all: url.searchParams.get('all') === '1' });
      return send(res, 200, rows.map(routes.rowJson));
    }
    if (parts[0] !== 'approvals' || !parts[1])
      return send(res, 404, { error: 'not found: use /approvals' });
    const id = parts[1];
    if (req.method === 'GET' && parts.length === 2) {
      const row = await routes.queue.get(id);
      return row
        ? send(res, 200, routes.rowJson(row))
        : send(res, 404, { error: `no approval with id ${id}` });
    }
    if (
      req.method === 'POST' &&
      parts.length === 3 &&
      (parts[2] === 'approve' || parts[2] === 'deny')
    ) {
      const body = await readJson(req);
      const reason = typeof body.reason === 'string' ? body.reason : null;
      if (parts[2] === 'deny' && !reason)
        return send(res, 400, { error: 'deny needs {"reason": "…"}' });
      const decision = parts[2] === 'deny' ? 'denied' : 'approved';
      const row = await routes.decide(id, decision, reason, body);
      return send(res, 200, routes.rowJson(row));
    }
    res.setHeader('allow', 'GET, POST');
    return send(res, 405, { error: 'method not allowed' });
  } catch (err) {
    if (err instanceof ApprovalError)
      return send(res, ERROR_STATUS[err.code] ?? 409, { error: err.message, code: err.code });
    return send(res, 500, {
      error: `Gatehouse could not reach the approval queue: ${String(err)}`,
    });
  }
}

/**
 * The approvals HTTP API, for a dashboard: `GET /approvals[?all=1]`, `GET /approvals/ID`,
 * `POST /approvals/ID/approve {grant, reason?}`, `POST /approvals/ID/deny {reason}`. Every
 * request needs a bearer token; Host and Origin are checked (DNS rebinding). A token only gives
 * access: it never makes anyone an approver. An approval must carry a grant signed by a listed
 * approver key (`gatehouse approvals sign`), verified here and again by the gateway; whoever
 * starts this API cannot approve in anyone's name. A denial is recorded under the token's name.
 */
export async function startApprovalApi(
  options: ApprovalApiOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  let policy = policyFor(options.host, options.port, null);
  const decideWith =
    (approver: string): DecideFromBody =>
    async (id, decision, reason, body) => {
      if (decision === 'denied') {
        const row = await options.queue.decide(id, 'denied', approver, reason);
        await options.evidence(decisionEvidence(row, 'denied', approver, 'http', reason));
        return row;
      }
      const pending = await options.queue.get(id);
      if (!pending) throw new ApprovalError(`no approval with id ${id}`, 'not_found');
      const checked =
        body.grant === undefined
          ? {
              ok: false as const,
              reason:
                'approve needs {"grant": …} signed by a listed approver key (`gatehouse approvals sign --key FILE`)',
            }
          : verifyGrant(body.grant, options.approverKeys, {
              approvalId: pending.id,
              binding: pending.binding,
              server: pending.server,
              tool: pending.tool,
              level: pending.level,
              requester: pending.requester,
              now: new Date().toISOString(),
            });
      if (!checked.ok) {
        await options.evidence({
          type: 'approval.rejected',
          approval_id: pending.id,
          channel: 'http',
          server: pending.server,
          tool: pending.tool,
          requester: pending.requester,
          approver: `token:${approver}`,
          binding_sha256: pending.binding,
          policy_revision: pending.policyRevision,
          level: pending.level,
          reason: checked.reason,
        });
        throw new ApprovalError(`not approved: ${checked.reason}`, 'not_allowed');
      }
      const name = checked.approver.name;
      const row = await options.queue.decide(id, 'approved', name, reason, checked.grant);
      await options.evidence(
        decisionEvidence(row, 'approved', name, 'http', reason, checked.grant),
      );
      return row;
    };
  const server = createServer((req, res) => {
    const check = checkHttpRequest(req.headers, policy);
    if (!check.ok) return send(res, check.status, { error: check.message });
    const approver = approverFor(req, options.approvers);
    if (!approver) {
      res.setHeader('www-authenticate', 'Bearer realm="gatehouse-approvals"');
      return send(res, 401, { error: 'Unauthorized: an approver token is required' });
    }
    void answerApprovals(req, res, {
      queue: options.queue,
      rowJson: options.rowJson,
      decide: decideWith(approver),
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  policy = policyFor(options.host, port, null);
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/approvals`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
