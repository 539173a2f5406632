import { createHmac } from 'node:crypto';
import { canonicalJson } from '../../audit/canonical-json.js';
import type { AuditEventBody } from '../../audit/event.js';
import { timeOrderedId } from '../../audit/ids.js';
import type { RequestScope } from '../../gateway/upstream-forwarder.js';
import { maskJsonValue } from '../../masking/mask-text.js';
import type { ApprovalQueue, ApprovalRow } from '../../approval/queue.js';
import type { PipelineContext } from '../context.js';
import type { Stage } from '../stage.js';

/** Server-defined JSON-RPC error: the call needs an approval it does not have (yet). */
export const APPROVAL_REQUIRED = -32005;

export interface ApprovalSettings {
  /** Per-request client channels (elicitation), by JSON-RPC id. */
  scopes: ReadonlyMap<string | number, RequestScope>;
  /** Keyed hashes: approvals are bound to arguments without storing them. */
  hmacKey: Buffer;
  /** The out-of-band queue (`gatehouse approvals …`), or null when there is none. */
  queue: ApprovalQueue | null;
  /** How long a call waits for the queue before it is refused with how to approve it. */
  waitMs: number;
  /** How long an approval stays valid once requested. */
  ttlMs: number;
  /** Writes evidence to the audit trail (every request, grant, denial and use). */
  evidence(event: AuditEventBody): void;
  /** A server's transport identity (part of what an approval is bound to). */
  serverIdentity(server: string): unknown;
  /** The approvals HTTP API / CLI hint shown in refusals. */
  approveHint(id: string): string;
  /** Tells someone a call is waiting (the webhook); never blocks or fails the call. */
  notify?(row: ApprovalRow): void;
}

function requesterOf(ctx: PipelineContext): string | null {
  return ctx.caller?.tokenSubject ?? ctx.caller?.osUser ?? null;
}

/**
 * What an approval is for: exactly this requester, server identity, tool, canonical arguments
 * and policy revision (a keyed hash, so the arguments are not recoverable from it).
 */
export function approvalBinding(
  key: Buffer,
  parts: {
    requester: string | null;
    serverIdentity: unknown;
    tool: string;
    args: unknown;
    policyRevision: string;
  },
): string {
  return createHmac('sha256', key)
    .update(
      canonicalJson({
        requester: parts.requester,
        server: parts.serverIdentity ?? null,
        tool: parts.tool,
        arguments: parts.args ?? null,
        policy_revision: parts.policyRevision,
      }),
    )
    .digest('hex');
}

/** The elicitation Codex renders as its own approval prompt (codex-compat.md §5.3). */
function approvalElicitation(
  ctx: PipelineContext,
  server: string,
  tool: string,
  args: unknown,
  sessionScope: boolean,
): Record<string, unknown> {
  const masked = maskJsonValue(args ?? {}) as Record<string, unknown>;
  const category = ctx.policy?.category ? `, category ${ctx.policy.category}` : '';
  return {
    mode: 'form',
    message: `Allow the ${server} MCP server to run tool "${tool}"? (Gatehouse: ${ctx.policy?.effect ?? 'side_effect'}${category}; approval is for exactly these arguments)`,
    requestedSchema: { type: 'object', properties: {} },
    _meta: {
      codex_approval_kind: 'mcp_tool_call',
      persist: sessionScope ? ['session'] : [],
      tool_name: tool,
      tool_params: masked,
      tool_params_display: Object.entries(masked).map(([name, value]) => ({
        name,
        value,
        display_name: name,
      })),
      gatehouse: {
        server,
        effect: ctx.policy?.effect ?? null,
        category: ctx.policy?.category ?? null,
        policy_revision: ctx.policy?.policyRevision ?? null,
      },
    },
  };
}

/**
 * The approval stage: a call the policy says needs approval goes on only with one bound to it.
 * In order: a grant for the same call earlier in this session (level `prompt` only); an
 * approval already given out-of-band for exactly this call; the user asked in-band (an MCP
 * elicitation) when the client can show one and a second person is not required; otherwise the
 * call waits in the queue for `gatehouse approvals approve`, and is refused — saying how to
 * approve it — if none comes. Never lets a call through on an error.
 */
export function approvalStage(settings: ApprovalSettings): Stage {
  const sessionGrants = new Map<string, string>();
  return {
    name: 'approval',
    before: async function approvalBefore(ctx: PipelineContext) {
      if (ctx.decision.kind !== 'needs_approval' || !ctx.target?.tool || !ctx.policy) return;
      const { server, tool } = ctx.target;
      const args = ctx.request.params?.arguments;
      const requester = requesterOf(ctx);
      const twoPerson = ctx.decision.approver === 'two_person';
      const sessionScope = ctx.policy.level === 'prompt';
      const binding = approvalBinding(settings.hmacKey, {
        requester,
        serverIdentity: settings.serverIdentity(server),
        tool,
        args,
        policyRevision: ctx.policy.policyRevision,
      });
      const base = {
        server,
        tool,
        requester,
        binding_sha256: binding,
        policy_revision: ctx.policy.policyRevision,
        level: ctx.policy.level,
      };
      const granted = (evidence: NonNullable<PipelineContext['approval']>) => {
        recordExpired();
        ctx.approval = evidence;
        settings.evidence({
          type: 'approval.used',
          approval_id: evidence.id,
          channel: evidence.channel,
          approver: evidence.approver,
          reason: null,
          ...base,
        });
      };
      const recordExpired = () => {
        for (const row of settings.queue?.takeExpired() ?? []) {
          settings.evidence({
            type: 'approval.expired',
            approval_id: row.id,
            channel: 'queue',
            server: row.server,
            tool: row.tool,
            requester: row.requester,
            approver: row.approver,
            binding_sha256: row.binding,
            policy_revision: row.policyRevision,
            level: row.twoPerson ? 'two_person' : 'always',
            reason: `expired at ${row.expiresAt} without being used`,
          });
        }
      };
      const refuse = (message: string) => {
        recordExpired();
        ctx.response = { error: { code: APPROVAL_REQUIRED, message } };
      };

      const session = sessionScope ? sessionGrants.get(binding) : undefined;
      if (session) {
        granted({
          id: session,
          channel: 'session_grant',
          approver: requester,
          decided_at: new Date().toISOString(),
          binding_sha256: binding,
          scope: 'session',
        });
        return;
      }
      try {
        const ready = await settings.queue?.consume(binding, requester, twoPerson);
        if (ready) {
          granted(evidenceFrom(ready, binding));
          return;
        }
      } catch (err) {
        refuse(
          `Gatehouse could not check the approval queue, so the call is refused: ${String(err)}`,
        );
        return;
      }

      const scope = settings.scopes.get(ctx.request.id);
      if (!twoPerson && scope?.elicit) {
        const id = timeOrderedId();
        settings.evidence({
          type: 'approval.requested',
          approval_id: id,
          channel: 'elicitation',
          approver: null,
          reason: null,
          ...base,
        });
        let answer: { action: string; content?: unknown };
        try {
          answer = await scope.elicit(approvalElicitation(ctx, server, tool, args, sessionScope));
        } catch (err) {
          settings.evidence({
            type: 'approval.denied',
            approval_id: id,
            channel: 'elicitation',
            approver: null,
            reason: `the approval prompt failed: ${String(err)}`,
            ...base,
          });
          refuse(
            `Gatehouse asked for approval of ${server}/${tool} but the prompt failed (${String(err)}); the call was not made`,
          );
          return;
        }
        if (answer.action !== 'accept') {
          settings.evidence({
            type: 'approval.denied',
            approval_id: id,
            channel: 'elicitation',
            approver: requester,
            reason: `the user chose ${answer.action}`,
            ...base,
          });
          refuse(
            `The user did not approve ${server}/${tool} (${answer.action}); the call was not made`,
          );
          return;
        }
        const persist = (answer.content as { persist?: unknown } | undefined)?.persist;
        const forSession = sessionScope && persist === 'session';
        if (forSession) sessionGrants.set(binding, id);
        settings.evidence({
          type: 'approval.granted',
          approval_id: id,
          channel: 'elicitation',
          approver: requester,
          reason: forSession ? 'for this session' : null,
          ...base,
        });
        granted({
          id,
          channel: 'elicitation',
          approver: requester,
          decided_at: new Date().toISOString(),
          binding_sha256: binding,
          scope: forSession ? 'session' : 'call',
        });
        return;
      }

      const queue = settings.queue;
      if (!queue) {
        refuse(
          `${server}/${tool} needs ${twoPerson ? "a second person's" : "the user's"} approval (rule: ${ctx.decision.rule}), and this client cannot show an approval prompt; the call was not made`,
        );
        return;
      }
      let row: ApprovalRow;
      try {
        row = await queue.request({
          binding,
          requester,
          twoPerson,
          server,
          tool,
          argumentsMasked: maskJsonValue(args ?? {}),
          policyRevision: ctx.policy.policyRevision,
          rule: ctx.decision.rule,
          ttlMs: settings.ttlMs,
        });
      } catch (err) {
        refuse(`Gatehouse could not queue the approval, so the call is refused: ${String(err)}`);
        return;
      }
      if (row.fresh) {
        settings.evidence({
          type: 'approval.requested',
          approval_id: row.id,
          channel: 'queue',
          approver: null,
          reason: null,
          ...base,
        });
        settings.notify?.(row);
      }
      const decided = await waitForDecision(queue, row.id, settings.waitMs, scope, ctx);
      if (decided?.status === 'approved') {
        const used = await queue.consume(binding, requester, twoPerson).catch(() => null);
        if (used) {
          granted(evidenceFrom(used, binding));
          return;
        }
      }
      if (decided?.status === 'denied') {
        refuse(
          `${decided.approver ?? 'An approver'} denied ${server}/${tool} (approval ${row.id}): ${decided.reason ?? 'no reason given'}`,
        );
        return;
      }
      refuse(
        `${server}/${tool} is waiting for ${twoPerson ? `a second person's approval (not ${requester ?? 'the requester'})` : 'approval'}: ${settings.approveHint(row.id)}; then make the same call again (approval ${row.id}, valid until ${row.expiresAt})`,
      );
    },
  };
}

function evidenceFrom(row: ApprovalRow, binding: string): NonNullable<PipelineContext['approval']> {
  return {
    id: row.id,
    channel: 'queue',
    approver: row.approver,
    decided_at: row.decidedAt ?? new Date().toISOString(),
    binding_sha256: binding,
    scope: 'call',
  };
}

/** Polls the queue until the approval is decided or the wait ends; progress keeps the client waiting. */
async function waitForDecision(
  queue: ApprovalQueue,
  id: string,
  waitMs: number,
  scope: RequestScope | undefined,
  ctx: PipelineContext,
): Promise<ApprovalRow | null> {
  const token = (ctx.request.params?._meta as { progressToken?: string | number } | undefined)
    ?.progressToken;
  const started = Date.now();
  let tick = 0;
  while (Date.now() - started < waitMs) {
    if (scope?.signal.aborted) return null;
    const row = await queue.get(id).catch(() => null);
    if (row && row.status !== 'pending') return row;
    await new Promise((r) => setTimeout(r, 250));
    tick += 1;
    if (token !== undefined && scope && tick % 20 === 0) {
      await scope
        .notify({
          method: 'notifications/progress',
          params: { progressToken: token, progress: tick, message: `waiting for approval ${id}` },
        })
        .catch(() => undefined);
    }
  }
  return null;
}
