import { randomUUID } from 'node:crypto';
import type { AuditEventBody } from '../audit/event.js';
/**
 * The out-of-band approval queue: a call that needs an approval nobody could give in-band waits
 * here until someone runs `gatehouse approvals approve ID` (or denies it). Shared by every
 * gateway process and the CLI through the audit store's database.
 */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'used' | 'expired' | 'rejected';

/** The level a row was requested at (older rows only know two_person or not). */
export type QueuedLevel = 'prompt' | 'always' | 'two_person';

export interface ApprovalRow {
  id: string;
  status: ApprovalStatus;
  /** Keyed hash of (requester, server name and identity, tool, canonical arguments, policy revision, level). */
  binding: string;
  /** The requester's principal (`os:alice`), or null when unknown. */
  requester: string | null;
  twoPerson: boolean;
  level: QueuedLevel;
  /** The signed grant (statement, signature, key fingerprint) the approver stored, if any. */
  grant: unknown;
  server: string;
  tool: string;
  /** The call's category (`money`, …) when a rule gave it one; null for rows stored before. */
  category: string | null;
  argumentsMasked: unknown;
  policyRevision: string;
  rule: string;
  createdAt: string;
  expiresAt: string;
  approver: string | null;
  decidedAt: string | null;
  reason: string | null;
  usedAt: string | null;
  /** Set by `request`: this call created it (rather than finding one already pending). */
  fresh?: boolean;
}

export interface NewApproval {
  binding: string;
  requester: string | null;
  twoPerson: boolean;
  level: QueuedLevel;
  server: string;
  tool: string;
  /** The rule's category, if any (shown to approvers). */
  category?: string | null;
  argumentsMasked: unknown;
  policyRevision: string;
  rule: string;
  ttlMs: number;
}

/** A decision that cannot be made: says why (unknown id, already decided, expired, same person). */
export class ApprovalError extends Error {
  constructor(
    message: string,
    readonly code:
      | 'not_found'
      | 'not_pending'
      | 'expired'
      | 'same_person'
      | 'unknown_requester'
      | 'signature_required'
      | 'unauthenticated'
      | 'not_a_person'
      | 'not_allowed'
      | 'reason_required',
  ) {
    super(message);
  }
}

export interface ApprovalQueue {
  /** The pending approval for this exact call, or a new one. */
  request(approval: NewApproval): Promise<ApprovalRow>;
  /**
   * An approved, unexpired, unused approval for exactly this call that `check` accepts (it
   * verifies the signed grant: the row itself proves nothing), marked used in the same step
   * (single use). Approved rows `check` refuses are marked `rejected` with its reason and
   * returned, so the caller can record each.
   */
  consume(binding: string, check: GrantCheck): Promise<ConsumeResult>;
  get(id: string): Promise<ApprovalRow | null>;
  /**
   * The latest denial of exactly this call (same binding: requester, server, tool, arguments,
   * policy revision, level) that has not expired: the same call is refused with it rather than
   * asking anew, until the arguments or the policy change or the denial expires.
   */
  deniedFor(binding: string, now: string): Promise<ApprovalRow | null>;
  /** Approvals this process found past their expiry (and marked expired) since the last call. */
  takeExpired(): ApprovalRow[];
  list(options?: { all?: boolean }): Promise<ApprovalRow[]>;
  /**
   * Resolves when approval `id` may have changed (another process decided it: PostgreSQL
   * NOTIFY), or after `ms` ('timeout'). Absent: the waiter polls. A lost notification only
   * delays a waiter until its next poll; it never decides anything.
   */
  waitForChange?(id: string, ms: number): Promise<'changed' | 'timeout'>;
  /**
   * Single use of a sealed MCP `requestState` (approval/request-state.ts) across every process
   * sharing the store: true for the first claim of `id`, false ever after (until `expiresAt`,
   * an ISO time after which the state is refused as expired anyway and the claim is forgotten).
   */
  claimState?(id: string, expiresAt: string): Promise<boolean>;
  decide(
    id: string,
    decision: 'approved' | 'denied',
    approver: string,
    reason: string | null,
    grant?: unknown,
  ): Promise<ApprovalRow>;
}

/** null: the row's grant counts for this call; else why it does not. */
export type GrantCheck = (row: ApprovalRow) => string | null;

export interface ConsumeResult {
  used: ApprovalRow | null;
  rejected: { row: ApprovalRow; reason: string }[];
}

/** The level stored in a row, for rows written before levels were stored. */
export function levelOf(level: string | null | undefined, twoPerson: boolean): QueuedLevel {
  if (level === 'prompt' || level === 'always' || level === 'two_person') return level;
  return twoPerson ? 'two_person' : 'always';
}

/** The rules of a decision, the same for every store (pure). */
export function checkDecision(
  row: ApprovalRow | null,
  id: string,
  approver: string,
  decision: 'approved' | 'denied',
  now: string,
): void {
  if (!row)
    throw new ApprovalError(
      `no approval with id ${id} (see \`gatehouse approvals list --all\`)`,
      'not_found',
    );
  if (row.status === 'expired' || (row.status === 'pending' && row.expiresAt <= now))
    throw new ApprovalError(
      `approval ${id} expired at ${row.expiresAt} and can no longer be decided; nothing was changed (the caller asks anew by making the call again)`,
      'expired',
    );
  if (row.status !== 'pending')
    throw new ApprovalError(
      `approval ${id} is already ${row.status}${row.approver ? ` (by ${row.approver})` : ''}`,
      'not_pending',
    );
  if (decision === 'approved' && row.twoPerson && row.requester === null)
    throw new ApprovalError(
      `approval ${id} needs a second person, but its requester is unknown, so nobody can be told apart from them`,
      'unknown_requester',
    );
  if (decision === 'approved' && row.twoPerson && row.requester === approver)
    throw new ApprovalError(
      `approval ${id} needs a second person: ${approver} requested it and cannot approve it`,
      'same_person',
    );
}

/** An approval as a database row (both stores use these columns). */
export interface ApprovalDbRow {
  id: string;
  status: ApprovalStatus;
  binding: string;
  requester: string | null;
  /** SQLite stores 0/1, PostgreSQL a boolean. */
  two_person: number | boolean;
  level: string | null;
  grant: string | null;
  server: string;
  tool: string;
  /** Absent in stores made before categories were kept. */
  category?: string | null;
  arguments_masked: string;
  policy_revision: string;
  rule: string;
  created_at: string;
  expires_at: string;
  approver: string | null;
  decided_at: string | null;
  reason: string | null;
  used_at: string | null;
}

export function fromDbRow(r: ApprovalDbRow): ApprovalRow {
  return {
    id: r.id,
    status: r.status,
    binding: r.binding,
    requester: r.requester,
    twoPerson: r.two_person === true || r.two_person === 1,
    level: levelOf(r.level, r.two_person === true || r.two_person === 1),
    grant: parseGrant(r.grant),
    server: r.server,
    tool: r.tool,
    category: r.category ?? null,
    argumentsMasked: JSON.parse(r.arguments_masked) as unknown,
    policyRevision: r.policy_revision,
    rule: r.rule,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    approver: r.approver,
    decidedAt: r.decided_at,
    reason: r.reason,
    usedAt: r.used_at,
  };
}

function parseGrant(text: string | null): unknown {
  if (text === null || text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // kept as is: the verifier says it is malformed
  }
}

/** A new pending approval's row (ids are short: people type them). */
export function newDbRow(a: NewApproval, now: string): ApprovalDbRow {
  return {
    id: randomUUID().slice(0, 8),
    status: 'pending',
    binding: a.binding,
    requester: a.requester,
    two_person: a.twoPerson,
    level: a.level,
    grant: null,
    server: a.server,
    tool: a.tool,
    category: a.category ?? null,
    arguments_masked: JSON.stringify(a.argumentsMasked ?? {}),
    policy_revision: a.policyRevision,
    rule: a.rule,
    created_at: now,
    expires_at: new Date(Date.parse(now) + a.ttlMs).toISOString(),
    approver: null,
    decided_at: null,
    reason: null,
    used_at: null,
  };
}

/** The audit evidence of a decision made by a person (CLI or HTTP API). */
export function decisionEvidence(
  row: ApprovalRow,
  decision: 'approved' | 'denied',
  approver: string,
  channel: 'cli' | 'http',
  reason: string | null,
  grant: unknown = null,
): AuditEventBody {
  return {
    type: decision === 'approved' ? 'approval.granted' : 'approval.denied',
    approval_id: row.id,
    channel,
    server: row.server,
    tool: row.tool,
    requester: row.requester,
    approver,
    binding_sha256: row.binding,
    policy_revision: row.policyRevision,
    level: row.level,
    reason,
    ...(decision === 'approved' ? { grant } : {}),
  };
}
