import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { describe, expect, test } from 'vitest';
import { FIXTURES, tempDir } from '../support/fixtures.js';
import { until } from '../support/processes.js';
import { cli } from '../support/run-cli.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function tool(dir: string, name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

test('sha256 pins the resolved executable: PATH lookup, symlinks followed, a swapped binary is disabled', async () => {
  const dir = tempDir();
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const good = tool(dir, 'mcp-tool-v1', 'echo v1');
  const evil = tool(dir, 'mcp-tool-evil', 'echo evil');
  symlinkSync(good, join(bin, 'mcp-tool'));
  writeFileSync(
    join(dir, 'c.toml'),
    `[mcp_servers.pinned]\ncommand = "mcp-tool"\nenv = { PATH = "${bin}" }\n`,
  );
  writeFileSync(
    join(dir, 'r.toml'),
    `[mcp_servers.pinned.identity]\ncommand = "mcp-tool"\nsha256 = "${sha256(good)}"\ninterpreter_sha256 = "${sha256(realpathSync('/bin/sh'))}"\n`,
  );
  const list = async () => {
    const r = await cli([
      '--config',
      join(dir, 'c.toml'),
      '--requirements',
      join(dir, 'r.toml'),
      'mcp',
      'list',
      '--json',
    ]);
    return JSON.parse(r.stdout)[0] as Record<string, unknown>;
  };

  expect(await list()).toMatchObject({ enabled: true, disabled_reason_code: null });

  unlinkSync(join(bin, 'mcp-tool'));
  symlinkSync(evil, join(bin, 'mcp-tool'));
  const swapped = await list();
  expect(swapped).toMatchObject({
    enabled: false,
    disabled_reason_code: 'pin_mismatch',
    disabled_reason: `requirements (${join(dir, 'r.toml')})`,
  });
  expect(swapped.disabled_detail).toContain(evil);

  unlinkSync(join(bin, 'mcp-tool'));
  const gone = await list();
  expect(gone).toMatchObject({ enabled: false, disabled_reason_code: 'pin_mismatch' });
  expect(gone.disabled_detail).toContain('was not found');
});

const realSh = realpathSync('/bin/sh');

test('a pinned #! script needs its interpreter pinned too; the message says what to add', async () => {
  const dir = tempDir();
  const script = tool(dir, 'mcp-tool', 'echo v1');
  writeFileSync(join(dir, 'c.toml'), `[mcp_servers.pinned]\ncommand = "${script}"\n`);
  writeFileSync(
    join(dir, 'r.toml'),
    `[mcp_servers.pinned.identity]\ncommand = "${script}"\nsha256 = "${sha256(script)}"\n`,
  );
  const r = await cli([
    '--config',
    join(dir, 'c.toml'),
    '--requirements',
    join(dir, 'r.toml'),
    'mcp',
    'list',
    '--json',
  ]);
  const s = JSON.parse(r.stdout)[0] as Record<string, unknown>;
  expect(s).toMatchObject({ enabled: false, disabled_reason_code: 'pin_mismatch' });
  expect(s.disabled_detail).toContain(`interpreter_sha256 = "${sha256(realSh)}"`);
  expect(s.disabled_detail).toContain(realSh);
});

/** An npx-style launcher: a `#!/usr/bin/env node` script that runs a fixture server. */
function launcher(dir: string, body = ''): string {
  const file = join(dir, 'launch-server');
  writeFileSync(file, `#!/usr/bin/env node\n${body}import(process.argv[2]);\n`);
  chmodSync(file, 0o755);
  return file;
}

/** A PATH directory whose `node` is a symlink the test can re-point. */
function nodeDir(dir: string, target = process.execPath): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  rmSync(join(bin, 'node'), { force: true });
  symlinkSync(target, join(bin, 'node'));
  return bin;
}

function pinnedLauncher(dir: string, script: string, bin: string, extra = '', identityExtra = '') {
  writeFileSync(
    join(dir, 'c.toml'),
    `[mcp_servers.pinned]\ncommand = "launch-server"\nargs = [${JSON.stringify(join(FIXTURES, 'crashy.mjs'))}]\nenv = { PATH = "${dir}:${bin}" ${extra} }\n`,
  );
  writeFileSync(
    join(dir, 'r.toml'),
    `[mcp_servers.pinned.identity]\ncommand = "launch-server"\nsha256 = "${sha256(script)}"\ninterpreter_sha256 = "${sha256(realpathSync(process.execPath))}"\n${identityExtra}`,
  );
}

const listPinned = async (dir: string, args: string[] = [], env: Record<string, string> = {}) => {
  const r = await cli(
    [
      '--config',
      join(dir, 'c.toml'),
      '--requirements',
      join(dir, 'r.toml'),
      'mcp',
      'list',
      '--json',
      ...args,
    ],
    env,
  );
  return JSON.parse(r.stdout)[0] as Record<string, unknown>;
};

test('an npx-style script: the #! interpreter is resolved on the server PATH, pinned, and what runs', async () => {
  const dir = tempDir();
  const script = launcher(dir);
  const bin = nodeDir(dir);
  pinnedLauncher(dir, script, bin);
  // The pinned script and its pinned interpreter start a working server.
  expect(await listPinned(dir, ['--probe'])).toMatchObject({
    enabled: true,
    runtime: { state: 'ready' },
  });
  // Swap the interpreter the script's `#!/usr/bin/env node` finds: refused, naming it.
  nodeDir(dir, realSh);
  const swapped = await listPinned(dir);
  expect(swapped).toMatchObject({ enabled: false, disabled_reason_code: 'pin_mismatch' });
  expect(swapped.disabled_detail).toMatch(/^interpreter .* \(from `#!\/usr\/bin\/env node` of /);
});

test('sha256 pin: an empty PATH entry means the cwd, for the hash as for the spawn (./node is caught)', async () => {
  const dir = tempDir();
  const cwd = join(dir, 'work');
  mkdirSync(cwd);
  // A fake `node` in the server's cwd; the PATH's empty entry comes before the real one.
  writeFileSync(join(cwd, 'node'), '#!/bin/sh\necho pwned\n');
  chmodSync(join(cwd, 'node'), 0o755);
  const realNode = realpathSync(process.execPath);
  writeFileSync(
    join(dir, 'c.toml'),
    `[mcp_servers.pinned]\ncommand = "node"\nargs = []\ncwd = "${cwd}"\nenv = { PATH = ":${dirname(realNode)}" }\n`,
  );
  writeFileSync(
    join(dir, 'r.toml'),
    `[mcp_servers.pinned.identity]\ncommand = "node"\nsha256 = "${sha256(realNode)}"\n`,
  );
  const s = await listPinned(dir);
  expect(s).toMatchObject({ enabled: false, disabled_reason_code: 'pin_mismatch' });
  expect(s.disabled_detail).toContain(`executable ${join(cwd, 'node')} has sha256`);
});

test('loader/injection variables in a pinned server env are refused unless the rule names them', async () => {
  const dir = tempDir();
  const script = launcher(dir);
  const bin = nodeDir(dir);
  pinnedLauncher(dir, script, bin, ', NODE_OPTIONS = "--require /tmp/inject.js"');
  const s = await listPinned(dir);
  expect(s).toMatchObject({ enabled: false, disabled_reason_code: 'pin_mismatch' });
  expect(s.disabled_detail).toContain('sets NODE_OPTIONS');
  expect(s.disabled_detail).toContain('allow_env = ["NODE_OPTIONS"]');
  expect(s.disabled_detail).not.toContain('inject.js');
  pinnedLauncher(
    dir,
    script,
    bin,
    ', NODE_OPTIONS = "--no-warnings"',
    'allow_env = ["NODE_OPTIONS"]\n',
  );
  expect(await listPinned(dir)).toMatchObject({ enabled: true });
});

test('an injection variable forwarded from the gateway environment (env_vars) is refused too', async () => {
  const dir = tempDir();
  const script = launcher(dir);
  const bin = nodeDir(dir);
  pinnedLauncher(dir, script, bin);
  writeFileSync(
    join(dir, 'c.toml'),
    `${readFileSync(join(dir, 'c.toml'), 'utf8')}env_vars = ["LD_AUDIT"]\n`,
  );
  expect(await listPinned(dir, [], { LD_AUDIT: '/tmp/x.so' })).toMatchObject({
    enabled: false,
    disabled_reason_code: 'pin_mismatch',
  });
  expect(await listPinned(dir, [], {})).toMatchObject({ enabled: true });
});

describe.skipIf(!existsSync(BIN))('the pin is re-checked at every start', () => {
  test('run: a pinned script swapped between a crash and the restart is refused, reported and audited', async () => {
    const dir = tempDir();
    const script = launcher(dir);
    const bin = nodeDir(dir);
    const starts = join(dir, 'starts');
    pinnedLauncher(dir, script, bin, `, STARTS_FILE = ${JSON.stringify(starts)}`);
    const home = tempDir();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [
        BIN,
        '--config',
        join(dir, 'c.toml'),
        '--requirements',
        join(dir, 'r.toml'),
        'run',
        'pinned',
      ],
      stderr: 'pipe',
      env: { ...(process.env as Record<string, string>), GATEHOUSE_HOME: home },
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'pin-test', version: '1.0.0' }, { capabilities: {} });
    await client.connect(transport);
    try {
      expect(
        JSON.stringify((await client.callTool({ name: 'ping', arguments: {} })).content),
      ).toContain('pong');
      // The attacker replaces the launcher while the server runs (a working server, just not the pinned one).
      launcher(dir, '// swapped\n');
      await client.callTool({ name: 'die', arguments: {} });
      expect(await until(() => stderr.includes('restart failed: executable'), 10_000)).toBe(true);
      expect(stderr).toMatch(
        /"state":"failed","detail":"restart failed: executable [^"]*launch-server has sha256/,
      );
      expect(readFileSync(starts, 'utf8').trim().split('\n')).toHaveLength(1);
    } finally {
      await client.close().catch(() => undefined);
    }
    const audit = await cli(['audit', 'query', '--json'], { GATEHOUSE_HOME: home });
    expect(audit.stdout).toContain('restart failed: executable');
  });
});
