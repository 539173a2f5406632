import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { EVERYTHING, FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

const node = JSON.stringify(process.execPath);

describe('mcp list --probe through the CLI', () => {
  const dir = writeFiles({
    'c.toml': `
[mcp_servers.everything]
command = ${node}
args = [${JSON.stringify(EVERYTHING)}, "stdio"]
startup_timeout_sec = 30

[mcp_servers.broken]
command = ${node}
args = [${JSON.stringify(join(FIXTURES, 'crash-on-start.mjs'))}]
required = true

[mcp_servers.ghost]
command = "gatehouse-no-such-binary-xyz"

[mcp_servers.blocked]
command = "gatehouse-no-such-binary-xyz"
`,
    'r.toml': `[mcp_servers.everything.identity]\ncommand = ${node}\n[mcp_servers.broken.identity]\ncommand = ${node}\n[mcp_servers.ghost.identity]\ncommand = "gatehouse-no-such-binary-xyz"\n`,
  });
  const args = [
    '--config',
    join(dir, 'c.toml'),
    '--requirements',
    join(dir, 'r.toml'),
    'mcp',
    'list',
    '--probe',
  ];

  test('JSON carries each runtime state; disabled servers are never started; a required failure exits 7', async () => {
    const r = await cli([...args, '--json']);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('required server(s) not ready: broken');
    const byName = Object.fromEntries(
      (
        JSON.parse(r.stdout) as {
          name: string;
          runtime?: { state: string; tools: number | null };
        }[]
      ).map((s) => [s.name, s]),
    );
    expect(byName.everything?.runtime).toMatchObject({ state: 'ready' });
    expect(byName.everything?.runtime?.tools).toBeGreaterThan(5);
    expect(byName.broken?.runtime?.state).toBe('failed');
    expect(byName.ghost?.runtime?.state).toBe('missing');
    expect(byName.blocked?.runtime).toBeUndefined();
  });

  test('on a TTY, progress goes to stderr; the table gets a Runtime column', async () => {
    let stdout = '';
    let stderr = '';
    await runCli(args, {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      isTTY: true,
      env: { ...process.env, GATEHOUSE_HOME: tempDir() },
      cwd: process.cwd(),
    });
    expect(stderr).toContain('probing 3 server(s)');
    expect(stderr).toMatch(/probing \d\/3: \w+ (ready|failed|missing)/);
    expect(stdout).toMatch(/Status +Auth +Runtime/);
    expect(stdout).toMatch(/everything .* ready \(\d+ tools\)/);
  });
});

describe('config layers', () => {
  test('a higher --config changes one field of a lower definition (field by field, as Codex)', async () => {
    const d = writeFiles({
      'a.toml': '[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "pkg"]\n',
      'b.toml': '[mcp_servers.docs]\nenabled = false\n',
    });
    const r = await cli([
      '--config',
      join(d, 'a.toml'),
      '--config',
      join(d, 'b.toml'),
      'mcp',
      'get',
      'docs',
      '--json',
    ]);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      enabled: false,
      disabled_reason_code: 'user',
      transport: { command: 'npx', args: ['-y', 'pkg'] },
    });
    expect(out.origins.map((o: { file: string }) => o.file)).toEqual([
      join(d, 'a.toml'),
      join(d, 'b.toml'),
    ]);
  });

  test('a higher layer that changes the command is a warning naming both places; --strict makes it an error', async () => {
    const d = writeFiles({
      'a.toml': '[mcp_servers.docs]\ncommand = "npx"\n',
      'b.toml': '[mcp_servers.docs]\ncommand = "uvx"\n',
    });
    const args = [
      '--config',
      join(d, 'a.toml'),
      '--config',
      join(d, 'b.toml'),
      'mcp',
      'list',
      '--json',
    ];
    const r = await cli(args);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `overrides the command of server 'docs' defined at ${join(d, 'a.toml')}:2`,
    );
    expect(JSON.parse(r.stdout)[0].transport.command).toBe('uvx');
    expect((await cli(['--strict', ...args])).code).toBe(3);
  });

  test('Gatehouse home config is the lowest layer and may be absent', async () => {
    const home = writeFiles({ 'config.toml': '[mcp_servers.home_server]\ncommand = "npx"\n' });
    const r = await cli(['mcp', 'list', '--json'], { GATEHOUSE_HOME: home });
    expect(JSON.parse(r.stdout)[0]).toMatchObject({
      name: 'home_server',
      origins: [{ kind: 'gatehouse' }],
    });
    const empty = await cli(['mcp', 'list']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toContain('No MCP servers configured yet');
  });

  test('--codex-home reads Codex config only on request', async () => {
    const codex = writeFiles({ 'config.toml': '[mcp_servers.from_codex]\ncommand = "npx"\n' });
    expect(
      JSON.parse((await cli(['mcp', 'list', '--json'], { CODEX_HOME: codex })).stdout),
    ).toEqual([]);
    const r = await cli(['--codex-home', 'mcp', 'list', '--json'], { CODEX_HOME: codex });
    expect(JSON.parse(r.stdout)[0]).toMatchObject({
      name: 'from_codex',
      origins: [{ kind: 'codex' }],
    });
  });

  test('auth = "ema_auth" keeps the server disabled, as Codex 0.169 does', async () => {
    const d = writeFiles({
      'c.toml':
        '[mcp_servers.x]\nurl = "https://x.example/mcp"\nauth = "ema_auth"\nbearer_token_env_var = "T"\n',
    });
    const r = await cli(['--config', join(d, 'c.toml'), 'mcp', 'list', '--json']);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({
      enabled: false,
      disabled_reason: null,
      disabled_reason_code: 'unsupported_auth',
    });
  });
});

describe('--codex-requirements shows what Codex itself decides', () => {
  test('the raw-prefix trap: Codex enabled, Gatehouse disabled, both reported', async () => {
    const d = writeFiles({
      'c.toml': '[mcp_servers.linear]\nurl = "https://mcp.linear.app.evil.com/mcp"\n',
      'r.toml':
        '[mcp_servers.linear.identity]\nurl = { match = "prefix", value = "https://mcp.linear.app" }\n',
    });
    const base = [
      '--config',
      join(d, 'c.toml'),
      '--requirements',
      join(d, 'r.toml'),
      '--codex-requirements',
      join(d, 'r.toml'),
    ];
    const json = JSON.parse((await cli([...base, 'mcp', 'list', '--json'])).stdout)[0];
    expect(json).toMatchObject({ enabled: false, codex: { enabled: true, disabled_reason: null } });
    const human = await cli([...base, 'mcp', 'list']);
    expect(human.stdout).toContain('decides differently for:');
    expect(human.stdout).toContain('linear: Codex enabled, Gatehouse disabled: requirements');
  });
});

test('a command word after an optional-value flag is never taken as its value', async () => {
  const { disambiguateOptionalValues } = await import('../../src/cli/program.js');
  expect(disambiguateOptionalValues(['--codex-home', 'mcp', 'list'])).toEqual([
    '--codex-home=',
    'mcp',
    'list',
  ]);
  expect(disambiguateOptionalValues(['--codex-requirements', 'requirements', 'check'])).toEqual([
    '--codex-requirements=',
    'requirements',
    'check',
  ]);
  expect(disambiguateOptionalValues(['--codex-home', './mcp', 'mcp', 'list'])).toEqual([
    '--codex-home',
    './mcp',
    'mcp',
    'list',
  ]);
});

describe('mcp list --probe counts what the agent is offered, not what the server lists', () => {
  const dir = writeFiles({
    'c.toml': `
[mcp_servers.governed]
command = ${node}
args = [${JSON.stringify(join(FIXTURES, 'governed.mjs'))}]
disabled_tools = ["wipe"]
`,
    'r.toml': `[mcp_servers.governed.identity]\ncommand = ${node}\n\n[gatehouse_policy.tools."governed/refund"]\nallow = false\n`,
  });
  const args = ['--config', join(dir, 'c.toml'), '--requirements', join(dir, 'r.toml')];

  test('a tool hidden by disabled_tools and one the policy refuses are not counted, and say why', async () => {
    const json = await cli([...args, 'mcp', 'list', '--probe', '--json']);
    expect(json.code).toBe(0);
    const [entry] = JSON.parse(json.stdout) as {
      runtime: {
        tools: number;
        tools_exposed: number;
        tools_hidden: { tool: string; reason: string }[];
      };
    }[];
    expect(entry?.runtime.tools).toBe(4);
    expect(entry?.runtime.tools_exposed).toBe(2);
    expect(entry?.runtime.tools_hidden).toEqual([
      { tool: 'wipe', reason: 'in disabled_tools' },
      { tool: 'refund', reason: expect.stringContaining('policy:') },
    ]);
    const text = await cli([...args, 'mcp', 'list', '--probe']);
    expect(text.stdout).toContain('ready (2 of 4 tools exposed)');
  });
});
