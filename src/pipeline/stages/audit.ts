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
import { maskForAudit } from '../../masking/mask-mcp.js';
import type { PipelineContext } from '../context.js';
import type { Stage } from '../stage.js';

/** Server-defined JSON-RPC error: Gatehouse refused the call because it could not record it. */
export const AUDIT_UNAVAILABLE = -32003;

const AUDITED: ReadonlySet<string> = new Set<AuditedMethod>([
  'tools/call',
  'resources/read',
  'prompts/get',
]);

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
  /** The JSON-RPC code upstream timeouts are reported with (wire.ts). */
  timeoutCode: number;
  /** Masks arguments, results and errors before they are stored (always, exemptions or not). */
  masker: Masker;
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
    },
    thread_id: ctx.caller?.threadId ?? null,
    parent_thread_id: ctx.caller?.parentThreadId ?? null,
  };
}

function targetOf(ctx: PipelineContext): string | null {
  const p = ctx.request.params;
  if (ctx.request.method === 'resources/read') return typeof p?.uri === 'string' ? p.uri : null;
  return ctx.target?.tool ?? (typeof p?.name === 'string' ? p.name : null);
}

function callRequest(
  ctx: PipelineContext,
  options: AuditStageOptions,
  callId: string,
): CallRequest {
  const p = ctx.request.params;
  const args = ctx.request.method === 'resources/read' ? undefined : p?.arguments;
  const decision = ctx.decision;
  return {
    call_id: callId,
    method: ctx.request.method as AuditedMethod,
    jsonrpc_id: ctx.request.id,
    ...who(ctx),
    server: ctx.target ? options.serverRef(ctx.target.server) : null,
    target: targetOf(ctx),
    arguments_masked: args === undefined ? null : maskForAudit(options.masker, args),
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
  };
}

function outcomeOf(ctx: PipelineContext, timeoutCode: number): CallOutcome {
  const response = ctx.response;
  if (ctx.answeredBy === 'approval' && ctx.approvalOutcome) return ctx.approvalOutcome;
  if (ctx.answeredBy) return 'denied'; // a stage refused it before it was forwarded
  if (!response) return 'protocol_error';
  if ('error' in response)
    return response.error.code === timeoutCode ? 'timeout' : 'protocol_error';
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
    before: async function auditIntentBefore(ctx) {
      if (!AUDITED.has(ctx.request.method)) return;
      const callId = timeOrderedId();
      const request = callRequest(ctx, options, callId);
      try {
        await options.sink.record({ type: 'call.intent', ...request });
        written.set(ctx, { callId, request });
        ctx.auditCallId = callId;
      } catch (err) {
        const why = options.masker.maskText(err instanceof Error ? err.message : String(err), {});
        if (options.failOpen) {
          unrecorded += 1;
          options.onProblem(
            `audit fail-open: forwarding ${ctx.request.method} unrecorded (${why})`,
          );
          void options.sink
            .record({ type: 'audit.fail_open', detail: why, calls_unrecorded: unrecorded })
            .then(() => (unrecorded = 0))
            .catch(() => undefined);
          return;
        }
        options.onProblem(`audit: refused ${ctx.request.method}: ${why}`);
        ctx.response = {
          error: {
            code: AUDIT_UNAVAILABLE,
            message: `Gatehouse refused this call because it could not record it in the audit trail (${why}). Calls are refused rather than unrecorded; an admin can allow unrecorded calls with [gatehouse_audit] fail_open = true in requirements.toml.`,
          },
        };
      }
    },
  };

  const result: Stage = {
    name: 'audit-result',
    after: async function auditResultAfter(ctx) {
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
      options.sink
        .record(
          {
            type: 'call.result',
            call_id: callId,
            request: intentWritten ? null : callRequest(ctx, options, callId),
            server: ctx.target?.server ?? null,
            target: targetOf(ctx),
            thread_id: ctx.caller?.threadId ?? null,
            outcome: outcomeOf(ctx, options.timeoutCode),
            error: error
              ? { code: error.code, message: options.masker.maskText(error.message, {}) }
              : null,
            result_hmac: hmac(options.hmacKey, rawPayload),
            result_bytes:
              rawPayload === undefined ? 0 : Buffer.byteLength(JSON.stringify(rawPayload)),
            result_masked: storedResult(options.masker, payload, m !== null && !m.exempt),
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
          },
          { lazy: true },
        )
        .catch((err: unknown) =>
          options.onProblem(`audit: result of ${method} not recorded: ${String(err)}`),
        );
    },
  };
  return { intent, result };
}

/**
 * The result as the audit stores it: masked (again, unless the masking stage already did it for
 * this response), and only when small enough to keep the trail fast.
 */
function storedResult(masker: Masker, payload: unknown, alreadyMasked: boolean): unknown {
  if (payload === undefined) return null;
  const masked = alreadyMasked ? payload : maskForAudit(masker, payload);
  const text = JSON.stringify(masked);
  return text.length > RESULT_MASKED_MAX_BYTES ? null : masked;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
