import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { writeFiles } from '../../test/support/fixtures.js';
import { loadConfig } from './load-config.js';
import { importMcpJson } from './mcp-json.js';

const load = (text: string) => {
  const dir = writeFiles({ 'c.toml': text });
  return loadConfig({
    sources: [{ kind: 'config_flag', file: join(dir, 'c.toml'), optional: false }],
    mcpJsonFiles: [],
  });
};

describe('.mcp.json import', () => {
  test.each([
    [
      'stdio with literal and ${VAR} env',
      { command: 'node', args: ['s.js'], env: { A: 'lit', GH_TOKEN: '${GH_TOKEN}' } },
      { type: 'stdio', command: 'node', args: ['s.js'], env: { A: 'lit' }, envVars: ['GH_TOKEN'] },
    ],
    [
      'http with Bearer ${VAR}',
      { type: 'http', url: 'https://x.example/mcp', headers: { Authorization: 'Bearer ${TOK}' } },
      { type: 'streamable_http', bearerTokenEnvVar: 'TOK', httpHeaders: null },
    ],
    [
      'http with header from env and a literal header',
      {
        type: 'http',
        url: 'https://x.example/mcp',
        headers: { 'X-Key': '${KEY}', 'X-Org': 'acme' },
      },
      { envHttpHeaders: { 'X-Key': 'KEY' }, httpHeaders: { 'X-Org': 'acme' } },
    ],
    ['url without type is HTTP', { url: 'https://x.example/mcp' }, { type: 'streamable_http' }],
    [
      'legacy sse type',
      { type: 'sse', url: 'https://x.example/sse' },
      { type: 'streamable_http', url: 'https://x.example/sse' },
    ],
  ])('%s', (_name, entry, expected) => {
    const dir = writeFiles({ 'm.json': JSON.stringify({ mcpServers: { s: entry } }) });
    const r = importMcpJson(join(dir, 'm.json'));
    expect(r.diagnostics).toEqual([]);
    expect(r.servers[0]?.transport).toMatchObject(expected);
  });

  test('errors name file, line, column and key', () => {
    const dir = writeFiles({
      'm.json': '{\n  "mcpServers": {\n    "s": { "type": "websocket", "url": "ws://x" }\n  }\n}\n',
    });
    const r = importMcpJson(join(dir, 'm.json'));
    expect(r.diagnostics[0]).toMatchObject({
      severity: 'error',
      key: 'mcpServers.s.type',
      location: { line: 3 },
    });
  });

  test('property: any JSON document yields servers or diagnostics, never an exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), fc.jsonValue(), (raw, server) => {
        const dir = writeFiles({
          'a.json': raw,
          'b.json': JSON.stringify({ mcpServers: { s: server } }),
        });
        importMcpJson(join(dir, 'a.json'));
        const r = importMcpJson(join(dir, 'b.json'));
        expect(r.servers.length + r.diagnostics.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe('config parsing', () => {
  test('every Codex field is accepted and normalised', () => {
    const r = load(`[mcp_servers.x]
url = "https://x.example/mcp"
bearer_token_env_var = "T"
http_headers = { A = "b" }
env_http_headers = { C = "D" }
http_headers_helper = "helper"
enabled = true
required = true
startup_timeout_ms = 2500
tool_timeout_sec = 45.5
enabled_tools = ["a"]
disabled_tools = ["b"]
default_tools_approval_mode = "writes"
tools = { a = { approval_mode = "approve" } }
supports_parallel_tool_calls = true
scopes = ["read"]
oauth = { client_id = "id", client_secret = "s", callback_port = 5555 }
oauth_resource = "https://x.example"
auth = "oauth"
startup_readiness = "catalog"
tool_input_schema_max_bytes = 8000
environment_id = "local"
name = "legacy display name"
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.servers[0]).toMatchObject({
      required: true,
      startupTimeoutSec: 2.5,
      toolTimeoutSec: 45.5,
      defaultToolsApprovalMode: 'writes',
      tools: { a: { approvalMode: 'approve' } },
      oauth: { clientId: 'id', callbackPort: 5555 },
      startupReadiness: 'catalog',
      toolInputSchemaMaxBytes: 8000,
    });
  });

  test('gatehouse_protocol_era: auto | legacy | modern; a wrong value is an error at its line', () => {
    const ok = load('[mcp_servers.x]\ncommand = "npx"\ngatehouse_protocol_era = "modern"\n');
    expect(ok.diagnostics).toEqual([]);
    expect(ok.servers[0]?.protocolEra).toBe('modern');
    expect(load('[mcp_servers.x]\ncommand = "npx"\n').servers[0]?.protocolEra).toBeUndefined();
    const bad = load('[mcp_servers.x]\ncommand = "npx"\ngatehouse_protocol_era = "2026"\n');
    expect(bad.diagnostics[0]).toMatchObject({
      severity: 'error',
      key: 'mcp_servers.x.gatehouse_protocol_era',
      location: { line: 3 },
    });
    expect(bad.diagnostics[0]?.message).toContain('`auto`, `legacy`, `modern`');
    const typo = load('[mcp_servers.x]\ncommand = "npx"\ngatehouse_protocol_eras = "auto"\n');
    expect(typo.diagnostics[0]?.hint).toBe('did you mean `gatehouse_protocol_era`?');
  });

  test('unknown fields warn with a suggestion', () => {
    const r = load('[mcp_servers.x]\ncommand = "npx"\nenv_var = ["A"]\n');
    expect(r.diagnostics[0]).toMatchObject({
      severity: 'warning',
      code: 'unknown_key',
      hint: 'did you mean `env_vars`?',
      location: { line: 3 },
    });
  });

  test('property: arbitrary server tables yield a server or located diagnostics, never an exception', () => {
    const key = fc.constantFrom(
      'command',
      'url',
      'args',
      'env',
      'env_vars',
      'cwd',
      'enabled',
      'startup_timeout_sec',
      'tools',
      'oauth',
      'auth',
      'bearer_token',
      'http_headers',
      'zzz',
    );
    const value = fc.oneof(
      fc.constant('"npx"'),
      fc.constant('"https://x.example/mcp"'),
      fc.constant('5'),
      fc.constant('-1.5'),
      fc.constant('true'),
      fc.constant('["a", 1]'),
      fc.constant('{ a = "b" }'),
      fc.constant('{ a = 1 }'),
      fc.constant('[{ name = "A", source = "x" }]'),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(key, value), { selector: (t) => t[0], maxLength: 6 }),
        (fields) => {
          const r = load(`[mcp_servers.s]\n${fields.map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
          const errors = r.diagnostics.filter((d) => d.severity === 'error');
          expect(r.servers.length === 1 || errors.length > 0).toBe(true);
          for (const d of errors) expect(d.location?.line).toBeGreaterThan(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
