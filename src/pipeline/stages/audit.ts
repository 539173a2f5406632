import { createHmac } from 'node:crypto';
import { canonicalJson } from '../../audit/canonical-json.js';
import type {
  ActorRef,
  AuditedMethod,
  CallOutcome,
  CallRequest,
  ServerRef,
  ThreadRef,
} from '../../audit/event.js';
import { timeOrderedId } from '../../audit/ids.js';
import type { AuditSink } from '../../audit/writer.js';
import type { Masker } from '../../masking/engine.js';
import { maskForAuditTrail, maskUriForAudit } from '../../audit/audit-mask.js';
import { maskUrl } from '../../masking/mask-text.js';
import type { Caller, PipelineContext } from '../context.js';
import { gatehouseError, outcomeOfCode } from '../error-table.js';
import type { Stage } from '../stage.js';

const AUDITED: ReadonlySet<string> = new Set<AuditedMethod>([
  'tools/call',
  'resources/read',
  'prompts/get',
  'tasks/result',
]);

/**
 * Longest a response waits for its result record to be durable before it is released. Above the
 * stores' own wait for a busy write lock (10 s), so it bounds a hung store, not a busy one.
 */
export const RESULT_RECORD_WAIT_MS = 15_000;

export interface AuditStageOptions {
  sink: AuditSink;
  /** Key for HMACs of raw arguments and results. */
  hmacKey: Buffer;
  /** Admin setting: forward calls whose intent could not be written (itself recorded). */
  failOpen: boolean;
  /** The server's transport identity, as requirements matched it. */
  serverRef(name: string): ServerRef | null;
  /** A record could not be written (or a call went through unrecorded under fail-open). */
  onProblem(message: string): void;
  /** Masks arguments, results and errors before they are stored (always, exemptions or not). */
  masker: Masker;
  /** Whose credential a call to this server uses for this caller (model, principal). */
  credentialOf?(server: string, caller: Caller | null): NonNullable<CallRequest['credential']>;
}

/** Masked results larger than this are not stored (their keyed hash and size still are). */
export const RESULT_MASKED_MAX_BYTES = 16 * 1024;

function hmac(key: Buffer, value: unknown): string | null {
  if (value === undefined) return null;
  try {
    return createHmac('sha256', key).update(canonicalJson(value)).digest('hex');
  } catch {
    return null;
  }
}

/** The caller and its thread, as every call and list record carries them. */
function who(ctx: PipelineContext): { actor: ActorRef } & ThreadRef {
  return {
    actor: {
      os_user: ctx.caller?.osUser ?? null,
      token_subject: ctx.caller?.tokenSubject ?? null,
      client: ctx.caller?.client ?? ctx.connection.clientInfo,
      era: ctx.connection.era ?? 'legacy',
      ...(ctx.caller?.identity ? { identity: { ...ctx.caller.identity } } : {}),
    },
    thread_id: ctx.caller?.threadId ?? null,
    parent_thread_id: ctx.caller?.parentThreadId ?? null,
  };
}

/** What was called, as the audit stores it: a resource URI masked (tokens, passwords). */
function targetOf(ctx: PipelineContext, masker: Masker): string | null {
  const p = ctx.request.params;
  if (ctx.request.method === 'resources/read')
    return typeof p?.uri === 'string' ? maskUriForAudit(masker, p.uri) : null;
  if (ctx.request.method === 'tasks/result')
    return typeof p?.taskId === 'string' ? masker.maskText(p.taskId, {}, { json: false }) : null;
  return ctx.target?.tool ?? (typeof p?.name === 'string' ? p.name : null);
}

function callRequest(
  ctx: PipelineContext,
  options: AuditStageOptions,
  callId: string,
): CallRequest {
  const p = ctx.request.params;
  const args =
    ctx.request.method === 'resources/read' || ctx.request.method === 'tasks/result'
      ? undefined
      : p?.arguments;
  const decision = ctx.decision;
  return {
    call_id: callId,
    method: ctx.request.method as AuditedMethod,
    jsonrpc_id: ctx.request.id,
    ...who(ctx),
    server: ctx.target ? options.serverRef(ctx.target.server) : null,
    target: targetOf(ctx, options.masker),
    arguments_masked: args === undefined ? null : maskForAuditTrail(options.masker, args),
    arguments_hmac: hmac(options.hmacKey, args),
    decision: {
      kind: decision.kind,
      rule: decision.rule,
      ...(decision.kind === 'deny' ? { reason: decision.reason } : {}),
      ...(ctx.policy
        ? {
            effect: ctx.policy.effect,
            category: ctx.policy.category,
            level: ctx.policy.level,
            policy_revision: ctx.policy.policyRevision,
          }
        : {}),
    },
    approval: ctx.approval,
    ...(ctx.target && options.credentialOf
      ? { credential: options.credentialOf(ctx.target.server, ctx.caller) }
      : {}),
  };
}

/** How a call ended, as the audit trail (and telemetry) names it. */
export function outcomeOf(ctx: PipelineContext): CallOutcome {
  const response = ctx.response;
  // Waiting for the client's input (approval or an upstream's question): not a result yet.
  if (response && 'result' in response && response.result.resultType === 'input_required')
    return 'input_required';
  if (ctx.answeredBy === 'approval' && ctx.approvalOutcome) return ctx.approvalOutcome;
  if (ctx.answeredBy === 'resolve-target' && response && 'error' in response) {
    // Nothing was sent: a server that cannot be used is not a denial.
    const outcome = outcomeOfCode(response.error.code);
    if (outcome === 'unavailable') return outcome;
  }
  if (ctx.answeredBy) return 'denied'; // a stage refused it before it was forwarded
  if (!response) return 'protocol_error';
  // An upstream's own error is its protocol error, whatever code it picked: only Gatehouse's
  // own errors say timeout or unavailable.
  if ('error' in response)
    return ctx.errorOrigin === 'upstream' ? 'protocol_error' : outcomeOfCode(response.error.code);
  return response.result.isError === true ? 'is_error' : 'ok';
}

/**
 * The pipeline's two audit stages. audit-intent (before forward): for tools/call,
 * resources/read and prompts/get, writes who is calling what with which (masked) arguments and
 * the decision, and waits until that record is durable — a call is never forwarded unrecorded;
 * if the store cannot be written the call is refused, unless an admin set fail-open (which is
 * recorded). audit-result (on the way back, always): the outcome, a keyed hash and the size of
 * the result, and the latency split into gateway and upstream time; for tools/list, what was
 * exposed and what was hidden and why.
 */
export function auditStages(options: AuditStageOptions): { intent: Stage; result: Stage } {
  const written = new WeakMap<PipelineContext, { callId: string; request: CallRequest }>();
  let unrecorded = 0;

  const intent: Stage = {
    name: 'audit-intent',
    handle: async function auditIntent(ctx, next) {
      if (await recordIntent(ctx)) await next();
    },
  };

  /** False when the call may not go on (its intent could not be recorded, and not fail-open). */
  const recordIntent = async (ctx: PipelineContext): Promise<boolean> => {
    if (!AUDITED.has(ctx.request.method)) return true;
    const callId = timeOrderedId();
    const request = callRequest(ctx, options, callId);
    try {
      await options.sink.record({ type: 'call.intent', ...request });
      written.set(ctx, { callId, request });
      ctx.auditCallId = callId;
      return true;
    } catch (err) {
      const why = options.masker.maskText(err instanceof Error ? err.message : String(err), {});
      if (options.failOpen) {
        unrecorded += 1;
        options.onProblem(`audit fail-open: forwarding ${ctx.request.method} unrecorded (${why})`);
        void options.sink
          .record({ type: 'audit.fail_open', detail: why, calls_unrecorded: unrecorded })
          .then(() => (unrecorded = 0))
          .catch(() => undefined);
        return true;
      }
      options.onProblem(`audit: refused ${ctx.request.method}: ${why}`);
      ctx.response = {
        error: gatehouseError(
          'audit_unavailable',
          `Gatehouse refused this call because it could not record it in the audit trail (${why}). Calls are refused rather than unrecorded; an admin can allow unrecorded calls with [gatehouse_audit] fail_open = true in requirements.toml.`,
        ),
      };
      return false;
    }
  };

  const result: Stage = {
    name: 'audit-result',
    handle: async function auditResult(ctx, next) {
      await next(); // never rejects: whatever happened inside is a response to record
      await recordResult(ctx);
    },
  };

  const recordResult = async (ctx: PipelineContext): Promise<void> => {
    const method = ctx.request.method;
    if (method === 'tools/list') {
      if (!ctx.response || !('result' in ctx.response)) return;
      const tools = ctx.response.result.tools;
      options.sink
        .record(
          {
            type: 'tools.list',
            ...who(ctx),
            exposed: Array.isArray(tools)
              ? tools.map((t) => String((t as { name?: unknown }).name))
              : [],
            hidden: ctx.hiddenTools,
          },
          { lazy: true },
        )
        .catch((err: unknown) =>
          options.onProblem(`audit: tools/list not recorded: ${String(err)}`),
        );
      return;
    }
    if (!AUDITED.has(method)) return;
    const intentWritten = written.get(ctx);
    if (!intentWritten && ctx.answeredBy === 'audit-intent') return; // refused: nothing recorded
    const total = performance.now() - ctx.startedAt;
    const upstream = ctx.upstreamMs;
    const response = ctx.response;
    const payload = response && 'result' in response ? response.result : undefined;
    const error = response && 'error' in response ? response.error : null;
    const raw = ctx.unmaskedResponse ?? response;
    const rawPayload = raw && 'result' in raw ? raw.result : undefined;
    const m = ctx.masking;
    const callId = intentWritten?.callId ?? timeOrderedId();
    // Recorded before it is released: the response waits (bounded) for its result record to
    // be durable. A result that cannot be recorded is withheld like an unrecorded call
    // (unless fail-open); a lost one also shows as "intent without result" in `audit verify`.
    const recorded = options.sink.record({
      type: 'call.result',
      call_id: callId,
      request: intentWritten ? null : callRequest(ctx, options, callId),
      server: ctx.target?.server ?? null,
      target: targetOf(ctx, options.masker),
      thread_id: ctx.caller?.threadId ?? null,
      outcome: outcomeOf(ctx),
      error: error
        ? {
            code: error.code,
            message: options.masker.maskText(maskUrlsIn(error.message), {}),
            by: ctx.errorOrigin ?? 'gatehouse',
          }
        : null,
      result_hmac: hmac(options.hmacKey, rawPayload),
      result_bytes: rawPayload === undefined ? 0 : Buffer.byteLength(JSON.stringify(rawPayload)),
      result_masked: storedResult(options.masker, payload),
      masking: m
        ? {
            redactions: m.counts,
            exempt: m.exempt,
            withheld: m.withheld,
            ...(m.budget ? { budget: m.budget } : {}),
          }
        : null,
      latency_ms: {
        total: round(total),
        gateway: round(total - (upstream ?? 0)),
        upstream: upstream === null ? null : round(upstream),
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const failure = await Promise.race([
      recorded.then(
        () => null,
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      ),
      new Promise<string>((resolve) => {
        timer = setTimeout(
          () => resolve(`not durable after ${RESULT_RECORD_WAIT_MS / 1000} s`),
          RESULT_RECORD_WAIT_MS,
        );
      }),
    ]);
    clearTimeout(timer);
    if (failure === null) return;
    const why = options.masker.maskText(failure, {});
    options.onProblem(`audit: result of ${method} not recorded: ${why}`);
    if (options.failOpen || !intentWritten) return;
    ctx.response = {
      error: gatehouseError(
        'audit_unavailable',
        `Gatehouse withheld this result because it could not record it in the audit trail (${why}). The call reached the server; an admin can allow unrecorded results with [gatehouse_audit] fail_open = true in requirements.toml.`,
      ),
    };
  };
  return { intent, result };
}

/**
 * The result as the audit stores it: masked for the audit trail — always, even when the masking
 * stage masked it for the client (secret-named fields and keys the client may see are masked
 * here), and only when small enough to keep the trail fast.
 */
function storedResult(masker: Masker, payload: unknown): unknown {
  if (payload === undefined) return null;
  const masked = maskForAuditTrail(masker, payload);
  const text = JSON.stringify(masked);
  return text.length > RESULT_MASKED_MAX_BYTES ? null : masked;
}

/** URLs inside a free text (an error message) with their credentials masked. */
function maskUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s"'<>]{1,2048}/gi, (url) => maskUrl(url));
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
