import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { grantStatementFor, keyFingerprint, signStatement } from '../approval/signed-grant.js';
import type { StoredRecord } from './chain.js';
import { verifyApprovalEvidence } from './verify-approvals.js';

function records(events: Record<string, unknown>[]): AsyncIterable<StoredRecord[]> {
  const batch = events.map(
    (e, i) => ({ seq: i + 1, body: JSON.stringify(e) }) as unknown as StoredRecord,
  );
  return (async function* () {
    yield batch;
  })();
}

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const grant = signStatement(
  grantStatementFor(
    {
      id: 'a1',
      binding: 'b1',
      server: 's',
      tool: 't',
      level: 'two_person',
      requester: 'os:alice',
      policyRevision: 'p',
      expiresAt: '2099-01-01T00:00:00Z',
    },
    { name: 'bob', fingerprint: keyFingerprint(publicKey) },
    null,
    '2026-01-01T00:00:00Z',
  ),
  privateKey,
);
const ev = (type: string, extra: Record<string, unknown> = {}) => ({
  type,
  approval_id: 'a1',
  binding_sha256: 'b1',
  level: 'always',
  channel: 'queue',
  ...extra,
});

describe('audit verify: approval evidence', () => {
  test('a use backed by a grant is fine; signed two_person uses verify', async () => {
    const r = await verifyApprovalEvidence(
      records([
        ev('approval.granted', { level: 'two_person', grant }),
        ev('approval.used', { level: 'two_person', grant }),
      ]),
      null,
    );
    expect(r).toEqual({ uses: 1, problems: [], unverifiable: 0 });
  });

  test('a use without a grant (a forged queue row) is reported', async () => {
    const r = await verifyApprovalEvidence(records([ev('approval.used')]), null);
    expect(r.problems).toEqual([
      { seq: 1, approval_id: 'a1', message: expect.stringContaining('no approval.granted') },
    ]);
  });

  test('a two_person use without a signed grant, or with a tampered one, is reported', async () => {
    const tampered = { ...grant, statement: { ...grant.statement, tool: 'other' } };
    const r = await verifyApprovalEvidence(
      records([
        ev('approval.granted', { level: 'two_person' }),
        ev('approval.used', { level: 'two_person' }),
        ev('approval.used', { level: 'two_person', grant: tampered }),
      ]),
      null,
    );
    expect(r.problems.map((p) => p.message)).toEqual([
      expect.stringContaining('without a signed grant'),
      expect.stringContaining('bad signature'),
    ]);
  });

  test('after a prune, a use whose grant may be gone is unverifiable, not broken', async () => {
    const r = await verifyApprovalEvidence(records([ev('approval.used')]), 10);
    expect(r).toEqual({ uses: 1, problems: [], unverifiable: 1 });
  });
});

describe('audit verify: grants a team gateway signed', () => {
  const subject = {
    id: 'a1',
    binding: 'b1',
    server: 's',
    tool: 't',
    level: 'two_person' as const,
    requester: 'user:alice',
    policyRevision: 'p',
    expiresAt: '2099-01-01T00:00:00Z',
  };
  const signedFor = (sub: string) =>
    signStatement(
      grantStatementFor(
        subject,
        { name: 'team-gateway', fingerprint: keyFingerprint(publicKey) },
        null,
        '2026-01-01T00:00:00Z',
        { principal: `user:${sub}`, issuer: 'https://idp', subject: sub, groups: [] },
      ),
      privateKey,
    );
  const use = (g: unknown) =>
    verifyApprovalEvidence(
      records([
        ev('approval.granted', { level: 'two_person', grant: g, requester: 'user:alice' }),
        ev('approval.used', { level: 'two_person', grant: g, requester: 'user:alice' }),
      ]),
      null,
    );

  test('approved by another person: fine; by the requester herself: reported', async () => {
    expect((await use(signedFor('bob'))).problems).toEqual([]);
    expect((await use(signedFor('alice'))).problems).toEqual([
      expect.objectContaining({
        seq: 2,
        message: 'a two_person approval was approved by its own requester (user:alice)',
      }),
    ]);
  });
});
