import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exitsWithin } from '../support/processes.js';
import { probeServer } from '../../src/gateway/probe.js';
import {
  EVERYTHING,
  FIXTURES,
  http,
  server,
  startHttpFixture,
  stdio,
  tempDir,
} from '../support/fixtures.js';

const env = process.env;
let fixture: { base: string; child: ChildProcess };

beforeAll(async () => {
  fixture = await startHttpFixture();
});
afterAll(() => {
  fixture.child.stdin?.end();
  fixture.child.kill();
});

describe('mcp list --probe runtime states, against real servers', () => {
  test('ready: the npm reference server over stdio, with its tool count', async () => {
    const r = await probeServer(
      server('everything', stdio(process.execPath, [EVERYTHING, 'stdio'])),
      { env, timeoutMs: 30_000 },
    );
    expect(r.state).toBe('ready');
    expect(r.toolCount).toBeGreaterThan(5);
    expect(r.serverInfo?.name).toContain('everything');
  });

  test('ready: a streamable HTTP server', async () => {
    const r = await probeServer(server('web', http(`${fixture.base}/mcp`)), {
      env,
      timeoutMs: 10_000,
    });
    expect(r).toMatchObject({ state: 'ready', toolCount: 1 });
  });

  test('ready: a legacy HTTP+SSE server, through the fallback', async () => {
    const r = await probeServer(server('legacy', http(`${fixture.base}/legacy/sse`)), {
      env,
      timeoutMs: 10_000,
    });
    expect(r).toMatchObject({ state: 'ready', toolCount: 2 });
    expect(r.serverInfo?.name).toBe('legacy-sse-fixture');
  });

  test('no_tools: a server that starts and offers nothing to call', async () => {
    const r = await probeServer(
      server('empty', stdio(process.execPath, [join(FIXTURES, 'zero-tools.mjs')])),
      { env, timeoutMs: 10_000 },
    );
    expect(r.state).toBe('no_tools');
    expect(r.toolCount).toBe(0);
  });

  test('auth_required: HTTP 401 with OAuth protected-resource metadata', async () => {
    const r = await probeServer(server('oauth', http(`${fixture.base}/oauth/mcp`)), {
      env,
      timeoutMs: 10_000,
    });
    expect(r.state).toBe('auth_required');
    expect(r.oauth).toBe(true);
    expect(r.detail).toContain(`${fixture.base}/as`);
  });

  test('auth_required: HTTP 401 without metadata names the unset token variable', async () => {
    const r = await probeServer(
      server(
        'plain',
        http(`${fixture.base}/plain401/mcp`, { bearerTokenEnvVar: 'GATEHOUSE_TEST_UNSET_TOKEN' }),
      ),
      { env, timeoutMs: 10_000 },
    );
    expect(r.state).toBe('auth_required');
    expect(r.oauth).toBe(false);
    expect(r.detail).toContain('GATEHOUSE_TEST_UNSET_TOKEN is not set');
  });

  test('missing: executable not on PATH', async () => {
    const r = await probeServer(server('nope', stdio('gatehouse-no-such-binary-xyz')), {
      env,
      timeoutMs: 5_000,
    });
    expect(r.state).toBe('missing');
    expect(r.detail).toContain('gatehouse-no-such-binary-xyz');
  });

  test('missing: cwd does not exist', async () => {
    const r = await probeServer(
      server('nocwd', stdio(process.execPath, ['-v'], { cwd: '/nonexistent/gatehouse/dir' })),
      { env, timeoutMs: 5_000 },
    );
    expect(r.state).toBe('missing');
    expect(r.detail).toContain('/nonexistent/gatehouse/dir');
  });

  test('failed: a server that crashes on start, with its exit code and last stderr line', async () => {
    const r = await probeServer(
      server('crash', stdio(process.execPath, [join(FIXTURES, 'crash-on-start.mjs')])),
      { env, timeoutMs: 10_000 },
    );
    expect(r.state).toBe('failed');
    expect(r.detail).toContain('exited with code 3');
    expect(r.detail).toContain('DATABASE_URL is not set');
  });

  test('failed: a server that never answers times out', async () => {
    const r = await probeServer(
      server('hang', stdio(process.execPath, [join(FIXTURES, 'hang.mjs')])),
      { env, timeoutMs: 1_000 },
    );
    expect(r.state).toBe('failed');
    expect(r.detail).toContain('timed out');
  });

  test('failed: nothing listening', async () => {
    const r = await probeServer(server('down', http('http://127.0.0.1:9/mcp')), {
      env,
      timeoutMs: 5_000,
    });
    expect(r.state).toBe('failed');
  });

  test('probed processes are cleaned up, grandchildren included', async () => {
    const pidFile = join(tempDir(), 'pid');
    const r = await probeServer(
      server(
        'tree',
        stdio(process.execPath, [join(FIXTURES, 'with-grandchild.mjs')], {
          env: { PID_FILE: pidFile },
        }),
      ),
      { env, timeoutMs: 10_000 },
    );
    expect(r.state).toBe('ready');
    expect(existsSync(pidFile)).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(await exitsWithin(pid, 3_000)).toBe(true);
  });
});
