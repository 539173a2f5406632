import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { CODEX } from '../support/codex.js';
import { tempDir } from '../support/fixtures.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');

interface DoctorJson {
  ok: boolean;
  clients: { client: string; scope: string; servers: { name: string; governed: boolean }[] }[];
  audit: { store: string; reachable: boolean | null };
  versions: { gatehouse: string; codex: string | null };
  findings: { severity: string; code: string; server?: string; message: string; fix?: string }[];
}

async function run(root: string, args: string[], extra: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const base = { ...process.env };
  delete base.GATEHOUSE_REQUIREMENTS_TOML_BASE64;
  delete base.GATEHOUSE_AUDIT;
  delete base.GATEHOUSE_LOCK;
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

function setup(codexConfig: string): string {
  const root = tempDir();
  mkdirSync(join(root, 'codex'));
  writeFileSync(join(root, 'codex', 'config.toml'), codexConfig);
  return root;
}

describe.skipIf(!existsSync(BIN))('gatehouse doctor', () => {
  test('after connect: every server goes through Gatehouse, exit 0', async () => {
    const root = setup('[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "pkg"]\n');
    expect((await run(root, ['connect', 'codex', '--gatehouse-command', BIN])).code).toBe(0);
    const r = await run(root, ['doctor', '--json', '--codex', CODEX]);
    const json = JSON.parse(r.stdout) as DoctorJson;
    expect(json.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(r.code).toBe(0);
    expect(json.ok).toBe(true);
    expect(json.clients).toEqual([
      expect.objectContaining({
        client: 'codex',
        scope: 'user',
        servers: [expect.objectContaining({ name: 'docs', governed: true })],
      }),
    ]);
    if (existsSync(CODEX)) expect(json.versions.codex).toContain('0.169');
    expect(json.audit.reachable).toBeNull(); // not created yet
  });

  test('a direct entry and a missing env pass-through are reported with the fix: exit 21', async () => {
    const root = setup(
      `[mcp_servers.direct]\ncommand = "npx"\nargs = ["-y", "pkg"]\n\n` +
        `[mcp_servers.docs]\ncommand = "${BIN}"\nargs = ["run", "docs"]\n`,
    );
    mkdirSync(join(root, 'gatehouse'));
    writeFileSync(join(root, 'gatehouse', 'config.toml'), '[mcp_servers.docs]\ncommand = "npx"\n');
    const r = await run(root, ['doctor', '--json'], {
      GATEHOUSE_AUDIT: join(root, 'team.db'),
      GATEHOUSE_HOME: join(root, 'gatehouse'),
    });
    expect(r.code).toBe(21);
    const json = JSON.parse(r.stdout) as DoctorJson;
    expect(json.ok).toBe(false);
    const byCode = (code: string) => json.findings.filter((f) => f.code === code);
    expect(byCode('bypass')).toEqual([
      expect.objectContaining({
        severity: 'error',
        server: 'direct',
        fix: 'gatehouse connect codex direct',
      }),
    ]);
    // GATEHOUSE_AUDIT is set but Codex would not pass it; GATEHOUSE_HOME is set to a non-default
    // home that is neither pinned nor passed.
    expect(
      byCode('setting_not_passed')
        .filter((f) => f.severity === 'error')
        .map((f) => f.message),
    ).toEqual([
      expect.stringContaining('GATEHOUSE_HOME is set here'),
      expect.stringContaining('GATEHOUSE_AUDIT is set here but Codex does not pass it'),
    ]);
    // The gateway would read ~/.gatehouse (the temp HOME), which does not define docs.
    expect(byCode('definition_missing')).toHaveLength(1);
    const human = await run(root, ['doctor'], { GATEHOUSE_AUDIT: join(root, 'team.db') });
    expect(human.code).toBe(21);
    expect(human.stdout).toContain('✘ direct: BYPASSES Gatehouse (npx -y pkg)');
    expect(human.stdout).toContain('fix: gatehouse connect codex direct');
  });

  test('a client file with a syntax error is a finding with file:line', async () => {
    const root = setup('');
    writeFileSync(join(root, '.mcp.json'), '{\n  "mcpServers": {\n    "a": }\n}\n');
    const r = await run(root, ['doctor', '--json']);
    expect(r.code).toBe(21);
    const json = JSON.parse(r.stdout) as DoctorJson;
    expect(json.findings).toEqual([
      expect.objectContaining({
        code: 'config_syntax',
        message: expect.stringContaining(`${join(root, '.mcp.json')}:3:`),
      }),
    ]);
  });

  test('an audit store that cannot be opened is a problem', async () => {
    const root = setup('');
    writeFileSync(join(root, 'bad.db'), 'this is not a database');
    const r = await run(root, ['doctor', '--json'], { GATEHOUSE_AUDIT: join(root, 'bad.db') });
    expect(r.code).toBe(21);
    const json = JSON.parse(r.stdout) as DoctorJson;
    expect(json.audit.reachable).toBe(false);
    expect(json.findings.map((f) => f.code)).toContain('audit_store_unreachable');
  });
});
