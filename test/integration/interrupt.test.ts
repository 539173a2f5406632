import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { isRunning, until } from '../support/processes.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');

test.skipIf(!existsSync(BIN) || process.platform !== 'linux')(
  'Ctrl-C during --probe kills every probed process tree and exits 130',
  async () => {
    const pidFile = join(tempDir(), 'pid');
    const dir = writeFiles({
      'c.toml': `[mcp_servers.stuck]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(join(FIXTURES, 'hang-with-grandchild.mjs'))}]\nenv = { PID_FILE = ${JSON.stringify(pidFile)} }\nstartup_timeout_sec = 60\n`,
    });
    const cli = spawn(
      process.execPath,
      [BIN, '--config', join(dir, 'c.toml'), 'mcp', 'list', '--probe'],
      {
        env: { ...process.env, GATEHOUSE_HOME: tempDir() },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      cli.once('exit', (code) => resolve(code)),
    );
    expect(await until(() => existsSync(pidFile), 15_000)).toBe(true);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    expect(isRunning(grandchild)).toBe(true);

    cli.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('SIGINT: stopped (killed 1 server process group(s))');
    expect(await until(() => !isRunning(grandchild), 3_000)).toBe(true);
  },
);
