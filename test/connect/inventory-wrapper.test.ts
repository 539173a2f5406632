import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { CODEX } from '../support/codex.js';
import { tempDir } from '../support/fixtures.js';

const BIN = '/opt/gatehouse/bin/gatehouse';

async function run(root: string, args: string[]) {
  let stdout = '';
  let stderr = '';
  const base = { ...process.env };
  delete base.GATEHOUSE_REQUIREMENTS_TOML_BASE64;
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
    env: {
      ...base,
      HOME: root,
      CODEX_HOME: join(root, 'codex'),
      GATEHOUSE_HOME: join(root, 'gatehouse'),
    },
    cwd: root,
  });
  return { code, stdout, stderr };
}

interface InventoryJson {
  servers: {
    name: string;
    origin: { kind: string; file: string };
    identity: { command: string; args: string[] };
    wrapped_by?: { kind: string; file: string; line: number | null }[];
  }[];
}

describe('the inventory after connect', () => {
  test('a `gatehouse run NAME` entry is the governed server it wraps, not a conflicting override', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'codex'));
    const codexFile = join(root, 'codex', 'config.toml');
    writeFileSync(codexFile, '[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "pkg"]\n');
    expect((await run(root, ['connect', 'codex', '--gatehouse-command', BIN])).code).toBe(0);
    const r = await run(root, ['inventory', '--json', '--codex', CODEX]);
    expect(r.stderr).not.toContain('overrides the command');
    const inv = JSON.parse(r.stdout) as InventoryJson;
    const docs = inv.servers.filter((s) => s.name === 'docs');
    expect(docs).toHaveLength(1);
    expect(docs[0]?.identity).toEqual({ command: 'npx', args: ['-y', 'pkg'] });
    expect(docs[0]?.origin.kind).toBe('gatehouse');
    expect(docs[0]?.wrapped_by).toEqual([{ kind: 'codex', file: codexFile, line: 1 }]);
    const human = await run(root, ['inventory', '--codex', CODEX]);
    expect(human.stdout).toContain(`through Gatehouse: gatehouse run docs in codex ${codexFile}:1`);
  });

  test('a wrapper with nothing in Gatehouse to wrap stays as it is (doctor reports it)', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'codex'));
    writeFileSync(
      join(root, 'codex', 'config.toml'),
      `[mcp_servers.docs]\ncommand = "${BIN}"\nargs = ["run", "docs"]\n`,
    );
    const r = await run(root, ['inventory', '--json', '--codex', CODEX]);
    const inv = JSON.parse(r.stdout) as InventoryJson;
    const docs = inv.servers.find((s) => s.name === 'docs');
    expect(docs).toMatchObject({ identity: { command: BIN, args: ['run', 'docs'] } });
    expect(docs?.wrapped_by).toBeUndefined();
  });
});
