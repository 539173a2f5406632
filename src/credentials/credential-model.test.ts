import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../../test/support/run-cli.js';
import { writeFiles } from '../../test/support/fixtures.js';
import { parseLayer } from '../../test/support/requirements-layer.js';

const CONFIG = `
[mcp_servers.payments]
url = "https://payments.example.com/mcp"
bearer_token_env_var = "PAYMENTS_TOKEN"

[mcp_servers.crm]
url = "https://crm.example.com/mcp"
[mcp_servers.crm.gatehouse_credentials]
model = "user"
client_id = "gatehouse-crm"

[mcp_servers.docs]
url = "https://docs.example.com/mcp"

[mcp_servers.search]
url = "https://search.example.com/mcp"
[mcp_servers.search.gatehouse_credentials]
model = "service"
bearer = { file = "/nonexistent/search-token" }
`;

const REQUIREMENTS = `
[gatehouse_credentials]
credential_model = ["user", "exchange", "none", "service"]
[gatehouse_credentials.servers.payments]
credential_model = "user"
[gatehouse_credentials.servers.crm]
credential_model = ["user", "exchange"]
`;

async function list(config: string, requirements: string, args: string[] = ['--json']) {
  const dir = writeFiles({ 'config.toml': config, 'requirements.toml': requirements });
  return cli([
    '--config',
    join(dir, 'config.toml'),
    '--requirements',
    join(dir, 'requirements.toml'),
    'mcp',
    'list',
    ...args,
  ]);
}

describe('credential model per server', () => {
  it('a server whose model breaks the requirement is disabled with the rule and the fix', async () => {
    const r = await list(CONFIG, REQUIREMENTS);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Record<string, unknown>[];
    const by = Object.fromEntries(out.map((s) => [s.name, s]));
    expect(by.payments).toMatchObject({
      enabled: false,
      disabled_reason_code: 'credential_model_mismatch',
      credentials: { model: 'service', from: 'bearer_token_env_var' },
    });
    expect(String(by.payments?.disabled_detail)).toContain(
      'credential model "service" (from bearer_token_env_var) is not allowed: gatehouse_credentials.servers.payments.credential_model = "user"',
    );
    expect(String(by.payments?.disabled_detail)).toContain(
      'set [mcp_servers.payments.gatehouse_credentials] model = "user"',
    );
    expect(by.crm).toMatchObject({
      enabled: true,
      credentials: { model: 'user', state: 'login_required' },
    });
    expect(by.docs).toMatchObject({ enabled: true, credentials: { model: 'none' } });
    // A secret reference that cannot be read is a state, with the reason (never a value).
    expect(by.search).toMatchObject({
      enabled: true,
      credentials: { model: 'service', state: 'unreadable' },
    });
    expect(String((by.search?.credentials as { detail: string }).detail)).toContain(
      'secret file /nonexistent/search-token does not exist',
    );
  });

  it('without credential rules every model is allowed', async () => {
    const r = await list(CONFIG, '');
    const out = JSON.parse(r.stdout) as { name: string; enabled: boolean }[];
    expect(out.every((s) => s.enabled)).toBe(true);
  });

  it('the human list shows model and state, and why a server is disabled', async () => {
    const r = await list(CONFIG, REQUIREMENTS, []);
    expect(r.stdout).toMatch(/Credentials \(whose credential reaches each server\):/);
    expect(r.stdout).toMatch(/^ {2}crm +user +login_required: run `gatehouse login crm`$/m);
    expect(r.stdout).toMatch(/payments +credential_model_mismatch: credential model "service"/);
  });

  it('mcp get shows the model', async () => {
    const dir = writeFiles({ 'config.toml': CONFIG });
    const r = await cli(['--config', join(dir, 'config.toml'), 'mcp', 'get', 'crm']);
    expect(r.stdout).toContain('  credentials: user (gatehouse_credentials.model): login_required');
  });
});

describe('gatehouse_credentials in config', () => {
  async function load(table: string) {
    const dir = writeFiles({
      'config.toml': `[mcp_servers.x]\nurl = "https://x.example.com/mcp"\n${table}`,
    });
    return cli(['--config', join(dir, 'config.toml'), 'mcp', 'list', '--json']);
  }

  it.each([
    [
      '[mcp_servers.x.gatehouse_credentials]\nmodel = "service"\nbearer = "sk-live-0123456789abcdef"',
      'a literal secret is not accepted here',
    ],
    ['[mcp_servers.x.gatehouse_credentials]\nmodel = "user"', 'model = "user" needs `client_id`'],
    [
      '[mcp_servers.x.gatehouse_credentials]\nmodel = "exchange"\nclient_id = "g"',
      'model = "exchange" needs `client_secret`',
    ],
    [
      '[mcp_servers.x.gatehouse_credentials]\nmodel = "service"\nbearer = { file = "relative" }',
      'a secret file must be an absolute path',
    ],
    [
      '[mcp_servers.x.gatehouse_credentials]\nmodel = "none"\nbearer = { env = "T" }',
      '`bearer` does not apply to model = "none"',
    ],
    ['[mcp_servers.x.gatehouse_credentials]\nmodle = "user"', 'did you mean `model`?'],
    [
      '[mcp_servers.x.gatehouse_credentials]\nmodel = "exchange"\nclient_id = "g"\nclient_secret = { env = "S" }\ntoken_endpoint = "http://idp.example.com/token"',
      'token_endpoint is not an absolute https URL',
    ],
  ])('refuses %#, naming the key', async (table, message) => {
    const r = await load(table);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('mcp_servers.x.gatehouse_credentials');
    expect(r.stderr).not.toContain('sk-live-0123456789abcdef');
  });

  it('a user model cannot keep a static credential for everyone', async () => {
    const dir = writeFiles({
      'config.toml': `[mcp_servers.x]\nurl = "https://x.example.com/mcp"\nbearer_token_env_var = "T"\n[mcp_servers.x.gatehouse_credentials]\nmodel = "user"\nclient_id = "g"\n`,
    });
    const r = await cli(['--config', join(dir, 'config.toml'), 'mcp', 'list']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('bearer_token_env_var sets a credential for everyone');
  });
});

describe('[gatehouse_credentials] in requirements', () => {
  it('parses one model or a list, per server and for every server', () => {
    const layer = parseLayer(
      '[gatehouse_credentials]\ncredential_model = ["user"]\n[gatehouse_credentials.servers."prod db"]\ncredential_model = "exchange"\n',
    );
    expect(layer.diagnostics).toEqual([]);
    expect(layer.layer.credentials.everyServer?.allowed).toEqual(['user']);
    expect(layer.layer.credentials.servers.get('prod db')).toMatchObject({
      allowed: ['exchange'],
      key: 'gatehouse_credentials.servers."prod db".credential_model',
    });
  });

  it.each([
    ['[gatehouse_credentials]\ncredential_model = "oauth"', 'expected a credential model'],
    ['[gatehouse_credentials]\ncredential_model = []', 'non-empty list'],
    ['[gatehouse_credentials.servers.x]\nmodel = "user"', 'missing `credential_model`'],
  ])('refuses %#', (text, message) => {
    const layer = parseLayer(text);
    expect(layer.diagnostics.map((d) => d.message).join('\n')).toContain(message);
  });
});

describe('inventory check', () => {
  it('reports a server whose credential model breaks the requirement as a violation', async () => {
    const dir = writeFiles({ 'config.toml': CONFIG, 'requirements.toml': REQUIREMENTS });
    const r = await cli([
      '--config',
      join(dir, 'config.toml'),
      '--requirements',
      join(dir, 'requirements.toml'),
      'inventory',
      'check',
      '--json',
    ]);
    expect(r.code).toBe(15);
    const out = JSON.parse(r.stdout) as { findings: { rule: string; subject: unknown }[] };
    expect(out.findings).toContainEqual(
      expect.objectContaining({
        rule: 'credential_model_not_allowed',
        subject: { kind: 'server', id: 'payments' },
      }),
    );
  });
});
