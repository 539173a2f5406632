import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { cli } from '../support/run-cli.js';
import { writeFiles } from '../support/fixtures.js';
import { urlPrefixMismatch } from '../../src/requirements/url-prefix.js';
import { maskArgs } from '../../src/masking/mask-text.js';

const SECRETS = [
  'sk-live-supersecretvalue123',
  'hunter2-header-value',
  'p4ssw0rd-in-url',
  'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  'cli-flag-secret-42',
];

const SECRET_CONFIG = `
[mcp_servers.docs]
command = "npx"
args = ["-y", "pkg", "--token", "${SECRETS[4]}", "--key=${SECRETS[3]}"]
env = { API_KEY = "${SECRETS[0]}" }

[mcp_servers.web]
url = "https://user:${SECRETS[2]}@mcp.example.com/mcp"
http_headers = { "X-Api-Key" = "${SECRETS[1]}" }
`;

describe('the bundled example (npm start)', () => {
  test('lists allowed and disabled servers, each with its reason code', async () => {
    const r = await cli([
      '--config',
      'examples/config.toml',
      '--requirements',
      'examples/requirements.toml',
      'mcp',
      'list',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const byName = Object.fromEntries(
      (
        JSON.parse(r.stdout) as {
          name: string;
          disabled_reason_code: string | null;
          enabled: boolean;
        }[]
      ).map((s) => [s.name, s]),
    );
    expect(byName.everything).toMatchObject({ enabled: true, disabled_reason_code: null });
    expect(byName.memory).toMatchObject({
      enabled: false,
      disabled_reason_code: 'identity_mismatch',
    });
    expect(byName.legacy_fs).toMatchObject({
      enabled: false,
      disabled_reason_code: 'not_allowlisted',
    });
    expect(byName.linear_mirror).toMatchObject({
      enabled: false,
      disabled_reason_code: 'identity_mismatch',
    });
    expect(byName.notes).toMatchObject({ enabled: false, disabled_reason_code: 'user' });
  });

  test('the table has Codex columns and a Why disabled section', async () => {
    const r = await cli([
      '--config',
      'examples/config.toml',
      '--requirements',
      'examples/requirements.toml',
      'mcp',
      'list',
    ]);
    expect(r.stdout).toMatch(/^Name +Command +Args +Env +Cwd +Status +Auth *$/m);
    expect(r.stdout).toMatch(/^Name +Url +Bearer Token Env Var +Status +Auth *$/m);
    expect(r.stdout).toContain(
      `disabled: requirements (${join(process.cwd(), 'examples/requirements.toml')})`,
    );
    expect(r.stdout).toContain('Why disabled:');
  });
});

describe('no secret value appears in any output', () => {
  const dir = writeFiles({
    'config.toml': SECRET_CONFIG,
    'req.toml': '[mcp_servers.docs.identity]\ncommand = "npx"\n',
  });
  const base = ['--config', join(dir, 'config.toml'), '--requirements', join(dir, 'req.toml')];
  test.each([
    [['mcp', 'list']],
    [['mcp', 'list', '--json']],
    [['mcp', 'get', 'docs']],
    [['mcp', 'get', 'docs', '--json']],
    [['mcp', 'get', 'web', '--json']],
    [['requirements', 'explain', 'web']],
    [['requirements', 'explain', 'docs', '--json']],
  ])('%j', async (args) => {
    const r = await cli([...base, ...args]);
    for (const secret of SECRETS) {
      expect(r.stdout).not.toContain(secret);
      expect(r.stderr).not.toContain(secret);
    }
    expect(r.stdout).toContain('*****');
  });

  test('not in error snippets either', async () => {
    const bad = writeFiles({
      'c.toml': `[mcp_servers.x]\ncommand = "npx"\nenv = { API_KEY = "${SECRETS[0]}", N = 5 }\n`,
    });
    const r = await cli(['--config', join(bad, 'c.toml'), 'mcp', 'list']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('mcp_servers.x.env.N');
    expect(r.stderr).not.toContain(SECRETS[0]);
  });

  test('property: secret-named flag values are always masked in args', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('--token', '--api-key', '--password', '--client-secret'),
        fc
          .string({ minLength: 8, maxLength: 40 })
          .filter((s) => !s.startsWith('-') && s.trim() === s && s.length > 0),
        (flag, value) => {
          expect(maskArgs([flag, value]).join(' ')).not.toContain(value);
          expect(maskArgs([`${flag}=${value}`]).join(' ')).not.toContain(value);
        },
      ),
    );
  });
});

describe('bad input: a clear message naming file, line and key, and a stable exit code', () => {
  test('missing --config file → 3', async () => {
    const r = await cli(['--config', '/nonexistent/gatehouse.toml', 'mcp', 'list']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('/nonexistent/gatehouse.toml: file not found');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('invalid TOML → 3 with line and column', async () => {
    const d = writeFiles({ 'c.toml': '[mcp_servers.x]\ncommand = "npx\n' });
    const r = await cli(['--config', join(d, 'c.toml'), 'mcp', 'list']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/c\.toml:2:\d+: invalid TOML/);
  });

  test.each([
    ['url = "http://x/mcp"\ncommand = "npx"', 'url is not supported for stdio'],
    ['url = "http://x/mcp"\nenv = { A = "b" }', 'env is not supported for streamable_http'],
    ['args = ["a"]', 'invalid transport'],
    ['command = 5', 'invalid type: integer `5`, expected a string'],
    [
      'command = "npx"\nenv_vars = [{ name = "A", source = "cloud" }]',
      'unsupported env_vars source `cloud`',
    ],
    ['command = "npx"\nstartup_timeout_sec = -1', 'value is negative'],
    ['command = "npx"\ndefault_tools_approval_mode = "bogus"', 'unknown variant `bogus`'],
    [
      'url = "http://x/mcp"\noauth = { client_secret = "s" }',
      'oauth.client_secret requires oauth.client_id',
    ],
  ])('%s → %s', async (body, message) => {
    const d = writeFiles({ 'c.toml': `[mcp_servers.x]\n${body}\n` });
    const r = await cli(['--config', join(d, 'c.toml'), 'mcp', 'list']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toMatch(/c\.toml:\d+:\d+: mcp_servers\.x/);
  });

  test('a server defined in TOML and in an imported .mcp.json → 3 naming both places', async () => {
    const d = writeFiles({
      'c.toml': '[mcp_servers.docs]\ncommand = "npx"\n',
      'm.json': '{\n  "mcpServers": {\n    "docs": { "command": "node" }\n  }\n}\n',
    });
    const r = await cli([
      '--config',
      join(d, 'c.toml'),
      '--mcp-json',
      join(d, 'm.json'),
      'mcp',
      'list',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`m.json:3:5`);
    expect(r.stderr).toContain(`already defined at ${join(d, 'c.toml')}:1`);
  });

  test('.mcp.json ${VAR} references become env forwarding, never literal values', async () => {
    const d = writeFiles({
      'm.json': JSON.stringify({
        mcpServers: {
          gh: {
            type: 'http',
            url: 'https://api.example.com/mcp',
            headers: { Authorization: 'Bearer ${GH_TOKEN}' },
          },
        },
      }),
    });
    const r = await cli(['--mcp-json', join(d, 'm.json'), 'mcp', 'get', 'gh', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).transport.bearer_token_env_var).toBe('GH_TOKEN');
  });

  test('unknown server → 6 with Codex wording', async () => {
    const r = await cli(['--config', 'examples/config.toml', 'mcp', 'get', 'nope']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain("Error: No MCP server named 'nope' found.");
  });

  test('usage error → 2', async () => {
    expect((await cli(['mcp', 'lst'])).code).toBe(2);
  });

  test.each([
    [['--help']],
    [['mcp', 'list', '--help']],
    [['mcp', 'get', '--help']],
    [['requirements', 'check', '--help']],
    [['requirements', 'explain', '--help']],
  ])('%j → 0 with usage', async (args) => {
    const r = await cli(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage:');
  });
});

describe('requirements check', () => {
  test('valid → 0 and lists each rule with file:line', async () => {
    const r = await cli([
      '--requirements',
      'examples/requirements.toml',
      'requirements',
      'check',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.mcp_servers.rules.map((x: { name: string }) => x.name)).toContain('memory');
    expect(out.layers[0]).toMatchObject({ status: 'skipped' });
  });

  test('a typo Codex would silently ignore → warning with a suggestion, exit 5', async () => {
    const d = writeFiles({ 'r.toml': '[mcp_server.docs.identity]\ncommand = "npx"\n' });
    const r = await cli(['--requirements', join(d, 'r.toml'), 'requirements', 'check', '--json']);
    expect(r.code).toBe(5);
    const diag = JSON.parse(r.stdout).diagnostics[0];
    expect(diag).toMatchObject({ code: 'unknown_key', line: 1, key: 'mcp_server' });
    expect(diag.hint).toContain('mcp_servers');
  });

  test('--strict turns that warning into fail-closed', async () => {
    const d = writeFiles({
      'r.toml': '[mcp_server.docs.identity]\ncommand = "npx"\n',
      'c.toml': '[mcp_servers.docs]\ncommand = "npx"\n',
    });
    const r = await cli([
      '--strict',
      '--config',
      join(d, 'c.toml'),
      '--requirements',
      join(d, 'r.toml'),
      'mcp',
      'list',
      '--json',
    ]);
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({
      enabled: false,
      disabled_reason_code: 'requirements_invalid',
    });
  });

  test('requirements check --strict: the same warning is an error (exit 4, fail closed)', async () => {
    const d = writeFiles({ 'r.toml': '[mcp_server.docs.identity]\ncommand = "npx"\n' });
    const r = await cli([
      '--strict',
      '--requirements',
      join(d, 'r.toml'),
      'requirements',
      'check',
      '--json',
    ]);
    expect(r.code).toBe(4);
    expect(JSON.parse(r.stdout)).toMatchObject({
      valid: false,
      fail_closed: true,
      diagnostics: [{ severity: 'error', code: 'unknown_key' }],
    });
  });

  test('missing identity → 4, naming the key', async () => {
    const d = writeFiles({ 'r.toml': '[mcp_servers.docs]\n' });
    const r = await cli(['--requirements', join(d, 'r.toml'), 'requirements', 'check']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('missing field `identity` in `mcp_servers.docs`');
  });

  test('the base64 env channel is a layer; invalid base64 fails closed', async () => {
    const good = Buffer.from('[mcp_servers.docs.identity]\ncommand = "npx"\n').toString('base64');
    const ok = await cli(['requirements', 'check', '--json'], {
      GATEHOUSE_REQUIREMENTS_TOML_BASE64: good,
    });
    expect(JSON.parse(ok.stdout).mcp_servers.sources).toContain(
      'env GATEHOUSE_REQUIREMENTS_TOML_BASE64',
    );
    const bad = await cli(['requirements', 'check'], {
      GATEHOUSE_REQUIREMENTS_TOML_BASE64: '%%%not base64',
    });
    expect(bad.code).toBe(4);
  });

  test('a higher layer replaces a same-name rule whole', async () => {
    const d = writeFiles({
      'low.toml':
        '[mcp_servers.docs.identity]\ncommand = "npx"\nsha256 = "' + 'a'.repeat(64) + '"\n',
      'high.toml': '[mcp_servers.docs.identity]\ncommand = "uvx"\n',
      'c.toml': '[mcp_servers.docs]\ncommand = "npx"\n',
    });
    const r = await cli([
      '--config',
      join(d, 'c.toml'),
      '--requirements',
      join(d, 'low.toml'),
      '--requirements',
      join(d, 'high.toml'),
      'mcp',
      'list',
      '--json',
    ]);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({
      enabled: false,
      disabled_reason_code: 'identity_mismatch',
      rule_source: join(d, 'high.toml'),
    });
  });
});

describe('URL prefix respects URL structure (property)', () => {
  test('no host suffix, userinfo or port trick passes a prefix', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z]{1,10}$/),
        fc.constantFrom('.evil.com/mcp', '@evil.com/', ':8443/mcp', 'x/mcp', '.', '-evil.com'),
        (label, trick) => {
          const prefix = `https://${label}.example.com`;
          expect(urlPrefixMismatch(prefix, `${prefix}${trick}`)).not.toBeNull();
          expect(urlPrefixMismatch(prefix, `${prefix}/mcp`)).toBeNull();
        },
      ),
    );
  });
});

describe('empty names are errors, never silently accepted', () => {
  test('in config', async () => {
    const d = writeFiles({ 'c.toml': '[mcp_servers.""]\ncommand = "npx"\n' });
    const r = await cli(['--config', join(d, 'c.toml'), 'mcp', 'list']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('server name is empty');
  });

  test('in requirements (fail closed)', async () => {
    const d = writeFiles({ 'r.toml': '[mcp_servers."".identity]\ncommand = "npx"\n' });
    const r = await cli(['--requirements', join(d, 'r.toml'), 'requirements', 'check']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/r\.toml:1:1: .*server name is empty/);
  });
});
