import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, test } from 'vitest';
import { EVERYTHING, FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { exitsWithin } from '../support/processes.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const node = JSON.stringify(process.execPath);
const EVERYTHING_CONFIG = `[mcp_servers.everything]\ncommand = ${node}\nargs = [${JSON.stringify(EVERYTHING)}, "stdio"]\n`;
const children: ChildProcess[] = [];
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

interface Running {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts gatehouse with `args`; resolves once it listens (or exits). */
function start(
  config: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Running & { code?: number | null }> {
  const dir = writeFiles({ 'c.toml': config });
  const child = spawn(process.execPath, [BIN, '--config', join(dir, 'c.toml'), ...args], {
    env: { ...process.env, GATEHOUSE_HOME: tempDir(), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return new Promise((resolve) => {
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"event":"listening","url":"([^"]+)"/.exec(err);
      if (m?.[1]) resolve({ url: m[1], child, stderr: () => err, exited });
    });
    void exited.then((code) => resolve({ url: '', child, stderr: () => err, exited, code }));
  });
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'http-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }),
  );
  clients.push(client);
  return client;
}

function rawPost(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'raw', version: '1' },
  },
});

describe.skipIf(!existsSync(BIN))('streamable HTTP downstream (--http)', () => {
  test('run NAME --http: a real client lists and calls through it', async () => {
    const g = await start(EVERYTHING_CONFIG, ['run', 'everything', '--http', '127.0.0.1:0']);
    const client = await connect(g.url);
    expect(client.getServerVersion()?.name).toBe('mcp-servers/everything');
    expect((await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } })).content).toEqual(
      [{ type: 'text', text: 'The sum of 2 and 3 is 5.' }],
    );
  });

  test('DNS rebinding: a foreign Host or Origin is refused before anything runs', async () => {
    const g = await start(EVERYTHING_CONFIG, ['run', 'everything', '--http', '127.0.0.1:0']);
    expect((await rawPost(g.url, { host: 'evil.example:80' }, INIT)).status).toBe(403);
    expect((await rawPost(g.url, { origin: 'https://evil.example' }, INIT)).status).toBe(403);
    expect(g.stderr()).not.toContain('"state":"starting"');
  });

  test('bearer token: required when set, the value never echoed', async () => {
    const g = await start(
      EVERYTHING_CONFIG,
      ['run', 'everything', '--http', '127.0.0.1:0', '--http-token-env', 'GH_TEST_TOKEN'],
      { GH_TEST_TOKEN: 'tok-123456' },
    );
    const denied = await rawPost(g.url, {}, INIT);
    expect(denied.status).toBe(401);
    expect(denied.body).not.toContain('tok-123456');
    expect((await rawPost(g.url, { authorization: 'Bearer wrong' }, INIT)).status).toBe(401);
    const client = await connect(g.url, { authorization: 'Bearer tok-123456' });
    expect((await client.listTools()).tools.length).toBeGreaterThan(5);
  });

  test('sessions: each client its own upstream; unknown session 404; DELETE ends one and its upstream', async () => {
    const g = await start(EVERYTHING_CONFIG, ['run', 'everything', '--http', '127.0.0.1:0']);
    const a = await connect(g.url);
    const b = await connect(g.url);
    expect(g.stderr().match(/"state":"ready"/g)?.length).toBe(2);
    expect(
      (
        await rawPost(
          g.url,
          { 'mcp-session-id': 'no-such-session' },
          '{"jsonrpc":"2.0","id":2,"method":"ping"}',
        )
      ).status,
    ).toBe(404);
    const transport = (a as unknown as { transport: StreamableHTTPClientTransport }).transport;
    await transport.terminateSession();
    await new Promise((r) => setTimeout(r, 1500));
    expect(g.stderr()).toContain('"state":"stopped"');
    expect(
      (await b.callTool({ name: 'echo', arguments: { message: 'b still works' } })).content,
    ).toEqual([{ type: 'text', text: 'Echo: b still works' }]);
  });

  test('bad input: unparseable body 400 -32700, no session 400, oversized body 413', async () => {
    const g = await start(EVERYTHING_CONFIG, ['run', 'everything', '--http', '127.0.0.1:0']);
    const parse = await rawPost(g.url, {}, '{nope');
    expect(parse.status).toBe(400);
    expect(JSON.parse(parse.body).error.code).toBe(-32700);
    expect(
      (await rawPost(g.url, {}, '{"jsonrpc":"2.0","id":3,"method":"tools/list"}')).status,
    ).toBe(400);
    const huge = await rawPost(
      g.url,
      {},
      `{"jsonrpc":"2.0","id":4,"method":"x","params":{"p":"${'a'.repeat(17 * 1024 * 1024)}"}}`,
    ).catch(() => ({ status: 413, body: '', headers: {} }));
    expect(huge.status).toBe(413);
  });

  test('HTTP rules: 406 / 415 / 405, session and protocol-version checks, batches, plain JSON answers', async () => {
    const g = await start(EVERYTHING_CONFIG, ['run', 'everything', '--http', '127.0.0.1:0']);
    // Refused before any upstream starts.
    expect((await rawPost(g.url, { accept: 'application/json' }, INIT)).status).toBe(406);
    expect((await rawPost(g.url, { 'content-type': 'text/plain' }, INIT)).status).toBe(415);
    expect(g.stderr()).not.toContain('"state":"starting"');
    const init = await rawPost(g.url, {}, INIT);
    expect(init.status).toBe(200);
    const session = JSON.parse(init.body) as { result: { protocolVersion: string } };
    expect(session.result.protocolVersion).toBe('2025-11-25');
    const id = String((await rawPost(g.url, {}, INIT)).headers['mcp-session-id']);
    const h = { 'mcp-session-id': id };
    // A lone answer is one JSON body; a batch gets an array in request order.
    const echo = (n: number) => ({
      jsonrpc: '2.0',
      id: n,
      method: 'tools/call',
      params: { name: 'echo', arguments: { message: `m${n}` } },
    });
    const one = await rawPost(g.url, h, JSON.stringify(echo(10)));
    expect(JSON.parse(one.body)).toMatchObject({
      id: 10,
      result: { content: [{ text: 'Echo: m10' }] },
    });
    const batch = await rawPost(g.url, h, JSON.stringify([echo(11), echo(12)]));
    expect((JSON.parse(batch.body) as { id: number }[]).map((m) => m.id)).toEqual([11, 12]);
    const badItem = await rawPost(g.url, h, JSON.stringify([echo(13), { jsonrpc: '1.0', id: 14 }]));
    expect(badItem.status).toBe(400);
    expect(JSON.parse(badItem.body).error.message).toContain('"jsonrpc"');
    expect((await rawPost(g.url, h, '[]')).status).toBe(400);
    // Session rules.
    const again = await rawPost(g.url, h, INIT);
    expect([again.status, JSON.parse(again.body).error.message]).toEqual([
      400,
      'Invalid Request: Server already initialized',
    ]);
    const version = await rawPost(
      g.url,
      { ...h, 'mcp-protocol-version': '1999-01-01' },
      JSON.stringify(echo(15)),
    );
    expect(version.status).toBe(400);
    expect(JSON.parse(version.body).error.message).toContain(
      'Unsupported protocol version: 1999-01-01',
    );
    const u = new URL(g.url);
    const status = (method: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const req = request(
          { host: u.hostname, port: u.port, path: u.pathname, method, headers },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.end();
      });
    expect(await status('PUT')).toBe(405);
    expect(await status('DELETE')).toBe(400); // no session named
    expect(await status('GET', { ...h, accept: 'application/json' })).toBe(406);
    expect(await status('DELETE', h)).toBe(200);
    expect((await rawPost(g.url, h, JSON.stringify(echo(16)))).status).toBe(404);
  });

  test('serve --http aggregates; SIGTERM drains it, kills every upstream tree and exits 0', async () => {
    const pidFile = join(tempDir(), 'pid');
    const config = `${EVERYTHING_CONFIG}[mcp_servers.tree]\ncommand = ${node}\nargs = [${JSON.stringify(join(FIXTURES, 'with-grandchild.mjs'))}]\nenv = { PID_FILE = ${JSON.stringify(pidFile)} }\n`;
    const g = await start(config, ['serve', '--http', '127.0.0.1:0']);
    const client = await connect(g.url);
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('tree__ping');
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    g.child.kill('SIGTERM');
    expect(await g.exited).toBe(0); // drained (see http-deploy.test.ts)
    expect(await exitsWithin(grandchild, 3_000)).toBe(true);
  });

  test('listening off loopback without a token is refused; a disabled server is not served', async () => {
    const open = await start(EVERYTHING_CONFIG, ['run', 'everything', '--http', '0.0.0.0:0']);
    expect(open.code).toBe(2);
    expect(open.stderr()).toContain('without a bearer token');
    const dir = writeFiles({ 'r.toml': '[mcp_servers.other.identity]\ncommand = "npx"\n' });
    const disabled = await start(EVERYTHING_CONFIG, [
      '--requirements',
      join(dir, 'r.toml'),
      'run',
      'everything',
      '--http',
      '127.0.0.1:0',
    ]);
    expect(disabled.code).toBe(8);
    expect(disabled.stderr()).toContain("server 'everything' is disabled");
  });
});
