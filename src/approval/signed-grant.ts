import { createHash, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { canonicalJson } from '../audit/canonical-json.js';
import type { ApprovalLevel } from '../policy/model.js';
import { APPROVAL_LEVELS } from '../policy/model.js';

/**
 * Signed approval grants. A grant counts only when it is an Ed25519 signature, by a key the
 * admin lists in requirements (`[gatehouse_approvals] approvers`), over a canonical JSON
 * statement that names exactly what is approved: the binding (server name and identity, tool,
 * arguments, policy revision, level), the approval id, the level, the approver and an expiry.
 * The queue row is only a mailbox for it: whoever can write the database cannot make one.
 * Everything here is pure (no I/O).
 */

/** The only statement type this build signs and accepts. */
export const GRANT_STATEMENT_TYPE = 'gatehouse.approval.grant/v1';

export interface GrantStatement {
  type: typeof GRANT_STATEMENT_TYPE;
  approval_id: string;
  /** The approval binding (keyed hash; see approvalBinding). */
  binding: string;
  server: string;
  tool: string;
  level: ApprovalLevel;
  /** The requester as a principal (`os:alice`), or null when unknown. */
  requester: string | null;
  /** The approver's name as the admin lists it. */
  approver: string;
  /** The signing key's fingerprint (`ed25519:` + 32 hex). */
  key: string;
  policy_revision: string;
  issued_at: string;
  expires_at: string;
  reason: string | null;
  /**
   * Only in grants a gateway key signs: the authenticated person who decided (their principal,
   * issuer, subject and groups as the identity provider vouched), so two_person compares them.
   */
  approved_by?: ApprovedBy;
}

/** The person a gateway signed for (see GrantStatement.approved_by). */
export interface ApprovedBy {
  /** `user:SUBJECT`. */
  principal: string;
  issuer: string;
  subject: string;
  groups: string[];
}

/** What travels: the statement, the signature over its canonical JSON, the key's fingerprint. */
export interface SignedGrant {
  statement: GrantStatement;
  /** Base64 Ed25519 signature over canonicalJson(statement). */
  signature: string;
  key_fingerprint: string;
  /**
   * The signer's public key (`ed25519:BASE64`), so an auditor can check the signature from the
   * audit trail alone. The gateway never trusts it: it verifies with the key the admin listed.
   */
  public_key: string;
}

/** One approver the admin lists: a name (a person) and an Ed25519 public key. */
export interface ApproverKey {
  name: string;
  /** OS user names that are this person (default: the name itself). */
  osUsers: string[];
  /** Identity-provider subjects (`sub`) that are this person (`[gatehouse_identity]`). */
  subjects?: string[];
  publicKey: KeyObject;
  fingerprint: string;
  /** The public key line as written (`ed25519:BASE64`). */
  text: string;
  /**
   * A team gateway's key (`gateway = true`): it signs for authenticated people, only those
   * whose subject or group is listed here; it is never a person itself.
   */
  gateway?: { subjects: string[]; groups: string[] };
}

const RAW_ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** `ed25519:BASE64` (32 raw bytes) → a public key, or a reason it is not one. */
export function parsePublicKeyText(text: unknown): { key: KeyObject } | { error: string } {
  if (typeof text !== 'string') return { error: 'expected a string "ed25519:BASE64"' };
  const m = /^ed25519:([A-Za-z0-9+/]{43}=)$/.exec(text.trim());
  if (!m?.[1])
    return {
      error:
        'expected "ed25519:" followed by the base64 of a 32-byte Ed25519 public key (as `gatehouse approvals keygen` prints it)',
    };
  const raw = Buffer.from(m[1], 'base64');
  if (raw.length !== 32) return { error: 'an Ed25519 public key is 32 bytes' };
  try {
    const key = createPublicKey({
      key: Buffer.concat([RAW_ED25519_SPKI_PREFIX, raw]),
      format: 'der',
      type: 'spki',
    });
    return { key };
  } catch (err) {
    return { error: `not a usable Ed25519 public key (${(err as Error).message})` };
  }
}

/** The raw 32 bytes of an Ed25519 public key. */
function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ type: 'spki', format: 'der' });
  return der.subarray(der.length - 32);
}

/** `ed25519:BASE64`: the line an admin pastes into requirements. */
export function publicKeyText(key: KeyObject): string {
  return `ed25519:${rawPublicKey(key).toString('base64')}`;
}

/** A short, stable name for a key (what the audit and the CLI show). */
export function keyFingerprint(key: KeyObject): string {
  return `ed25519:${createHash('sha256').update(rawPublicKey(key)).digest('hex').slice(0, 32)}`;
}

/**
 * Checks a signed grant with only the public key it carries (what an auditor has): the key's
 * fingerprint is the statement's, and the signature is valid. Whether the key was listed is a
 * separate question (the requirements at the time). Returns null or the reason. Pure.
 */
export function checkGrantSelfContained(raw: unknown): string | null {
  if (!isRecord(raw) || !isRecord(raw.statement)) return 'malformed grant';
  const parsed = parsePublicKeyText(raw.public_key);
  if ('error' in parsed) return `the grant's public key: ${parsed.error}`;
  const statement = raw.statement as unknown as GrantStatement;
  if (keyFingerprint(parsed.key) !== statement.key || raw.key_fingerprint !== statement.key)
    return 'the public key does not match the fingerprint the statement names';
  if (typeof raw.signature !== 'string') return 'malformed signature';
  try {
    if (!verify(null, statementBytes(statement), parsed.key, Buffer.from(raw.signature, 'base64')))
      return 'bad signature';
  } catch {
    return 'malformed statement or signature';
  }
  return null;
}

/** The exact bytes that are signed. */
export function statementBytes(statement: GrantStatement): Buffer {
  return Buffer.from(canonicalJson(statement), 'utf8');
}

/** Signs a statement with an approver's private key (the CLI; never the gateway). */
export function signStatement(statement: GrantStatement, privateKey: KeyObject): SignedGrant {
  return {
    statement,
    signature: sign(null, statementBytes(statement), privateKey).toString('base64'),
    key_fingerprint: statement.key,
    public_key: publicKeyText(createPublicKey(privateKey)),
  };
}

/** What a grant must match: the call it is used for, and who asked. */
export interface GrantExpectation {
  approvalId: string;
  binding: string;
  server: string;
  tool: string;
  /** The level the call needs: a grant at this level or above satisfies it. */
  level: ApprovalLevel;
  /** The requester's principal; null = unknown. */
  requester: string | null;
  now: string;
}

const rank = (l: string) => APPROVAL_LEVELS.indexOf(l as ApprovalLevel);

/** The principal `os:NAME` of an OS user (identity-provider subjects are `user:SUB`). */
export function osPrincipal(user: string): string {
  return `os:${user}`;
}

/**
 * Whether the approver IS the requester, compared as persons: the requester's principal
 * against every principal the admin listed for this approver. A requester that is not a person
 * (null, a shared token) is never "different" — callers refuse those before asking.
 */
export function isSamePerson(
  approver: ApproverKey,
  requester: string | null,
  approvedBy?: ApprovedBy,
): boolean {
  if (requester === null) return true;
  if (approver.gateway) return approvedBy === undefined || approvedBy.principal === requester;
  if (requester === `person:${approver.name}`) return true;
  // A subject equal to the approver's name counts as the same person (the safe side).
  if (requester === `user:${approver.name}`) return true;
  if ((approver.subjects ?? []).some((sub) => requester === `user:${sub}`)) return true;
  return approver.osUsers.some((u) => requester === osPrincipal(u));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks a grant (any JSON: it comes from a database or an HTTP body) against the admin's keys
 * and the call. Returns the approver on success, else the reason it does not count. Pure.
 */
export function verifyGrant(
  raw: unknown,
  approvers: readonly ApproverKey[],
  expect: GrantExpectation,
): { ok: true; approver: ApproverKey; grant: SignedGrant } | { ok: false; reason: string } {
  const bad = (reason: string) => ({ ok: false as const, reason });
  if (!isRecord(raw) || !isRecord(raw.statement))
    return bad('malformed grant: expected {statement, signature, key_fingerprint}');
  const s = raw.statement;
  const malformed = malformedStatement(s);
  if (malformed) return bad(malformed);
  if (typeof raw.signature !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(raw.signature))
    return bad('malformed signature: expected the base64 of a 64-byte Ed25519 signature');
  const statement = s as unknown as GrantStatement;
  if (raw.key_fingerprint !== statement.key)
    return bad('malformed grant: key_fingerprint differs from the statement key');
  const approver = approvers.find((a) => a.fingerprint === statement.key);
  if (!approver)
    return bad(
      `unknown approver key ${statement.key}: it is not listed in [gatehouse_approvals] approvers`,
    );
  if (
    !verify(
      null,
      statementBytes(statement),
      approver.publicKey,
      Buffer.from(raw.signature, 'base64'),
    )
  )
    return bad(
      `bad signature: the statement was not signed by ${approver.name}'s key ${approver.fingerprint}`,
    );
  if (statement.approver !== approver.name)
    return bad(
      `the statement names approver '${statement.approver}' but is signed by ${approver.name}'s key`,
    );
  const onBehalf = gatewayProblem(approver, statement.approved_by);
  if (onBehalf) return bad(onBehalf);
  if (statement.approval_id !== expect.approvalId)
    return bad(`the grant is for approval ${statement.approval_id}, not ${expect.approvalId}`);
  if (statement.binding !== expect.binding)
    return bad(
      'the grant is for another call (binding differs: server, tool, arguments, policy or level)',
    );
  if (statement.server !== expect.server || statement.tool !== expect.tool)
    return bad(
      `the grant is for ${statement.server}/${statement.tool}, not ${expect.server}/${expect.tool}`,
    );
  if (rank(statement.level) < 0) return bad(`malformed grant: unknown level ${statement.level}`);
  if (rank(statement.level) < rank(expect.level))
    return bad(`the grant is for level ${statement.level}; this call needs ${expect.level}`);
  if (statement.requester !== expect.requester) return bad('the grant names another requester');
  if (!(Date.parse(statement.expires_at) > Date.parse(expect.now)))
    return bad(`the grant expired at ${statement.expires_at}`);
  if (
    expect.level === 'two_person' &&
    isSamePerson(approver, expect.requester, statement.approved_by)
  )
    return bad(
      expect.requester === null
        ? 'a two_person call from an unknown requester cannot be approved'
        : statement.approved_by
          ? `${statement.approved_by.principal} requested this call and cannot approve it: a second person must`
          : `${approver.name}'s key is listed for the requester (${expect.requester}): a second person must sign`,
    );
  return {
    ok: true,
    approver,
    grant: {
      statement,
      signature: raw.signature,
      key_fingerprint: statement.key,
      public_key: approver.text,
    },
  };
}

/** Why a statement's fields are malformed (null: each has its type). */
function malformedStatement(s: Record<string, unknown>): string | null {
  if (s.type !== GRANT_STATEMENT_TYPE)
    return `malformed grant: statement type must be ${GRANT_STATEMENT_TYPE}`;
  for (const f of [
    'approval_id',
    'binding',
    'server',
    'tool',
    'level',
    'approver',
    'key',
    'policy_revision',
    'issued_at',
    'expires_at',
  ])
    if (typeof s[f] !== 'string') return `malformed grant: statement.${f} must be a string`;
  if (s.requester !== null && typeof s.requester !== 'string')
    return 'malformed grant: statement.requester must be a string or null';
  if (s.reason !== null && typeof s.reason !== 'string')
    return 'malformed grant: statement.reason must be a string or null';
  if (s.approved_by !== undefined && !isApprovedBy(s.approved_by))
    return 'malformed grant: statement.approved_by must be {principal, issuer, subject, groups}';
  return null;
}

function isApprovedBy(v: unknown): v is ApprovedBy {
  return (
    isRecord(v) &&
    typeof v.principal === 'string' &&
    typeof v.issuer === 'string' &&
    typeof v.subject === 'string' &&
    Array.isArray(v.groups) &&
    v.groups.every((g) => typeof g === 'string')
  );
}

/**
 * Why a grant's signer may not sign for `approvedBy` (null: it may). A person's key signs only
 * for its own person; a gateway key only for an authenticated person the admin allowed by
 * subject or group (the groups are the ones the identity provider vouched for, signed in).
 */
export function gatewayProblem(
  approver: ApproverKey,
  approvedBy: ApprovedBy | undefined,
): string | null {
  if (!approver.gateway)
    return approvedBy === undefined
      ? null
      : `${approver.name}'s key is a person's key: only a gateway key (gateway = true) signs for another identity`;
  if (approvedBy === undefined)
    return `${approver.name} is a gateway key: its grants must name the authenticated person who approved (approved_by)`;
  if (
    !approvedBy.principal.startsWith('user:') ||
    approvedBy.principal !== `user:${approvedBy.subject}`
  )
    return `${approvedBy.principal} is not a person signed in through the identity provider, so it cannot approve`;
  const { subjects, groups } = approver.gateway;
  if (!subjects.includes(approvedBy.subject) && !approvedBy.groups.some((g) => groups.includes(g)))
    return `${approvedBy.principal} may not approve through ${approver.name}: neither the subject nor a group is listed in its subjects/groups`;
  return null;
}

/** The parts of a queued approval a statement names (a row, or its JSON from the HTTP API). */
export interface GrantSubject {
  id: string;
  binding: string;
  server: string;
  tool: string;
  level: ApprovalLevel;
  requester: string | null;
  policyRevision: string;
  expiresAt: string;
}

/** The statement an approver signs for one queued approval (it expires with the request). */
export function grantStatementFor(
  subject: GrantSubject,
  approver: { name: string; fingerprint: string },
  reason: string | null,
  now: string,
  approvedBy?: ApprovedBy,
): GrantStatement {
  return {
    ...(approvedBy ? { approved_by: approvedBy } : {}),
    type: GRANT_STATEMENT_TYPE,
    approval_id: subject.id,
    binding: subject.binding,
    server: subject.server,
    tool: subject.tool,
    level: subject.level,
    requester: subject.requester,
    approver: approver.name,
    key: approver.fingerprint,
    policy_revision: subject.policyRevision,
    issued_at: now,
    expires_at: subject.expiresAt,
    reason,
  };
}
