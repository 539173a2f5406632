import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { FIXTURES, tempDir } from '../support/fixtures.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const GOVERNED = join(FIXTURES, 'governed.mjs');

interface LaunchJson {
  ok: boolean;
  launches: {
    server: string;
    state: string;
    tools: number | null;
    settings: { name: string; reach: string }[];
    home: string;
    audit: { intended: string; launched: string; written: boolean | null };
  }[];
  findings: { severity: string; code: string; server?: string; message: string; fix?: string }[];
}

async function run(root: string, args: string[], extra: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const base = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith('GATEHOUSE_')) delete base[k];
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
    env: {
      ...base,
      HOME: root,
      CODEX_HOME: join(root, 'codex'),
      GATEHOUSE_HOME: join(root, 'gatehouse'),
      ...extra,
    },
    cwd: root,
  });
  return { code, stdout, stderr };
}

/** A Codex config with one real server, connected through Gatehouse (the real bin). */
async function connected(): Promise<string> {
  const root = tempDir();
  mkdirSync(join(root, 'codex'));
  writeFileSync(
    join(root, 'codex', 'config.toml'),
    `[mcp_servers.governed]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(GOVERNED)}]\n`,
  );
  expect((await run(root, ['connect', 'codex', '--gatehouse-command', BIN])).code).toBe(0);
  return root;
}

describe.skipIf(!existsSync(BIN))('doctor --launch: the gateway started as Codex starts it', () => {
  test('after connect: it serves the tools, GATEHOUSE_AUDIT reaches it and the session is recorded there', async () => {
    const root = await connected();
    const audit = join(root, 'team-audit.db');
    const r = await run(root, ['doctor', '--launch', '--json'], { GATEHOUSE_AUDIT: audit });
    const json = JSON.parse(r.stdout) as LaunchJson;
    expect(json.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(r.code).toBe(0);
    expect(json.launches).toEqual([
      expect.objectContaining({
        server: 'governed',
        state: 'ready',
        tools: 4,
        home: join(root, 'gatehouse'),
        audit: { intended: audit, launched: audit, written: true },
      }),
    ]);
    expect(json.launches[0]?.settings).toEqual(
      expect.arrayContaining([
        { name: 'GATEHOUSE_AUDIT', reach: 'passed' },
        { name: 'GATEHOUSE_HOME', reach: 'passed' },
      ]),
    );
    expect(existsSync(audit)).toBe(true);
  });

  test('a dropped env pass-through: the audit goes elsewhere, reported with the fix (exit 21)', async () => {
    const root = await connected();
    const file = join(root, 'codex', 'config.toml');
    // The user (or an older connect) left GATEHOUSE_AUDIT out of env_vars.
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace(/env_vars = \[[^\]]*\]/, 'env_vars = ["GATEHOUSE_LOCK"]'),
    );
    const audit = join(root, 'team-audit.db');
    const r = await run(root, ['doctor', '--launch', '--json'], {
      GATEHOUSE_AUDIT: audit,
      GATEHOUSE_TRACE_EXAMPLE: '1',
    });
    expect(r.code).toBe(21);
    const json = JSON.parse(r.stdout) as LaunchJson;
    const launched = json.launches[0];
    expect(launched?.state).toBe('ready'); // it works, but not as configured here
    expect(launched?.audit.launched).toBe(join(root, 'gatehouse', 'audit.db'));
    expect(launched?.audit.written).toBe(true);
    expect(existsSync(audit)).toBe(false);
    const codes = json.findings.filter((f) => f.severity === 'error').map((f) => f.code);
    expect(codes).toContain('audit_elsewhere');
    const elsewhere = json.findings.find((f) => f.code === 'audit_elsewhere');
    expect(elsewhere?.fix).toContain('env_vars of [mcp_servers.governed]');
    // A GATEHOUSE_* variable the static check does not know is reported from the launch itself.
    expect(json.findings).toContainEqual(
      expect.objectContaining({
        code: 'setting_not_passed',
        message: expect.stringContaining('GATEHOUSE_TRACE_EXAMPLE is set here'),
        fix: expect.stringContaining('add "GATEHOUSE_TRACE_EXAMPLE" to env_vars'),
      }),
    );
    // GATEHOUSE_AUDIT is reported once (by the static check), not twice.
    expect(
      json.findings.filter(
        (f) => f.message.startsWith('GATEHOUSE_AUDIT ') && f.severity === 'error',
      ),
    ).toHaveLength(1);
    const human = await run(root, ['doctor', '--launch'], { GATEHOUSE_AUDIT: audit });
    expect(human.stdout).toContain('launched governed as codex would: ready, 4 tool(s)');
    expect(human.stdout).toContain('GATEHOUSE_AUDIT ✘ dropped');
  });

  test('a GATEHOUSE_LOCK that reaches the gateway but cannot be used hides every tool: a warning says so', async () => {
    const root = await connected();
    const r = await run(root, ['doctor', '--launch', '--json'], {
      GATEHOUSE_LOCK: join(root, 'missing.lock.json'),
    });
    const json = JSON.parse(r.stdout) as LaunchJson;
    expect(json.launches[0]?.state).toBe('no_tools');
    expect(json.launches[0]?.settings).toContainEqual({ name: 'GATEHOUSE_LOCK', reach: 'passed' });
    expect(json.findings).toContainEqual(
      expect.objectContaining({ severity: 'warning', code: 'launch_no_tools', server: 'governed' }),
    );
    expect(r.code).toBe(0); // a warning, not a broken wiring
  });

  test('a wrapper whose definition is missing fails to launch: the finding says so', async () => {
    const root = await connected();
    writeFileSync(join(root, 'gatehouse', 'config.toml'), '');
    const r = await run(root, ['doctor', '--launch', '--json']);
    expect(r.code).toBe(21);
    const json = JSON.parse(r.stdout) as LaunchJson;
    expect(json.launches[0]?.state).toBe('failed');
    expect(json.findings).toContainEqual(
      expect.objectContaining({ code: 'launch_failed', server: 'governed' }),
    );
  });
});
