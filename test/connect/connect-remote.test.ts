import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { parse } from 'jsonc-parser';
import { runCli } from '../../src/cli/program.js';
import { CODEX } from '../support/codex.js';
import { tempDir } from '../support/fixtures.js';

const URL = 'https://mcp.example.com/mcp';

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

function write(root: string, rel: string, text: string): string {
  const file = join(root, rel);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

const CODEX_CONFIG = `# my Codex config
model = "o4"

[mcp_servers.docs]
command = "npx" # the docs server
args = ["-y", "pkg"]
`;

describe('connect --remote: the entry points at the team gateway', () => {
  test('codex: url + bearer_token_env_var appended, comments kept; dry run first; idempotent; disconnect restores', async () => {
    const root = tempDir();
    const file = write(root, 'codex/config.toml', CODEX_CONFIG);
    const dry = await run(root, [
      'connect',
      'codex',
      '--remote',
      URL,
      '--token-env',
      'TEAM_TOKEN',
      '--dry-run',
    ]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('+[mcp_servers.gatehouse]');
    expect(dry.stdout).toContain(`+url = "${URL}"`);
    // The diff masks the value like any credential-looking key; the summary names the variable.
    expect(dry.stdout).toContain('+bearer_token_env_var = ');
    expect(dry.stdout).toContain('the token is read from $TEAM_TOKEN when codex starts');
    expect(dry.stdout).toContain('dry run: nothing was written');
    expect(readFileSync(file, 'utf8')).toBe(CODEX_CONFIG);

    const r = await run(root, ['connect', 'codex', '--remote', URL, '--token-env', 'TEAM_TOKEN']);
    expect(r.code).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(
      `${CODEX_CONFIG}\n[mcp_servers.gatehouse]\nurl = "${URL}"\nbearer_token_env_var = "TEAM_TOKEN"\n`,
    );
    const again = await run(root, [
      'connect',
      'codex',
      '--remote',
      URL,
      '--token-env',
      'TEAM_TOKEN',
    ]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already points at');
    expect(readFileSync(file, 'utf8')).toBe(text);

    const undo = await run(root, ['disconnect', 'codex']);
    expect(undo.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(CODEX_CONFIG);
  });

  test.skipIf(!existsSync(CODEX))(
    'codex: the real Codex reads the entry as a streamable HTTP server with the bearer variable',
    async () => {
      const root = tempDir();
      write(root, 'codex/config.toml', CODEX_CONFIG);
      expect(
        (
          await run(root, [
            'connect',
            'codex',
            '--remote',
            URL,
            'team',
            '--token-env',
            'TEAM_TOKEN',
          ])
        ).code,
      ).toBe(0);
      const listed = spawnSync(CODEX, ['mcp', 'get', 'team', '--json'], {
        env: { ...process.env, HOME: root, CODEX_HOME: join(root, 'codex') },
        encoding: 'utf8',
      });
      expect(listed.status).toBe(0);
      const entry = JSON.parse(listed.stdout) as { transport: Record<string, unknown> };
      expect(entry.transport).toMatchObject({
        type: 'streamable_http',
        url: URL,
        bearer_token_env_var: 'TEAM_TOKEN',
      });
    },
  );

  test('claude-code, cursor, vscode: documented http entries, the token only as a variable reference', async () => {
    const root = tempDir();
    const claude = write(root, '.claude.json', '{\n  "numStartups": 3,\n  "mcpServers": {}\n}\n');
    const cursor = write(root, '.cursor/mcp.json', '// mine\n{\n  "mcpServers": {}\n}\n');
    const vscode = write(root, '.vscode/mcp.json', '{\n\t"servers": {}\n}\n');
    for (const [client, extra] of [
      ['claude-code', []],
      ['cursor', []],
      ['vscode', ['--scope', 'project']],
    ] as const)
      expect(
        (
          await run(root, [
            'connect',
            client,
            ...extra,
            '--remote',
            URL,
            '--token-env',
            'TEAM_TOKEN',
          ])
        ).code,
      ).toBe(0);
    expect(parse(readFileSync(claude, 'utf8'))).toEqual({
      numStartups: 3,
      mcpServers: {
        gatehouse: { type: 'http', url: URL, headers: { Authorization: 'Bearer ${TEAM_TOKEN}' } },
      },
    });
    const cursorText = readFileSync(cursor, 'utf8');
    expect(cursorText.startsWith('// mine\n')).toBe(true);
    expect(parse(cursorText)).toEqual({
      mcpServers: {
        gatehouse: { url: URL, headers: { Authorization: 'Bearer ${env:TEAM_TOKEN}' } },
      },
    });
    expect(parse(readFileSync(vscode, 'utf8'))).toEqual({
      servers: {
        gatehouse: {
          type: 'http',
          url: URL,
          headers: { Authorization: 'Bearer ${env:TEAM_TOKEN}' },
        },
      },
    });
  });

  test('doctor counts the entry as going through Gatehouse (the team gateway), not as a bypass', async () => {
    const root = tempDir();
    write(root, 'codex/config.toml', '');
    expect((await run(root, ['connect', 'codex', '--remote', URL, '--token-env', 'T'])).code).toBe(
      0,
    );
    const r = await run(root, ['doctor', '--json', '--launch']);
    const json = JSON.parse(r.stdout) as {
      clients: { servers: { name: string; governed: boolean; remote?: boolean }[] }[];
      findings: { code: string }[];
      launches: unknown[];
    };
    expect(json.clients[0]?.servers).toEqual([
      { name: 'gatehouse', governed: true, remote: true, target: `team gateway ${URL}` },
    ]);
    expect(json.findings.map((f) => f.code)).not.toContain('bypass');
    expect(json.launches).toEqual([]); // a team gateway is not started here
    expect(r.code).toBe(0);
  });

  test('without --token-env: no credential at all, and the output says how the client logs in', async () => {
    const root = tempDir();
    const file = write(root, 'codex/config.toml', '');
    const r = await run(root, ['connect', 'codex', '--remote', URL]);
    expect(r.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(`[mcp_servers.gatehouse]\nurl = "${URL}"\n`);
    expect(r.stdout).toContain('codex mcp login gatehouse');
  });

  test('a client file that does not exist is created, and disconnect removes it', async () => {
    const root = tempDir();
    const r = await run(root, ['connect', 'cursor', '--remote', 'http://127.0.0.1:8080/mcp']);
    expect(r.code).toBe(0);
    const file = join(root, '.cursor', 'mcp.json');
    expect(parse(readFileSync(file, 'utf8'))).toEqual({
      mcpServers: { gatehouse: { url: 'http://127.0.0.1:8080/mcp' } },
    });
    expect((await run(root, ['disconnect', 'cursor'])).code).toBe(0);
    expect(existsSync(file)).toBe(false);
  });

  test('bad input changes nothing: plain http to another host, credentials in the URL, a token as --token-env, a syntax error, a clashing entry', async () => {
    const root = tempDir();
    const file = write(root, 'codex/config.toml', CODEX_CONFIG);
    const http = await run(root, ['connect', 'codex', '--remote', 'http://mcp.example.com/mcp']);
    expect(http.code).toBe(2);
    expect(http.stderr).toContain('plain http to another machine');
    const creds = await run(root, [
      'connect',
      'codex',
      '--remote',
      'https://me:s3cret@mcp.example.com/mcp',
    ]);
    expect(creds.code).toBe(2);
    expect(creds.stderr).not.toContain('s3cret');
    const token = await run(root, [
      'connect',
      'codex',
      '--remote',
      URL,
      '--token-env',
      'ghp_abcdefghijklmnopqrstuvwxyz0123456789-x',
    ]);
    expect(token.code).toBe(2);
    expect(token.stderr).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123456789');
    const clash = await run(root, ['connect', 'codex', '--remote', URL, 'docs']);
    expect(clash.code).toBe(20);
    expect(clash.stderr).toContain("already has a server named 'docs'");
    expect(readFileSync(file, 'utf8')).toBe(CODEX_CONFIG);
    const broken = write(root, 'codex/config.toml', '[mcp_servers.docs\ncommand = "x"\n');
    const syntax = await run(root, ['connect', 'codex', '--remote', URL]);
    expect(syntax.code).toBe(3);
    expect(syntax.stderr).toContain(`${broken}:2:1: invalid TOML`);
    expect(readFileSync(broken, 'utf8')).toBe('[mcp_servers.docs\ncommand = "x"\n');
    // Servers written as an inline table cannot take an appended table: refused, not corrupted.
    const inline = write(root, 'codex/config.toml', 'mcp_servers = { docs = { command = "x" } }\n');
    const form = await run(root, ['connect', 'codex', '--remote', URL]);
    expect(form.code).toBe(20);
    expect(readFileSync(inline, 'utf8')).toBe('mcp_servers = { docs = { command = "x" } }\n');
  });
});
