import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

// Issue 14 item 1: in the two-level deployment the governed user sets
// GATEHOUSE_REQUIREMENTS_TOML_BASE64 in the `env` table of their own Codex entry. With an
// admin-owned system file that layer may only tighten.
const SYSTEM = `
[mcp_servers.payments.identity]
command = "node"

[gatehouse_policy]
read_only = true
default_approval = "gatehouse"

[gatehouse_policy.tools."payments/refund"]
allow = false
`;
const LOOSENING = `
[mcp_servers.payments.identity]
command = "node"
[mcp_servers.shell.identity]
command = "bash"

[gatehouse_policy]
read_only = false
default_approval = "client"

[gatehouse_policy.tools."payments/refund"]
allow = true
`;
const CONFIG = `
[mcp_servers.payments]
command = "node"
default_tools_approval_mode = "approve"
[mcp_servers.shell]
command = "bash"
`;

function setup() {
  const dir = writeFiles({ 'system.toml': SYSTEM, 'config.toml': CONFIG, 'user.toml': LOOSENING });
  const io = {
    systemRequirementsFile: join(dir, 'system.toml'),
    requirementsOwnership: () => ({ adminOwned: true, why: 'owned by root (test)' }),
  };
  const env = { GATEHOUSE_REQUIREMENTS_TOML_BASE64: Buffer.from(LOOSENING).toString('base64') };
  return { dir, io, env, config: ['--config', join(dir, 'config.toml')] };
}

describe('an admin-owned system file is a floor the user layers cannot loosen', () => {
  test('requirements check --json: every layer with its role and effect, and what was ignored', async () => {
    const { io, env } = setup();
    const r = await cli(['requirements', 'check', '--json'], env, io);
    expect(r.code).toBe(5);
    const out = JSON.parse(r.stdout);
    expect(out.admin_floor).toBe(true);
    expect(out.layers).toMatchObject([
      { kind: 'system_file', status: 'loaded', role: 'admin', effect: 'full' },
      { kind: 'env', status: 'loaded', role: 'user', effect: 'tighten_only' },
    ]);
    expect(out.layers[1].ignored.join('\n')).toMatch(/shell[\s\S]*read_only = false[\s\S]*client/);
    expect(out.gatehouse_policy).toMatchObject({ read_only: true, default_approval: 'gatehouse' });
    expect(out.mcp_servers.rules.map((x: { name: string }) => x.name)).toEqual(['payments']);
  });

  test('requirements check (text) says the env layer is tighten-only and names each ignored setting', async () => {
    const { io, env } = setup();
    const r = await cli(['requirements', 'check'], env, io);
    expect(r.stdout).toMatch(/loaded +admin +applied .*system\.toml/);
    expect(r.stdout).toMatch(/loaded +user +tighten-only +env GATEHOUSE_REQUIREMENTS_TOML_BASE64/);
    expect(r.stdout).toContain(
      'IGNORED (would loosen the admin layer): gatehouse_policy.read_only = false',
    );
  });

  test('the flag channel neither skips the admin file nor loosens it', async () => {
    const { io, dir, config } = setup();
    const r = await cli(
      [...config, '--requirements', join(dir, 'user.toml'), 'mcp', 'list', '--json'],
      {},
      io,
    );
    const servers = JSON.parse(r.stdout) as { name: string; enabled: boolean }[];
    expect(servers.find((s) => s.name === 'shell')?.enabled).toBe(false);
    expect(servers.find((s) => s.name === 'payments')?.enabled).toBe(true);
  });

  test('policy explain: refund stays denied, and the user mode "approve" cannot skip approval', async () => {
    const { io, env, config } = setup();
    const refund = await cli(
      [...config, 'policy', 'explain', '--server', 'payments', '--tool', 'refund', '--json'],
      env,
      io,
    );
    expect(JSON.parse(refund.stdout)).toMatchObject({ decision: 'deny' });
    const read = await cli(
      [...config, 'policy', 'explain', '--server', 'payments', '--tool', 'note', '--json'],
      env,
      io,
    );
    // read_only stays on: a tool with no annotations is not a read
    expect(JSON.parse(read.stdout)).toMatchObject({ decision: 'deny' });
  });
});

describe('issue 14 item 12: default_approval = "gatehouse" is a floor for the user approval mode', () => {
  test('default_tools_approval_mode = "approve" does not switch it off', async () => {
    const dir = writeFiles({
      'r.toml': '[gatehouse_policy]\ndefault_approval = "gatehouse"\n',
      'config.toml': CONFIG,
    });
    const r = await cli([
      '--config',
      join(dir, 'config.toml'),
      '--requirements',
      join(dir, 'r.toml'),
      'policy',
      'explain',
      '--server',
      'payments',
      '--tool',
      'transfer',
      '--json',
    ]);
    expect(JSON.parse(r.stdout)).toMatchObject({
      decision: 'approval',
      level: 'prompt',
      rule: expect.stringContaining('default_approval = "gatehouse"'),
    });
  });
});
