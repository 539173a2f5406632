import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseLayer } from '../../test/support/requirements-layer.js';
import { publicKeyText } from '../approval/signed-grant.js';
import { composeRequirementLayers } from './load-requirements.js';
import type { Requirements } from './model.js';
import { tightenRequirements } from './tighten-requirements.js';

const USER = { kind: 'env', name: 'GATEHOUSE_REQUIREMENTS_TOML_BASE64' } as const;
const admin = (text: string) =>
  composeRequirementLayers([parseLayer(text, { kind: 'system_file', path: '/etc/r.toml' }).layer]);
const tighten = (base: Requirements, text: string) =>
  tightenRequirements(base, parseLayer(text, USER).layer);

describe('tightenRequirements: key by key', () => {
  test.each<[string, string, string, (r: Requirements) => unknown, unknown, boolean]>([
    [
      'schema: a stricter on_widening applies',
      '',
      '[gatehouse_schema]\non_widening = "block"\n',
      (r) => r.schema.onClass.widening?.value,
      'block',
      false,
    ],
    [
      'schema: a looser on_breaking is ignored',
      '',
      '[gatehouse_schema]\non_breaking = "allow"\n',
      (r) => r.schema.onClass.breaking?.value ?? 'block',
      'block',
      true,
    ],
    [
      'schema: lock = "optional" cannot undo "required"',
      '[gatehouse_schema]\nlock = "required"\n',
      '[gatehouse_schema]\nlock = "optional"\n',
      (r) => r.schema.lock?.value,
      'required',
      true,
    ],
    [
      'masking: ip_addresses can turn on',
      '',
      '[gatehouse_masking]\nip_addresses = true\n',
      (r) => r.masking.ipAddresses,
      true,
      false,
    ],
    [
      'masking: an exemption is ignored',
      '',
      '[gatehouse_masking]\nexempt_servers = ["docs"]\n',
      (r) => r.masking.exemptServers,
      [],
      true,
    ],
    [
      'policy: approval_wait_seconds can shrink',
      '',
      '[gatehouse_policy]\napproval_wait_seconds = 5\n',
      (r) => r.policy.approvalWaitSeconds,
      5,
      false,
    ],
    [
      "policy: a webhook over the admin's is ignored",
      '[gatehouse_policy]\napproval_webhook = "https://a.example/h"\n',
      '[gatehouse_policy]\napproval_webhook = "https://evil.example/h"\n',
      (r) => r.policy.approvalWebhook,
      'https://a.example/h',
      true,
    ],
    [
      "policy: the admin's webhook stays unsigned/shaped as the admin set it",
      '[gatehouse_policy]\napproval_webhook = "https://a.example/h"\napproval_webhook_secret = { env = "S" }\n',
      '[gatehouse_policy]\napproval_webhook_format = "slack"\napproval_webhook_secret = { env = "MINE" }\napproval_console_url = "https://evil.example/"\n',
      (r) => [
        r.policy.approvalWebhookFormat,
        r.policy.approvalWebhookSecret,
        r.policy.approvalConsoleUrl,
      ],
      [undefined, { kind: 'env', name: 'S' }, undefined],
      true,
    ],
    [
      'policy: without an admin webhook, the user’s webhook settings apply',
      '',
      '[gatehouse_policy]\napproval_webhook = "https://u.example/h"\napproval_webhook_format = "teams"\n',
      (r) => [r.policy.approvalWebhook, r.policy.approvalWebhookFormat],
      ['https://u.example/h', 'teams'],
      false,
    ],
    [
      'audit: a longer checkpoint interval is ignored',
      '',
      '[gatehouse_audit]\ncheckpoint_every_seconds = 3600\n',
      (r) => r.audit.checkpointEverySeconds,
      null,
      true,
    ],
    [
      'plugins policy: ignored whole',
      '',
      '[gatehouse_plugins]\nhooks_require_review = false\n',
      (r) => r.pluginGovernance.hooksRequireReview,
      null,
      true,
    ],
    [
      'a plugin table the admin lacks, while the admin restricts, is ignored',
      '[mcp_servers.docs.identity]\ncommand = "npx"\n',
      '[plugins."p@m".mcp_servers.x.identity]\ncommand = "bash"\n',
      (r) => r.plugins.has('p@m'),
      false,
      true,
    ],
    [
      'a user table restricts an unrestricted admin',
      '[gatehouse_policy]\nread_only = true\n',
      '[mcp_servers.docs.identity]\ncommand = "npx"\n',
      (r) => [...(r.mcpServers?.rules.keys() ?? [])],
      ['docs'],
      false,
    ],
  ])('%s', (_name, base, layer, get, expected, isIgnored) => {
    const r = tighten(admin(base), layer);
    expect(get(r.requirements)).toEqual(expected);
    expect(r.ignored.length > 0).toBe(isIgnored);
  });
});

describe('tightenRequirements: the allowlist only shrinks', () => {
  test('property: every name allowed after a user layer was allowed by the admin', () => {
    const names = fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 4 });
    const table = (ns: string[]) =>
      ns.map((n) => `[mcp_servers.${n}.identity]\ncommand = "npx"\n`).join('');
    fc.assert(
      fc.property(names, names, (adminNames, userNames) => {
        const base = admin(table(adminNames));
        const r = tighten(base, table(userNames)).requirements;
        const allowed = [...(r.mcpServers?.rules.keys() ?? [])];
        if (adminNames.length > 0 || base.mcpServers)
          for (const n of allowed) expect(adminNames).toContain(n);
      }),
    );
  });
});

describe('tightenRequirements: approvals are the admin’s alone', () => {
  test('a user layer cannot add an approver key or an in-band category', () => {
    const mallory = generateKeyPairSync('ed25519');
    const base = admin('[gatehouse_approvals]\nin_band_categories = []\n');
    const out = tighten(
      base,
      `[gatehouse_approvals]\napprovers = [{ name = "mallory", public_key = "${publicKeyText(mallory.publicKey)}" }]\nin_band_categories = ["money"]\n`,
    );
    expect(out.requirements.approvals.approvers).toEqual([]);
    expect(out.requirements.approvals.inBandCategories).toEqual([]);
    expect(out.ignored.join('\n')).toContain('gatehouse_approvals.approvers');
    expect(out.ignored.join('\n')).toContain('gatehouse_approvals.in_band_categories');
  });
});
