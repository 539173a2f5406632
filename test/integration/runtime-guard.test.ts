import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';

// Issue 14 item 1: NODE_OPTIONS (settable in the `env` table of the user's own Codex entry) and
// Node's own options can load code into the gateway before it starts. Gatehouse refuses to run
// governed then (exit 18), with the reason, and forwards nothing.
const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const SERVER = join(FIXTURES, 'governed.mjs');

function setup() {
  const dir = writeFiles({
    'config.toml': `[mcp_servers.governed]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(SERVER)}]\n`,
    'requirements.toml': '[gatehouse_policy]\nread_only = true\n',
    'inject.cjs': `require('node:fs').writeFileSync(${JSON.stringify(join(tempDir(), 'x'))}, '');\n`,
  });
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  delete env.NODE_OPTIONS;
  delete env.GATEHOUSE_REQUIREMENTS_TOML_BASE64;
  env.GATEHOUSE_HOME = tempDir();
  return {
    dir,
    env,
    args: ['--config', join(dir, 'config.toml'), '--requirements', join(dir, 'requirements.toml')],
  };
}

const INIT = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } })}\n`;

/** Starts a gateway, sends initialize, and resolves with what it answered (then stops it). */
function initialize(command: string, argv: string[], env: Record<string, string>) {
  return new Promise<{ stdout: string; stderr: string }>((resolve) => {
    const child = spawn(command, argv, { env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('\n')) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', () => resolve({ stdout, stderr }));
    child.stdin.write(INIT);
  });
}

describe.skipIf(!existsSync(BIN))('gatehouse refuses to govern from an injected runtime', () => {
  test.each([
    ['run', ['run', 'governed']],
    ['serve', ['serve']],
  ])(
    '%s: NODE_OPTIONS=--require → exit 18, the reason on stderr, the client told',
    (_name, cmd) => {
      const { dir, env, args } = setup();
      const r = spawnSync(process.execPath, [BIN, ...args, ...cmd], {
        env: { ...env, NODE_OPTIONS: `--require ${join(dir, 'inject.cjs')}` },
        input: INIT,
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(r.status).toBe(18);
      expect(r.stderr).toContain('refusing to run governed');
      expect(r.stderr).toContain('NODE_OPTIONS --require');
      expect(r.stdout).toContain('refusing to run governed');
    },
  );

  test('node --import (process.execArgv) is refused the same way', () => {
    const { dir, env, args } = setup();
    const r = spawnSync(
      process.execPath,
      ['--require', join(dir, 'inject.cjs'), BIN, ...args, 'run', 'governed'],
      { env, input: INIT, encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.status).toBe(18);
    expect(r.stderr).toContain('node options --require');
  });

  test('harmless NODE_OPTIONS (a heap size) still run', async () => {
    const { env, args } = setup();
    const r = await initialize(process.execPath, [BIN, ...args, 'run', 'governed'], {
      ...env,
      NODE_OPTIONS: '--max-old-space-size=256',
    });
    expect(r.stderr).not.toContain('refusing to run governed');
    expect(r.stdout).toContain('"serverInfo"');
  });

  test('the launcher clears NODE_OPTIONS and LD_* before Node starts', async () => {
    const { dir, env, args } = setup();
    // As an admin installs it: the Node and Gatehouse to run are fixed in the script.
    const launcher = join(dir, 'gatehouse-governed');
    const source = readFileSync(
      join(import.meta.dirname, '..', '..', 'bin', 'gatehouse-governed'),
      'utf8',
    )
      .replace('NODE_BIN=""', `NODE_BIN=${JSON.stringify(process.execPath)}`)
      .replace('GATEHOUSE_JS=""', `GATEHOUSE_JS=${JSON.stringify(BIN)}`);
    writeFileSync(launcher, source, { mode: 0o755 });
    const r = await initialize(launcher, [...args, 'run', 'governed'], {
      ...env,
      NODE_OPTIONS: `--require ${join(dir, 'inject.cjs')}`,
      LD_LIBRARY_PATH: '/nonexistent',
    });
    expect(r.stderr).not.toContain('refusing to run governed');
    expect(r.stdout).toContain('"serverInfo"');
  });
});
