import type { RequirementSource, ServerRule } from './model.js';
import { describeSources } from './model.js';

/**
 * Why a server is disabled. `code` is stable for scripts; `display` is what Codex shows
 * (`requirements (<source>)`, or null for a user-disabled server); `detail` explains it.
 */
export type DisabledReasonCode =
  | 'user'
  | 'unsupported_auth'
  | 'not_allowlisted'
  | 'identity_mismatch'
  | 'transport_mismatch'
  | 'pin_mismatch'
  | 'credential_model_mismatch'
  | 'deny_all'
  | 'requirements_invalid';

export const DISABLED_REASON_CODES: readonly DisabledReasonCode[] = [
  'user',
  'unsupported_auth',
  'not_allowlisted',
  'identity_mismatch',
  'transport_mismatch',
  'pin_mismatch',
  'credential_model_mismatch',
  'deny_all',
  'requirements_invalid',
];

export interface DisabledReason {
  code: DisabledReasonCode;
  /** Codex's `disabled_reason` string; null when Codex shows plain `disabled`. */
  display: string | null;
  detail: string;
  /** The requirement layers behind the decision (empty for user/config reasons). */
  sources: RequirementSource[];
  /** The same-name rule that was compared, when there was one. */
  rule: ServerRule | null;
}

export function requirementsReason(
  code: Exclude<DisabledReasonCode, 'user' | 'unsupported_auth'>,
  sources: RequirementSource[],
  detail: string,
  rule: ServerRule | null = null,
): DisabledReason {
  return { code, display: `requirements (${describeSources(sources)})`, detail, sources, rule };
}

/** `disabled` or `disabled: requirements (/etc/…)`, exactly as Codex's status column. */
export function formatStatus(enabled: boolean, reason: DisabledReason | null): string {
  if (enabled) return 'enabled';
  return reason?.display ? `disabled: ${reason.display}` : 'disabled';
}
