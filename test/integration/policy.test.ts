import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

const REQUIREMENTS = `
[gatehouse_policy]
categories = ["pii_exports"]

[gatehouse_policy.tools."payments/*"]
category = "money"

[gatehouse_policy.tools."payments/refund"]
approval = "two_person"

[gatehouse_policy.tools."github/delete_*"]
effect = "destructive"

[gatehouse_policy.tools."*/drop_database"]
allow = false
`;

const CONFIG = `
[mcp_servers.payments]
command = "npx"

[mcp_servers.github]
command = "npx"
default_tools_approval_mode = "approve"
`;

function files(extra: Record<string, string> = {}) {
  const dir = writeFiles({ 'requirements.toml': REQUIREMENTS, 'config.toml': CONFIG, ...extra });
  return {
    dir,
    flags: ['--requirements', join(dir, 'requirements.toml'), '--config', join(dir, 'config.toml')],
  };
}

describe('gatehouse policy explain', () => {
  test('JSON names the decision, who approves, the effect, category, rule and policy revision', async () => {
    const { flags } = files();
    const r = await cli([
      ...flags,
      'policy',
      'explain',
      '--server',
      'payments',
      '--tool',
      'refund',
      '--args',
      '{"amount": 100}',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      decision: 'approval',
      approval: 'two_person',
      category: 'money',
      effect: 'side_effect',
      rule: expect.stringContaining('gatehouse_policy.tools."payments/refund"'),
      policy_revision: expect.stringMatching(/^pol-[0-9a-f]{16}$/),
      arguments_sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  test('a server that claims readOnlyHint on a destructive tool is still gated; the user cannot approve it away', async () => {
    const { flags } = files();
    const r = await cli([
      ...flags,
      'policy',
      'explain',
      '--server',
      'github',
      '--tool',
      'delete_repo',
      '--annotations',
      '{"readOnlyHint": true}',
    ]);
    expect(r.stdout).toContain('github/delete_repo: APPROVAL by the user');
    expect(r.stdout).toContain("effect    destructive (the admin's class)");
    // …while the user's default_tools_approval_mode = "approve" still relaxes what the admin left alone.
    const strict = await cli([
      ...flags,
      'policy',
      'explain',
      '--server',
      'github',
      '--tool',
      'list_issues',
      '--annotations',
      '{"readOnlyHint": true}',
      '--json',
    ]);
    expect(JSON.parse(strict.stdout)).toMatchObject({ decision: 'allow', effect: 'read' });
  });

  test('deny beats everything; bad input is a usage error naming the option', async () => {
    const { flags } = files();
    const deny = await cli([
      ...flags,
      'policy',
      'explain',
      '--server',
      'payments',
      '--tool',
      'drop_database',
      '--json',
    ]);
    expect(JSON.parse(deny.stdout)).toMatchObject({
      decision: 'deny',
      rule: expect.stringContaining('"*/drop_database"'),
    });
    const bad = await cli([
      ...flags,
      'policy',
      'explain',
      '--server',
      'a',
      '--tool',
      'b',
      '--args',
      '{nope',
    ]);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('--args is not JSON')]);
    const ann = await cli([
      ...flags,
      'policy',
      'explain',
      '--server',
      'a',
      '--tool',
      'b',
      '--annotations',
      '{"readOnly": true}',
    ]);
    expect(ann.code).toBe(2);
  });

  test('an unknown category or approval in requirements fails closed with the key named', async () => {
    const dir = writeFiles({
      'r.toml': '[gatehouse_policy.tools."x/y"]\ncategory = "monay"\napproval = "sometimes"\n',
    });
    const r = await cli([
      '--requirements',
      join(dir, 'r.toml'),
      'policy',
      'explain',
      '--server',
      'x',
      '--tool',
      'y',
    ]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('unknown category "monay"');
    expect(r.stderr).toContain('unknown approval "sometimes"');
  });
});

describe('gatehouse policy test', () => {
  const CASES = `
[[case]]
name = "refunds need a second person"
server = "payments"
tool = "refund"
expect = { decision = "approval", approval = "two_person" }

[[case]]
name = "drop_database is never allowed"
server = "payments"
tool = "drop_database"
expect = { decision = "deny" }

[[case]]
name = "a read tool on github flows"
server = "github"
tool = "list_issues"
annotations = { readOnlyHint = true }
expect = { decision = "allow", effect = "read" }
`;

  test('all cases pass: exit 0', async () => {
    const { dir, flags } = files({ 'cases.toml': CASES });
    const r = await cli([...flags, 'policy', 'test', join(dir, 'cases.toml')]);
    expect(r.stdout).toContain('3 passed, 0 failed');
    expect(r.code).toBe(0);
  });

  test('a mismatch: exit 11, with the case location and the rule that decided', async () => {
    const wrong = `${CASES}\n[[case]]\nname = "wrong on purpose"\nserver = "payments"\ntool = "charge"\nexpect = { decision = "allow" }\n`;
    const { dir, flags } = files({ 'cases.toml': wrong });
    const r = await cli([...flags, 'policy', 'test', join(dir, 'cases.toml')]);
    expect(r.code).toBe(11);
    expect(r.stdout).toMatch(
      /FAIL {2}wrong on purpose\n\s+decision: expected "allow", got "approval" {2}\(.*cases\.toml:\d+.*rule: category 'money'/,
    );
  });

  test('a malformed cases file: exit 2 naming the case', async () => {
    const { dir, flags } = files({
      'cases.toml': '[[case]]\nserver = "x"\ntool = "y"\nexpect = { verdict = "allow" }\n',
    });
    const r = await cli([...flags, 'policy', 'test', join(dir, 'cases.toml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cases\.toml:1.*unknown expect key\(s\) verdict/);
  });
});

describe('requirements check shows the tool policy', () => {
  test('every rule with its source, the revision, and the audit settings', async () => {
    const { flags } = files();
    const json = await cli([...flags, 'requirements', 'check', '--json']);
    const out = JSON.parse(json.stdout) as {
      gatehouse_policy: { revision: string; tools: { key: string; source: string }[] };
      gatehouse_audit: { fail_open: boolean };
    };
    expect(out.gatehouse_policy.revision).toMatch(/^pol-/);
    expect(out.gatehouse_policy.tools.map((t) => t.key).sort()).toEqual([
      '*/drop_database',
      'github/delete_*',
      'payments/*',
      'payments/refund',
    ]);
    expect(out.gatehouse_audit.fail_open).toBe(false);
    const text = await cli([...flags, 'requirements', 'check']);
    expect(text.stdout).toMatch(/gatehouse_policy: revision pol-[0-9a-f]{16}; read_only = false/);
    expect(text.stdout).toMatch(/payments\/refund\s+-\s+-\s+-\s+two_person/);
  });
});
