import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { ModernHttp } from './http-modern.js';
import type { OpenedSession } from './session.js';

const servers: http.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A modern request (2026-07-28 envelope) as a caller sends it. */
function modernCall(id: number): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    id,
    method: 'tools/list',
    params: {
      _meta: {
        'io.modelcontextprotocol/protocolVersion': '2026-07-28',
        'io.modelcontextprotocol/clientInfo': { name: 'flood', version: '1' },
      },
    },
  } as JSONRPCMessage;
}

describe('the modern session pool under a flood of new callers', () => {
  test('callers still opening count toward the pool: the one past it is refused (429) before any upstream starts for it', async () => {
    const POOL = 2;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const opens: string[] = [];
    let announce: (() => void) | null = null;
    const modern = new ModernHttp({
      poolSize: POOL,
      perSession: 1,
      limits: { maxSessionsPerUser: 4, maxProcessesPerUser: 16, idleMs: 60_000 },
      maxBodyBytes: 1 << 20,
      // Opening a gateway session starts upstreams and takes a while: held open here. One
      // past the pool must never get this far (it answers at once, so a bug fails, not hangs).
      open: async (_init, _connection, caller): Promise<OpenedSession> => {
        opens.push(caller?.principal ?? '?');
        announce?.();
        if (opens.length > POOL) return { refusal: 'opened past the pool' };
        await held;
        return { refusal: 'no upstream in this test' };
      },
    });
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const caller = String(req.headers['x-test-caller']);
        modern
          .handle(
            req,
            res,
            JSON.parse(body) as JSONRPCMessage,
            { principal: caller, identity: null, authenticated: true },
            false,
          )
          .catch((e: unknown) => console.error('HANDLE FAILED', e));
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const send = (caller: string, id: number) =>
      fetch(`http://127.0.0.1:${port}/mcp`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2026-07-28',
          'mcp-method': 'tools/list',
          'x-test-caller': caller,
        },
        body: JSON.stringify(modernCall(id)),
      });
    const opened = (n: number) =>
      new Promise<void>((resolve) => {
        announce = () => opens.length >= n && resolve();
        announce();
      });

    const first = send('service:a', 1);
    await opened(1);
    const second = send('service:b', 2);
    await opened(2);
    const third = await send('service:c', 3);
    expect(third.status).toBe(429);
    expect(JSON.stringify(await third.json())).toContain('Too many callers');
    expect(opens).toEqual(['service:a', 'service:b']);

    release();
    for (const r of [await first, await second]) {
      expect(r.status).toBe(200);
      expect(JSON.stringify(await r.json())).toContain('no upstream in this test');
    }
    // The refused openings gave their room back: a new caller is admitted now.
    const fourth = await send('service:d', 4);
    expect(fourth.status).toBe(200);
    expect(opens).toEqual(['service:a', 'service:b', 'service:d']);
  });
});
