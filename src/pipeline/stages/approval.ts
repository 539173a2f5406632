import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from '../../audit/canonical-json.js';
import type { AuditEventBody } from '../../audit/event.js';
import { timeOrderedId } from '../../audit/ids.js';
import type { RequestScope } from '../../gateway/upstream-forwarder.js';
import { maskJsonValue } from '../../masking/mask-text.js';
import type { ApprovalQueue, ApprovalRow, QueuedLevel } from '../../approval/queue.js';
import type { ApproverKey } from '../../approval/signed-grant.js';
import { osPrincipal, verifyGrant } from '../../approval/signed-grant.js';
import { APPROVAL_LEVELS, HUMAN_APPROVAL_CATEGORIES } from '../../policy/model.js';
import type { PipelineContext } from '../context.js';
import { gatehouseError } from '../error-table.js';
import type { Stage } from '../stage.js';
import { memoryStateClaims } from '../../approval/request-state.js';
import type { RequestStatePayload } from '../../approval/request-state.js';
import type { Round, RoundRefusal, RoundSettings } from './input-required.js';
import {
  APPROVAL_INPUT_KEY,
  isModernRound,
  openRound,
  refuseState,
  sealFor,
  sealedResult,
  setUpstreamParams,
  upstreamAnswers,
  wrapUpstreamInputRequired,
} from './input-required.js';

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
  /**
   * A server's full identity for the binding: name, command/url, args, env keys and a hash of
   * env values (raw values go only into the keyed hash, never into a record).
   */
  serverIdentity(server: string): unknown;
  /** The approvals HTTP API / CLI hint shown in refusals. */
  approveHint(id: string): string;
  /** Tells someone a call is waiting (the webhook); never blocks or fails the call. */
  notify?(row: ApprovalRow): void;
  /** The admin's approver keys (`[gatehouse_approvals] approvers`); empty: none listed. */
  approvers?: readonly ApproverKey[];
  /** Human-approval categories the admin allows to be approved in-band (the client's prompt). */
  inBandCategories?: readonly string[];
  /** Masks what goes into the queue row and the webhook (the audit's masking). */
  maskForPeople?(value: unknown): unknown;
  /**
   * MCP 2026-07-28 clients (multi-round trips): the sealed requestState's key (null: none, so
   * modern clients are never asked in-band and no upstream input is passed on), single-use
   * claims (shared through the store when there is one) and how long a state is valid.
   * Absent: no key, claims in this process.
   */
  rounds?: RoundSettings;
}

/**
 * The requester as a principal: `os:NAME` for a stdio caller whose OS user has a passwd entry
 * (a person), `user:SUBJECT` for a caller the identity provider vouched for (a person),
 * `service:SUBJECT` for a service token (a bot) or `token:HASH` for the shared bearer token
 * (neither is a person), or null (unknown).
 */
export function requesterPrincipal(ctx: PipelineContext): string | null {
  if (ctx.caller?.tokenSubject) return ctx.caller.tokenSubject;
  return ctx.caller?.osUser ? osPrincipal(ctx.caller.osUser) : null;
}

/** An OS account or an identity-provider subject is a person; a bot, a shared token or nobody is not. */
export function isPersonPrincipal(principal: string | null): principal is string {
  return principal !== null && (principal.startsWith('os:') || principal.startsWith('user:'));
}

/** Why a requester is not a person, for a refusal. */
function describeNonPerson(requester: string | null): string {
  if (requester === null)
    return 'unknown (HTTP without a token, or an OS user without a passwd entry)';
  if (requester.startsWith('service:'))
    return `a service token (${requester}), which is a bot, not a person`;
  return 'only a shared bearer token, which is not a person';
}

/**
 * What an approval is for: exactly this requester, server (name and full identity), tool,
 * canonical arguments, policy revision and required level — a keyed hash, so the arguments are
 * not recoverable from it. A pending request is never shared across levels, and servers that
 * differ only in secret env values or masked args get different bindings.
 */
export function approvalBinding(
  key: Buffer,
  parts: {
    requester: string | null;
    serverName: string;
    serverIdentity: unknown;
    tool: string;
    args: unknown;
    policyRevision: string;
    level: string;
  },
): string {
  return createHmac('sha256', key)
    .update(
      canonicalJson({
        v: 2,
        requester: parts.requester,
        server_name: parts.serverName,
        server: parts.serverIdentity ?? null,
        tool: parts.tool,
        arguments: parts.args ?? null,
        policy_revision: parts.policyRevision,
        level: parts.level,
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
 * In order: a requester whose identity is unknown (or not a person) is refused for two_person
 * and for `always` in a human-approval category — nobody could be told apart from them; a grant
 * for the same call earlier in this session (level `prompt` only); an approval already given
 * out-of-band for exactly this call, which counts only if its signed grant verifies (when the
 * level is two_person or approver keys are listed — the queue row proves nothing); the user
 * asked in-band (an MCP elicitation) when the client can show one, a second person is not
 * required, and the call is not in a human-approval category the admin keeps out-of-band;
 * otherwise the call waits in the queue, and is refused — saying how to approve it, or that it
 * was denied, expired, timed out or withdrawn — if none comes. Never lets a call through on an error.
 */
export function approvalStage(settings: ApprovalSettings): Stage {
  const sessionGrants = new Map<string, string>();
  const approvers = settings.approvers ?? [];
  const inBand = new Set(settings.inBandCategories ?? []);
  const forPeople = settings.maskForPeople ?? ((v: unknown) => maskJsonValue(v));
  const rounds: RoundSettings = settings.rounds ?? {
    key: null,
    claims: memoryStateClaims(),
    ttlMs: settings.ttlMs,
  };
  /** The approval a call went on with, for the next round's state (modern clients). */
  const grants = new WeakMap<PipelineContext, NonNullable<RequestStateApproval>>();
  return {
    name: 'approval',
    handle: async function approval(ctx, next) {
      if (!isModernRound(ctx)) {
        await decide(ctx, null);
        // Answered: refused, waiting, or denied (the response says which); else it may go on.
        if (!ctx.response) await next();
        return;
      }
      // A modern client's round: its state verified and claimed first (single use).
      const round = await openRound(ctx, settings.scopes.get(ctx.request.id), rounds);
      await decide(ctx, round);
      if (!ctx.response && 'problem' in round) refuseState(ctx, round);
      if (ctx.response) return;
      setUpstreamParams(ctx, round as Round);
      await next();
      wrapUpstreamInputRequired(ctx, round as Round, rounds, grants.get(ctx) ?? null);
    },
  };

  /** Grants the call (evidence in ctx.approval) or answers it with why not. */
  async function decide(ctx: PipelineContext, round: Round | RoundRefusal | null): Promise<void> {
    if (ctx.decision.kind !== 'needs_approval' || !ctx.target?.tool || !ctx.policy) return;
    const { server, tool } = ctx.target;
    const args = ctx.request.params?.arguments;
    const requester = requesterPrincipal(ctx);
    const twoPerson = ctx.decision.approver === 'two_person';
    const level: QueuedLevel = twoPerson
      ? 'two_person'
      : ctx.policy.level === 'prompt'
        ? 'prompt'
        : 'always';
    const category = ctx.policy.category;
    const human =
      category !== null && (HUMAN_APPROVAL_CATEGORIES as readonly string[]).includes(category);
    const sessionScope = level === 'prompt';
    // Signed grants: always for two_person; for every out-of-band grant once keys are listed.
    const signedOnly = twoPerson || approvers.length > 0;
    const binding = approvalBinding(settings.hmacKey, {
      requester,
      serverName: server,
      serverIdentity: settings.serverIdentity(server),
      tool,
      args,
      policyRevision: ctx.policy.policyRevision,
      level,
    });
    const base = {
      server,
      tool,
      requester,
      binding_sha256: binding,
      policy_revision: ctx.policy.policyRevision,
      level,
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
          level: row.level,
          reason: `expired at ${row.expiresAt} without being used`,
        });
      }
    };
    const granted = (
      evidence: NonNullable<PipelineContext['approval']>,
      grant: unknown,
      reason: string | null = null,
    ) => {
      recordExpired();
      ctx.approval = evidence;
      grants.set(ctx, { id: evidence.id, binding, level, granted: true });
      settings.evidence({
        type: 'approval.used',
        approval_id: evidence.id,
        channel: evidence.channel,
        approver: evidence.approver,
        reason,
        ...base,
        ...(grant ? { grant } : {}),
      });
    };
    const refuse = (message: string) => {
      recordExpired();
      ctx.response = { error: gatehouseError('approval_required', message) };
    };
    const refuseForGood = (message: string) => {
      settings.evidence({
        type: 'approval.refused',
        approval_id: timeOrderedId(),
        channel: 'queue',
        approver: null,
        reason: message,
        ...base,
      });
      refuse(`Gatehouse refuses ${server}/${tool}: ${message}; the call was not made`);
    };

    // A modern client's state that failed its checks: refused, with the approval it named if any.
    if (round && 'problem' in round) {
      settings.evidence({
        type: 'approval.refused',
        approval_id: round.approvalId ?? timeOrderedId(),
        channel: 'input_required',
        approver: null,
        reason: round.message,
        ...base,
      });
      refuseState(ctx, round);
      return;
    }

    // A second person (or a person at all) cannot be told apart from an unknown requester.
    if ((twoPerson || (level === 'always' && human)) && !isPersonPrincipal(requester)) {
      refuseForGood(
        `it needs ${twoPerson ? "a second person's approval" : "a person's approval"} (${twoPerson ? 'two_person' : `category '${category}'`}), but the caller's identity is ${describeNonPerson(requester)}; run it over stdio as your own OS account, or over HTTP signed in as yourself ([gatehouse_identity])`,
      );
      return;
    }
    if (twoPerson && approvers.length === 0) {
      refuseForGood(
        "it needs a second person's signed approval, and no approver keys are listed in requirements ([gatehouse_approvals] approvers; see `gatehouse approvals keygen`)",
      );
      return;
    }

    const session = sessionScope ? sessionGrants.get(binding) : undefined;
    if (session) {
      granted(
        {
          id: session,
          channel: 'session_grant',
          approver: requester,
          decided_at: new Date().toISOString(),
          binding_sha256: binding,
          scope: 'session',
        },
        null,
      );
      return;
    }

    // A modern client's round that carries Gatehouse's own approval question or grant.
    const asked = round?.payload.approval;
    if (round && asked) {
      const sameCall = sameBinding(asked.binding, binding);
      const answer = round.responses[APPROVAL_INPUT_KEY];
      const answered = Object.hasOwn(round.responses, APPROVAL_INPUT_KEY);
      if (!sameCall) {
        // Same arguments (the state's own binding says so), but another policy revision or level.
        settings.evidence({
          type: 'approval.refused',
          approval_id: asked.id,
          channel: 'input_required',
          approver: null,
          reason: 'the approval in the requestState is for another policy revision or level',
          ...base,
        });
        refuse(
          `Gatehouse refuses ${server}/${tool}: the approval in the requestState was given under another policy (revision or level changed); make the call again without it to be asked anew`,
        );
        return;
      }
      if (asked.granted) {
        granted(
          {
            id: asked.id,
            channel: 'input_required',
            approver: requester,
            decided_at: new Date().toISOString(),
            binding_sha256: binding,
            scope: 'call',
          },
          null,
          'granted in an earlier round of this call',
        );
        return;
      }
      if (answered) {
        const action = elicitAction(answer);
        if (action !== 'accept') {
          const declined = action === 'decline';
          settings.evidence({
            type: declined ? 'approval.denied' : 'approval.withdrawn',
            approval_id: asked.id,
            channel: 'input_required',
            approver: declined ? requester : null,
            reason: action
              ? `the user chose ${action}`
              : 'the answer was not an elicitation result',
            ...base,
          });
          if (!declined) ctx.approvalOutcome = 'approval_withdrawn';
          refuse(
            `The user did not approve ${server}/${tool} (${action ?? 'no valid answer'}); the call was not made`,
          );
          return;
        }
        settings.evidence({
          type: 'approval.granted',
          approval_id: asked.id,
          channel: 'input_required',
          approver: requester,
          reason: null,
          ...base,
        });
        granted(
          {
            id: asked.id,
            channel: 'input_required',
            approver: requester,
            decided_at: new Date().toISOString(),
            binding_sha256: binding,
            scope: 'call',
          },
          null,
        );
        return;
      }
      // Retried without an answer: the question is asked again below, under a new state.
    }

    /** Whether a stored approval counts for this call: null, or why not. */
    const check = (row: ApprovalRow): string | null => {
      if (APPROVAL_LEVELS.indexOf(row.level) < APPROVAL_LEVELS.indexOf(level))
        return `the approval is for level ${row.level}; this call needs ${level}`;
      if (!signedOnly) return row.approver ? null : 'the approval names no approver';
      if (row.grant === null)
        return `no signed grant: ${twoPerson ? 'a two_person call' : 'with approver keys listed, a call'} needs one signed by a listed approver key (\`gatehouse approvals approve ${row.id} --key FILE\`)`;
      const v = verifyGrant(row.grant, approvers, {
        approvalId: row.id,
        binding,
        server,
        tool,
        level,
        requester,
        now: new Date().toISOString(),
      });
      return v.ok ? null : v.reason;
    };
    const take = async (): Promise<{ row: ApprovalRow | null; rejected: string[] }> => {
      const queue = settings.queue;
      if (!queue) return { row: null, rejected: [] };
      const out = await queue.consume(binding, check);
      for (const r of out.rejected) {
        settings.evidence({
          type: 'approval.rejected',
          approval_id: r.row.id,
          channel: 'queue',
          approver: r.row.approver,
          reason: r.reason,
          ...base,
          grant: r.row.grant,
        });
      }
      return { row: out.used, rejected: out.rejected.map((r) => `${r.row.id}: ${r.reason}`) };
    };
    const useRow = (row: ApprovalRow) =>
      granted(evidenceFrom(row, binding, signedOnly), signedOnly ? row.grant : null);

    let rejected: string[] = [];
    try {
      const ready = await take();
      rejected = ready.rejected;
      if (ready.row) {
        useRow(ready.row);
        return;
      }
    } catch (err) {
      refuse(
        `Gatehouse could not check the approval queue, so the call is refused: ${String(err)}`,
      );
      return;
    }
    if (rejected.length > 0) {
      refuse(
        `Gatehouse did not accept the approval of ${server}/${tool} (${rejected.join('; ')}); the call was not made`,
      );
      return;
    }
    // A person denied exactly this call: say so (who, when, why) instead of asking again.
    const denial = await settings.queue
      ?.deniedFor(binding, new Date().toISOString())
      .catch(() => null);
    if (denial) {
      const why = denial.reason ?? 'no reason given';
      settings.evidence({
        type: 'approval.refused',
        approval_id: denial.id,
        channel: 'queue',
        approver: denial.approver,
        reason: `already denied by ${denial.approver ?? 'an approver'} at ${denial.decidedAt}: ${why}`,
        ...base,
      });
      refuse(
        `${denial.approver ?? 'An approver'} denied ${server}/${tool} with these arguments at ${denial.decidedAt} (approval ${denial.id}): ${why}. The same call stays denied until its arguments or the policy change, or until ${denial.expiresAt}; the call was not made`,
      );
      return;
    }

    const scope = settings.scopes.get(ctx.request.id);
    const outOfBandOnly = level === 'always' && human && !inBand.has(category as string);
    const channelNote =
      human && level === 'always'
        ? `in-band: category '${category}' is allowed in-band by [gatehouse_approvals] in_band_categories`
        : null;
    if (!twoPerson && !outOfBandOnly && round && rounds.key && canElicit(ctx)) {
      // A modern client: the question is an `input_required` result; the retry answers it.
      const id = timeOrderedId();
      const pendingUpstream = round.payload.upstream
        ? { state: round.payload.upstream.state, keys: {}, responses: upstreamAnswers(round) }
        : null;
      const sealed = sealFor(round, rounds, {
        approval: { id, binding, level, granted: false },
        ...(pendingUpstream ? { upstream: pendingUpstream } : {}),
      });
      if ('error' in sealed) {
        refuse(
          `Gatehouse cannot ask for approval of ${server}/${tool}: ${sealed.error}; the call was not made`,
        );
        return;
      }
      settings.evidence({
        type: 'approval.requested',
        approval_id: id,
        channel: 'input_required',
        approver: null,
        reason: channelNote,
        ...base,
      });
      ctx.response = {
        result: sealedResult({
          resultType: 'input_required',
          inputRequests: {
            [APPROVAL_INPUT_KEY]: {
              method: 'elicitation/create',
              params: approvalElicitation(ctx, server, tool, args, false),
            },
          },
          requestState: sealed.state,
        }),
      };
      return;
    }
    if (!twoPerson && !outOfBandOnly && scope?.elicit) {
      const id = timeOrderedId();
      settings.evidence({
        type: 'approval.requested',
        approval_id: id,
        channel: 'elicitation',
        approver: null,
        reason: channelNote,
        ...base,
      });
      let answer: { action: string; content?: unknown };
      try {
        answer = await scope.elicit(approvalElicitation(ctx, server, tool, args, sessionScope));
      } catch (err) {
        settings.evidence({
          type: 'approval.withdrawn',
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
        const declined = answer.action === 'decline';
        settings.evidence({
          type: declined ? 'approval.denied' : 'approval.withdrawn',
          approval_id: id,
          channel: 'elicitation',
          approver: declined ? requester : null,
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
        reason:
          [forSession ? 'for this session' : null, channelNote].filter(Boolean).join('; ') || null,
        ...base,
      });
      granted(
        {
          id,
          channel: 'elicitation',
          approver: requester,
          decided_at: new Date().toISOString(),
          binding_sha256: binding,
          scope: forSession ? 'session' : 'call',
        },
        null,
      );
      return;
    }

    const queue = settings.queue;
    if (!queue) {
      refuse(
        `${server}/${tool} needs ${twoPerson ? "a second person's" : "the user's"} approval (rule: ${ctx.decision.rule})${outOfBandOnly && scope?.elicit ? `, out-of-band: category '${category}' is not approved through the client's prompt` : ', and this client cannot show an approval prompt'}; the call was not made`,
      );
      return;
    }
    let row: ApprovalRow;
    try {
      row = await queue.request({
        binding,
        requester,
        twoPerson,
        level,
        server,
        tool,
        category: ctx.policy.category,
        argumentsMasked: forPeople(args ?? {}),
        policyRevision: ctx.policy.policyRevision,
        rule: ctx.decision.rule,
        ttlMs: settings.ttlMs,
      });
    } catch (err) {
      refuse(`Gatehouse could not queue the approval, so the call is refused: ${String(err)}`);
      return;
    }
    const queued = { ...base, approval_id: row.id, channel: 'queue' as const };
    if (row.fresh) {
      settings.evidence({
        type: 'approval.requested',
        approver: null,
        reason: outOfBandOnly
          ? `out-of-band: category '${category}' needs a person outside the client`
          : null,
        ...queued,
      });
      settings.notify?.(row);
    }
    const waited = await waitForDecision(queue, row.id, settings.waitMs, scope, ctx);
    const decided = waited.row;
    if (decided?.status === 'approved') {
      const used = await take().catch(() => ({ row: null, rejected: ['the queue failed'] }));
      if (used.row) {
        useRow(used.row);
        return;
      }
      refuse(
        `Gatehouse did not accept the approval of ${server}/${tool} (${used.rejected.join('; ') || 'it was used by another call'}); the call was not made`,
      );
      return;
    }
    if (decided?.status === 'denied') {
      refuse(
        `${decided.approver ?? 'An approver'} denied ${server}/${tool} (approval ${row.id}): ${decided.reason ?? 'no reason given'}`,
      );
      return;
    }
    if (decided?.status === 'expired') {
      ctx.approvalOutcome = 'approval_expired';
      refuse(
        `the approval ${row.id} of ${server}/${tool} expired at ${row.expiresAt} before anyone decided; make the call again to ask anew`,
      );
      return;
    }
    if (waited.withdrawn) {
      settings.evidence({
        type: 'approval.withdrawn',
        approver: null,
        reason: 'the client cancelled the call while it waited for approval',
        ...queued,
      });
      ctx.approvalOutcome = 'approval_withdrawn';
      refuse(`the call to ${server}/${tool} was withdrawn while waiting for approval ${row.id}`);
      return;
    }
    ctx.approvalOutcome = 'approval_timed_out';
    settings.evidence({
      type: 'approval.timed_out',
      approver: null,
      reason: `nobody decided within ${Math.round(settings.waitMs / 1000)} s; the request stays pending until ${row.expiresAt}`,
      ...queued,
    });
    refuse(
      `${server}/${tool} is waiting for ${twoPerson ? `a second person's signed approval (not ${requester ?? 'the requester'})` : 'approval'}: ${settings.approveHint(row.id)}; then make the same call again (approval ${row.id}, valid until ${row.expiresAt})`,
    );
  }
}

type RequestStateApproval = RequestStatePayload['approval'];

/** The action of an elicitation result, or null when the answer is not one. */
function elicitAction(answer: unknown): 'accept' | 'decline' | 'cancel' | null {
  const action = (answer as { action?: unknown } | null)?.action;
  return action === 'accept' || action === 'decline' || action === 'cancel' ? action : null;
}

/** Equal bindings, compared in constant time (both are hex HMACs of one length). */
function sameBinding(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Whether a modern client can show a form elicitation: THIS request's envelope declares it (the
 * transport puts the lifted `io.modelcontextprotocol/clientCapabilities` on the connection facts;
 * a client may declare other capabilities per request). A request that declares none is not
 * asked in-band: the approval goes out of band instead, as for any client that cannot answer.
 */
function canElicit(ctx: PipelineContext): boolean {
  const caps =
    ctx.connection.clientCapabilities ??
    (ctx.request.params?._meta as Record<string, unknown> | undefined)?.[
      'io.modelcontextprotocol/clientCapabilities'
    ];
  if (!caps || typeof caps !== 'object') return false;
  return Boolean((caps as { elicitation?: unknown }).elicitation);
}

function evidenceFrom(
  row: ApprovalRow,
  binding: string,
  signed: boolean,
): NonNullable<PipelineContext['approval']> {
  const statement = signed
    ? (
        row.grant as {
          statement?: { approver?: string; key?: string; approved_by?: { principal?: string } };
        } | null
      )?.statement
    : undefined;
  return {
    id: row.id,
    channel: 'queue',
    // A gateway signs for a person: the audit names the person, the key says which gateway.
    approver: statement?.approved_by?.principal ?? statement?.approver ?? row.approver,
    decided_at: row.decidedAt ?? new Date().toISOString(),
    binding_sha256: binding,
    scope: 'call',
    ...(statement?.key ? { key_fingerprint: statement.key } : {}),
  };
}

/** How often a waiting call reads its approval even without a notification (a lost NOTIFY). */
export const APPROVAL_POLL_MS = 2000;
/** How often a waiting call tells its client it still waits (progress, when it asked for it). */
const PROGRESS_EVERY_MS = 5000;

/**
 * Waits until the approval is decided, expires, or the wait ends. A queue that can say when a
 * row changed (PostgreSQL LISTEN/NOTIFY: a decision made on another replica) wakes the call at
 * once; every wait still re-reads the row at least every APPROVAL_POLL_MS, so a lost
 * notification only delays it. Past its expiry the approval counts as expired (fail closed),
 * whether or not any process has marked it yet. Progress keeps the client waiting.
 */
async function waitForDecision(
  queue: ApprovalQueue,
  id: string,
  waitMs: number,
  scope: RequestScope | undefined,
  ctx: PipelineContext,
): Promise<{ row: ApprovalRow | null; withdrawn: boolean }> {
  const token = (ctx.request.params?._meta as { progressToken?: string | number } | undefined)
    ?.progressToken;
  const started = Date.now();
  let nextProgress = started + PROGRESS_EVERY_MS;
  let tick = 0;
  while (Date.now() - started < waitMs) {
    if (scope?.signal.aborted) return { row: null, withdrawn: true };
    const row = await queue.get(id).catch(() => null);
    if (row && row.status !== 'pending') return { row, withdrawn: false };
    if (row && Date.parse(row.expiresAt) <= Date.now())
      return { row: { ...row, status: 'expired' }, withdrawn: false };
    const left = waitMs - (Date.now() - started);
    if (left <= 0) break;
    if (queue.waitForChange) await queue.waitForChange(id, Math.min(left, APPROVAL_POLL_MS));
    else await new Promise((r) => setTimeout(r, Math.min(left, 250)));
    if (token !== undefined && scope && Date.now() >= nextProgress) {
      nextProgress += PROGRESS_EVERY_MS;
      tick += 1;
      await scope
        .notify({
          method: 'notifications/progress',
          params: { progressToken: token, progress: tick, message: `waiting for approval ${id}` },
        })
        .catch(() => undefined);
    }
  }
  return { row: null, withdrawn: Boolean(scope?.signal.aborted) };
}
