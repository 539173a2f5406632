/**
 * The one table of errors Gatehouse itself answers with: each kind has exactly one JSON-RPC code,
 * the HTTP status it gets when it is answered at the transport level (a request the HTTP endpoint
 * refuses before any JSON-RPC handling), and the outcome the audit trail records for a call that
 * ends with it. No other module writes a JSON-RPC error code as a number (an ESLint rule enforces
 * this), so a code means one thing everywhere and docs/cli.md can list them all.
 */
import type { CallOutcome } from '../audit/event.js';

export interface ErrorKindInfo {
  readonly code: number;
  /** Status of a transport-level refusal (over HTTP, a JSON-RPC error in a body is 200). */
  readonly httpStatus: number;
  /**
   * What the audit trail records when a call ends with it after forward (an upstream can send
   * these codes too). A refusal by a stage before forward is always `denied` (or the approval's
   * own outcome).
   */
  readonly outcome: CallOutcome;
  /** One line for docs/cli.md: when a client sees it. */
  readonly meaning: string;
}

export const ERROR_TABLE = {
  /** JSON-RPC 2.0: the message is not JSON. */
  parse_error: {
    code: -32700,
    httpStatus: 400,
    outcome: 'protocol_error',
    meaning: 'the message is not valid JSON',
  },
  /** JSON-RPC 2.0: not a valid request object (or a batch where batching is not allowed). */
  invalid_request: {
    code: -32600,
    httpStatus: 400,
    outcome: 'protocol_error',
    meaning: 'the message is not a valid JSON-RPC request',
  },
  /** JSON-RPC 2.0: no server owns this method. */
  method_not_found: {
    code: -32601,
    httpStatus: 404,
    outcome: 'protocol_error',
    meaning: 'no server offers this method (or Gatehouse cannot route it to one server)',
  },
  /**
   * JSON-RPC 2.0: invalid params. MCP servers answer an unknown tool, prompt or resource with it
   * (the 2026-07-28 spec: resource not found is −32602 too), so a hidden tool looks the same.
   * A `requestState` that fails verification is invalid params too (as the SDK answers it), with
   * `data.reason` saying which check failed.
   */
  unknown_target: {
    code: -32602,
    httpStatus: 400,
    outcome: 'protocol_error',
    meaning:
      'unknown (or hidden) tool, prompt, resource or task; or a `requestState` Gatehouse refuses (`data.reason`: malformed, tampered, expired, other_caller, other_call, replayed)',
  },
  /** JSON-RPC 2.0: a failure inside Gatehouse, never the client's fault. */
  internal_error: {
    code: -32603,
    httpStatus: 500,
    outcome: 'protocol_error',
    meaning: 'a failure inside Gatehouse (the message says which)',
  },
  /** The SDK's convention for a transport-level refusal (wrong headers, session, media type). */
  http_refused: {
    code: -32000,
    httpStatus: 400,
    outcome: 'protocol_error',
    meaning: 'HTTP-level refusal: bad headers, unknown session, wrong media type',
  },
  /** The SDK's RequestTimeout: the upstream did not answer within its budget. */
  request_timeout: {
    code: -32001,
    httpStatus: 504,
    outcome: 'timeout',
    meaning: 'the server did not answer in time (tool_timeout_sec); the call was cancelled',
  },
  /** Gatehouse refused the call because it could not record it (or withheld its result). */
  audit_unavailable: {
    code: -32003,
    httpStatus: 503,
    outcome: 'protocol_error',
    meaning: 'the audit trail cannot be written; the call was refused (or its result withheld)',
  },
  /** The admin's tool policy refuses the call. */
  policy_denied: {
    code: -32004,
    httpStatus: 403,
    outcome: 'denied',
    meaning: "the admin's tool policy refuses the call (the message names the rule)",
  },
  /** The call needs a human's approval that it does not have (yet). */
  approval_required: {
    code: -32005,
    httpStatus: 403,
    outcome: 'denied',
    meaning: 'the call needs an approval: waiting, denied, expired, or no way to ask',
  },
  /** A response Gatehouse could not mask safely, or a call whose token substitution it could not record. */
  content_withheld: {
    code: -32006,
    httpStatus: 502,
    outcome: 'protocol_error',
    meaning: 'masking failed, so the content was withheld (nothing unmasked was passed on)',
  },
  /** The server cannot be used now: disabled, failed, restarting, or its tools not yet checked. */
  server_unavailable: {
    code: -32010,
    httpStatus: 503,
    outcome: 'unavailable',
    meaning: 'the server is disabled, failed, restarting, or its tools could not be checked',
  },
  /**
   * The server takes each caller's own upstream grant (credential model `user`) and this caller
   * has none yet: the message names how to log in. Its own code, so a client can tell "log in"
   * from "try again later".
   */
  login_required: {
    code: -32011,
    httpStatus: 401,
    outcome: 'denied',
    meaning:
      "the server needs the caller's own upstream login first; the message says how (`gatehouse login NAME`)",
  },
  /**
   * A 2026-07-28 server answered `input_required` and the (legacy) client cannot give that input:
   * a method it declared no capability for, no answer, or more than 8 rounds of questions.
   */
  input_unavailable: {
    code: -32016,
    httpStatus: 400,
    outcome: 'protocol_error',
    meaning:
      'a server needs input (elicitation, sampling, roots) the client cannot or did not give, or asked for more than 8 rounds',
  },
  /** The tool changed since it was locked (`gatehouse schema`), and the lock blocks it. */
  schema_blocked: {
    code: -32013,
    httpStatus: 409,
    outcome: 'denied',
    meaning: 'the tool changed since it was locked; `gatehouse schema approve` accepts it',
  },
  /**
   * A 2026-07-28 request whose standard headers are missing or disagree with its body: the
   * SDK's HeaderMismatch code (SEP-2243), answered before any upstream or pipeline work.
   */
  header_mismatch: {
    code: -32020,
    httpStatus: 400,
    outcome: 'protocol_error',
    meaning:
      'a 2026-07-28 request whose MCP-Protocol-Version, Mcp-Method or Mcp-Name header is missing or disagrees with its body',
  },
} as const satisfies Record<string, ErrorKindInfo>;

export type ErrorKind = keyof typeof ERROR_TABLE;

/** The JSON-RPC code of an error kind. */
export function codeOf(kind: ErrorKind): number {
  return ERROR_TABLE[kind].code;
}

/**
 * Every error object Gatehouse makes, by identity. An upstream can send any code (−32001 or
 * −32010 included), so a code alone cannot say who failed: a malicious server must not be able
 * to make its own error read as a Gatehouse timeout or an unavailable server in the audit trail.
 * Objects parsed off the wire are never in this set.
 */
const MADE_BY_GATEHOUSE = new WeakSet<object>();

/** A Gatehouse error, in the shape a pipeline response carries. */
export function gatehouseError(
  kind: ErrorKind,
  message: string,
  data?: unknown,
): { code: number; message: string; data?: unknown } {
  const error =
    data === undefined
      ? { code: ERROR_TABLE[kind].code, message }
      : { code: ERROR_TABLE[kind].code, message, data };
  MADE_BY_GATEHOUSE.add(error);
  return error;
}

/** Whether Gatehouse made this error (rather than relaying one an upstream sent). */
export function isGatehouseError(error: object): boolean {
  return MADE_BY_GATEHOUSE.has(error);
}

const BY_CODE = new Map<number, ErrorKind>(
  (Object.keys(ERROR_TABLE) as ErrorKind[]).map((k) => [ERROR_TABLE[k].code, k]),
);

/** The kind a code means, or null for a code Gatehouse never sends (an upstream's own). */
export function kindOfCode(code: number): ErrorKind | null {
  return BY_CODE.get(code) ?? null;
}

/**
 * The audit outcome of a call that ended with an error of this code, when Gatehouse made the
 * error. An upstream's own error is a protocol error whatever its code (see `errorOrigin`).
 */
export function outcomeOfCode(code: number): CallOutcome {
  const kind = kindOfCode(code);
  return kind ? ERROR_TABLE[kind].outcome : 'protocol_error';
}
