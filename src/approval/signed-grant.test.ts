import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { ApproverKey, GrantSubject } from './signed-grant.js';
import {
  checkGrantSelfContained,
  grantStatementFor,
  keyFingerprint,
  parsePublicKeyText,
  publicKeyText,
  signStatement,
  verifyGrant,
} from './signed-grant.js';

function approver(name: string, osUsers = [name]) {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const key: ApproverKey = {
    name,
    osUsers,
    publicKey,
    fingerprint: keyFingerprint(publicKey),
    text: publicKeyText(publicKey),
  };
  return { key, privateKey };
}

const NOW = '2026-01-01T00:00:00.000Z';
const SUBJECT: GrantSubject = {
  id: 'a1b2c3d4',
  binding: 'f'.repeat(64),
  server: 'payments',
  tool: 'refund',
  level: 'two_person',
  requester: 'os:alice',
  policyRevision: 'pol-1',
  expiresAt: '2026-01-01T01:00:00.000Z',
};
const EXPECT = {
  approvalId: SUBJECT.id,
  binding: SUBJECT.binding,
  server: SUBJECT.server,
  tool: SUBJECT.tool,
  level: SUBJECT.level,
  requester: SUBJECT.requester,
  now: NOW,
};

const bob = approver('bob');
const alice = approver('alice');
const mallory = approver('mallory');
const listed = [bob.key, alice.key];
const signedBy = (who: typeof bob, subject: GrantSubject = SUBJECT) =>
  signStatement(grantStatementFor(subject, who.key, 'ok', NOW), who.privateKey);

describe('signed approval grants', () => {
  test('a grant by a listed second person verifies, and is self-contained for an auditor', () => {
    const grant = signedBy(bob);
    expect(verifyGrant(grant, listed, EXPECT)).toMatchObject({
      ok: true,
      approver: { name: 'bob' },
    });
    expect(checkGrantSelfContained(grant)).toBeNull();
  });

  test.each([
    ['not an object', () => 'x', 'malformed grant'],
    ['malformed signature', () => ({ ...signedBy(bob), signature: 'abc' }), 'malformed signature'],
    [
      'bad signature (statement edited)',
      () => {
        const g = signedBy(bob);
        return { ...g, statement: { ...g.statement, tool: 'payout' } };
      },
      'bad signature',
    ],
    ['unknown key', () => signedBy(mallory), 'unknown approver key'],
    ['the requester’s own key', () => signedBy(alice), 'a second person must sign'],
    [
      'another approval',
      () => signedBy(bob, { ...SUBJECT, id: 'zzzzzzzz' }),
      'is for approval zzzzzzzz',
    ],
    [
      'another binding (server, args, level …)',
      () => signedBy(bob, { ...SUBJECT, binding: 'e'.repeat(64) }),
      'binding differs',
    ],
    [
      'a lower level',
      () => signedBy(bob, { ...SUBJECT, level: 'always' }),
      'this call needs two_person',
    ],
    [
      'expired',
      () => signedBy(bob, { ...SUBJECT, expiresAt: '2025-12-31T23:59:59.000Z' }),
      'expired at',
    ],
  ])('refused with the reason: %s', (_, make, reason) => {
    const v = verifyGrant(make(), listed, EXPECT);
    expect(v.ok).toBe(false);
    expect((v as { reason: string }).reason).toContain(reason);
  });

  test('an unknown requester can never be approved at two_person', () => {
    const grant = signedBy(bob, { ...SUBJECT, requester: null });
    const v = verifyGrant(grant, listed, { ...EXPECT, requester: null });
    expect(v).toMatchObject({ ok: false, reason: expect.stringContaining('unknown requester') });
  });

  test('a grant at a higher level satisfies a lower one, never the reverse', () => {
    const high = signedBy(bob);
    expect(verifyGrant(high, listed, { ...EXPECT, level: 'always' }).ok).toBe(true);
  });

  test('an approver listed with several OS accounts is the same person as each of them', () => {
    const carol = approver('carol', ['carol', 'cw']);
    const g = signStatement(
      grantStatementFor({ ...SUBJECT, requester: 'os:cw' }, carol.key, null, NOW),
      carol.privateKey,
    );
    const v = verifyGrant(g, [carol.key], { ...EXPECT, requester: 'os:cw' });
    expect(v).toMatchObject({
      ok: false,
      reason: expect.stringContaining('listed for the requester'),
    });
  });

  test('identity subjects: the approver listed with a subject cannot approve that user; another person can', () => {
    const dave = approver('dave');
    dave.key.subjects = ['00u-dave'];
    const asUser = (requester: string, who: typeof bob) =>
      verifyGrant(
        signStatement(
          grantStatementFor({ ...SUBJECT, requester }, who.key, null, NOW),
          who.privateKey,
        ),
        [who.key],
        { ...EXPECT, requester },
      );
    expect(asUser('user:00u-dave', dave)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('listed for the requester'),
    });
    // a subject equal to the approver's name is taken as the same person (the safe side)
    expect(asUser('user:dave', dave).ok).toBe(false);
    expect(asUser('user:00u-dave', bob).ok).toBe(true);
  });

  test('property: any change to any statement field breaks the signature', () => {
    const grant = signedBy(bob);
    const fields = Object.keys(grant.statement) as (keyof typeof grant.statement)[];
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.string({ minLength: 1 }), (field, value) => {
        const original = grant.statement[field];
        fc.pre(value !== original);
        const edited = { ...grant, statement: { ...grant.statement, [field]: value } };
        expect(verifyGrant(edited, listed, EXPECT).ok).toBe(false);
        expect(checkGrantSelfContained(edited)).not.toBeNull();
      }),
    );
  });

  test('public key text: round trip, and malformed input is refused with a reason', () => {
    expect('key' in parsePublicKeyText(bob.key.text)).toBe(true);
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = parsePublicKeyText(s);
        if ('key' in r) expect(publicKeyText(r.key)).toBe(s.trim());
        else expect(r.error).toMatch(/expected|Ed25519/);
      }),
    );
  });
});

describe('grants a team gateway signs for signed-in people', () => {
  const gw = approver('team-gateway', []);
  const gateway: ApproverKey = {
    ...gw.key,
    gateway: { subjects: ['carol'], groups: ['approvers'] },
  };
  const keys = [gateway, bob.key];
  const person = (subject: string, groups: string[] = []) => ({
    principal: `user:${subject}`,
    issuer: 'https://idp.example',
    subject,
    groups,
  });
  const forUser = { ...SUBJECT, requester: 'user:alice' };
  const expectUser = { ...EXPECT, requester: 'user:alice' };
  const signedFor = (who: ReturnType<typeof person> | undefined, key = gw, listedAs = gateway) =>
    signStatement(grantStatementFor(forUser, listedAs, null, NOW, who), key.privateKey);

  test('an allowed second person (by group or by subject) is accepted and named in the statement', () => {
    for (const who of [person('bob', ['approvers']), person('carol')]) {
      const v = verifyGrant(signedFor(who), keys, expectUser);
      expect(v).toMatchObject({ ok: true, grant: { statement: { approved_by: who } } });
      expect(checkGrantSelfContained(signedFor(who))).toBeNull();
    }
  });

  test('two_person compares subjects: the requester cannot approve through the gateway', () => {
    expect(verifyGrant(signedFor(person('alice', ['approvers'])), keys, expectUser)).toEqual({
      ok: false,
      reason: 'user:alice requested this call and cannot approve it: a second person must',
    });
  });

  test('refused: nobody named, a person outside the listed subjects/groups, a bot, a person key naming someone', () => {
    const reasons = [
      verifyGrant(signedFor(undefined), keys, expectUser),
      verifyGrant(signedFor(person('dave', ['eng'])), keys, expectUser),
      verifyGrant(
        signedFor({ ...person('ci', ['approvers']), principal: 'service:ci' }),
        keys,
        expectUser,
      ),
      verifyGrant(signedFor(person('carol'), bob, bob.key), keys, expectUser),
    ].map((v) => (v.ok ? 'accepted' : v.reason));
    expect(reasons).toEqual([
      expect.stringContaining('must name the authenticated person'),
      expect.stringContaining('may not approve through team-gateway'),
      expect.stringContaining('is not a person signed in'),
      expect.stringContaining("bob's key is a person's key"),
    ]);
  });

  test('approved_by is signed: changing who approved breaks the signature', () => {
    const grant = signedFor(person('carol'));
    const forged = {
      ...grant,
      statement: { ...grant.statement, approved_by: person('mallory', ['approvers']) },
    };
    expect(verifyGrant(forged, keys, expectUser)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('bad signature'),
    });
  });
});
