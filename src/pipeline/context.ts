/**
 * What every stage of the interception pipeline sees. Expected outcomes (a deny, a hidden tool,
 * an approval that is needed) are written to `response` / `decision`; only unexpected failures
 * throw. Nothing here is transport-shaped: stdio and HTTP requests look the same to a stage.
 */

import type { HiddenTool } from './tool-filter.js';
import type { Identity } from '../identity/identity.js';

/** A JSON-RPC request from the client, as received (params untouched, unknown fields kept). */
export interface GatewayRequest {
  id: string | number;
  method: string;
  params: Record<string, unknown> | undefined;
}

/** A JSON-RPC error on the wire. `data` is forwarded untouched. */
export interface WireError {
  code: number;
  message: string;
  data?: unknown;
}

export type GatewayResponse = { result: Record<string, unknown> } | { error: WireError };

/** Who is calling: filled by identify-caller. */
export interface Caller {
  /** OS user running the client (stdio) or null. */
  osUser: string | null;
  /** Subject of a verified bearer token (HTTP), or null. */
  tokenSubject: string | null;
  /** Who the verified token identifies (HTTP with [gatehouse_identity] or the shared token). */
  identity?: Identity | null;
  client: { name: string; version: string } | null;
  /** From `_meta` (e.g. Codex's `x-codex-turn-metadata`) or HTTP headers. */
  threadId: string | null;
  parentThreadId: string | null;
}

/** What the request is about: filled by resolve-target. */
export interface Target {
  /** The configured server's name. */
  server: string;
  /** The tool's raw name on that server (tools/call), or null. */
  tool: string | null;
  /** The prompt's raw name on that server (prompts/get, completions of a prompt), when renamed. */
  prompt?: string;
}

/** The policy decision for the request (tools/call: from the policy stage; otherwise allow). */
export type PolicyDecision =
  | { kind: 'allow'; rule: string }
  | { kind: 'deny'; rule: string; reason: string }
  | { kind: 'needs_approval'; rule: string; approver: 'user' | 'two_person' };

/** How the policy classified a tool call (for the audit trail and approvals). */
export interface PolicyFacts {
  effect: string;
  category: string | null;
  level: string;
  policyRevision: string;
}

/** Evidence of the approval a call went through with. */
export interface ApprovalEvidence {
  id: string;
  /** `input_required`: a modern (2026-07-28) client answered Gatehouse's embedded elicitation. */
  channel: 'elicitation' | 'input_required' | 'session_grant' | 'queue';
  approver: string | null;
  decided_at: string;
  binding_sha256: string;
  scope: 'call' | 'session';
  /** The approver key that signed the grant (out-of-band grants with keys listed). */
  key_fingerprint?: string;
}

/** Facts about the downstream connection, provided by the transport adapter. */
export interface ConnectionInfo {
  transport: 'stdio' | 'http';
  /** Lower-cased HTTP request headers (HTTP only). */
  headers: Record<string, string>;
  /** The verified bearer token's principal (HTTP only): `user:SUB`, `service:SUB` or `token:HASH`. */
  authSubject: string | null;
  /** The verified token's identity (HTTP only), when the endpoint authenticates callers. */
  identity?: Identity | null;
  /** The client's `initialize` clientInfo, once known. */
  clientInfo: { name: string; version: string } | null;
  /** HTTP: the session's `Mcp-Session-Id`, once assigned (telemetry exports only a hash of it). */
  sessionId?: string;
  /**
   * The protocol era the client speaks: `legacy` (2025-11-25 family: initialize, sessions,
   * server→client requests) or `modern` (2026-07-28: per-request `_meta` envelope, no session,
   * input requests as `input_required` results). Absent means legacy.
   */
  era?: 'legacy' | 'modern';
  /**
   * Modern only: the capabilities THIS request's `_meta` envelope declares (2026-07-28 sends
   * them with every request, and one client may declare different ones per request). What
   * Gatehouse may ask the client, and what an upstream is told it may ask, follow them. Absent
   * for a legacy client (its capabilities are fixed at `initialize`).
   */
  clientCapabilities?: Record<string, unknown>;
}

export interface PipelineContext {
  readonly request: GatewayRequest;
  readonly connection: ConnectionInfo;
  caller: Caller | null;
  target: Target | null;
  decision: PolicyDecision;
  policy: PolicyFacts | null;
  approval: ApprovalEvidence | null;
  /** Set by forward, or earlier by a stage that answers itself (a deny). */
  response: GatewayResponse | null;
  /** The stage that set `response` before forward, if one did. */
  answeredBy: string | null;
  /** Tools a tools/list left out, and why (filled by the policy stage's visibleTools, read by the audit). */
  hiddenTools: HiddenTool[];
  /** A tools/list's shown names → the server and its own name (routed once, by visibleTools). */
  listedRoutes: Map<string, { server: string; tool: string }>;
  /** Milliseconds spent waiting for the upstream, for the audit's latency split. */
  upstreamMs: number | null;
  /**
   * Who made the error forward returned: Gatehouse (a timeout, a stopped server) or the upstream
   * itself (whatever code it chose). Unset when forward returned a result or never ran.
   */
  errorOrigin?: 'gatehouse' | 'upstream';
  /**
   * The params sent upstream when they differ from the client's (masking put back reversible
   * tokens the server may receive); null: sent as received. Stages before forward see tokens only.
   */
  forwardParams: Record<string, unknown> | null;
  /** The response as the upstream sent it, when masking rewrote it (only the audit's keyed hash reads it). */
  unmaskedResponse: GatewayResponse | null;
  /** What the masking stage did, for the audit trail. */
  masking: MaskingOutcome | null;
  /** Why the approval stage refused the call when nobody denied it (for the call's outcome). */
  approvalOutcome?: 'approval_timed_out' | 'approval_expired' | 'approval_withdrawn';
  /** The call's id in the audit trail, once its intent is recorded. */
  auditCallId: string | null;
  /** `_meta` entries added to what is sent upstream (W3C trace context, when telemetry is on). */
  outgoingMeta?: Record<string, string>;
  readonly startedAt: number;
}

/** What masking did to one response. */
export interface MaskingOutcome {
  /** Redactions per kind. */
  counts: Record<string, number>;
  /** Why this server/tool is not masked (an admin exemption), or null. */
  exempt: string | null;
  /** Why the content was withheld (masking failed: fail closed), or null. */
  withheld: string | null;
  /** Reversible tokens put back into the arguments, per kind. */
  detokenized: Record<string, number>;
  /** What the admin's result budget cut (limit, sizes, what), when it cut anything. */
  budget?: {
    limit_bytes: number;
    original_bytes: number;
    delivered_bytes: number;
    cut: string[];
  };
}

export function newContext(request: GatewayRequest, connection: ConnectionInfo): PipelineContext {
  return {
    request,
    connection,
    caller: null,
    target: null,
    decision: { kind: 'allow', rule: 'default' },
    policy: null,
    approval: null,
    response: null,
    answeredBy: null,
    hiddenTools: [],
    listedRoutes: new Map(),
    upstreamMs: null,
    forwardParams: null,
    unmaskedResponse: null,
    masking: null,
    auditCallId: null,
    startedAt: performance.now(),
  };
}
