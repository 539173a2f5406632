/**
 * The audit trail's one event model. Every record's `event` is one of these, with `v` (the
 * model's version) and `gateway` (which Gatehouse process wrote it). Fields are snake_case:
 * they are read by SIEMs and auditors, not only by us. Secrets never appear unmasked: arguments
 * and results are stored masked, with a keyed hash (HMAC-SHA-256) of the raw value beside them so
 * an auditor can prove "the same value" without seeing it.
 */
export const AUDIT_EVENT_VERSION = 1;

export interface GatewayRef {
  /** Random per process: tells the writers of one shared store apart. */
  instance: string;
  pid: number;
  host: string;
}

export interface ActorRef {
  os_user: string | null;
  token_subject: string | null;
  client: { name: string; version: string } | null;
  /**
   * The protocol era the client spoke for this call: `legacy` (2025-11-25, initialize and a
   * session) or `modern` (2026-07-28, a per-request envelope). Added within v1: absent in
   * records written before it (read as legacy).
   */
  era?: 'legacy' | 'modern';
  /** Who the HTTP caller's token identifies (absent without an authenticated identity). */
  identity?: {
    issuer: string;
    subject: string;
    email: string | null;
    groups: string[];
    via: string;
  };
}

export interface ThreadRef {
  thread_id: string | null;
  parent_thread_id: string | null;
}

/** A server and the transport identity that requirements matched it by. */
export interface ServerRef {
  name: string;
  identity: { command: string; args: string[] } | { url: string } | null;
}

export interface SourceDigest {
  kind: string;
  file: string;
  /** sha256 of the file's bytes, or null when it was absent or unreadable. */
  sha256: string | null;
}

export interface Decision {
  kind: 'allow' | 'deny' | 'needs_approval';
  rule: string;
  reason?: string;
  effect?: string;
  category?: string | null;
  level?: string;
  policy_revision?: string;
}

export type CallOutcome =
  | 'ok'
  | 'is_error'
  | 'protocol_error'
  | 'timeout'
  /** The server could not be used (disabled, failed, restarting): nothing was sent to it. */
  | 'unavailable'
  | 'denied'
  /** Refused before forwarding while waiting for an approval: not a person's denial. */
  | 'approval_timed_out'
  | 'approval_expired'
  | 'approval_withdrawn'
  /**
   * Answered with an MCP 2026-07-28 `input_required` result (Gatehouse's approval question or an
   * upstream's input request): the call waits for the client's retry, which is its own record.
   */
  | 'input_required';

export type AuditedMethod = 'tools/call' | 'resources/read' | 'prompts/get' | 'tasks/result';

export interface CallRequest extends ThreadRef {
  call_id: string;
  method: AuditedMethod;
  jsonrpc_id: string | number;
  actor: ActorRef;
  server: ServerRef | null;
  /**
   * Tool name (tools/call), prompt name (prompts/get), resource URI (resources/read, masked) or
   * task id (tasks/result: the output of a task-augmented call).
   */
  target: string | null;
  arguments_masked: unknown;
  arguments_hmac: string | null;
  decision: Decision;
  /** Approval evidence, once approvals exist (issue 5). */
  approval: unknown;
  /**
   * Whose credential reached the upstream: the server's credential model and the principal
   * whose credential it is (`gatehouse` for a service credential, the caller for `user` and
   * `exchange`, null for `none`). Never the value. Absent in records before issue 18.
   */
  credential?: { model: string; principal: string | null };
}

export type AuditEventBody =
  | {
      type: 'gateway.start';
      mode: 'run' | 'serve';
      transport: 'stdio' | 'http';
      version: string;
      servers: string[];
      config: { sha256: string; sources: SourceDigest[] };
      requirements: { sha256: string; sources: SourceDigest[] };
      /** `shared_appender`: how this gateway appended when it started (see shared-appender.ts). */
      audit: {
        store: string;
        fail_open: boolean;
        shared_appender?: 'host' | 'client' | 'direct' | 'off';
      };
    }
  | { type: 'gateway.stop'; reason: string }
  | ({
      type: 'server.state';
      server: string;
      state: string;
      detail: string | null;
    } & ThreadRef)
  | ({
      type: 'tools.list';
      actor: ActorRef;
      exposed: string[];
      hidden: { server: string; tool: string; reason: string }[];
    } & ThreadRef)
  | ({ type: 'call.intent' } & CallRequest)
  | {
      type: 'call.result';
      call_id: string;
      /** Set when no intent was written (the call was refused before it could be forwarded). */
      request: CallRequest | null;
      server: string | null;
      target: string | null;
      thread_id: string | null;
      outcome: CallOutcome;
      /** `by`: who made the error — an upstream may send any code, Gatehouse's own included. */
      error: { code: number; message: string; by?: 'gatehouse' | 'upstream' } | null;
      result_hmac: string | null;
      result_bytes: number;
      /** The result as masked for the audit trail; null when larger than RESULT_MASKED_MAX_BYTES. */
      result_masked?: unknown;
      /** Redactions per kind in what the client got; exempt/withheld say why not, if not. */
      masking?: {
        redactions: Record<string, number>;
        exempt: string | null;
        withheld: string | null;
        /** What the admin's result budget cut, when it cut anything. */
        budget?: {
          limit_bytes: number;
          original_bytes: number;
          delivered_bytes: number;
          cut: string[];
        };
      } | null;
      latency_ms: { total: number; gateway: number; upstream: number | null };
    }
  | {
      type: 'audit.pruned';
      before: string;
      removed: number;
      anchor: { seq: number; hash: string };
      by: string | null;
    }
  | { type: 'audit.fail_open'; detail: string; calls_unrecorded: number }
  | {
      type:
        | 'approval.requested'
        | 'approval.granted'
        | 'approval.denied'
        | 'approval.used'
        | 'approval.expired'
        /** A stored grant that does not count (bad signature, unknown key, other call …). */
        | 'approval.rejected'
        /** The call stopped waiting before anyone decided (it may still be approved and retried). */
        | 'approval.timed_out'
        /** The client cancelled the call while it waited. */
        | 'approval.withdrawn'
        /** The call can never be approved as asked (e.g. its requester is unknown). */
        | 'approval.refused';
      approval_id: string;
      channel: 'elicitation' | 'input_required' | 'session_grant' | 'queue' | 'cli' | 'http';
      server: string;
      tool: string;
      requester: string | null;
      approver: string | null;
      /** Keyed hash of what the approval is bound to (requester, server identity, tool, arguments, policy). */
      binding_sha256: string;
      policy_revision: string;
      level: string;
      reason: string | null;
      /** The signed grant (statement, signature, key fingerprint) a grant or use rests on. */
      grant?: unknown;
    }
  | ({
      type: 'masking.detokenized';
      call_id: string | null;
      server: string;
      target: string | null;
      /** How many reversible tokens of each kind were replaced by their real values. */
      kinds: Record<string, number>;
    } & ThreadRef)
  | { type: 'release.evidence'; kind: string; subject: string; data: unknown }
  | {
      /** A person's upstream login through the team gateway (`/login/SERVER`, `/oauth/callback`). */
      type: 'credential.login';
      server: string | null;
      /** Whose grant it is or would become (never a token). */
      principal: string | null;
      outcome:
        | 'started'
        | 'awaiting_confirmation'
        | 'stored'
        | 'cancelled'
        | 'failed'
        | 'unknown_state'
        | 'unknown_confirmation';
      /** Why a login failed (masked). */
      detail: string | null;
    }
  | ({
      /** A client notification the gateway did not forward (not one a client may send a server). */
      type: 'notification.dropped';
      /** The configured server name (`gatehouse run`), or `*` (`gatehouse serve`). */
      server: string;
      method: string;
      reason: string;
    } & ThreadRef)
  | {
      /** A live tool differs from the schema lock (or is not in it), and what the gateway did. */
      type: 'schema.drift';
      server: string;
      kind: 'tool';
      name: string;
      action: 'block' | 'approve' | 'warn' | 'allow';
      reason: string;
      lock: string;
      locked_sha256: string | null;
      live_sha256: string;
      changes: { class: string; summary: string; path: string }[];
      approve_command: string | null;
    };

export type AuditEventType = AuditEventBody['type'];

export type AuditEvent = AuditEventBody & { v: number; gateway: GatewayRef };

/** The columns a store indexes for `audit query`; hashed with the record, so editing one is detected. */
export interface IndexColumns {
  type: string;
  server: string | null;
  target: string | null;
  decision: string | null;
  outcome: string | null;
  thread_id: string | null;
  actor: string | null;
  call_id: string | null;
}

export const COLUMN_NAMES = [
  'type',
  'server',
  'target',
  'decision',
  'outcome',
  'thread_id',
  'actor',
  'call_id',
] as const satisfies readonly (keyof IndexColumns)[];

function actorName(actor: ActorRef | undefined): string | null {
  return actor?.token_subject ?? actor?.os_user ?? null;
}

/** What `audit query` can filter on, derived from the event (pure). */
export function indexColumns(event: AuditEventBody): IndexColumns {
  const none: IndexColumns = {
    type: event.type,
    server: null,
    target: null,
    decision: null,
    outcome: null,
    thread_id: null,
    actor: null,
    call_id: null,
  };
  switch (event.type) {
    case 'server.state':
      return { ...none, server: event.server, thread_id: event.thread_id };
    case 'approval.requested':
    case 'approval.granted':
    case 'approval.denied':
    case 'approval.used':
    case 'approval.expired':
    case 'approval.rejected':
    case 'approval.timed_out':
    case 'approval.withdrawn':
    case 'approval.refused':
      return {
        ...none,
        server: event.server,
        target: event.tool,
        decision: event.type.slice('approval.'.length),
        actor: event.approver ?? event.requester,
        call_id: event.approval_id,
      };
    case 'tools.list':
      return { ...none, thread_id: event.thread_id, actor: actorName(event.actor) };
    case 'schema.drift':
      return { ...none, server: event.server, target: event.name, decision: event.action };
    case 'notification.dropped':
      return { ...none, server: event.server, target: event.method, thread_id: event.thread_id };
    case 'credential.login':
      return { ...none, server: event.server, actor: event.principal };
    case 'call.intent':
      return {
        ...none,
        server: event.server?.name ?? null,
        target: event.target,
        decision: event.decision.kind,
        thread_id: event.thread_id,
        actor: actorName(event.actor),
        call_id: event.call_id,
      };
    case 'call.result':
      return {
        ...none,
        server: event.server,
        target: event.target,
        decision: event.request?.decision.kind ?? null,
        outcome: event.outcome,
        thread_id: event.thread_id,
        actor: actorName(event.request?.actor),
        call_id: event.call_id,
      };
    default:
      return none;
  }
}
