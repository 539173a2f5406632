import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

const GOVERNED = join(FIXTURES, 'governed.mjs');

const CONFIG = `[mcp_servers.governed]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(GOVERNED)}]\n`;

function files(requirements: string, config = CONFIG) {
  const dir = writeFiles({ 'config.toml': config, 'requirements.toml': requirements });
  return {
    args: ['--config', join(dir, 'config.toml'), '--requirements', join(dir, 'requirements.toml')],
    requirements: join(dir, 'requirements.toml'),
  };
}

const TYPOS = [
  '[mcp_servers.governed.identity]', // line 1
  `command = ${JSON.stringify(process.execPath)}`,
  '',
  '[mcp_servers.governd.identity]', // line 4
  'command = "node"',
  '',
  '[gatehouse_policy.tools."governed/refund"]', // line 7
  'approval = "always"',
  '',
  '[gatehouse_policy.tools."goverend/*"]', // line 10
  'allow = false',
  '',
  '[gatehouse_policy.tools."governed/refnd"]', // line 13
  'effect = "write"',
  '',
].join('\n');

describe('requirements check: rules naming what is not there', () => {
  test('an allowlist rule and a tool rule for unknown servers are warnings at file:line with the nearest name (exit 5)', async () => {
    const f = files(TYPOS);
    const run = await cli([...f.args, 'requirements', 'check']);
    expect(run.code).toBe(5);
    expect(run.stderr).toContain(
      `warning: ${f.requirements}:4:1: mcp_servers.governd: allowlist rule for 'governd' names no configured server (did you mean 'governed'?)`,
    );
    expect(run.stderr).toContain(`${f.requirements}:10:`);
    expect(run.stderr).toContain(
      `tool rule "goverend/*" names no configured server 'goverend' (did you mean 'governed'?)`,
    );
    // The correctly named rules are not reported; without --probe tool names are not judged.
    expect(run.stderr).not.toContain('governed/refund"');
    expect(run.stderr).not.toContain('refnd');
    // Tool rules show where they were written, as server rules do.
    expect(run.stdout).toMatch(new RegExp(`governed/refund .*${f.requirements}:7`));
  });

  test('--probe warns about a tool rule matching no tool the live server lists, with the near miss', async () => {
    const f = files(TYPOS);
    const run = await cli([...f.args, 'requirements', 'check', '--probe', '--json']);
    expect(run.code).toBe(5);
    const out = JSON.parse(run.stdout) as {
      diagnostics: { code: string; message: string; line: number | null }[];
      probed: Record<string, { state: string; tools: string[] }>;
      gatehouse_policy: { tools: { key: string; file: string; line: number }[] };
    };
    const refs = out.diagnostics.filter((d) => d.code === 'unknown_reference');
    expect(refs.map((d) => [d.line, d.message])).toEqual([
      [4, "allowlist rule for 'governd' names no configured server (did you mean 'governed'?)"],
      [
        10,
        "tool rule \"goverend/*\" names no configured server 'goverend' (did you mean 'governed'?)",
      ],
      [
        13,
        "tool rule \"governed/refnd\" matches no tool 'governed' lists now (did you mean 'refund'?)",
      ],
    ]);
    expect(out.probed.governed?.state).toBe('ready');
    expect(out.probed.governed?.tools).toContain('refund');
    expect(out.gatehouse_policy.tools.find((t) => t.key === 'governed/refund')).toMatchObject({
      file: f.requirements,
      line: 7,
    });
  });

  test('rules that all name real servers and tools: valid, exit 0, even with --probe', async () => {
    const f = files(
      '[gatehouse_policy.tools."governed/re*"]\napproval = "always"\n[gatehouse_policy.tools."gov*/wipe"]\nallow = false\n',
    );
    const run = await cli([...f.args, 'requirements', 'check', '--probe']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  test('with no server configured, names are not judged and the output says so', async () => {
    const dir = writeFiles({ 'requirements.toml': TYPOS });
    const run = await cli([
      '--requirements',
      join(dir, 'requirements.toml'),
      'requirements',
      'check',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      'note: server names in rules were not checked: no server is configured here',
    );
  });
});

describe('requirements check: masking and schema settings with their sources', () => {
  test('each setting shows its value and file:line, or default (text and JSON)', async () => {
    const f = files(
      [
        '[gatehouse_masking]',
        'ip_addresses = true', // line 2
        'exempt_servers = ["governed"]',
        '',
        '[gatehouse_schema]',
        'on_drift = "warn"', // line 6
        'on_version = "allow"',
      ].join('\n') + '\n',
    );
    const run = await cli([...f.args, 'requirements', 'check']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`ip_addresses +true +${f.requirements}:2`));
    expect(run.stdout).toMatch(new RegExp(`exempt_servers +governed +${f.requirements}:3`));
    expect(run.stdout).toMatch(/binary_content +media +default/);
    expect(run.stdout).toMatch(new RegExp(`on_breaking +warn +${f.requirements}:6`));
    expect(run.stdout).toMatch(new RegExp(`on_version +allow +${f.requirements}:7`));
    expect(run.stdout).toMatch(/on_widening +warn +default/);
    const json = JSON.parse((await cli([...f.args, 'requirements', 'check', '--json'])).stdout) as {
      gatehouse_masking: Record<string, { value: unknown; set_by: unknown }>;
      gatehouse_schema: Record<string, { value: unknown; set_by: unknown }>;
    };
    expect(json.gatehouse_masking.ip_addresses).toEqual({
      value: true,
      set_by: [{ source: f.requirements, file: f.requirements, line: 2 }],
    });
    expect(json.gatehouse_masking.result_budget_bytes?.set_by).toBe('default');
    expect(json.gatehouse_schema.lock).toEqual({ value: 'optional', set_by: 'default' });
    expect(json.gatehouse_schema.on_risky).toEqual({
      value: 'warn',
      set_by: [{ source: f.requirements, file: f.requirements, line: 6 }],
    });
  });
});
