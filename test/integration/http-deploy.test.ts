import type { ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, test } from 'vitest';
import { EVERYTHING, FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import {
  BIN,
  INIT,
  mcpPost,
  rawRequest,
  resolvingFetch,
  startGatehouse,
} from '../support/gatehouse-http.js';
import { exitsWithin, until } from '../support/processes.js';
import { HAS_OPENSSL, selfSigned } from '../support/self-signed.js';

const node = JSON.stringify(process.execPath);
const EVERYTHING_CONFIG = `[mcp_servers.everything]\ncommand = ${node}\nargs = [${JSON.stringify(EVERYTHING)}, "stdio"]\n`;
const treeConfig = (pidFile: string) =>
  `[mcp_servers.tree]\ncommand = ${node}\nargs = [${JSON.stringify(join(FIXTURES, 'with-grandchild.mjs'))}]\nenv = { PID_FILE = ${JSON.stringify(pidFile)} }\n`;
const children: ChildProcess[] = [];
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  // SIGTERM first: the gateway drains and kills the process trees it started (a SIGKILL would
  // leave the fixture's SIGTERM-proof grandchildren behind); SIGKILL only if it does not exit.
  await Promise.all(
    children.splice(0).map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
});

const start = (config: string, args: string[], env: Record<string, string> = {}) =>
  startGatehouse(children, config, args, env);

async function connect(
  url: string,
  opts: { headers?: Record<string, string>; fetch?: typeof fetch } = {},
): Promise<Client> {
  const client = new Client({ name: 'deploy-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: opts.headers ?? {} },
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    }),
  );
  clients.push(client);
  return client;
}

const port = (url: string) => new URL(url).port;
const errorOf = (body: string) => (JSON.parse(body) as { error: { message: string } }).error;

describe.skipIf(!existsSync(BIN))('deployable HTTP server (serve --http)', () => {
  test('allowed hosts: a configured DNS name works from a real client; others get 403 naming the setting', async () => {
    const g = await start(EVERYTHING_CONFIG, [
      'run',
      'everything',
      '--http',
      '127.0.0.1:0',
      '--allowed-host',
      'gw.test',
    ]);
    const byName = `http://gw.test:${port(g.url)}/mcp`;
    const client = await connect(byName, { fetch: resolvingFetch({ 'gw.test': '127.0.0.1' }) });
    expect((await client.callTool({ name: 'echo', arguments: { message: 'hi' } })).content).toEqual(
      [{ type: 'text', text: 'Echo: hi' }],
    );
    const other = await mcpPost(g.url, INIT, { host: `gw2.test:${port(g.url)}` });
    expect(other.status).toBe(403);
    expect(errorOf(other.body).message).toContain("Host 'gw2.test:");
    expect(errorOf(other.body).message).toContain('--allowed-host');
    expect(errorOf(other.body).message).toContain('[gatehouse_http] allowed_hosts');
    // A browser page of that name is same-origin; a foreign one is refused, naming its setting.
    expect((await mcpPost(g.url, INIT, { host: 'gw.test', origin: 'http://gw.test' })).status).toBe(
      200,
    );
    const foreign = await mcpPost(g.url, INIT, { origin: 'https://evil.test' });
    expect([foreign.status, errorOf(foreign.body).message]).toEqual([
      403,
      expect.stringContaining('--allowed-origin'),
    ]);
  });

  test('requirements fix the allowed hosts: a flag outside them is refused (exit 22); bad entries name the key', async () => {
    const dir = writeFiles({
      'r.toml': '[gatehouse_http]\nallowed_hosts = ["gw.test"]\n',
      'bad.toml': '[gatehouse_http]\nallowed_hosts = ["*.test"]\n',
    });
    const refused = await start(EVERYTHING_CONFIG, [
      '--requirements',
      join(dir, 'r.toml'),
      'run',
      'everything',
      '--http',
      '127.0.0.1:0',
      '--allowed-host',
      'evil.test',
    ]);
    expect(refused.code).toBe(22);
    expect(refused.stderr()).toContain(
      '--allowed-host evil.test: not in [gatehouse_http] allowed_hosts',
    );
    // Without the flag the requirements' names apply.
    const g = await start(EVERYTHING_CONFIG, [
      '--requirements',
      join(dir, 'r.toml'),
      'run',
      'everything',
      '--http',
      '127.0.0.1:0',
    ]);
    expect((await mcpPost(g.url, INIT, { host: 'gw.test' })).status).toBe(200);
    const bad = await start(EVERYTHING_CONFIG, [
      '--requirements',
      join(dir, 'bad.toml'),
      'run',
      'everything',
      '--http',
      '127.0.0.1:0',
    ]);
    expect(bad.stderr()).toContain('gatehouse_http.allowed_hosts');
    expect(bad.stderr()).toContain("'*.test' is not an exact host name");
  });

  test('trusted proxy: X-Forwarded-* count only from a configured proxy address', async () => {
    const forwarded = {
      host: 'backend.internal:9',
      'x-forwarded-host': 'gw.test',
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '203.0.113.7',
      origin: 'https://gw.test',
    };
    const trusted = await start(EVERYTHING_CONFIG, [
      'run',
      'everything',
      '--http',
      '127.0.0.1:0',
      '--allowed-host',
      'gw.test',
      '--trusted-proxy',
      '127.0.0.0/8',
    ]);
    expect((await mcpPost(trusted.url, INIT, forwarded)).status).toBe(200);
    // From a trusted proxy, the forwarded name is the one checked.
    const spoofed = await mcpPost(trusted.url, INIT, { 'x-forwarded-host': 'evil.test' });
    expect([spoofed.status, errorOf(spoofed.body).message]).toEqual([
      403,
      expect.stringContaining("Host 'evil.test'"),
    ]);
    // The peer (127.0.0.1) is not in the list: the same headers are ignored.
    const untrusted = await start(EVERYTHING_CONFIG, [
      'run',
      'everything',
      '--http',
      '127.0.0.1:0',
      '--allowed-host',
      'gw.test',
      '--trusted-proxy',
      '10.0.0.0/8',
    ]);
    const ignored = await mcpPost(untrusted.url, INIT, forwarded);
    expect([ignored.status, errorOf(ignored.body).message]).toEqual([
      403,
      expect.stringContaining("Host 'backend.internal:9'"),
    ]);
    expect((await mcpPost(untrusted.url, INIT, { 'x-forwarded-host': 'evil.test' })).status).toBe(
      200,
    );
  });

  test.skipIf(!HAS_OPENSSL)(
    'TLS: a real client over HTTPS by name; SIGHUP serves a new certificate; bad files are named (exit 22)',
    async () => {
      const dir = tempDir();
      const first = selfSigned(dir, 'first', 'gw.test');
      const second = selfSigned(dir, 'second', 'gw.test');
      const cert = join(dir, 'live.crt');
      const key = join(dir, 'live.key');
      writeFileSync(cert, readFileSync(first.cert));
      writeFileSync(key, readFileSync(first.key));
      const g = await start(EVERYTHING_CONFIG, [
        'run',
        'everything',
        '--http',
        '127.0.0.1:0',
        '--allowed-host',
        'gw.test',
        '--tls-cert',
        cert,
        '--tls-key',
        key,
      ]);
      expect(g.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/mcp$/);
      const byName = `https://gw.test:${port(g.url)}/mcp`;
      const names = { 'gw.test': '127.0.0.1' };
      const ca1 = readFileSync(first.cert, 'utf8');
      const client = await connect(byName, { fetch: resolvingFetch(names, ca1) });
      expect((await client.listTools()).tools.length).toBeGreaterThan(5);
      const fp = (file: string) => new X509Certificate(readFileSync(file)).fingerprint256;
      expect(
        (
          await rawRequest(`${byName.replace('/mcp', '/healthz')}`, {
            method: 'GET',
            ca: ca1,
            names,
          })
        ).fingerprint,
      ).toBe(fp(first.cert));

      writeFileSync(cert, readFileSync(second.cert));
      writeFileSync(key, readFileSync(second.key));
      g.child.kill('SIGHUP');
      expect(await until(() => g.stderr().includes('"event":"tls_reloaded"'), 10_000)).toBe(true);
      const after = await rawRequest(byName.replace('/mcp', '/healthz'), {
        method: 'GET',
        ca: readFileSync(second.cert, 'utf8'),
        names,
      });
      expect([after.status, after.fingerprint]).toEqual([200, fp(second.cert)]);

      // A broken file on reload: reported, the served certificate stays.
      writeFileSync(key, readFileSync(first.key));
      g.child.kill('SIGHUP');
      expect(await until(() => g.stderr().includes('"event":"tls_reload_failed"'), 10_000)).toBe(
        true,
      );
      expect(g.stderr()).toContain(`TLS private key ${key} does not match certificate ${cert}`);
      expect(
        (await rawRequest(byName.replace('/mcp', '/healthz'), { method: 'GET', names }))
          .fingerprint,
      ).toBe(fp(second.cert));

      // At start: unreadable and mismatched files are refused, naming the file.
      const unreadable = join(dir, 'unreadable.key');
      writeFileSync(unreadable, readFileSync(first.key));
      chmodSync(unreadable, 0);
      const missing = await start(EVERYTHING_CONFIG, [
        'run',
        'everything',
        '--http',
        '127.0.0.1:0',
        '--tls-cert',
        join(dir, 'nope.crt'),
        '--tls-key',
        key,
      ]);
      expect(missing.code).toBe(22);
      expect(missing.stderr()).toContain(
        `TLS certificate file ${join(dir, 'nope.crt')} (--tls-cert / tls_cert) cannot be read: ENOENT`,
      );
      const mismatched = await start(EVERYTHING_CONFIG, [
        'run',
        'everything',
        '--http',
        '127.0.0.1:0',
        '--tls-cert',
        second.cert,
        '--tls-key',
        first.key,
      ]);
      expect(mismatched.code).toBe(22);
      expect(mismatched.stderr()).toContain(
        `TLS private key ${first.key} does not match certificate ${second.cert}`,
      );
      expect(mismatched.stderr()).not.toContain('PRIVATE KEY');
    },
  );

  test('/healthz and /readyz: no auth, no Host check, no secrets; readyz 503 when the store is unreachable', async () => {
    const g = await start(
      EVERYTHING_CONFIG,
      ['run', 'everything', '--http', '127.0.0.1:0', '--http-token-env', 'GH_TOKEN_T'],
      { GH_TOKEN_T: 'tok-health-123' },
    );
    const base = g.url.replace('/mcp', '');
    const health = await rawRequest(`${base}/healthz`, {
      method: 'GET',
      headers: { host: '10.1.2.3:80' },
    });
    expect([health.status, JSON.parse(health.body)]).toEqual([200, { status: 'ok' }]);
    const ready = await rawRequest(`${base}/readyz`, { method: 'GET' });
    expect([ready.status, JSON.parse(ready.body)]).toEqual([200, { status: 'ready' }]);
    expect((await mcpPost(g.url, INIT)).status).toBe(401); // the MCP endpoint still needs the token
    const down = await start(EVERYTHING_CONFIG, [
      '--audit',
      'postgres://nobody:pw-secret@127.0.0.1:1/none',
      'run',
      'everything',
      '--http',
      '127.0.0.1:0',
    ]);
    const notReady = await rawRequest(down.url.replace('/mcp', '/readyz'), { method: 'GET' });
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.body)).toEqual({
      status: 'not_ready',
      reason: 'audit store unavailable',
    });
    expect(notReady.body).not.toContain('pw-secret');
    expect((await rawRequest(down.url.replace('/mcp', '/healthz'), { method: 'GET' })).status).toBe(
      200,
    );
  });

  test('SIGTERM drains: new sessions 503 + Retry-After, the call in flight finishes, trees killed, exit 0', async () => {
    const pidFile = join(tempDir(), 'pid');
    const g = await start(`${EVERYTHING_CONFIG}${treeConfig(pidFile)}`, [
      'serve',
      '--http',
      '127.0.0.1:0',
      '--drain-seconds',
      '30',
    ]);
    const client = await connect(g.url);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    let progressed: () => void = () => undefined;
    const firstProgress = new Promise<void>((resolve) => (progressed = resolve));
    const call = client.callTool(
      { name: 'everything__trigger_long_running_operation', arguments: { duration: 3, steps: 3 } },
      { onprogress: () => progressed(), timeout: 60_000 },
    );
    await Promise.race([firstProgress, call]); // the call is in flight
    g.child.kill('SIGTERM');
    expect(await until(() => g.stderr().includes('"event":"draining"'), 10_000)).toBe(true);
    const refused = await mcpPost(g.url, INIT);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('30');
    expect(errorOf(refused.body).message).toContain('draining');
    const result = await call;
    expect(JSON.stringify(result.content)).toContain('Long running operation completed');
    expect(await g.exited).toBe(0);
    expect(g.stderr()).toContain('"event":"drained","unfinished":0');
    expect(await exitsWithin(grandchild, 5_000)).toBe(true);
  });

  test('idle sessions: a client gone without DELETE is ended and its upstream tree killed', async () => {
    const pidFile = join(tempDir(), 'pid');
    const g = await start(treeConfig(pidFile), [
      'serve',
      '--http',
      '127.0.0.1:0',
      '--idle-session-seconds',
      '1',
    ]);
    const client = await connect(g.url);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('tree__ping');
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await client.close(); // no DELETE: the client just goes away
    expect(await exitsWithin(grandchild, 20_000)).toBe(true);
    expect(g.stderr()).toContain('"event":"session_expired"');
    // A client in use is not ended: a new one still works after the idle time passes.
    const again = await connect(g.url);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await again.callTool({ name: 'tree__ping', arguments: {} })).content).toEqual([
      { type: 'text', text: 'pong' },
    ]);
  });

  test('per-user limits: sessions and upstream processes, 429 naming the limit and the setting', async () => {
    const g = await start(
      EVERYTHING_CONFIG,
      [
        'run',
        'everything',
        '--http',
        '127.0.0.1:0',
        '--http-token-env',
        'GH_T',
        '--max-sessions-per-user',
        '1',
      ],
      { GH_T: 'tok-limits' },
    );
    const auth = { authorization: 'Bearer tok-limits' };
    const first = await connect(g.url, { headers: auth });
    const second = await mcpPost(g.url, INIT, auth);
    expect(second.status).toBe(429);
    const message = errorOf(second.body).message;
    expect(message).toMatch(/^Too many sessions: token:[0-9a-f]{12} already holds 1/);
    expect(message).toContain('max_sessions_per_user = 1');
    expect(message).toContain('--max-sessions-per-user');
    expect(message).not.toContain('tok-limits');
    // Ending the session frees the room.
    await (
      first as unknown as { transport: StreamableHTTPClientTransport }
    ).transport.terminateSession();
    expect((await mcpPost(g.url, INIT, auth)).status).toBe(200);

    const pidFile = join(tempDir(), 'pid');
    const p = await start(`${EVERYTHING_CONFIG}${treeConfig(pidFile)}`, [
      'serve',
      '--http',
      '127.0.0.1:0',
      '--max-processes-per-user',
      '3',
    ]);
    expect((await mcpPost(p.url, INIT)).status).toBe(200); // 2 processes
    const over = await mcpPost(p.url, INIT);
    expect(over.status).toBe(429);
    expect(errorOf(over.body).message).toContain('max_processes_per_user = 3');
    expect(errorOf(over.body).message).toContain('a new one starts 2');
  });
});
