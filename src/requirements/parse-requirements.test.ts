import { describe, expect, test } from 'vitest';
import { parseTomlDocument } from '../config/toml-document.js';
import { parseLayer } from '../../test/support/requirements-layer.js';
import fc from 'fast-check';
import { parseRequirementsLayer } from './parse-requirements.js';
import { composeRequirementLayers } from './load-requirements.js';
import type { RequirementSource } from './model.js';

const SRC: RequirementSource = { kind: 'flag_file', path: '/r.toml' };

const parse = (text: string, source: RequirementSource = SRC) => parseLayer(text, source);

const errors = (text: string) => parse(text).diagnostics.filter((d) => d.severity === 'error');
const warnings = (text: string) => parse(text).diagnostics.filter((d) => d.severity === 'warning');

describe('parseRequirementsLayer: accepted forms', () => {
  test.each([
    [
      'exact command',
      '[mcp_servers.docs.identity]\ncommand = "npx"',
      { transport: 'stdio', form: 'exact', command: 'npx' },
    ],
    [
      'exact url',
      '[mcp_servers.l.identity]\nurl = "https://mcp.linear.app/mcp"',
      {
        transport: 'streamable_http',
        url: { match: 'exact', value: 'https://mcp.linear.app/mcp' },
      },
    ],
    [
      'url prefix',
      '[mcp_servers.l.identity]\nurl = { match = "prefix", value = "https://mcp.linear.app" }',
      { url: { match: 'prefix' } },
    ],
    [
      'command matcher',
      '[mcp_servers.d.identity.command]\nexecutable = "npx"\nargs = [{ match = "exact", value = "-y" }]',
      { form: 'matcher', executable: 'npx', args: [{ match: 'exact', value: '-y' }] },
    ],
    [
      'sha256 pin',
      `[mcp_servers.d.identity]\ncommand = "npx"\nsha256 = "${'A'.repeat(64)}"`,
      { sha256: 'a'.repeat(64) },
    ],
  ])('%s', (_n, text, expected) => {
    const { layer, diagnostics } = parse(text);
    expect(diagnostics).toEqual([]);
    const rule = [...(layer.mcpServers?.values() ?? [])][0];
    expect(rule?.identity).toMatchObject(expected);
    expect(rule?.location.line).toBe(1);
  });

  test('plugin-scoped rules are kept apart from top-level ones', () => {
    const { layer, diagnostics } = parse(
      '[plugins."gh-tools@acme".mcp_servers.gh.identity]\ncommand = "gh-mcp"',
    );
    expect(diagnostics).toEqual([]);
    expect(layer.mcpServers).toBeNull();
    expect(layer.plugins.get('gh-tools@acme')?.get('gh')?.identity).toMatchObject({
      command: 'gh-mcp',
    });
  });

  test('the seed form is enforced and warned about', () => {
    const { layer, diagnostics } = parse('[mcp_server_allowlist.docs]\ncommand = "npx"');
    expect(layer.mcpServers?.get('docs')?.form).toBe('seed');
    expect(diagnostics[0]).toMatchObject({ severity: 'warning', code: 'legacy_key' });
  });

  test('an empty table is present (deny all), an absent one is null', () => {
    expect(parse('[mcp_servers]').layer.mcpServers?.size).toBe(0);
    expect(parse('x = 1').layer.mcpServers).toBeNull();
  });
});

describe('parseRequirementsLayer: malformed rules are errors with a location', () => {
  test.each([
    ['[mcp_servers.docs]\nx = 1', 'missing field `identity` in `mcp_servers.docs`', 1],
    [
      '[mcp_servers.d.identity]\ncommand = "npx"\nurl = "https://x"',
      'either `command` or `url`, not both',
      1,
    ],
    ['[mcp_servers.d.identity]\ncomand = "npx"', 'unknown identity key `comand`', 2],
    ['[mcp_servers.d.identity]\ncommand = "npx"\nsha265 = "x"', 'unknown identity key `sha265`', 3],
    [
      '[mcp_servers.d.identity]\ncommand = "npx"\nsha256 = "abc"',
      'expected 64 hexadecimal characters',
      3,
    ],
    ['[mcp_servers.d.identity.command]\nexecutable = "npx"', 'needs `args`', 1],
    [
      '[mcp_servers.d.identity.command]\nexecutable = "npx"\nargs = []\nsha256 = "x"',
      'unknown key `sha256` in a command matcher',
      4,
    ],
    [
      '[mcp_servers.d.identity]\nurl = { match = "glob", value = "x" }',
      'unknown matcher `glob`',
      2,
    ],
    [
      '[mcp_servers.d.identity]\nurl = { match = "prefix", expression = "x" }',
      'takes only `match` and `value`',
      2,
    ],
    [
      '[mcp_servers.d.identity]\nurl = { match = "regex", expression = "(" }',
      "invalid regex `(`: found open group without closing ')'",
      2,
    ],
    [
      '[mcp_servers.d.identity]\nurl = { match = "prefix", value = "https://mcp." }',
      'URL prefix',
      2,
    ],
    [
      '[mcp_servers.d.identity]\nurl = { match = "prefix", value = "https://h.example/?a=1" }',
      'must not contain a query',
      2,
    ],
    ['[mcp_servers.d.identity]\ncommand = ""', 'command is empty', 2],
    ['mcp_servers = 5', 'expected a map', 1],
  ])('%s', (text, message, line) => {
    const errs = errors(text);
    expect(errs.length).toBeGreaterThan(0);
    expect(errs[0]?.message).toContain(message);
    expect(errs[0]?.location?.line).toBe(line);
  });
});

describe('unknown keys: Codex ignores them, Gatehouse warns with a suggestion', () => {
  test.each([
    ['[mcp_server.docs.identity]\ncommand = "npx"', 'mcp_servers'],
    ['[mcp_servres.docs.identity]\ncommand = "npx"', 'mcp_servers'],
    ['[plugin."x".mcp_servers.d.identity]\ncommand = "npx"', 'plugins'],
    ['allowed_sandbox_mode = ["read-only"]', 'allowed_sandbox_modes'],
  ])('%s → did you mean `%s`?', (text, guess) => {
    expect(warnings(text)[0]?.hint).toContain(`\`${guess}\``);
  });

  test('real Codex keys are not flagged', () => {
    expect(
      warnings(
        'allowed_sandbox_modes = ["read-only"]\n[marketplaces]\nrestrict_to_allowed_sources = true',
      ),
    ).toEqual([]);
  });

  test('the pre-release key gets its own explanation', () => {
    expect(warnings('[mcp_server_requirements.d.identity]\ncommand = "npx"')[0]).toMatchObject({
      code: 'legacy_key',
    });
  });
});

describe('composeRequirementLayers', () => {
  const a: RequirementSource = { kind: 'system_file', path: '/etc/gatehouse/requirements.toml' };
  const b: RequirementSource = { kind: 'env', name: 'GATEHOUSE_REQUIREMENTS_TOML_BASE64' };
  test('union by name; a same-name rule is replaced whole by the higher layer', () => {
    const low = parse(
      `[mcp_servers.docs.identity]\ncommand = "npx"\nsha256 = "${'a'.repeat(64)}"\n[mcp_servers.web.identity]\nurl = "https://x.example/mcp"`,
      a,
    ).layer;
    const high = parse('[mcp_servers.docs.identity]\ncommand = "uvx"', b).layer;
    const req = composeRequirementLayers([low, high]);
    expect([...(req.mcpServers?.rules.keys() ?? [])].sort()).toEqual(['docs', 'web']);
    expect(req.mcpServers?.rules.get('docs')?.identity).toEqual({
      transport: 'stdio',
      form: 'exact',
      command: 'uvx',
      sha256: null,
    });
    expect(req.mcpServers?.rules.get('docs')?.source).toEqual(b);
    expect(req.mcpServers?.sources).toEqual([a, b]);
  });

  test('no layer with the table = unrestricted', () => {
    expect(composeRequirementLayers([parse('x = 1').layer]).mcpServers).toBeNull();
  });
});

test('property: arbitrary TOML never throws, it yields diagnostics', () => {
  const key = fc.constantFrom(
    'mcp_servers',
    'identity',
    'command',
    'url',
    'match',
    'value',
    'expression',
    'args',
    'executable',
    'sha256',
    'plugins',
    'x',
  );
  const value = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.integer(),
    fc.boolean(),
    fc.constant('{ match = "regex", expression = "(" }'),
    fc.constant('[]'),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.array(key, { minLength: 1, maxLength: 4 }), value), { maxLength: 6 }),
      (entries) => {
        const text = entries
          .map(
            ([path, v]) =>
              `[${path.slice(0, -1).join('.') || 'mcp_servers'}]\n${path[path.length - 1]} = ${typeof v === 'string' && !v.startsWith('{') && !v.startsWith('[') ? JSON.stringify(v) : String(v)}`,
          )
          .join('\n');
        const doc = parseTomlDocument(text, '/fuzz.toml');
        if (doc.ok) parseRequirementsLayer(doc.doc, SRC);
      },
    ),
    { numRuns: 500 },
  );
});

describe('[gatehouse_audit]', () => {
  test('every key is read, and a higher layer overrides a lower one key by key', () => {
    const low = parse(
      '[gatehouse_audit]\nfail_open = true\nstore = "/var/audit.db"\ncheckpoint_every_records = 100\n',
      { kind: 'system_file', path: '/etc/gatehouse/requirements.toml' },
    );
    const high = parse(
      '[gatehouse_audit]\nfail_open = false\ncheckpoint_every_seconds = 5\nshared_appender = false\n',
    );
    expect([...low.diagnostics, ...high.diagnostics]).toEqual([]);
    const audit = composeRequirementLayers([low.layer, high.layer]).audit;
    expect(audit.failOpen).toEqual({ value: false, source: SRC });
    expect(audit.store?.value).toBe('/var/audit.db');
    expect(audit.checkpointEveryRecords?.value).toBe(100);
    expect(audit.checkpointEverySeconds).toEqual({ value: 5, source: SRC });
    expect(audit.sharedAppender).toEqual({ value: false, source: SRC });
  });

  test.each([
    ['fail_open = "yes"', /expected true or false/],
    ['store = ""', /non-empty string/],
    ['checkpoint_every_records = 0', /whole number ≥ 1/],
    ['checkpoint_every_records = 1.5', /whole number ≥ 1/],
    ['checkpoint_every_seconds = -1', /number ≥ 1/],
    ['shared_appender = 1', /expected true or false/],
  ])('%s is an error naming the key (the layer then fails closed)', (line, message) => {
    const found = errors(`[gatehouse_audit]\n${line}\n`);
    expect(found).toHaveLength(1);
    expect(found[0]?.message).toMatch(message);
    expect(found[0]?.key).toContain('gatehouse_audit.');
  });

  test('an unknown key warns with a suggestion', () => {
    const w = warnings('[gatehouse_audit]\nfail_opn = true\n');
    expect(w[0]?.message).toContain('unknown key `fail_opn`');
    expect(w[0]?.hint).toContain('fail_open');
  });
});

describe('[gatehouse_masking]', () => {
  test('every key is read; layers accumulate lists and a higher layer overrides scalars', () => {
    const low = parse(
      [
        '[gatehouse_masking]',
        'ip_addresses = true',
        'exempt_servers = ["internal-*"]',
        'fields = ["customer.email", "*.ssn"]',
        '[gatehouse_masking.patterns]',
        'employee_id = "EMP-[0-9]{6}"',
        '[gatehouse_masking.forms]',
        'card = "last4"',
        '[gatehouse_masking.tokens]',
        'email = ["crm"]',
      ].join('\n'),
      { kind: 'system_file', path: '/etc/gatehouse/requirements.toml' },
    );
    const high = parse(
      '[gatehouse_masking]\nip_addresses = false\nexempt_tools = ["docs/search_*"]\nexempt_detectors = ["phone", "ipv4"]\n',
    );
    expect([...low.diagnostics, ...high.diagnostics]).toEqual([]);
    const m = composeRequirementLayers([low.layer, high.layer]).masking;
    expect(m.ipAddresses).toBe(false);
    expect(m.exemptServers).toEqual(['internal-*']);
    expect(m.exemptTools).toEqual(['docs/search_*']);
    expect(m.fields.map((f) => [f.pattern.source, f.kind])).toEqual([
      ['customer.email', 'customer_data'],
      ['*.ssn', 'customer_data'],
    ]);
    expect(m.patterns.map((p) => p.kind)).toEqual(['employee_id']);
    expect(m.forms).toEqual({ card: 'last4' });
    expect(m.tokens).toEqual([{ kind: 'email', servers: ['crm'] }]);
  });

  test('binary content and result budgets: defaults, then a higher layer overrides the scalars', () => {
    expect(composeRequirementLayers([]).masking).toMatchObject({
      binaryContent: 'media',
      resultBudgetBytes: 1024 * 1024,
      resultBudgets: [],
    });
    const low = parse(
      '[gatehouse_masking]\nbinary_content = "withhold"\nresult_budget_bytes = 8192\n[gatehouse_masking.result_budgets]\n"logs/*" = 65536\n',
    );
    const high = parse('[gatehouse_masking]\nbinary_content = "pass"\n');
    expect([...low.diagnostics, ...high.diagnostics]).toEqual([]);
    const m = composeRequirementLayers([low.layer, high.layer]).masking;
    expect(m.binaryContent).toBe('pass');
    expect(m.resultBudgetBytes).toBe(8192);
    expect(m.resultBudgets).toEqual([{ pattern: 'logs/*', bytes: 65536 }]);
  });

  test('fields as a table name their kind', () => {
    const { layer, diagnostics } = parse(
      '[gatehouse_masking.fields]\n"customer.email" = "email"\n',
    );
    expect(diagnostics).toEqual([]);
    expect(layer.masking.fields?.[0]?.kind).toBe('email');
  });

  test.each([
    ['exempt_detectors = ["emial"]', /unknown detector "emial"/, /did you mean "email"/],
    ['exempt_tools = ["search"]', /not SERVER\/TOOL/, /docs\/search_/],
    ['fields = ["a..b"]', /empty segment/, /dotted path/],
    ['[gatehouse_masking.patterns]\nbad = "(a+)\\\\1"', /linear time/, null],
    ['[gatehouse_masking.patterns]\nbad = "([a-z]"', /not a valid regular expression/, null],
    [
      '[gatehouse_masking.forms]\ncard = "first4"',
      /expected one of "full", "last4", "domain"/,
      null,
    ],
    ['[gatehouse_masking.tokens]\nemail = "crm"', /array of server names/, null],
    ['ip_addresses = "no"', /expected true or false/, null],
    [
      'binary_content = "allow"',
      /expected one of "media", "pass", "withhold"/,
      /media \(default\)/,
    ],
    ['result_budget_bytes = 100', /at least 4096/, /1048576/],
    ['result_budget_bytes = "1MB"', /whole number of bytes/, null],
    ['[gatehouse_masking.result_budgets]\nlogs = 65536', /not SERVER\/TOOL/, /logs\/\*/],
    ['[gatehouse_masking.result_budgets]\n"logs/*" = 1.5', /whole number of bytes/, null],
  ])('%s is an error naming the key', (body, message, hint) => {
    const text = body.startsWith('[') ? body : `[gatehouse_masking]\n${body}`;
    const found = errors(`${text}\n`);
    expect(found).toHaveLength(1);
    expect(found[0]?.message).toMatch(message);
    expect(found[0]?.key).toContain('gatehouse_masking.');
    if (hint) expect(found[0]?.hint).toMatch(hint);
  });
});

describe('[gatehouse_policy] approval webhook settings', () => {
  test('format, secret reference and console URL, as the docs show them', () => {
    const { layer, diagnostics } = parse(`[gatehouse_policy]
approval_webhook = "https://hooks.slack.com/services/T0/B0/x"
approval_webhook_format = "slack"
approval_webhook_secret = { env = "GATEHOUSE_WEBHOOK_SECRET" }
approval_console_url = "https://gatehouse.example/console/"
`);
    expect(diagnostics).toEqual([]);
    const policy = composeRequirementLayers([layer]).policy;
    expect(policy).toMatchObject({
      approvalWebhookFormat: 'slack',
      approvalWebhookSecret: { kind: 'env', name: 'GATEHOUSE_WEBHOOK_SECRET' },
      approvalConsoleUrl: 'https://gatehouse.example/console/',
    });
    expect(
      parse('[gatehouse_policy]\napproval_webhook_secret = { file = "/etc/gatehouse/hook" }').layer
        .policy.approvalWebhookSecret,
    ).toEqual({ kind: 'file', path: '/etc/gatehouse/hook' });
  });

  test.each([
    [
      'approval_webhook_format = "discord"',
      'approval_webhook_format',
      'expected "json", "slack", "teams"',
    ],
    [
      'approval_webhook_secret = "hunter2-literal"',
      'approval_webhook_secret',
      'a literal secret is not accepted here',
    ],
    [
      'approval_webhook_secret = { file = "relative/path" }',
      'approval_webhook_secret',
      'must be an absolute path',
    ],
    [
      'approval_console_url = "javascript:alert(1)"',
      'approval_console_url',
      'http:// or https:// URL',
    ],
  ])('%s is an error naming the key', (line, key, message) => {
    const found = errors(`[gatehouse_policy]\n${line}\n`);
    expect(found).toHaveLength(1);
    expect(found[0]?.message).toContain(message);
    expect(JSON.stringify(found[0])).toContain(key);
    expect(JSON.stringify(found)).not.toContain('hunter2-literal');
  });
});
