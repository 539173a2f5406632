import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { parseLayer } from '../../test/support/requirements-layer.js';
import { keyFingerprint, publicKeyText } from '../approval/signed-grant.js';
import { composeRequirementLayers } from './load-requirements.js';
import type { RequirementSource } from './model.js';

const SRC: RequirementSource = { kind: 'flag_file', path: '/r.toml' };
const SYSTEM: RequirementSource = { kind: 'system_file', path: '/etc/gatehouse/requirements.toml' };
const parse = (text: string, source: RequirementSource = SRC) => parseLayer(text, source);
const newKey = () => generateKeyPairSync('ed25519').publicKey;

describe('[gatehouse_approvals]', () => {
  test('approvers and in-band categories, as the docs show them', () => {
    const bob = newKey();
    const carol = newKey();
    const { layer, diagnostics } = parse(`[gatehouse_approvals]
approvers = [
  { name = "bob", public_key = "${publicKeyText(bob)}" },
  { name = "carol", public_key = "${publicKeyText(carol)}", os_users = ["cw"] },
]
in_band_categories = ["production_state"]
`);
    expect(diagnostics).toEqual([]);
    const a = composeRequirementLayers([layer]).approvals;
    expect(a.approvers.map((x) => [x.name, x.osUsers, x.fingerprint])).toEqual([
      ['bob', ['bob'], keyFingerprint(bob)],
      ['carol', ['carol', 'cw'], keyFingerprint(carol)],
    ]);
    expect(a.inBandCategories).toEqual(['production_state']);
  });

  test.each([
    ['approvers = "bob"', 'gatehouse_approvals.approvers', 'expected a list'],
    [
      'approvers = [{ name = "bob", public_key = "ed25519:abc" }]',
      'gatehouse_approvals.approvers[0].public_key',
      'base64 of a 32-byte Ed25519 public key',
    ],
    [
      'approvers = [{ name = "bob", public_key = "ssh-ed25519 AAAA" }]',
      'gatehouse_approvals.approvers[0].public_key',
      'expected "ed25519:"',
    ],
    [
      'approvers = [{ name = "bob" }]',
      'gatehouse_approvals.approvers[0].public_key',
      'needs `public_key`',
    ],
    [
      `approvers = [{ public_key = "${publicKeyText(newKey())}" }]`,
      'gatehouse_approvals.approvers[0].name',
      'needs `name`',
    ],
    [
      `approvers = [{ name = "bob", public_key = "${publicKeyText(newKey())}", email = "x" }]`,
      'gatehouse_approvals.approvers[0].email',
      'unknown key `email`',
    ],
    [
      `approvers = [{ name = "b o b", public_key = "${publicKeyText(newKey())}" }]`,
      'gatehouse_approvals.approvers[0].name',
      'expected a name',
    ],
    [
      `approvers = [{ name = "gw", public_key = "${publicKeyText(newKey())}", gateway = true }]`,
      'gatehouse_approvals.approvers[0]',
      'a gateway key needs `subjects` or `groups`',
    ],
    [
      `approvers = [{ name = "gw", public_key = "${publicKeyText(newKey())}", gateway = true, groups = ["a"], os_users = ["gw"] }]`,
      'gatehouse_approvals.approvers[0].os_users',
      'a gateway key is not a person',
    ],
    [
      `approvers = [{ name = "bob", public_key = "${publicKeyText(newKey())}", groups = ["a"] }]`,
      'gatehouse_approvals.approvers[0].groups',
      '`groups` is only for a gateway key',
    ],
    [
      `approvers = [{ name = "gw", public_key = "${publicKeyText(newKey())}", gateway = "yes", groups = ["a"] }]`,
      'gatehouse_approvals.approvers[0].gateway',
      'expected true or false',
    ],
    [
      'in_band_categories = ["money", "snacks"]',
      'gatehouse_approvals.in_band_categories',
      'expected a list of human-approval categories',
    ],
  ])('error with file:line: %s', (line, key, message) => {
    const { diagnostics } = parse(`[gatehouse_approvals]\n${line}\n`);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ key, location: { file: '/r.toml', line: 2 } });
    expect(errors[0]?.message).toContain(message);
  });

  test('a gateway key: who may approve through it, and no OS users (it is not a person)', () => {
    const gw = newKey();
    const { layer, diagnostics } = parse(`[gatehouse_approvals]
approvers = [
  { name = "team-gateway", public_key = "${publicKeyText(gw)}", gateway = true, groups = ["approvers"], subjects = ["carol"] },
]
`);
    expect(diagnostics).toEqual([]);
    expect(composeRequirementLayers([layer]).approvals.approvers).toEqual([
      expect.objectContaining({
        name: 'team-gateway',
        osUsers: [],
        gateway: { subjects: ['carol'], groups: ['approvers'] },
      }),
    ]);
  });

  test('one key is one person: the same key under two names is an error', () => {
    const k = publicKeyText(newKey());
    const { diagnostics } = parse(
      `[gatehouse_approvals]\napprovers = [{ name = "a", public_key = "${k}" }, { name = "b", public_key = "${k}" }]\n`,
    );
    expect(diagnostics.filter((d) => d.severity === 'error')[0]?.message).toContain(
      "already listed for 'a'",
    );
  });

  test('an unknown key is a warning with a suggestion', () => {
    const { diagnostics } = parse('[gatehouse_approvals]\napprover = []\n');
    expect(diagnostics).toEqual([
      expect.objectContaining({ severity: 'warning', hint: 'did you mean `approvers`?' }),
    ]);
  });

  test('with a system file, only admin-owned layers list approvers (a user layer cannot add one)', () => {
    const admin = parse(
      `[gatehouse_approvals]\napprovers = [{ name = "bob", public_key = "${publicKeyText(newKey())}" }]\n`,
      SYSTEM,
    ).layer;
    const user = parse(
      `[gatehouse_approvals]\napprovers = [{ name = "mallory", public_key = "${publicKeyText(newKey())}" }]\nin_band_categories = ["money"]\n`,
    ).layer;
    const a = composeRequirementLayers([admin, user]).approvals;
    expect(a.approvers.map((x) => x.name)).toEqual(['bob']);
    expect(a.inBandCategories).toEqual([]);
    // Without a system file the user is their own admin.
    expect(composeRequirementLayers([user]).approvals.approvers.map((x) => x.name)).toEqual([
      'mallory',
    ]);
  });
});
