import { ERROR_TABLE } from '../../pipeline/error-table.js';
import { createServer, request } from 'node:http';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { afterEach, describe, expect, test } from 'vitest';
import { HttpSessionTransport } from './http-session-transport.js';

/** A real HTTP server whose one route hands every POST body and GET to `transport`. */
async function serve(transport: HttpSessionTransport): Promise<{ port: number; http: HttpServer }> {
  const http = createServer((req, res) => {
    if (req.method === 'GET') {
      const conflict = transport.handleGet(res);
      if (conflict) res.writeHead(conflict.status).end(conflict.message);
      return;
    }
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const value = JSON.parse(body) as JSONRPCMessage | JSONRPCMessage[];
      transport.handlePost(res, Array.isArray(value) ? value : [value], Array.isArray(value));
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  servers.push(http);
  return { port: (http.address() as AddressInfo).port, http };
}

const servers: HttpServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

interface Answer {
  status: number;
  type: string;
  session: string;
  body: string;
}

function call(
  port: number,
  method: 'GET' | 'POST',
  body?: unknown,
  onResponse?: (res: IncomingMessage) => void,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: '/mcp' }, (res) => {
      onResponse?.(res);
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type'] ?? ''),
          session: String(res.headers['mcp-session-id'] ?? ''),
          body: text,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const req = (id: number, method = 'tools/call') => ({ jsonrpc: '2.0' as const, id, method });
const ok = (id: number, text = `answer ${id}`) =>
  ({ jsonrpc: '2.0', id, result: { text } }) as JSONRPCMessage;
const events = (sse: string) =>
  sse
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>);

describe('HttpSessionTransport: how a POST is answered', () => {
  test('a request answered with nothing else in between gets one JSON body with the session id', async () => {
    const t = new HttpSessionTransport('s-1');
    t.onmessage = (m) => void t.send(ok((m as { id: number }).id));
    const { port } = await serve(t);
    const a = await call(port, 'POST', req(7));
    expect(a).toMatchObject({ status: 200, type: 'application/json', session: 's-1' });
    expect(JSON.parse(a.body)).toEqual(ok(7));
  });

  test('progress before the answer turns the answer into an SSE stream, in order', async () => {
    const t = new HttpSessionTransport('s-2');
    t.onmessage = (m) => {
      const id = (m as { id: number }).id;
      const progress = {
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: 'p', progress: 1 },
      } as JSONRPCMessage;
      void t.send(progress, { relatedRequestId: id }).then(() => t.send(ok(id)));
    };
    const { port } = await serve(t);
    const a = await call(port, 'POST', req(8));
    expect(a.type).toBe('text/event-stream');
    expect(events(a.body).map((e) => e.method ?? e.id)).toEqual(['notifications/progress', 8]);
  });

  test('a batch is answered as one array in request order, whatever order the answers come in', async () => {
    const t = new HttpSessionTransport('s-3');
    const seen: number[] = [];
    t.onmessage = (m) => {
      seen.push((m as { id: number }).id);
      if (seen.length === 2) void t.send(ok(2)).then(() => t.send(ok(1)));
    };
    const { port } = await serve(t);
    const a = await call(port, 'POST', [req(1), req(2)]);
    expect(JSON.parse(a.body)).toEqual([ok(1), ok(2)]);
  });

  test('notifications and responses alone are accepted with 202 and no body', async () => {
    const t = new HttpSessionTransport('s-4');
    const got: JSONRPCMessage[] = [];
    t.onmessage = (m) => got.push(m);
    const { port } = await serve(t);
    const a = await call(port, 'POST', [
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      ok(99),
    ]);
    expect(a).toMatchObject({ status: 202, body: '' });
    expect(got).toHaveLength(2);
  });

  test('a slow answer becomes SSE with keep-alive comments, then the answer', async () => {
    const t = new HttpSessionTransport('s-5', 20);
    t.onmessage = (m) => void setTimeout(() => void t.send(ok((m as { id: number }).id)), 150);
    const { port } = await serve(t);
    const a = await call(port, 'POST', req(3));
    expect(a.type).toBe('text/event-stream');
    expect(a.body).toContain(': keepalive');
    expect(events(a.body)).toEqual([ok(3)]);
  });
});

describe('HttpSessionTransport: messages not tied to a request, and endings', () => {
  test('go to the GET stream; a second GET stream is refused with 409', async () => {
    const t = new HttpSessionTransport('s-6');
    const { port } = await serve(t);
    const chunks: string[] = [];
    let opened!: () => void;
    const ready = new Promise<void>((r) => (opened = r));
    const get = call(port, 'GET', undefined, (res) => {
      res.on('data', (d: Buffer) => chunks.push(d.toString()));
      opened();
    });
    await ready;
    expect((await call(port, 'GET')).status).toBe(409);
    await t.send({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    await t.close();
    const a = await get;
    expect(a.type).toBe('text/event-stream');
    expect(events(chunks.join(''))).toEqual([
      { jsonrpc: '2.0', method: 'notifications/tools/list_changed' },
    ]);
  });

  test('an answer whose POST the client closed is dropped, and its progress never leaks to the GET stream', async () => {
    const t = new HttpSessionTransport('s-7');
    const errors: Error[] = [];
    t.onerror = (e) => errors.push(e);
    let pending!: (id: number) => void;
    const received = new Promise<number>((r) => (pending = r));
    t.onmessage = (m) => pending((m as { id: number }).id);
    const { port } = await serve(t);
    const chunks: string[] = [];
    void call(port, 'GET', undefined, (res) => res.on('data', (d: Buffer) => chunks.push(`${d}`)));
    const aborted = new Promise<void>((resolve) => {
      const r = request({ host: '127.0.0.1', port, method: 'POST', path: '/mcp' });
      r.on('error', () => resolve());
      r.end(JSON.stringify(req(5)));
      void received.then(() => {
        r.destroy();
        setTimeout(resolve, 100);
      });
    });
    const id = await received;
    await aborted;
    await t.send(
      {
        jsonrpc: '2.0',
        method: 'notifications/progress',
        params: { progressToken: 1, progress: 1 },
      },
      { relatedRequestId: id },
    );
    await expect(t.send(ok(id))).resolves.toBeUndefined();
    await t.close();
    expect(chunks.join('')).not.toContain('progress');
    expect(errors).toEqual([]);
  });

  test('close() answers every waiting request with an error and reports the close once', async () => {
    const t = new HttpSessionTransport('s-8');
    let closes = 0;
    t.onclose = () => closes++;
    let got!: () => void;
    const delivered = new Promise<void>((r) => (got = r));
    t.onmessage = () => got();
    const { port } = await serve(t);
    const post = call(port, 'POST', req(1));
    await delivered;
    await t.close();
    await t.close();
    const answer = await post;
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({
      id: 1,
      error: { code: ERROR_TABLE.server_unavailable.code },
    });
    expect(closes).toBe(1);
  });
});
