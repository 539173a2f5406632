import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { CODEX } from '../support/codex.js';
import { tempDir } from '../support/fixtures.js';

const GATEHOUSE_BIN = '/opt/gatehouse/bin/gatehouse';

const ORIGINAL = `# my codex config
model = "o3"

[mcp_servers.docs]
# the docs server
command = "npx"   # via npx
args = ["-y", "@modelcontextprotocol/server-everything"]
env_vars = ["GITHUB_TOKEN"]
startup_timeout_sec = 20
enabled_tools = ["echo"]

[mcp_servers.docs.env]
API_KEY = "sk-supersecret-value-1234567890"

[mcp_servers.linear]
url = "https://mcp.linear.app/mcp"
bearer_token_env_var = "LINEAR_TOKEN"

# keep this comment
[profiles.x]
model = "gpt"
`;

interface Env {
  root: string;
  codexHome: string;
  gatehouseHome: string;
  codexFile: string;
  gatehouseFile: string;
}

function setup(text = ORIGINAL): Env {
  const root = tempDir();
  const codexHome = join(root, 'codex');
  const gatehouseHome = join(root, 'gatehouse');
  mkdirSync(codexHome);
  writeFileSync(join(codexHome, 'config.toml'), text);
  return {
    root,
    codexHome,
    gatehouseHome,
    codexFile: join(codexHome, 'config.toml'),
    gatehouseFile: join(gatehouseHome, 'config.toml'),
  };
}

async function run(
  env: Env,
  args: string[],
  confirm?: (q: string) => Promise<boolean>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const base = { ...process.env };
  delete base.GATEHOUSE_REQUIREMENTS_TOML_BASE64;
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
    env: { ...base, HOME: env.root, CODEX_HOME: env.codexHome, GATEHOUSE_HOME: env.gatehouseHome },
    cwd: env.root,
    ...(confirm ? { confirm } : {}),
  });
  return { code, stdout, stderr };
}

const connect = (env: Env, ...more: string[]) =>
  run(env, ['connect', 'codex', '--gatehouse-command', GATEHOUSE_BIN, ...more]);

const backups = (env: Env) =>
  readdirSync(env.codexHome).filter((f) => f.includes('.gatehouse-backup-'));

describe('gatehouse connect codex', () => {
  test('rewrites each entry to gatehouse run NAME, keeping every comment and client key', async () => {
    const env = setup();
    const r = await connect(env);
    expect(r.code).toBe(0);
    const home = JSON.stringify(env.gatehouseHome);
    expect(readFileSync(env.codexFile, 'utf8')).toBe(`# my codex config
model = "o3"

[mcp_servers.docs]
command = "${GATEHOUSE_BIN}"
args = ["run", "docs"]
env = { GATEHOUSE_HOME = ${home} }
env_vars = ["GATEHOUSE_AUDIT", "GATEHOUSE_LOCK", "GATEHOUSE_REQUIREMENTS_TOML_BASE64", "GITHUB_TOKEN"]
# the docs server
startup_timeout_sec = 20
enabled_tools = ["echo"]

[mcp_servers.linear]
command = "${GATEHOUSE_BIN}"
args = ["run", "linear"]
env = { GATEHOUSE_HOME = ${home} }
env_vars = ["GATEHOUSE_AUDIT", "GATEHOUSE_LOCK", "GATEHOUSE_REQUIREMENTS_TOML_BASE64", "LINEAR_TOKEN"]

# keep this comment
[profiles.x]
model = "gpt"
`);
    const moved = readFileSync(env.gatehouseFile, 'utf8');
    expect(moved).toContain(
      '[mcp_servers.docs]\n# the docs server\ncommand = "npx"   # via npx\nargs = ["-y", "@modelcontextprotocol/server-everything"]',
    );
    expect(moved).toContain('[mcp_servers.docs.env]\nAPI_KEY = "sk-supersecret-value-1234567890"');
    expect(moved).toContain('[mcp_servers.linear]\nurl = "https://mcp.linear.app/mcp"');
    // The backup is the file as it was, byte for byte.
    expect(backups(env)).toHaveLength(1);
    expect(readFileSync(join(env.codexHome, backups(env)[0] as string), 'utf8')).toBe(ORIGINAL);
    // Gatehouse now serves the moved definition under that name.
    const get = await run(env, ['mcp', 'get', 'docs', '--json']);
    expect(get.code).toBe(0);
    expect(JSON.parse(get.stdout)).toMatchObject({ transport: { command: 'npx' } });
  });

  test('shows a diff first, with secrets masked', async () => {
    const env = setup();
    const r = await connect(env);
    expect(r.stdout).toContain(`--- ${env.codexFile}`);
    expect(r.stdout).toContain('-command = "npx"   # via npx');
    expect(r.stdout).toContain('+args = ["run", "docs"]');
    expect(r.stdout).not.toContain('supersecret');
  });

  test('--dry-run prints the diff and changes nothing', async () => {
    const env = setup();
    const r = await connect(env, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('+args = ["run", "docs"]');
    expect(r.stdout).toContain('dry run: nothing was written');
    expect(readFileSync(env.codexFile, 'utf8')).toBe(ORIGINAL);
    expect(existsSync(env.gatehouseFile)).toBe(false);
    expect(backups(env)).toEqual([]);
  });

  test('is idempotent: a second run changes nothing and makes no backup', async () => {
    const env = setup();
    await connect(env);
    const codexAfter = readFileSync(env.codexFile, 'utf8');
    const gatehouseAfter = readFileSync(env.gatehouseFile, 'utf8');
    const r = await connect(env, '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { changed: boolean; servers: unknown[]; diff: string };
    expect(json.changed).toBe(false);
    expect(json.diff).toBe('');
    expect(json.servers).toEqual([
      { name: 'docs', action: 'already_connected' },
      { name: 'linear', action: 'already_connected' },
    ]);
    expect(readFileSync(env.codexFile, 'utf8')).toBe(codexAfter);
    expect(readFileSync(env.gatehouseFile, 'utf8')).toBe(gatehouseAfter);
    expect(backups(env)).toHaveLength(1);
  });

  test('only the named servers move', async () => {
    const env = setup();
    const r = await connect(env, 'linear', '--json');
    expect(r.code).toBe(0);
    const text = readFileSync(env.codexFile, 'utf8');
    expect(text).toContain('command = "npx"   # via npx');
    expect(text).toContain('args = ["run", "linear"]');
  });

  test('an unknown server name: exit 6, nothing changed', async () => {
    const env = setup();
    const r = await connect(env, 'nope');
    expect(r.code).toBe(6);
    expect(r.stderr).toContain("no server 'nope'");
    expect(r.stderr).toContain('servers there: docs, linear');
    expect(readFileSync(env.codexFile, 'utf8')).toBe(ORIGINAL);
  });

  test('a Codex config with a syntax error is never overwritten: exit 3 with file:line', async () => {
    const broken = ORIGINAL.replace('model = "gpt"', 'model = "gpt');
    const env = setup(broken);
    const r = await connect(env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${env.codexFile}:21:`);
    expect(r.stderr).toContain('nothing was changed');
    expect(readFileSync(env.codexFile, 'utf8')).toBe(broken);
    expect(existsSync(env.gatehouseFile)).toBe(false);
    expect(backups(env)).toEqual([]);
  });

  test("a syntax error in Gatehouse's config: exit 3, neither file changed", async () => {
    const env = setup();
    mkdirSync(env.gatehouseHome);
    writeFileSync(env.gatehouseFile, 'x = = 1\n');
    const r = await connect(env);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${env.gatehouseFile}:1:`);
    expect(readFileSync(env.codexFile, 'utf8')).toBe(ORIGINAL);
    expect(readFileSync(env.gatehouseFile, 'utf8')).toBe('x = = 1\n');
  });

  test("a server already defined differently in Gatehouse's config: exit 20, nothing changed", async () => {
    const env = setup();
    mkdirSync(env.gatehouseHome);
    const mine = '[mcp_servers.docs]\ncommand = "uvx"\n';
    writeFileSync(env.gatehouseFile, mine);
    const r = await connect(env);
    expect(r.code).toBe(20);
    expect(r.stderr).toContain('already defined differently');
    expect(readFileSync(env.codexFile, 'utf8')).toBe(ORIGINAL);
    expect(readFileSync(env.gatehouseFile, 'utf8')).toBe(mine);
  });

  test('a concurrent edit between reading and writing is detected: exit 20, nothing written', async () => {
    const env = setup();
    const edited = ORIGINAL + '\n[mcp_servers.added]\ncommand = "x"\n';
    const r = await run(
      env,
      ['connect', 'codex', '--gatehouse-command', GATEHOUSE_BIN],
      async () => {
        writeFileSync(env.codexFile, edited); // another editor saves while the diff is shown
        return true;
      },
    );
    expect(r.code).toBe(20);
    expect(r.stderr).toContain('changed while connect was running');
    expect(readFileSync(env.codexFile, 'utf8')).toBe(edited);
    expect(existsSync(env.gatehouseFile)).toBe(false);
    expect(backups(env)).toEqual([]);
  });

  test('forms it cannot edit exactly are refused with the fix: exit 20', async () => {
    const env = setup('[mcp_servers]\ndocs = { command = "npx" }\n');
    const r = await connect(env);
    expect(r.code).toBe(20);
    expect(r.stderr).toContain('inline table or dotted keys');
    expect(r.stderr).toContain('rewrite it as a [mcp_servers.docs] table');
  });

  test('a name that gatehouse run would read as an option is refused', async () => {
    const env = setup('[mcp_servers."-x"]\ncommand = "npx"\n');
    const r = await connect(env);
    expect(r.code).toBe(20);
    expect(r.stderr).toContain('cannot be passed to `gatehouse run`');
  });

  test('--scope project edits .codex/config.toml under the working directory', async () => {
    const env = setup();
    mkdirSync(join(env.root, '.codex'));
    const project = join(env.root, '.codex', 'config.toml');
    writeFileSync(project, '[mcp_servers.p]\ncommand = "node"\nargs = ["p.js"]\n');
    const r = await connect(env, '--scope', 'project');
    expect(r.code).toBe(0);
    expect(readFileSync(project, 'utf8')).toContain('args = ["run", "p"]');
    expect(readFileSync(env.codexFile, 'utf8')).toBe(ORIGINAL);
  });

  test('a symlinked config stays a symlink; the file it points to is edited', async () => {
    const env = setup();
    const real = join(env.root, 'dotfiles-config.toml');
    renameSync(env.codexFile, real);
    symlinkSync(real, env.codexFile);
    expect((await connect(env)).code).toBe(0);
    expect(lstatSync(env.codexFile).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toContain('args = ["run", "docs"]');
  });

  test('CRLF files stay CRLF', async () => {
    const env = setup(ORIGINAL.replace(/\n/g, '\r\n'));
    expect((await connect(env)).code).toBe(0);
    const text = readFileSync(env.codexFile, 'utf8');
    expect(text).toContain('args = ["run", "docs"]\r\n');
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
  });
});

describe('gatehouse disconnect codex', () => {
  test('restores exactly the backup', async () => {
    const env = setup();
    await connect(env);
    const r = await run(env, ['disconnect', 'codex']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('restored from');
    expect(readFileSync(env.codexFile, 'utf8')).toBe(ORIGINAL);
    // Connect again works after a disconnect (the definitions already in Gatehouse are equal).
    expect((await connect(env)).code).toBe(0);
    expect(readFileSync(env.codexFile, 'utf8')).toContain('args = ["run", "docs"]');
  });

  test('refuses when the file was edited after connect; --force restores and keeps the edit', async () => {
    const env = setup();
    await connect(env);
    const edited = readFileSync(env.codexFile, 'utf8') + '\n[mcp_servers.later]\ncommand = "x"\n';
    writeFileSync(env.codexFile, edited);
    const r = await run(env, ['disconnect', 'codex']);
    expect(r.code).toBe(20);
    expect(r.stderr).toContain('was edited after connect');
    expect(readFileSync(env.codexFile, 'utf8')).toBe(edited);
    const forced = await run(env, ['disconnect', 'codex', '--force', '--json']);
    expect(forced.code).toBe(0);
    const json = JSON.parse(forced.stdout) as { backup: string };
    expect(readFileSync(env.codexFile, 'utf8')).toBe(ORIGINAL);
    expect(readFileSync(json.backup, 'utf8')).toBe(edited);
  });

  test('--dry-run shows the diff and changes nothing', async () => {
    const env = setup();
    await connect(env);
    const connected = readFileSync(env.codexFile, 'utf8');
    const r = await run(env, ['disconnect', 'codex', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('+command = "npx"   # via npx');
    expect(readFileSync(env.codexFile, 'utf8')).toBe(connected);
  });

  test('nothing recorded: exit 6', async () => {
    const env = setup();
    const r = await run(env, ['disconnect', 'codex']);
    expect(r.code).toBe(6);
    expect(readFileSync(env.codexFile, 'utf8')).toBe(ORIGINAL);
  });
});

describe.skipIf(!existsSync(CODEX))('with the real Codex 0.169', () => {
  test('codex mcp list --json shows the entries as gatehouse run NAME', async () => {
    const env = setup();
    expect((await connect(env)).code).toBe(0);
    const r = spawnSync(CODEX, ['mcp', 'list', '--json'], {
      env: { ...process.env, HOME: env.root, CODEX_HOME: env.codexHome },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    const list = JSON.parse(r.stdout) as {
      name: string;
      enabled: boolean;
      transport: {
        command: string;
        args: string[];
        env: Record<string, string>;
        env_vars: string[];
      };
    }[];
    expect(list.map((s) => [s.name, s.enabled, s.transport.command, s.transport.args])).toEqual([
      ['docs', true, GATEHOUSE_BIN, ['run', 'docs']],
      ['linear', true, GATEHOUSE_BIN, ['run', 'linear']],
    ]);
    expect(list[0]?.transport.env).toEqual({ GATEHOUSE_HOME: env.gatehouseHome });
    expect(list[0]?.transport.env_vars).toContain('GATEHOUSE_AUDIT');
    expect(list[0]?.transport.env_vars).toContain('GITHUB_TOKEN');
  });
});
