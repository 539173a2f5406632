import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { canRunCodex, runCodexList } from '../support/codex.js';
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

function setup(): string {
  const root = tempDir();
  mkdirSync(join(root, 'codex'));
  writeFileSync(
    join(root, 'codex', 'config.toml'),
    '[mcp_servers.docs]\ncommand = "npx"\nargs = ["-y", "pkg"]\n\n[mcp_servers."team.tools"]\ncommand = "node"\nargs = ["t.js"]\n',
  );
  return root;
}

describe('gatehouse requirements export', () => {
  test('--for codex pins each server to exactly `COMMAND run NAME`', async () => {
    const root = setup();
    expect((await run(root, ['connect', 'codex', '--gatehouse-command', BIN])).code).toBe(0);
    const r = await run(root, [
      'requirements',
      'export',
      '--for',
      'codex',
      '--gatehouse-command',
      BIN,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      `[mcp_servers.docs.identity.command]\nexecutable = "${BIN}"\nargs = [ { match = "exact", value = "run" }, { match = "exact", value = "docs" } ]`,
    );
    expect(r.stdout).toContain('[mcp_servers."team.tools".identity.command]');
    // Gatehouse itself reads the exported file as valid requirements.
    const file = join(root, 'req.toml');
    writeFileSync(file, r.stdout);
    const check = await run(root, ['requirements', 'check', '--requirements', file]);
    expect(check.code).toBe(0);
  });

  test('--for claude-code writes a managed-mcp.json defining only the wrappers', async () => {
    const root = setup();
    await run(root, ['connect', 'codex', '--gatehouse-command', BIN]);
    const r = await run(root, [
      'requirements',
      'export',
      '--for',
      'claude-code',
      '--gatehouse-command',
      BIN,
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      mcpServers: {
        docs: { type: 'stdio', command: BIN, args: ['run', 'docs'] },
        'team.tools': { type: 'stdio', command: BIN, args: ['run', 'team.tools'] },
      },
    });
  });

  test('--for claude-code --managed-settings: the wrappers allowed, the real commands and URLs denied', async () => {
    const root = setup();
    await run(root, ['connect', 'codex', '--gatehouse-command', BIN]);
    appendFileSync(
      join(root, 'gatehouse', 'config.toml'),
      '\n[mcp_servers.remote]\nurl = "https://user:pw@mcp.example.com/mcp/?token=abc"\n',
    );
    const r = await run(root, [
      'requirements',
      'export',
      '--for',
      'claude-code',
      '--managed-settings',
      '--gatehouse-command',
      BIN,
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      allowManagedMcpServersOnly: true,
      allowedMcpServers: [
        { serverCommand: [BIN, 'run', 'docs'] },
        { serverCommand: [BIN, 'run', 'remote'] },
        { serverCommand: [BIN, 'run', 'team.tools'] },
      ],
      deniedMcpServers: [
        { serverCommand: ['npx', '-y', 'pkg'] },
        { serverUrl: 'https://mcp.example.com/mcp*' },
        { serverCommand: ['node', 't.js'] },
      ],
    });
    expect(r.stdout).not.toContain('abc');
    expect(r.stdout).not.toContain('pw');
    const codex = await run(root, [
      'requirements',
      'export',
      '--for',
      'codex',
      '--managed-settings',
    ]);
    expect(codex.code).toBe(2);
  });

  test('nothing governed: exit 6 rather than an empty table that disables everything', async () => {
    const r = await run(tempDir(), ['requirements', 'export', '--for', 'codex']);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('would disable every server');
  });

  test('--for is required and checked', async () => {
    expect((await run(tempDir(), ['requirements', 'export'])).code).toBe(2);
    expect((await run(tempDir(), ['requirements', 'export', '--for', 'cursor'])).code).toBe(2);
  });
});

describe.skipIf(!canRunCodex)('the exported requirements in the real Codex 0.169', () => {
  test('the connected entries stay enabled; a hand-added direct entry and a widened wrapper are disabled', async () => {
    const root = setup();
    expect((await run(root, ['connect', 'codex', '--gatehouse-command', BIN])).code).toBe(0);
    const req = await run(root, [
      'requirements',
      'export',
      '--for',
      'codex',
      '--gatehouse-command',
      BIN,
    ]);
    appendFileSync(
      join(root, 'codex', 'config.toml'),
      `\n[mcp_servers.direct]\ncommand = "npx"\nargs = ["-y", "pkg"]\n` +
        `\n[mcp_servers.sneaky]\ncommand = "${BIN}"\nargs = ["run", "sneaky", "--config", "/tmp/evil.toml"]\n`,
    );
    expect(runCodexList(join(root, 'codex'), req.stdout)).toEqual({
      docs: true,
      'team.tools': true,
      direct: false,
      sneaky: false,
    });
  });

  test('a user who points an entry back at the real server loses it', async () => {
    const root = setup();
    await run(root, ['connect', 'codex', '--gatehouse-command', BIN]);
    const req = await run(root, [
      'requirements',
      'export',
      '--for',
      'codex',
      '--gatehouse-command',
      BIN,
    ]);
    writeFileSync(
      join(root, 'codex', 'config.toml'),
      '[mcp_servers.docs]\ncommand = "npx"\nargs = ["run", "docs"]\n',
    );
    expect(runCodexList(join(root, 'codex'), req.stdout)).toEqual({ docs: false });
  });
});
