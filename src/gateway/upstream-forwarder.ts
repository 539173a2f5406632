import { CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY } from '@modelcontextprotocol/client';
import type { ConnectionInfo, GatewayResponse, PipelineContext } from '../pipeline/context.js';
import type { Forwarder } from '../pipeline/stages/index.js';
import type { Upstream } from './upstream/connect.js';
import { isUpstreamTimeout, passThroughSchema, toWireError } from './wire.js';
import { gatehouseError } from '../pipeline/error-table.js';
import { httpStatus } from './upstream/connect.js';
import type { OutgoingShaper } from './downstream/session.js';
import { ResourceSubscriptionError } from './upstream/resource-subscriptions.js';
import {
  INPUT_REQUEST_CAPABILITY,
  isInputRequired,
  MAX_INPUT_ROUNDS,
  readInputRequired,
  retryParams,
} from './input-requests.js';

/** What the downstream connection offers one in-flight request: its cancellation and a way to notify. */
export interface RequestScope {
  signal: AbortSignal;
  notify(notification: { method: string; params?: Record<string, unknown> }): Promise<void>;
  /** Asks the client (an MCP elicitation tied to this request); null when the client cannot. */
  elicit:
    ((params: Record<string, unknown>) => Promise<{ action: string; content?: unknown }>) | null;
  /**
   * A modern (2026-07-28) client's multi-round-trip material for this request: what it answered
   * (`inputResponses`) and the opaque `requestState` it echoed, both as received (untrusted).
   * Null or absent for a legacy client, which is asked in-band instead (`elicit`, `ask`).
   */
  mrtr?: {
    inputResponses: Record<string, unknown> | null;
    requestState: string | null;
  } | null;
  /**
   * Sends any server→client request (elicitation, sampling, roots) to a legacy client, tied to
   * this request; null when the client is modern (it gets `input_required` results instead).
   */
  ask?:
    | ((request: {
        method: string;
        params?: Record<string, unknown>;
      }) => Promise<Record<string, unknown>>)
    | null;
}

/** Other requests than tools/call (resources, prompts, …): long, and reset by progress. */
const DEFAULT_REQUEST_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * The `forward` stage's adapter for one upstream: relays the request untouched (no schema
 * stripping), passes cancellation through, re-emits progress under the client's own token,
 * and delivers that progress BEFORE the result (a client drops progress for a finished request).
 */
export function upstreamForwarder(
  currentUpstream: () => Upstream | null,
  scopes: ReadonlyMap<string | number, RequestScope>,
  toolTimeoutMs: number,
  serverName: string,
  /** An HTTP upstream answered 404 for our session: start a new one (MCP: re-initialise). */
  reinitialize?: (reason: string) => Promise<Upstream | null>,
  /**
   * Taken before the request is sent; run after a re-initialisation, before it is sent again:
   * why it may not be (the new session's tools could not be checked, or the tool changed), or null.
   */
  reconnectCheck?: (ctx: PipelineContext) => () => Promise<string | null>,
  /** How a modern upstream's input requests reach a legacy client (see relayInputRequired). */
  input: InputRelayOptions = {},
): Forwarder {
  return {
    async forward(ctx: PipelineContext): Promise<GatewayResponse> {
      const { method, params, id } = ctx.request;
      const upstream = currentUpstream();
      if (method === 'logging/setLevel' && upstream && !upstream.capabilities.logging) {
        return { result: {} }; // the server has no logs of its own; Gatehouse's are always sent
      }
      if (upstream?.era === 'modern') {
        // 2026-07-28 removed logging/setLevel (the level rides each request's _meta).
        if (method === 'logging/setLevel') return { result: {} };
        // …and resources/(un)subscribe: a legacy client's subscription becomes a
        // subscriptions/listen stream for that URI, held for the session (never faked).
        if (method === 'resources/subscribe' || method === 'resources/unsubscribe')
          return bridgeSubscription(upstream, method, params?.uri, serverName);
      }
      if (!upstream) {
        // Not a timeout: nothing was sent, and the audit says the server was unavailable.
        return {
          error: gatehouseError(
            'server_unavailable',
            `server '${serverName}' stopped and is being restarted; try again shortly`,
          ),
        };
      }
      const scope = scopes.get(id);
      const progressToken = (params?._meta as { progressToken?: string | number } | undefined)
        ?.progressToken;
      const progressSent: Promise<unknown>[] = [];
      const onprogress =
        progressToken !== undefined && scope
          ? (p: Record<string, unknown>) => {
              const notification = {
                method: 'notifications/progress',
                params: { ...p, progressToken },
              };
              progressSent.push(scope.notify(notification).catch(() => undefined));
            }
          : undefined;
      const sendOnce = (target: Upstream, sent: Record<string, unknown> | undefined) =>
        target.client.request(
          {
            method,
            params: target.era === 'modern' ? withCallerEnvelope(sent, ctx.connection) : sent,
          } as never,
          passThroughSchema,
          {
            ...(scope ? { signal: scope.signal } : {}),
            timeout: method === 'tools/call' ? toolTimeoutMs : DEFAULT_REQUEST_TIMEOUT_MS,
            ...(onprogress ? { onprogress, resetTimeoutOnProgress: method !== 'tools/call' } : {}),
            // A modern server's input_required comes back to us, never auto-fulfilled by the SDK.
            ...(target.era === 'modern' ? { allowInputRequired: true } : {}),
          },
        );
      const send = async (target: Upstream): Promise<unknown> => {
        // A legacy client cannot have been asked anything: answers and state it sends itself
        // would let it skip the questions a modern server asks (and their masking).
        const legacyClient = target.era === 'modern' && !scope?.mrtr;
        const first = await sendOnce(
          target,
          legacyClient ? retryParams(params, {}, undefined) : params,
        );
        // A modern client gets the input_required result itself (the mrtr stage wraps its state).
        if (!isInputRequired(first) || scope?.mrtr) return first;
        return relayInputRequired(first as Record<string, unknown>, {
          serverName,
          scope: scope ?? null,
          options: input,
          retry: (sent) => sendOnce(target, retryParams(params, sent.responses, sent.state)),
        });
      };
      const afterReconnect = reconnectCheck?.(ctx);
      try {
        let result: unknown;
        try {
          result = await send(upstream);
        } catch (err) {
          const fresh =
            httpStatus(err) === 404 && reinitialize
              ? await reinitialize('the server answered 404 for our session')
              : null;
          if (!fresh) throw err;
          const refusal = (await afterReconnect?.()) ?? null;
          if (refusal) return { error: gatehouseError('server_unavailable', refusal) };
          result = await send(fresh);
        }
        await Promise.all(progressSent);
        return { result: result as Record<string, unknown> };
      } catch (err) {
        await Promise.all(progressSent);
        if (err instanceof InputRelayError) return { error: gatehouseError(err.kind, err.message) };
        const wire = toWireError(err);
        if (isUpstreamTimeout(err) && method === 'tools/call') {
          const tool = typeof params?.name === 'string' ? ` '${params.name}'` : '';
          return {
            error: gatehouseError(
              'request_timeout',
              `server '${serverName}' did not answer tools/call${tool} within ${toolTimeoutMs / 1000}s (tool_timeout_sec); the call was cancelled`,
            ),
          };
        }
        return { error: wire };
      }
    },
  };
}

/**
 * A modern client's request to a modern upstream, carrying THAT request's envelope claims: the
 * capabilities and clientInfo it declared. The upstream connection was opened with the caller's
 * first request's (one pooled connection serves all their requests), and the SDK client stamps
 * those on every request unless `_meta` names the keys itself (user keys win), so without this
 * an upstream would judge each request by what the FIRST one declared: refuse a later request
 * that declares sampling (-32021), or ask a client that stopped declaring elicitation. A legacy
 * client has no per-request claims (the connection's `initialize` ones stand), and a legacy
 * upstream has no per-request envelope at all: it keeps what it was initialised with.
 */
export function withCallerEnvelope(
  params: Record<string, unknown> | undefined,
  connection: ConnectionInfo,
): Record<string, unknown> | undefined {
  if (connection.era !== 'modern' || !connection.clientCapabilities) return params;
  const own = params?._meta;
  return {
    ...params,
    _meta: {
      ...(own && typeof own === 'object' ? own : {}),
      [CLIENT_CAPABILITIES_META_KEY]: connection.clientCapabilities,
      ...(connection.clientInfo ? { [CLIENT_INFO_META_KEY]: connection.clientInfo } : {}),
    },
  };
}

export interface InputRelayOptions {
  /** Masks what the server asks on its way to the client (the Relay's shaper for server→client requests). */
  shape?: OutgoingShaper;
  /** The downstream client's declared capabilities: an input it cannot answer fails the call. */
  clientCapabilities?: () => Record<string, unknown> | null;
}

/** Why a modern upstream's input_required could not be relayed to a legacy client. */
export class InputRelayError extends Error {
  constructor(
    readonly kind: 'input_unavailable',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A modern upstream answered `input_required` and the client is legacy: ask the client each
 * question in-band (`scope.ask`, tied to this request), masked exactly like a legacy server's
 * elicitation, and call the server again with the answers and its `requestState` byte for
 * byte, until it answers for good or MAX_INPUT_ROUNDS rounds pass.
 */
async function relayInputRequired(
  first: Record<string, unknown>,
  flow: {
    serverName: string;
    scope: RequestScope | null;
    options: InputRelayOptions;
    retry(sent: {
      responses: Record<string, unknown>;
      state: string | undefined;
    }): Promise<unknown>;
  },
): Promise<unknown> {
  const { serverName, scope, options } = flow;
  const ask = scope?.ask;
  let current: Record<string, unknown> = first;
  for (let round = 1; round <= MAX_INPUT_ROUNDS; round++) {
    const read = readInputRequired(current, options.clientCapabilities?.() ?? null);
    if ('refusal' in read)
      throw new InputRelayError(
        'input_unavailable',
        `server '${serverName}' needs input this client cannot give: ${read.refusal}`,
      );
    const keys = Object.keys(read.inputRequests);
    if (keys.length > 0 && !ask)
      throw new InputRelayError(
        'input_unavailable',
        `server '${serverName}' needs input from the client (${keys.map((k) => read.inputRequests[k]?.method).join(', ')}), but this client cannot be asked`,
      );
    const responses: Record<string, unknown> = {};
    for (const key of keys) {
      const request = read.inputRequests[key]!;
      const shaped = options.shape
        ? options.shape(serverName, { method: request.method, params: request.params })
        : request;
      try {
        responses[key] = await ask!({
          method: shaped.method,
          ...(shaped.params ? { params: shaped.params as Record<string, unknown> } : {}),
        });
      } catch (err) {
        const capability = INPUT_REQUEST_CAPABILITY[request.method];
        throw new InputRelayError(
          'input_unavailable',
          `server '${serverName}' asked the client for input '${key}' (${request.method}) and the client did not answer: ${err instanceof Error ? err.message : String(err)}${capability ? ` (does it declare '${capability}'?)` : ''}`,
        );
      }
    }
    const next = await flow.retry({ responses, state: read.requestState });
    if (!isInputRequired(next)) return next;
    current = next as Record<string, unknown>;
  }
  throw new InputRelayError(
    'input_unavailable',
    `server '${serverName}' still needed input after ${MAX_INPUT_ROUNDS} rounds; the call was stopped`,
  );
}

/** A legacy `resources/subscribe` / `unsubscribe` toward a modern server (resource-subscriptions.ts). */
async function bridgeSubscription(
  upstream: Upstream,
  method: 'resources/subscribe' | 'resources/unsubscribe',
  uri: unknown,
  serverName: string,
): Promise<GatewayResponse> {
  if (typeof uri !== 'string')
    return { error: gatehouseError('unknown_target', `${method} needs params.uri (a string)`) };
  const subscriptions = upstream.resourceSubscriptions;
  if (!subscriptions)
    return {
      error: gatehouseError(
        'method_not_found',
        `server '${serverName}' speaks MCP 2026-07-28, which has no ${method}; read the resource again instead`,
      ),
    };
  try {
    if (method === 'resources/subscribe') await subscriptions.subscribe(uri);
    else await subscriptions.unsubscribe(uri);
    return { result: {} };
  } catch (err) {
    if (err instanceof ResourceSubscriptionError)
      return { error: gatehouseError(err.kind, err.message) };
    return { error: toWireError(err) };
  }
}
