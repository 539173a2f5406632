import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'jsonc-parser';
import { runCli } from '../../src/cli/program.js';
import { tempDir } from '../support/fixtures.js';

const BIN = '/opt/gatehouse/bin/gatehouse';

/** ~/.claude.json as Claude Code writes it (user-scope servers under top-level mcpServers). */
const CLAUDE_USER = `{
  "numStartups": 12,
  "projects": {
    "/srv/app": { "allowedTools": [], "mcpServers": {} }
  },
  "mcpServers": {
    "github": {
      "type": "stdio",
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-github"],
      "env": { "GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "LOG": "\${LOG}" }
    },
    "linear": {
      "type": "http",
      "url": "https://mcp.linear.app/mcp",
      "headers": { "Authorization": "Bearer \${LINEAR_TOKEN}" }
    }
  }
}
`;

/** .cursor/mcp.json (Cursor accepts comments). */
const CURSOR_PROJECT = `// project MCP servers
{
  "mcpServers": {
    // the docs server
    "docs": {
      "command": "node",
      "args": ["docs.js"]
    }
  }
}
`;

/** .vscode/mcp.json: "servers", "inputs", and ${input:…} prompts. */
const VSCODE_PROJECT = `{
\t"inputs": [
\t\t{ "type": "promptString", "id": "api-key", "description": "API key", "password": true }
\t],
\t"servers": {
\t\t"fetch": { "type": "stdio", "command": "uvx", "args": ["mcp-server-fetch"] },
\t\t"prompted": { "type": "stdio", "command": "npx", "args": ["x"], "env": { "KEY": "\${input:api-key}" } }
\t}
}
`;

interface Env {
  root: string;
  gatehouseHome: string;
}

function setup(files: Record<string, string>): Env {
  const root = tempDir();
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return { root, gatehouseHome: join(root, 'gh') };
}

async function run(env: Env, args: string[]) {
  let stdout = '';
  let stderr = '';
  const base = { ...process.env };
  delete base.GATEHOUSE_REQUIREMENTS_TOML_BASE64;
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
    env: { ...base, HOME: env.root, GATEHOUSE_HOME: env.gatehouseHome },
    cwd: env.root,
  });
  return { code, stdout, stderr };
}

const connect = (env: Env, ...args: string[]) =>
  run(env, ['connect', ...args, '--gatehouse-command', BIN]);

describe('gatehouse connect claude-code (~/.claude.json)', () => {
  test('rewrites the entries, leaves every other key, moves the definitions', async () => {
    const env = setup({ '.claude.json': CLAUDE_USER });
    const r = await connect(env, 'claude-code');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('ghp_abc');
    const after = parse(readFileSync(join(env.root, '.claude.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const before = parse(CLAUDE_USER) as Record<string, unknown>;
    expect({ ...after, mcpServers: null }).toEqual({ ...before, mcpServers: null });
    expect(after.mcpServers).toEqual({
      github: {
        type: 'stdio',
        command: BIN,
        args: ['run', 'github'],
        env: { GATEHOUSE_HOME: env.gatehouseHome },
      },
      linear: {
        type: 'stdio',
        command: BIN,
        args: ['run', 'linear'],
        env: { GATEHOUSE_HOME: env.gatehouseHome },
      },
    });
    const got = await run(env, ['mcp', 'get', 'github', '--json']);
    expect(JSON.parse(got.stdout)).toMatchObject({
      transport: {
        command: 'npx',
        args: ['-y', '@modelcontextprotocol/server-github'],
        env: { GITHUB_PERSONAL_ACCESS_TOKEN: '*****' },
        env_vars: ['LOG'],
      },
    });
    expect(readFileSync(join(env.gatehouseHome, 'config.toml'), 'utf8')).toContain(
      '[mcp_servers.github.env]\nGITHUB_PERSONAL_ACCESS_TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"',
    );
    const linear = await run(env, ['mcp', 'get', 'linear', '--json']);
    expect(JSON.parse(linear.stdout)).toMatchObject({
      transport: { url: 'https://mcp.linear.app/mcp', bearer_token_env_var: 'LINEAR_TOKEN' },
    });
  });

  test('idempotent, and disconnect restores the file exactly', async () => {
    const env = setup({ '.claude.json': CLAUDE_USER });
    expect((await connect(env, 'claude-code')).code).toBe(0);
    const once = readFileSync(join(env.root, '.claude.json'), 'utf8');
    const again = await connect(env, 'claude-code', '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ changed: false });
    expect(readFileSync(join(env.root, '.claude.json'), 'utf8')).toBe(once);
    expect((await run(env, ['disconnect', 'claude-code'])).code).toBe(0);
    expect(readFileSync(join(env.root, '.claude.json'), 'utf8')).toBe(CLAUDE_USER);
  });

  test('project scope edits .mcp.json; a syntax error is never overwritten (exit 3, file:line)', async () => {
    const broken = '{\n  "mcpServers": {\n    "a": { "command": "x", }\n    "b": 1\n}\n';
    const env = setup({ '.mcp.json': broken });
    const r = await connect(env, 'claude-code', '--scope', 'project');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${join(env.root, '.mcp.json')}:4:`);
    expect(readFileSync(join(env.root, '.mcp.json'), 'utf8')).toBe(broken);
    expect(existsSync(join(env.gatehouseHome, 'config.toml'))).toBe(false);
  });
});

describe('gatehouse connect cursor (.cursor/mcp.json with comments)', () => {
  test('keeps the comments', async () => {
    const env = setup({ '.cursor/mcp.json': CURSOR_PROJECT });
    const r = await connect(env, 'cursor', '--scope', 'project');
    expect(r.code).toBe(0);
    const text = readFileSync(join(env.root, '.cursor/mcp.json'), 'utf8');
    expect(
      text.startsWith('// project MCP servers\n{\n  "mcpServers": {\n    // the docs server\n'),
    ).toBe(true);
    expect(parse(text)).toEqual({
      mcpServers: {
        docs: { command: BIN, args: ['run', 'docs'], env: { GATEHOUSE_HOME: env.gatehouseHome } },
      },
    });
  });
});

describe('gatehouse connect vscode (.vscode/mcp.json "servers")', () => {
  test('an entry with ${input:…} prompts is refused; the others connect by name, tabs kept', async () => {
    const env = setup({ '.vscode/mcp.json': VSCODE_PROJECT });
    const all = await connect(env, 'vscode', '--scope', 'project');
    expect(all.code).toBe(20);
    expect(all.stderr).toContain("server 'prompted' uses ${input:…} prompts");
    expect(readFileSync(join(env.root, '.vscode/mcp.json'), 'utf8')).toBe(VSCODE_PROJECT);
    const one = await connect(env, 'vscode', 'fetch', '--scope', 'project');
    expect(one.code).toBe(0);
    const text = readFileSync(join(env.root, '.vscode/mcp.json'), 'utf8');
    expect(text).toContain('\t"inputs": [');
    expect((parse(text) as { servers: Record<string, unknown> }).servers).toEqual({
      fetch: {
        type: 'stdio',
        command: BIN,
        args: ['run', 'fetch'],
        env: { GATEHOUSE_HOME: env.gatehouseHome },
      },
      prompted: { type: 'stdio', command: 'npx', args: ['x'], env: { KEY: '${input:api-key}' } },
    });
  });

  test('VS Code has no user-scope file: usage error', async () => {
    const env = setup({});
    const r = await connect(env, 'vscode');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('use --scope project');
  });
});
