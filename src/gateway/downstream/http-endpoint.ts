import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type { Server } from '@modelcontextprotocol/server';
import type { ConnectionInfo } from '../../pipeline/context.js';
import { checkHttpRequest, policyFor } from './http-checks.js';
import type { GatewaySession, InitInfo, OpenedSession } from './session.js';
import { SERVER_UNAVAILABLE } from './session.js';
import {
  DEFAULT_MAX_LINE_BYTES,
  INVALID_REQUEST,
  jsonRpcShapeProblem,
  PARSE_ERROR,
} from './stdio-line-transport.js';

export interface HttpEndpointOptions {
  host: string;
  /** 0 picks a free port; the chosen one is in the result. */
  port: number;
  /** Clients must send `Authorization: Bearer <token>`; required off loopback. */
  token: string | null;
  /** Largest request body accepted (default 16 MiB, as on stdio). */
  maxBodyBytes?: number;
  /** Opens the upstream side of a new client session (a gateway mode's session factory). */
  open(init: InitInfo, connection: ConnectionInfo): Promise<OpenedSession>;
  /** A session ended because its upstream went away. */
  onLost?(sessionId: string, reason: string): void;
}

export interface HttpEndpoint {
  url: string;
  close(): Promise<void>;
}

const PATH = '/mcp';

interface Entry {
  transport: NodeStreamableHTTPServerTransport;
  opened: GatewaySession;
  server: Server | null;
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1';
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function rpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  id: unknown = null,
): void {
  sendJson(res, status, {
    jsonrpc: '2.0',
    id: typeof id === 'string' || typeof id === 'number' ? id : null,
    error: { code, message },
  });
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function lowerHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (typeof v === 'string' && k !== 'authorization' && k !== 'cookie') out[k] = v;
  return out;
}

/**
 * The streamable HTTP downstream (`--http`): one endpoint at `/mcp`, one MCP session per
 * client, each with its own upstream side (so server→client requests reach the right client).
 * Host and Origin are checked on every request (DNS-rebinding protection), and the bearer token
 * when one is set; an unknown session is 404 (the client re-initialises); DELETE ends a session
 * and the upstream processes it started.
 */
export async function startHttpEndpoint(options: HttpEndpointOptions): Promise<HttpEndpoint> {
  if (!isLoopback(options.host) && options.token === null) {
    throw new Error(
      `refusing to listen on ${options.host} without a bearer token: set --http-token-env, or listen on 127.0.0.1`,
    );
  }
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_LINE_BYTES;
  const sessions = new Map<string, Entry>();
  let policy = policyFor(options.host, options.port, options.token);

  const drop = async (id: string): Promise<void> => {
    const entry = sessions.get(id);
    if (!entry) return;
    sessions.delete(id);
    await entry.opened.close();
    await entry.server?.close().catch(() => undefined);
  };

  const parse = (
    text: string,
    res: ServerResponse,
  ): { ok: true; value: unknown } | { ok: false } => {
    try {
      const value: unknown = JSON.parse(text);
      const problem = Array.isArray(value) ? null : jsonRpcShapeProblem(value);
      if (problem) {
        rpcError(
          res,
          400,
          INVALID_REQUEST,
          `Invalid Request: ${problem}`,
          (value as { id?: unknown } | null)?.id,
        );
        return { ok: false };
      }
      return { ok: true, value };
    } catch (err) {
      rpcError(res, 400, PARSE_ERROR, `Parse error: ${(err as Error).message}`);
      return { ok: false };
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://gatehouse').pathname;
    if (path !== PATH) {
      sendJson(res, 404, { error: `not found: the MCP endpoint is ${PATH}` });
      return;
    }
    const check = checkHttpRequest(req.headers, policy);
    if (!check.ok) {
      sendJson(
        res,
        check.status,
        { error: check.message },
        check.challenge ? { 'www-authenticate': check.challenge } : {},
      );
      return;
    }
    let body: unknown;
    if (req.method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, limit);
      } catch (err) {
        if (err instanceof BodyTooLarge)
          rpcError(res, 413, INVALID_REQUEST, `message too large: more than ${limit} bytes`);
        return;
      }
      const parsed = parse(text, res);
      if (!parsed.ok) return;
      body = parsed.value;
    }
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const entry = sessions.get(sessionId);
      if (!entry) {
        rpcError(
          res,
          404,
          SERVER_UNAVAILABLE,
          'Session not found: initialize a new session',
          (body as { id?: unknown } | undefined)?.id,
        );
        return;
      }
      await entry.transport.handleRequest(req, res, body);
      return;
    }
    const message = body as
      { method?: unknown; id?: unknown; params?: Record<string, unknown> } | undefined;
    if (req.method !== 'POST' || message?.method !== 'initialize') {
      rpcError(
        res,
        400,
        -32000,
        'Bad Request: no session: start with initialize (without Mcp-Session-Id)',
        message?.id,
      );
      return;
    }
    const info = message.params?.clientInfo as { name?: unknown; version?: unknown } | undefined;
    const init: InitInfo = {
      capabilities: (message.params?.capabilities as Record<string, unknown> | undefined) ?? {},
      clientInfo:
        typeof info?.name === 'string' && typeof info.version === 'string'
          ? { name: info.name, version: info.version }
          : null,
    };
    const connection: ConnectionInfo = {
      transport: 'http',
      headers: lowerHeaders(req),
      authSubject: options.token !== null ? 'bearer-token' : null,
      clientInfo: init.clientInfo,
    };
    const opened = await options.open(init, connection);
    if ('refusal' in opened) {
      sendJson(res, 200, {
        jsonrpc: '2.0',
        id: message.id,
        error: { code: SERVER_UNAVAILABLE, message: opened.refusal },
      });
      return;
    }
    const entry: Entry = {
      opened,
      server: null,
      transport: null as unknown as NodeStreamableHTTPServerTransport,
    };
    entry.transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, entry);
        void opened.lost.then((reason) => {
          options.onLost?.(id, reason);
          void drop(id);
        });
      },
      onsessionclosed: (id) => drop(id),
    });
    entry.server = await opened.serve(entry.transport, connection);
    await entry.transport.handleRequest(req, res, body);
    if (!entry.transport.sessionId) await opened.close(); // initialize was rejected: nothing to keep
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      rpcError(
        res,
        500,
        -32603,
        `Gatehouse internal error: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  policy = policyFor(options.host, port, options.token);
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${shownHost}:${port}${PATH}`,
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...sessions.keys()].map(drop));
      server.closeAllConnections(); // open SSE streams would otherwise hold close() forever
      await stopped;
    },
  };
}
