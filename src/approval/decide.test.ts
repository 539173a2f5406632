import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { AuditEventBody } from '../audit/event.js';
import { SqliteAuditStore } from '../audit/sqlite-store.js';
import type { Identity } from '../identity/identity.js';
import { approvalDecider } from './decide.js';
import { ApprovalError } from './queue.js';
import type { ApproverKey } from './signed-grant.js';
import { keyFingerprint, publicKeyText, verifyGrant } from './signed-grant.js';

/**
 * The one decision function the gateway's `/approvals` and a console call, on a real SQLite
 * queue: who may decide, what is signed, what is recorded.
 */
const store = SqliteAuditStore.open(join(mkdtempSync(join(tmpdir(), 'gh-decide-')), 'a.db'));
afterAll(() => store.close());

const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const gateway: ApproverKey = {
  name: 'team-gateway',
  osUsers: [],
  publicKey,
  fingerprint: keyFingerprint(publicKey),
  text: publicKeyText(publicKey),
  gateway: { subjects: [], groups: ['approvers'] },
};
const evidence: AuditEventBody[] = [];
const queue = store.approvals();
const decide = approvalDecider({
  queue,
  signer: { privateKey, listed: gateway },
  approverKeys: [gateway],
  evidence: async (e) => {
    evidence.push(e);
  },
});
const person = (subject: string, groups = ['approvers']): Identity => ({
  issuer: 'https://idp.example',
  subject,
  email: null,
  groups,
  via: 'oidc',
});
const queued = (binding: string) =>
  queue.request({
    binding,
    requester: 'user:alice',
    twoPerson: true,
    level: 'two_person',
    server: 'pay',
    tool: 'refund',
    argumentsMasked: { amount: 1 },
    policyRevision: 'p1',
    rule: 'r',
    ttlMs: 60_000,
  });
const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'decided',
    (err: unknown) => (err instanceof ApprovalError ? err.code : String(err)),
  );

describe('decide(approvalId, decision, reason, approverIdentity)', () => {
  test('who cannot decide: nobody, a bot, a person outside the approvers, the requester herself', async () => {
    const row = await queued('a'.repeat(64));
    expect(
      await Promise.all([
        codeOf(decide(row.id, 'approved', null, null)),
        codeOf(decide(row.id, 'approved', null, { ...person('ci'), via: 'service-token' })),
        codeOf(decide(row.id, 'approved', null, person('dave', ['eng']))),
        codeOf(decide(row.id, 'approved', null, person('alice'))),
        codeOf(decide(row.id, 'denied', null, person('bob'))),
        codeOf(decide('nope', 'approved', null, person('bob'))),
      ]),
    ).toEqual([
      'unauthenticated',
      'not_a_person',
      'not_allowed',
      'not_allowed',
      'reason_required',
      'not_found',
    ]);
    expect((await queue.get(row.id))?.status).toBe('pending');
    expect(evidence.map((e) => [e.type, (e as { approver?: string }).approver])).toEqual([
      ['approval.rejected', 'user:alice'],
    ]);
  });

  test('bob approves: the gateway signs for him, the row and the evidence name him by subject', async () => {
    const row = await queued('b'.repeat(64));
    const decided = await decide(row.id, 'approved', 'fine', person('bob'));
    expect(decided).toMatchObject({ status: 'approved', approver: 'user:bob' });
    const check = verifyGrant(decided.grant, [gateway], {
      approvalId: row.id,
      binding: row.binding,
      server: 'pay',
      tool: 'refund',
      level: 'two_person',
      requester: 'user:alice',
      now: new Date().toISOString(),
    });
    expect(check).toMatchObject({
      ok: true,
      grant: { statement: { approved_by: { principal: 'user:bob', groups: ['approvers'] } } },
    });
    expect(evidence.at(-1)).toMatchObject({
      type: 'approval.granted',
      requester: 'user:alice',
      approver: 'user:bob',
    });
    expect(await codeOf(decide(row.id, 'denied', 'late', person('bob')))).toBe('not_pending');
  });
});
