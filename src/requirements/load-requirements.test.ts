import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { server, stdio, writeFiles } from '../../test/support/fixtures.js';
import { decideToolCall } from '../policy/decide-tool-call.js';
import { policyRevision } from '../policy/revision.js';
import { constrainServers } from './apply-requirements.js';
import { loadRequirements } from './load-requirements.js';
import type { Ownership } from './file-ownership.js';

/** The system file as a single developer's own file (not a floor). */
const userOwned = (): Ownership => ({ adminOwned: false, why: 'owned by you (test)' });

describe('loadRequirements layers', () => {
  const dir = writeFiles({
    'system.toml': '[mcp_servers.sys.identity]\ncommand = "npx"\n',
    'flag.toml': '[mcp_servers.flag.identity]\ncommand = "npx"\n',
  });
  const systemFile = join(dir, 'system.toml');

  test('system file, then env, then flags: union by name, each rule keeps its source', () => {
    const env = {
      GATEHOUSE_REQUIREMENTS_TOML_BASE64: Buffer.from(
        '[mcp_servers.env.identity]\ncommand = "uvx"\n',
      ).toString('base64'),
    };
    const r = loadRequirements({ requirementFiles: [], env, systemFile, ownership: userOwned });
    expect([...(r.requirements.mcpServers?.rules.keys() ?? [])].sort()).toEqual(['env', 'sys']);
    expect(r.requirements.mcpServers?.rules.get('env')?.source).toEqual({
      kind: 'env',
      name: 'GATEHOUSE_REQUIREMENTS_TOML_BASE64',
    });
    expect(r.layers.map((l) => l.status)).toEqual(['loaded', 'loaded']);
  });

  test('--requirements skips the system file, and says so loudly when that file exists', () => {
    const r = loadRequirements({
      requirementFiles: [join(dir, 'flag.toml')],
      env: {},
      systemFile,
      ownership: userOwned,
    });
    expect([...(r.requirements.mcpServers?.rules.keys() ?? [])]).toEqual(['flag']);
    expect(r.layers[0]).toMatchObject({
      status: 'skipped',
      note: expect.stringContaining('EXISTS and is NOT enforced'),
    });
  });

  test('an absent system file is not an error; an unreadable one fails closed', () => {
    expect(
      loadRequirements({ requirementFiles: [], env: {}, systemFile: join(dir, 'nope.toml') })
        .invalid,
    ).toBe(false);
    const r = loadRequirements({ requirementFiles: [], env: {}, systemFile: dir });
    expect(r.invalid).toBe(true);
    expect(r.diagnostics[0]?.message).toContain('is a directory');
  });
});

const ADMIN = `
[mcp_servers.payments.identity]
command = "node"
[mcp_servers.docs.identity]
command = "npx"

[gatehouse_policy]
read_only = true
default_approval = "gatehouse"
approval_ttl_seconds = 600

[gatehouse_policy.tools."payments/refund"]
allow = false
[gatehouse_policy.tools."payments/*"]
category = "money"
approval = "two_person"

[gatehouse_audit]
fail_open = false
store = "postgres://audit@db.example.com/audit"
`;

// What a governed user puts in the `env` table of their own `gatehouse run NAME` entry.
const LOOSENING = `
[mcp_servers.payments.identity]
command = "node"
[mcp_servers.docs.identity]
command = "npx"
[mcp_servers.shell.identity]
command = "bash"

[gatehouse_policy]
read_only = false
default_approval = "client"
approval_ttl_seconds = 86400

[gatehouse_policy.tools."payments/refund"]
allow = true
approval = "never"
[gatehouse_policy.tools."payments/*"]
approval = "never"
effect = "read"

[gatehouse_audit]
fail_open = true
store = "sqlite:/tmp/mine.db"

[gatehouse_masking]
exempt_servers = ["payments"]
`;

const adminOwned = (): Ownership => ({ adminOwned: true, why: 'owned by root (test)' });
const b64 = (t: string) => Buffer.from(t).toString('base64');

describe('an admin-owned system file is a floor (issue 14 item 1)', () => {
  const dir = writeFiles({
    'system.toml': ADMIN,
    'loosen.toml': LOOSENING,
    'tighten.toml':
      '[mcp_servers.payments.identity]\ncommand = "node"\n[gatehouse_policy.tools."payments/export"]\nallow = false\n[gatehouse_audit]\ncheckpoint_every_records = 10\n',
  });
  const systemFile = join(dir, 'system.toml');
  const load = (env: Record<string, string>, requirementFiles: string[] = []) =>
    loadRequirements({ requirementFiles, env, systemFile, ownership: adminOwned });

  test('the env channel cannot drop a rule, allow = false, read_only, default_approval or fail_open', () => {
    const r = load({ GATEHOUSE_REQUIREMENTS_TOML_BASE64: b64(LOOSENING) });
    const req = r.requirements;
    expect(req.policy.readOnly).toBe(true);
    expect(req.policy.defaultApproval).toBe('gatehouse');
    expect(req.policy.approvalTtlSeconds).toBe(600);
    expect(req.audit.failOpen?.value).toBe(false);
    expect(req.audit.store?.value).toBe('postgres://audit@db.example.com/audit');
    expect(req.masking.exemptServers).toEqual([]);
    expect([...(req.mcpServers?.rules.keys() ?? [])].sort()).toEqual(['docs', 'payments']);
    const decide = (tool: string) =>
      decideToolCall({
        server: 'payments',
        tool,
        annotations: { readOnlyHint: true },
        user: { toolMode: 'approve', defaultMode: 'approve' },
        policy: { ...req.policy, readOnly: false },
        policyRevision: policyRevision(req.policy),
      });
    expect(decide('refund').decision).toBe('deny');
    expect(decide('charge')).toMatchObject({ level: 'two_person', category: 'money' });
    expect(r.layers.map((l) => [l.role, l.effect])).toEqual([
      ['admin', 'full'],
      ['user', 'tighten_only'],
    ]);
    const ignored = r.layers[1]?.ignored.join('\n') ?? '';
    for (const what of [
      'shell',
      'read_only = false',
      'default_approval = "client"',
      'fail_open = true',
      'gatehouse_audit.store',
      'approval_ttl_seconds',
      'exempt_servers',
    ])
      expect(ignored).toContain(what);
    expect(r.diagnostics.filter((d) => d.code === 'loosening_ignored').length).toBe(
      r.layers[1]?.ignored.length,
    );
    expect(r.invalid).toBe(false);
  });

  test('with --strict an attempt to loosen is an error: fail closed', () => {
    const r = loadRequirements({
      requirementFiles: [],
      env: { GATEHOUSE_REQUIREMENTS_TOML_BASE64: b64(LOOSENING) },
      systemFile,
      ownership: adminOwned,
      strict: true,
    });
    expect(r.invalid).toBe(true);
  });

  test('--requirements no longer skips an admin-owned system file; it may only tighten', () => {
    const r = load({}, [join(dir, 'loosen.toml')]);
    expect(r.layers[0]).toMatchObject({ status: 'loaded', role: 'admin' });
    expect(r.layers[2]).toMatchObject({ role: 'user', effect: 'tighten_only' });
    expect(r.requirements.policy.readOnly).toBe(true);
    expect(r.requirements.mcpServers?.rules.has('shell')).toBe(false);
  });

  test('a user layer can tighten: fewer servers, an added deny, a shorter checkpoint interval', () => {
    const r = load({}, [join(dir, 'tighten.toml')]);
    expect([...(r.requirements.mcpServers?.rules.keys() ?? [])]).toEqual(['payments']);
    expect(r.requirements.policy.tighteningRules?.map((t) => t.key)).toEqual(['payments/export']);
    expect(r.requirements.audit.checkpointEveryRecords?.value).toBe(10);
    expect(r.layers[2]?.ignored).toEqual([]);
    expect(r.diagnostics).toEqual([]);
  });

  test('a user identity for an admin name must hold too (narrowing, never widening)', () => {
    const r = load({
      GATEHOUSE_REQUIREMENTS_TOML_BASE64: b64(
        '[mcp_servers.payments.identity]\ncommand = "other"\n',
      ),
    });
    const decisions = constrainServers([server('payments', stdio('node'))], r.requirements, {
      mode: 'gatehouse',
    }).value;
    expect(decisions[0]?.enabled).toBe(false);
    expect(decisions[0]?.disabledReason?.detail).toContain('other');
  });

  test('without an admin-owned layer the env layer applies in full (a single developer)', () => {
    const r = loadRequirements({
      requirementFiles: [],
      env: { GATEHOUSE_REQUIREMENTS_TOML_BASE64: b64(LOOSENING) },
      systemFile: join(dir, 'absent.toml'),
      ownership: adminOwned,
    });
    expect(r.requirements.policy.readOnly).toBe(false);
    expect(r.layers.map((l) => l.effect)).toEqual(['none', 'full']);
    expect(r.adminFloor).toBe(false);
  });

  test('a system file the user can change is not a floor, and says why', () => {
    const r = loadRequirements({
      requirementFiles: [],
      env: { GATEHOUSE_REQUIREMENTS_TOML_BASE64: b64(LOOSENING) },
      systemFile,
      ownership: userOwned,
    });
    expect(r.requirements.policy.readOnly).toBe(false);
    expect(r.layers[0]?.note).toContain('not admin-owned (owned by you (test))');
  });
});
