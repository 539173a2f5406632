import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { processesWithMarker, until } from '../support/processes.js';

const root = join(import.meta.dirname, '..', '..');
const BIN = join(root, 'dist', 'bin', 'gatehouse.js');
const CLIENT = join(FIXTURES, '..', 'clients', 'stdio-client.mjs');

/**
 * The agent dies (SIGKILL, no cleanup of its own): Gatehouse sees stdin close and must take every
 * process it started with it — here an `npx`-launched server (npx → node), the real-world tree.
 * Each process of the tree inherits a unique environment marker, so /proc tells what is left.
 */
describe.skipIf(!existsSync(BIN) || process.platform !== 'linux')(
  'killing the client leaves no orphaned upstream processes',
  () => {
    test.each([
      ['run', ['run', 'everything']],
      ['serve', ['serve']],
    ])('gatehouse %s with an npx-launched server', async (_mode, args) => {
      const marker = `GATEHOUSE_ORPHAN_MARKER=${randomUUID()}`;
      const config = writeFiles({
        'c.toml': `[mcp_servers.everything]\ncommand = "npx"\nargs = ["--no-install", "mcp-server-everything", "stdio"]\nenv = { GATEHOUSE_ORPHAN_MARKER = "${marker.split('=')[1]}" }\nstartup_timeout_sec = 60\n`,
      });
      const client = spawn(
        process.execPath,
        [CLIENT, process.execPath, BIN, '--config', join(config, 'c.toml'), ...args],
        {
          cwd: root,
          env: { ...process.env, GATEHOUSE_HOME: tempDir() },
          stdio: ['ignore', 'pipe', 'ignore'],
        },
      );
      let out = '';
      client.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      expect(await until(() => out.includes('READY'), 60_000)).toBe(true);
      const tree = processesWithMarker(marker);
      expect(tree.length).toBeGreaterThanOrEqual(2); // npx and the server it started
      client.kill('SIGKILL');
      expect(await until(() => processesWithMarker(marker).length === 0, 10_000)).toBe(true);
    });
  },
);
