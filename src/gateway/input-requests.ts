/**
 * PURE: what a modern (2026-07-28) upstream's `input_required` result asks for, checked before a
 * legacy client is asked anything. A modern server cannot send server→client requests; it
 * returns `{resultType: "input_required", inputRequests, requestState}` and expects the call
 * again with `inputResponses` and the `requestState` echoed byte for byte. A legacy client
 * downstream can only answer such questions as in-band requests (elicitation/create,
 * sampling/createMessage, roots/list), so that is all Gatehouse relays.
 */

/** The embedded requests a 2026-07-28 server may send, and the client capability each needs. */
export const INPUT_REQUEST_CAPABILITY: Readonly<Record<string, string>> = {
  'elicitation/create': 'elicitation',
  'sampling/createMessage': 'sampling',
  'roots/list': 'roots',
};

/** Rounds of input Gatehouse relays for one call before it gives up (the SDK's default is 10). */
export const MAX_INPUT_ROUNDS = 8;

export interface InputRequiredResult {
  inputRequests: Record<string, { method: string; params?: Record<string, unknown> }>;
  /** Opaque, echoed byte for byte; absent when the server sent none. */
  requestState: string | undefined;
}

/** Whether a result is an `input_required` one (anything else is relayed as it is). */
export function isInputRequired(result: unknown): boolean {
  return (
    typeof result === 'object' &&
    result !== null &&
    (result as { resultType?: unknown }).resultType === 'input_required'
  );
}

/**
 * Reads an `input_required` result, or says why it cannot be relayed: an entry that is not an
 * embedded request, a method outside the three, a method the client declared no capability for,
 * a `requestState` that is not a string. Never partially: one bad entry fails the call (the
 * server would otherwise get answers to some questions only).
 */
export function readInputRequired(
  result: Record<string, unknown>,
  clientCapabilities: Record<string, unknown> | null,
): InputRequiredResult | { refusal: string } {
  const state = result.requestState;
  if (state !== undefined && typeof state !== 'string')
    return { refusal: 'its requestState is not a string' };
  const raw = result.inputRequests ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { refusal: 'its inputRequests is not an object' };
  const requests: InputRequiredResult['inputRequests'] = {};
  for (const [key, entry] of Object.entries(raw as Record<string, unknown>)) {
    const method = (entry as { method?: unknown } | null)?.method;
    const params = (entry as { params?: unknown }).params;
    if (typeof method !== 'string')
      return { refusal: `input request '${key}' is not an embedded request with a method` };
    const capability = INPUT_REQUEST_CAPABILITY[method];
    if (!capability)
      return {
        refusal: `input request '${key}' is '${method}', which is none of elicitation/create, sampling/createMessage, roots/list`,
      };
    if (clientCapabilities && !clientCapabilities[capability])
      return {
        refusal: `input request '${key}' is '${method}', and the client did not declare the '${capability}' capability`,
      };
    if (params !== undefined && (typeof params !== 'object' || params === null))
      return { refusal: `input request '${key}' has params that are not an object` };
    requests[key] = {
      method,
      ...(params ? { params: params as Record<string, unknown> } : {}),
    };
  }
  if (Object.keys(requests).length === 0 && state === undefined)
    return { refusal: 'it has neither inputRequests nor requestState' };
  return { inputRequests: requests, requestState: state };
}

/** The call again: the original params plus the answers and the server's state, untouched. */
export function retryParams(
  original: Record<string, unknown> | undefined,
  responses: Record<string, unknown>,
  requestState: string | undefined,
): Record<string, unknown> {
  // What the legacy client itself put there is not the server's state: never relayed.
  const { inputResponses: _answers, requestState: _state, ...rest } = original ?? {};
  return {
    ...rest,
    ...(Object.keys(responses).length > 0 ? { inputResponses: responses } : {}),
    ...(requestState !== undefined ? { requestState } : {}),
  };
}
