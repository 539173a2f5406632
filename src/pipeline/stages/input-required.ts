/**
 * MCP 2026-07-28 multi-round-trip requests ("MRTR", SEP-2322) inside the pipeline, for a modern
 * client: the rounds of one call are separate requests, tied together by the `requestState` the
 * client echoes. Gatehouse never lets a client's state reach an upstream and never trusts it:
 * every state a modern client gets from Gatehouse is Gatehouse's own, sealed
 * (approval/request-state.ts) and bound to the caller and the exact call; an upstream's own state
 * rides inside it. Used by the approval stage, which owns the round (it asks its own question
 * and sees the upstream's answer on the way back).
 */
import type { RequestScope } from '../../gateway/upstream-forwarder.js';
import type {
  RequestStateKey,
  RequestStatePayload,
  RequestStateProblem,
  StateCall,
  StateCaller,
  StateClaims,
} from '../../approval/request-state.js';
import {
  REQUEST_STATE_MESSAGES,
  callBinding,
  openRequestState,
  sealRequestState,
} from '../../approval/request-state.js';
import { osPrincipal } from '../../approval/signed-grant.js';
import type { PipelineContext } from '../context.js';
import { gatehouseError } from '../error-table.js';

/** The key of Gatehouse's own approval question among a round's input requests. */
export const APPROVAL_INPUT_KEY = 'gatehouse.approval';
/** Keys an upstream may not use as they are (they would shadow Gatehouse's own). */
const RESERVED_PREFIX = 'gatehouse.';

/** The requests that may be answered with `input_required` (2026-07-28). */
export const MRTR_METHODS: ReadonlySet<string> = new Set([
  'tools/call',
  'prompts/get',
  'resources/read',
]);

export interface RoundSettings {
  /** Seals and opens states; null when the gateway has no key (every state is then refused). */
  key: RequestStateKey | null;
  /** Single use across every process sharing the store (or this process alone). */
  claims: StateClaims;
  /** How long a state stays valid. */
  ttlMs: number;
}

/** One modern request: what it brought back, verified and claimed. */
export interface Round {
  /** The state's id when the request carried one of Gatehouse's states, else null. */
  stateId: string | null;
  /** What Gatehouse kept across rounds ({} on a first round). */
  payload: RequestStatePayload;
  /** The client's answers as received (untrusted), by the keys the client was given. */
  responses: Record<string, unknown>;
  caller: StateCaller;
  call: StateCall;
}

/** A state refused: which check failed, the message, and the approval it named when known. */
export interface RoundRefusal {
  problem: RequestStateProblem;
  message: string;
  approvalId?: string;
}

/**
 * The `input_required` results whose `requestState` Gatehouse sealed, by identity (an upstream
 * cannot make an object that is in this set). The masking stage leaves that one string alone:
 * it is ciphertext Gatehouse minted, holds nothing readable, and a detector matching a run of
 * its characters by chance (about 1 in 10 000 states) would break the client's retry.
 */
const SEALED_RESULTS = new WeakSet<object>();

/** An input_required result carrying Gatehouse's own sealed state (see SEALED_RESULTS). */
export function sealedResult(result: Record<string, unknown>): Record<string, unknown> {
  SEALED_RESULTS.add(result);
  return result;
}

/** Gatehouse's sealed state in this result, if Gatehouse made the result; else undefined. */
export function gatehouseSealedState(result: object): string | undefined {
  if (!SEALED_RESULTS.has(result)) return undefined;
  const state = (result as { requestState?: unknown }).requestState;
  return typeof state === 'string' ? state : undefined;
}

/** Whether this request is a modern client's request that takes part in multi-round trips. */
export function isModernRound(ctx: PipelineContext): boolean {
  return ctx.connection.era === 'modern' && MRTR_METHODS.has(ctx.request.method);
}

/** The caller a state is bound to: principal and issuer (HTTP), OS user (stdio), client name. */
export function stateCallerOf(ctx: PipelineContext): StateCaller {
  const caller = ctx.caller;
  return {
    principal: caller?.tokenSubject ?? (caller?.osUser ? osPrincipal(caller.osUser) : null) ?? null,
    issuer: caller?.identity?.issuer ?? null,
    osUser: caller?.osUser ?? null,
    client: caller?.client?.name ?? ctx.connection.clientInfo?.name ?? null,
  };
}

/** The call a state is bound to: method, server, what is called, and its exact arguments. */
export function stateCallOf(ctx: PipelineContext, key: RequestStateKey): StateCall {
  const params = ctx.request.params;
  const method = ctx.request.method;
  const server = ctx.target?.server ?? '';
  const target =
    method === 'resources/read'
      ? typeof params?.uri === 'string'
        ? params.uri
        : null
      : method === 'prompts/get'
        ? (ctx.target?.prompt ?? (typeof params?.name === 'string' ? params.name : null))
        : (ctx.target?.tool ?? null);
  const args = method === 'resources/read' ? null : (params?.arguments ?? null);
  return {
    method,
    server,
    target,
    arguments: callBinding(key, { method, server, target, args }),
  };
}

/**
 * The multi-round material of a request: what the transport lifted off it (`RequestScope.mrtr`),
 * else the wire fields still in its params.
 */
function materialOf(
  ctx: PipelineContext,
  scope: RequestScope | undefined,
): { inputResponses: Record<string, unknown>; requestState: unknown } {
  const lifted = scope?.mrtr;
  const params = ctx.request.params;
  const responses = lifted ? lifted.inputResponses : params?.inputResponses;
  const state = lifted ? lifted.requestState : params?.requestState;
  return {
    inputResponses: isRecord(responses) ? responses : {},
    requestState: state ?? null,
  };
}

/**
 * Opens the request's state (if any) and claims it: a state is answered once. A request without
 * a state is a first round. Refused: a state that is not Gatehouse's, fails its checks, or was
 * used before; or any state when the gateway has no key.
 */
export async function openRound(
  ctx: PipelineContext,
  scope: RequestScope | undefined,
  settings: RoundSettings,
): Promise<Round | RoundRefusal> {
  const { inputResponses, requestState } = materialOf(ctx, scope);
  const key = settings.key;
  const caller = stateCallerOf(ctx);
  // Answers without a state were asked by nobody Gatehouse knows of: they are the client's to
  // volunteer to the server (SEP-2322), never an answer to Gatehouse's own question.
  if (requestState === null) {
    const call = key
      ? stateCallOf(ctx, key)
      : { method: ctx.request.method, server: '', target: null, arguments: '' };
    return {
      stateId: null,
      payload: {},
      responses: volunteeredAnswers(inputResponses),
      caller,
      call,
    };
  }
  if (!key)
    return {
      problem: 'tampered',
      message:
        'Gatehouse cannot verify a requestState: it has no key (the audit keys could not be loaded); make the call again without it',
    };
  const call = stateCallOf(ctx, key);
  const opened = openRequestState(key, requestState, { caller, call });
  if (!opened.ok) return { problem: opened.problem, message: opened.message };
  let first: boolean;
  try {
    first = await settings.claims.claim(opened.id, opened.expiresAt);
  } catch (err) {
    return {
      problem: 'replayed',
      message: `Gatehouse could not record the requestState's use, so it is refused: ${String(err)}`,
    };
  }
  if (!first)
    return {
      problem: 'replayed',
      message: REQUEST_STATE_MESSAGES.replayed,
      ...(opened.payload.approval ? { approvalId: opened.payload.approval.id } : {}),
    };
  return { stateId: opened.id, payload: opened.payload, responses: inputResponses, caller, call };
}

/** The refusal of a state, as the client gets it: invalid params, `data.reason` the check. */
export function refuseState(ctx: PipelineContext, refusal: RoundRefusal): void {
  ctx.response = {
    error: gatehouseError('unknown_target', `Gatehouse refused this request: ${refusal.message}`, {
      reason: refusal.problem,
    }),
  };
}

/** A client's answers with no state behind them: Gatehouse's own keys dropped, the rest kept. */
function volunteeredAnswers(responses: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(responses).filter(([key]) => !key.startsWith(RESERVED_PREFIX)),
  );
}

/**
 * What goes upstream: never the client's `requestState` as received; when an upstream asked for
 * input in an earlier round, its own state and the client's answers to exactly the keys it asked
 * for, under its own key names (Gatehouse's own key never goes). Answers a client volunteers with
 * no upstream round behind them (SEP-2322 lets a client answer up front) go as sent, minus
 * Gatehouse's own keys: the server sees what it would see directly, and decides.
 */
export function setUpstreamParams(ctx: PipelineContext, round: Round): void {
  const params = ctx.forwardParams ?? ctx.request.params;
  if (!params) return;
  const { inputResponses: _r, requestState: _s, ...rest } = params;
  const upstream = round.payload.upstream;
  if (!upstream) {
    const volunteered = volunteeredAnswers(round.responses);
    if (
      Object.keys(volunteered).length === 0 &&
      !('inputResponses' in params) &&
      !('requestState' in params)
    )
      return;
    ctx.forwardParams = {
      ...rest,
      ...(Object.keys(volunteered).length > 0 ? { inputResponses: volunteered } : {}),
    };
    return;
  }
  const answers = upstreamAnswers(round);
  ctx.forwardParams = {
    ...rest,
    ...(Object.keys(answers).length > 0 ? { inputResponses: answers } : {}),
    ...(upstream.state !== null ? { requestState: upstream.state } : {}),
  };
}

/** The client's answers to the upstream's questions, under the upstream's own key names. */
export function upstreamAnswers(round: Round): Record<string, unknown> {
  const upstream = round.payload.upstream;
  if (!upstream) return {};
  const entries: [string, unknown][] = Object.entries(upstream.responses ?? {});
  for (const [clientKey, upstreamKey] of Object.entries(upstream.keys)) {
    if (Object.hasOwn(round.responses, clientKey))
      entries.push([upstreamKey, round.responses[clientKey]]);
  }
  return Object.fromEntries(entries);
}

/** Seals a payload for this round's caller and call, or says why it cannot be. */
export function sealFor(
  round: Round,
  settings: RoundSettings,
  payload: RequestStatePayload,
): { state: string; id: string } | { error: string } {
  if (!settings.key)
    return { error: 'Gatehouse has no key to seal a requestState (the audit keys did not load)' };
  try {
    const sealed = sealRequestState(settings.key, {
      caller: round.caller,
      call: round.call,
      payload,
      ttlMs: settings.ttlMs,
    });
    return { state: sealed.state, id: sealed.id };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * An upstream answered `input_required`: the client gets the upstream's input requests (keys
 * that would shadow Gatehouse's own are renamed) and, instead of the upstream's state, a sealed
 * one that carries it — so the client can neither forge the upstream's state nor move it to
 * another server, tool, arguments or caller. An approval granted for this call rides along, so
 * the next round does not ask again. Fails closed: a state that cannot be sealed is an error.
 */
export function wrapUpstreamInputRequired(
  ctx: PipelineContext,
  round: Round,
  settings: RoundSettings,
  grant: RequestStatePayload['approval'] | null,
): void {
  const response = ctx.response;
  if (!response || !('result' in response)) return;
  const result = response.result;
  if (result.resultType !== 'input_required') return;
  const requests = isRecord(result.inputRequests) ? result.inputRequests : {};
  const taken = new Set<string>([APPROVAL_INPUT_KEY]);
  const keys: [string, string][] = [];
  const renamed: [string, unknown][] = [];
  for (const [upstreamKey, request] of Object.entries(requests)) {
    let clientKey = upstreamKey;
    while (clientKey.startsWith(RESERVED_PREFIX) || taken.has(clientKey))
      clientKey = `upstream.${clientKey}`;
    taken.add(clientKey);
    keys.push([clientKey, upstreamKey]);
    renamed.push([clientKey, request]);
  }
  const sealed = sealFor(round, settings, {
    upstream: {
      state: typeof result.requestState === 'string' ? result.requestState : null,
      keys: Object.fromEntries(keys),
    },
    ...(grant ? { approval: { ...grant, granted: true } } : {}),
  });
  if ('error' in sealed) {
    ctx.response = {
      error: gatehouseError(
        'internal_error',
        `Gatehouse cannot pass on the server's request for input: ${sealed.error}`,
      ),
    };
    return;
  }
  ctx.response = {
    result: sealedResult({
      ...result,
      inputRequests: Object.fromEntries(renamed),
      requestState: sealed.state,
    }),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
