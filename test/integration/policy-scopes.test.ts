import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

const REQUIREMENTS = `
[gatehouse_scopes]
enabled = true

[gatehouse_scopes.servers."payments"]
groups = ["finance", "eng"]

[gatehouse_policy.tools."payments/refund"]
groups = ["finance"]
approval = "two_person"
`;

const CONFIG = `
[mcp_servers.payments]
command = "npx"

[mcp_servers.wiki]
command = "npx"
`;

function files(extra: Record<string, string> = {}) {
  const dir = writeFiles({ 'requirements.toml': REQUIREMENTS, 'config.toml': CONFIG, ...extra });
  return {
    dir,
    flags: ['--requirements', join(dir, 'requirements.toml'), '--config', join(dir, 'config.toml')],
  };
}

const explain = (flags: string[], tool: string, ...who: string[]) =>
  cli([
    ...flags,
    'policy',
    'explain',
    '--server',
    tool.split('/')[0] as string,
    '--tool',
    tool.split('/')[1] as string,
    ...who,
    '--json',
  ]);

describe('policy explain --as / --groups', () => {
  test('the caller decides: in scope, out of the tool rule audience, out of the server', async () => {
    const { flags } = files();
    const fin = await explain(
      flags,
      'payments/refund',
      '--as',
      'user:alice',
      '--groups',
      'finance',
    );
    expect(fin.code, fin.stderr).toBe(0);
    expect(JSON.parse(fin.stdout)).toMatchObject({
      as: 'user:alice',
      groups: ['finance'],
      decision: 'approval',
      approval: 'two_person',
    });
    const dev = JSON.parse(
      (await explain(flags, 'payments/refund', '--as', 'user:bob', '--groups', 'eng')).stdout,
    );
    expect(dev).toMatchObject({
      decision: 'deny',
      rule: expect.stringContaining('payments/refund'),
    });
    expect(dev.reason).toMatch(
      /^scope: payments\/refund is for groups finance; user:bob \(groups eng\)/,
    );
    const wiki = JSON.parse(
      (await explain(flags, 'wiki/search', '--as', 'user:bob', '--groups', 'eng')).stdout,
    );
    expect(wiki).toMatchObject({
      decision: 'deny',
      rule: expect.stringContaining('gatehouse_scopes.enabled'),
    });
  });

  test('human output names the caller; a malformed --as is a usage error', async () => {
    const { flags } = files();
    const r = await cli([
      ...flags,
      'policy',
      'explain',
      '--server',
      'payments',
      '--tool',
      'refund',
      '--as',
      'service:ci',
      '--groups',
      'finance',
    ]);
    expect(r.stdout).toMatch(/as\s+service:ci \(groups finance\)/);
    const bad = await cli([
      ...flags,
      'policy',
      'explain',
      '--server',
      'payments',
      '--tool',
      'refund',
      '--as',
      'alice',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('user:SUBJECT');
  });
});

describe('policy test cases with a caller', () => {
  test('as / groups in a case; a wrong caller names the case line', async () => {
    const cases = `
[[case]]
name = "finance may refund with a second person"
server = "payments"
tool = "refund"
as = "user:alice"
groups = ["finance"]
expect = { decision = "approval", approval = "two_person" }

[[case]]
name = "engineering does not even see refund"
server = "payments"
tool = "refund"
as = "user:bob"
groups = ["eng"]
expect = { decision = "deny" }

[[case]]
name = "a service with no groups sees nothing"
server = "payments"
tool = "search"
as = "service:ci"
expect = { decision = "deny" }
`;
    const { dir, flags } = files({ 'cases.toml': cases });
    const r = await cli([...flags, 'policy', 'test', join(dir, 'cases.toml')]);
    expect(r.stdout, r.stderr).toContain('3 passed, 0 failed');
    const { dir: d2, flags: f2 } = files({
      'cases.toml':
        '[[case]]\nserver = "payments"\ntool = "refund"\nas = "bob"\nexpect = { decision = "deny" }\n',
    });
    const bad = await cli([...f2, 'policy', 'test', join(d2, 'cases.toml')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cases\.toml:\d+.*as \/ groups/);
  });
});

describe('requirements check shows who may see what', () => {
  test('scopes on, each server entry and each tool rule with an audience, with its layer', async () => {
    const { dir, flags } = files();
    const text = await cli([...flags, 'requirements', 'check']);
    expect(text.code, text.stderr).toBe(0);
    const at = join(dir, 'requirements.toml');
    expect(text.stdout).toContain(
      `gatehouse_scopes: on (${at}): a server no entry covers is nobody's`,
    );
    expect(text.stdout).toMatch(new RegExp(`server payments +groups finance, eng +${at}`));
    expect(text.stdout).toMatch(new RegExp(`tools payments/refund +groups finance +${at}`));
    const json = await cli([...flags, 'requirements', 'check', '--json']);
    expect(JSON.parse(json.stdout).gatehouse_scopes).toEqual({
      enabled: true,
      enabled_by: at,
      servers: [{ server: 'payments', subjects: [], groups: ['finance', 'eng'], source: at }],
      narrowing: [],
      tool_rules: [
        {
          tools: 'payments/refund',
          subjects: [],
          groups: ['finance'],
          narrowing: false,
          source: at,
        },
      ],
    });
  });

  test('no scopes: no summary, and null in --json', async () => {
    const dir = writeFiles({ 'r.toml': '[gatehouse_policy]\nread_only = false\n' });
    const flags = ['--requirements', join(dir, 'r.toml')];
    expect((await cli([...flags, 'requirements', 'check'])).stdout).not.toContain(
      'gatehouse_scopes',
    );
    const json = await cli([...flags, 'requirements', 'check', '--json']);
    expect(JSON.parse(json.stdout).gatehouse_scopes).toBeNull();
  });
});
