import type { AuditEventBody, CallOutcome, Decision } from './event.js';

/**
 * The values `audit query`'s enum filters accept: a misspelt one (`--decision allowed`) must be a
 * usage error listing these, never a silent "no records match". Each list is a `Record` over its
 * type's union, so adding an event type, decision or outcome to the model without listing it here
 * fails to compile.
 */
const EVENT_TYPES: Record<AuditEventBody['type'], true> = {
  'gateway.start': true,
  'gateway.stop': true,
  'server.state': true,
  'tools.list': true,
  'call.intent': true,
  'call.result': true,
  'audit.pruned': true,
  'audit.fail_open': true,
  'approval.requested': true,
  'approval.granted': true,
  'approval.denied': true,
  'approval.used': true,
  'approval.expired': true,
  'approval.rejected': true,
  'approval.timed_out': true,
  'approval.withdrawn': true,
  'approval.refused': true,
  'masking.detokenized': true,
  'release.evidence': true,
  'schema.drift': true,
  'notification.dropped': true,
  'credential.login': true,
};

type ApprovalEventType = Extract<AuditEventBody['type'], `approval.${string}`>;
type ApprovalDecision = ApprovalEventType extends `approval.${infer D}` ? D : never;
type DriftAction = Extract<AuditEventBody, { type: 'schema.drift' }>['action'];

/** The `decision` column: a call's decision, an approval event's verb, or a drift action. */
const DECISIONS: Record<Decision['kind'] | ApprovalDecision | DriftAction, true> = {
  allow: true,
  deny: true,
  needs_approval: true,
  requested: true,
  granted: true,
  denied: true,
  used: true,
  expired: true,
  rejected: true,
  timed_out: true,
  withdrawn: true,
  refused: true,
  block: true,
  approve: true,
  warn: true,
};

const OUTCOMES: Record<CallOutcome, true> = {
  ok: true,
  is_error: true,
  protocol_error: true,
  timeout: true,
  unavailable: true,
  denied: true,
  approval_timed_out: true,
  approval_expired: true,
  approval_withdrawn: true,
  input_required: true,
};

export const AUDIT_EVENT_TYPES: readonly string[] = Object.keys(EVENT_TYPES);
export const AUDIT_DECISIONS: readonly string[] = Object.keys(DECISIONS);
export const AUDIT_OUTCOMES: readonly string[] = Object.keys(OUTCOMES);
