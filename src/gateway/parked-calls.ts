/**
 * Parked calls: a LEGACY upstream asks the client something (elicitation, sampling, roots) while
 * it works on a call from a MODERN (2026-07-28) client, which cannot receive server→client
 * requests. The upstream's call and its open question are held here; the forwarder answers the
 * client `input_required` with the question, naming the parked call in a `requestState` that the
 * approval stage seals (bound to the caller and the exact call, single use); the retry resumes the
 * parked call with the client's answer and waits for the upstream's result or its next question.
 *
 * Bounded: per caller and in all, and in time (an unanswered question is refused to the upstream
 * when it expires). A parked call lives in this process only: a retry that reaches another
 * replica is refused (the state names no call there).
 */
import { randomBytes } from 'node:crypto';
import type { GatewayResponse, PipelineContext } from '../pipeline/context.js';
import type { Forwarder } from '../pipeline/stages/forward.js';
import { gatehouseError } from '../pipeline/error-table.js';
import type { RequestScope } from './upstream-forwarder.js';
import { isModernRound, stateCallerOf } from '../pipeline/stages/input-required.js';

/** The `requestState` the forwarder hands the approval stage to seal: never seen by a client. */
const PARKED_PREFIX = 'gatehouse-parked:';
/** The key of a parked question among the client's input requests. */
export const PARKED_INPUT_KEY = 'upstream.request';

export interface ParkingLimits {
  perCaller: number;
  total: number;
  ttlMs: number;
}

export const DEFAULT_PARKING_LIMITS: ParkingLimits = {
  perCaller: 4,
  total: 256,
  ttlMs: 5 * 60_000,
};

type Next = { kind: 'done'; response: GatewayResponse } | { kind: 'question'; id: string };

interface Flight {
  server: string;
  caller: string;
  response: Promise<GatewayResponse>;
  /** The question the upstream asked and is waiting on, once it asked. */
  waiting: {
    question: Record<string, unknown>;
    answer(result: Record<string, unknown>): void;
    fail(why: string): void;
  } | null;
  /** Wakes whoever waits for the next event of this flight. */
  wake: (() => void) | null;
  timer: NodeJS.Timeout | null;
  /** Ties the upstream call to the round now open (its cancellation, its progress). */
  tether: Tether | null;
}

/** The upstream call's link to the client's round that is open now, if any. */
export interface Tether {
  use(scope: RequestScope | undefined): void;
  release(): void;
}

export class ParkedCalls {
  /** Modern calls in flight to an upstream (not parked): where a question can belong. */
  private readonly flying = new Set<Flight>();
  /** Parked calls by id: the upstream waits for the client's answer. */
  private readonly parked = new Map<string, Flight>();

  constructor(private readonly limits: ParkingLimits = DEFAULT_PARKING_LIMITS) {}

  /**
   * The Relay's side: an upstream's server→client request. Held for the one modern call in flight
   * to that server; null when there is none, or several (it cannot be told which call asked): the
   * Relay then answers it as before.
   */
  hold(
    server: string,
    question: { method: string; params?: unknown },
  ): Promise<Record<string, unknown>> | null {
    const candidates = [...this.flying].filter((f) => f.server === server && !f.waiting);
    if (candidates.length !== 1) return null;
    const flight = candidates[0] as Flight;
    return new Promise((resolve, reject) => {
      flight.waiting = {
        question: { method: question.method, params: question.params ?? {} },
        answer: resolve,
        fail: (why) => reject(new Error(why)),
      };
      flight.wake?.();
    });
  }

  /** The forwarder's side, first round: send, and wait for the result or a question. */
  start(
    server: string,
    caller: string,
    response: Promise<GatewayResponse>,
    tether: Tether | null = null,
  ): Promise<GatewayResponse> {
    const flight: Flight = {
      server,
      caller,
      response,
      waiting: null,
      wake: null,
      timer: null,
      tether,
    };
    return this.follow(flight);
  }

  /** The forwarder's side, a retry: the parked call gets the client's answer and goes on. */
  resume(
    id: string,
    caller: string,
    answer: unknown,
    round?: RequestScope,
  ): Promise<GatewayResponse> {
    const flight = this.parked.get(id);
    if (!flight || flight.caller !== caller || !flight.waiting) {
      return Promise.resolve({
        error: gatehouseError(
          'unknown_target',
          'Gatehouse refused this request: the upstream call this requestState names is no longer held here (it expired, was answered, or is held by another replica); make the call again without it',
          { reason: 'expired' },
        ),
      });
    }
    this.parked.delete(id);
    if (flight.timer) clearTimeout(flight.timer);
    const waiting = flight.waiting;
    flight.waiting = null;
    flight.tether?.use(round);
    if (isRecord(answer)) waiting.answer(answer);
    else waiting.fail('the client gave no answer');
    return this.follow(flight);
  }

  private async follow(flight: Flight): Promise<GatewayResponse> {
    this.flying.add(flight);
    try {
      const next = await this.next(flight);
      if (next.kind === 'done') return next.response;
      const question = flight.waiting?.question ?? {};
      return {
        result: {
          resultType: 'input_required',
          inputRequests: { [PARKED_INPUT_KEY]: question },
          requestState: `${PARKED_PREFIX}${next.id}`,
        },
      };
    } finally {
      this.flying.delete(flight);
      // The round is answered: whatever happens to its request now is not the call's business.
      flight.tether?.release();
    }
  }

  private next(flight: Flight): Promise<Next> {
    return new Promise<Next>((resolve) => {
      const asked = () => {
        flight.wake = null;
        const refused = this.room(flight.caller);
        if (refused) {
          flight.waiting?.fail(refused);
          flight.waiting = null;
          flight.wake = asked; // the upstream decides; its result (or error) still comes
          return;
        }
        const id = randomBytes(16).toString('base64url');
        this.parked.set(id, flight);
        flight.timer = setTimeout(() => {
          if (this.parked.get(id) !== flight) return;
          this.parked.delete(id);
          flight.waiting?.fail('the client did not answer in time');
          flight.waiting = null;
        }, this.limits.ttlMs);
        flight.timer.unref?.();
        resolve({ kind: 'question', id });
      };
      flight.wake = asked;
      void flight.response.then((response) => {
        if (flight.wake !== asked) return;
        flight.wake = null;
        resolve({ kind: 'done', response });
      });
    });
  }

  /** Null when one more call may be parked for this caller; else why not. */
  private room(caller: string): string | null {
    if (this.parked.size >= this.limits.total) return 'too many calls wait for their clients';
    let mine = 0;
    for (const f of this.parked.values()) if (f.caller === caller) mine++;
    return mine >= this.limits.perCaller
      ? `this caller already has ${mine} calls waiting for its answers`
      : null;
  }
}

/** The parked call a forwarded request resumes, when its (unwrapped) state names one. */
function parkedIdOf(params: Record<string, unknown> | undefined): string | null {
  const state = params?.requestState;
  return typeof state === 'string' && state.startsWith(PARKED_PREFIX)
    ? state.slice(PARKED_PREFIX.length)
    : null;
}

/**
 * A legacy upstream's forwarder for modern clients: sends as before, but a question the upstream
 * asks meanwhile (held by the Relay through `parked.hold`) answers the client `input_required`
 * (its state, `gatehouse-parked:ID`, is sealed by the approval stage like any upstream state and
 * comes back unwrapped); the retry resumes the held call instead of sending it again.
 */
export function parkingForwarder(
  inner: Forwarder,
  parked: ParkedCalls,
  /** The session's request scopes: the held call gets one of its own, tied to the open round. */
  scopes: ReadonlyMap<string | number, RequestScope>,
  /** Whether the request's server speaks the legacy era (only those send server→client requests). */
  isLegacyUpstream: (ctx: PipelineContext) => boolean,
): Forwarder {
  return {
    forward(ctx: PipelineContext): Promise<GatewayResponse> {
      if (!isModernRound(ctx) || !isLegacyUpstream(ctx)) return inner.forward(ctx);
      const caller = JSON.stringify(stateCallerOf(ctx));
      const server = ctx.target?.server ?? '';
      const params = ctx.request.params;
      const id = parkedIdOf(params);
      const round = scopes.get(ctx.request.id);
      if (id !== null) {
        const answers = params?.inputResponses as Record<string, unknown> | undefined;
        return parked.resume(id, caller, answers?.[PARKED_INPUT_KEY], round);
      }
      // The call outlives this round (a transport may abort a request once it is answered), so
      // it goes under an id and scope of its own, tied to whichever round is open: a client that
      // hangs up on an open round cancels it; an answered round no longer can.
      const own = `parked.${randomBytes(8).toString('hex')}`;
      const tether = tetherTo(round);
      const registry = scopes as Map<string | number, RequestScope>;
      registry.set(own, tether.scope);
      tether.use(round);
      const response = inner
        .forward({ ...ctx, request: { ...ctx.request, id: own } })
        .finally(() => registry.delete(own));
      return parked.start(server, caller, response, tether);
    },
  };
}

/** A scope of the held call's own whose cancellation and progress follow the open round. */
function tetherTo(first: RequestScope | undefined): Tether & { scope: RequestScope } {
  const controller = new AbortController();
  let round: RequestScope | undefined;
  let unlink: () => void = () => undefined;
  return {
    scope: {
      signal: controller.signal,
      notify: (n) => round?.notify(n) ?? Promise.resolve(),
      elicit: null,
      ask: null,
      mrtr: first?.mrtr ?? null,
    },
    use(scope) {
      unlink();
      unlink = () => undefined;
      round = scope;
      if (!scope) return;
      if (scope.signal.aborted) {
        controller.abort(scope.signal.reason);
        return;
      }
      const abort = () => controller.abort(scope.signal.reason);
      scope.signal.addEventListener('abort', abort, { once: true });
      unlink = () => scope.signal.removeEventListener('abort', abort);
    },
    release() {
      unlink();
      unlink = () => undefined;
      round = undefined;
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
