import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONRPCMessage, Server } from '@modelcontextprotocol/server';
import type { ConnectionInfo } from '../../pipeline/context.js';
import type { RequestAuthenticator } from '../../identity/authenticate.js';
import type { Identity } from '../../identity/identity.js';
import { principalOf } from '../../identity/identity.js';
import { checkHttpRequest, policyFor } from './http-checks.js';
import { HttpSessionTransport } from './http-session-transport.js';
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
  /** Identifies each request instead of `token` (src/identity), made once the URL is known. */
  authenticator?: (endpointUrl: string) => RequestAuthenticator;
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

/** Most messages one POST may batch (clients before 2025-06-18 may batch). */
const MAX_BATCH = 100;

interface Entry {
  transport: HttpSessionTransport;
  opened: GatewaySession;
  server: Server | null;
  /** Who opened the session: only the same caller may use it. */
  principal: string | null;
}

/** Who a bearer token identifies: a short hash of it (never the token itself). */
export function tokenSubject(token: string): string {
  return `token:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
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

function idOf(value: unknown): string | number | null {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
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
 * Host and Origin are checked on every request (DNS-rebinding protection), then the caller
 * (`authenticator`: src/identity, one call per request) or the bearer token when one is set; an unknown session is 404 (the client re-initialises); DELETE ends a session
 * and the upstream processes it started.
 */
export async function startHttpEndpoint(options: HttpEndpointOptions): Promise<HttpEndpoint> {
  if (!isLoopback(options.host) && options.token === null && !options.authenticator) {
    throw new Error(
      `refusing to listen on ${options.host} without a bearer token: set --http-token-env, or listen on 127.0.0.1`,
    );
  }
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_LINE_BYTES;
  const sessions = new Map<string, Entry>();
  let policy = policyFor(options.host, options.port, options.token);
  let authenticator: RequestAuthenticator | null = null;

  const drop = async (id: string): Promise<void> => {
    const entry = sessions.get(id);
    if (!entry) return;
    sessions.delete(id);
    await entry.opened.close();
    await entry.server?.close().catch(() => undefined);
  };

  /** The POST body as JSON-RPC messages, or a rejection already written. */
  const parse = (
    text: string,
    res: ServerResponse,
  ): { messages: JSONRPCMessage[]; batch: boolean } | null => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      rpcError(res, 400, PARSE_ERROR, `Parse error: ${(err as Error).message}`);
      return null;
    }
    const batch = Array.isArray(value);
    const items: unknown[] = batch ? (value as unknown[]) : [value];
    if (items.length === 0 || items.length > MAX_BATCH) {
      rpcError(
        res,
        400,
        INVALID_REQUEST,
        `Invalid Request: a batch holds 1 to ${MAX_BATCH} messages`,
      );
      return null;
    }
    for (const item of items) {
      const problem = jsonRpcShapeProblem(item);
      if (problem) {
        rpcError(
          res,
          400,
          INVALID_REQUEST,
          `Invalid Request: ${problem}`,
          batch ? null : idOf(item),
        );
        return null;
      }
    }
    return { messages: items as JSONRPCMessage[], batch };
  };

  const openSession = async (
    req: IncomingMessage,
    res: ServerResponse,
    messages: JSONRPCMessage[],
    identity: Identity | null,
  ): Promise<void> => {
    const message = messages[0] as {
      method?: unknown;
      id?: unknown;
      params?: Record<string, unknown>;
    };
    if (messages.length !== 1 || message.method !== 'initialize' || !('id' in message)) {
      const initInBatch = messages.some((m) => 'method' in m && m.method === 'initialize');
      rpcError(
        res,
        400,
        initInBatch ? INVALID_REQUEST : -32000,
        initInBatch
          ? 'Invalid Request: initialize must be sent alone'
          : 'Bad Request: no session: start with initialize (without Mcp-Session-Id)',
        message.id,
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
      authSubject: identity
        ? principalOf(identity)
        : options.token !== null
          ? tokenSubject(options.token)
          : null,
      clientInfo: init.clientInfo,
      identity,
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
    const id = randomUUID();
    const transport = new HttpSessionTransport(id);
    const entry: Entry = { transport, opened, server: null, principal: connection.authSubject };
    sessions.set(id, entry);
    void opened.lost.then((reason) => {
      if (sessions.get(id) !== entry) return;
      options.onLost?.(id, reason);
      void drop(id);
    });
    entry.server = await opened.serve(transport, connection);
    transport.handlePost(res, messages, false, (answers) => {
      // A refused initialize leaves nothing to keep (the client cannot use the session).
      if (answers.some((a) => 'error' in a)) void drop(id);
    });
  };

  const withSession = (
    req: IncomingMessage,
    res: ServerResponse,
    caller: Identity | null,
    id: unknown = null,
  ): Entry | null => {
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId !== 'string') {
      rpcError(res, 400, -32000, 'Bad Request: Mcp-Session-Id header is required', id);
      return null;
    }
    const entry = sessions.get(sessionId);
    // A session is bound to the caller that opened it: anyone else is told it does not exist.
    if (!entry || (caller !== null && entry.principal !== principalOf(caller))) {
      rpcError(res, 404, SERVER_UNAVAILABLE, 'Session not found: initialize a new session', id);
      return null;
    }
    const problem = entry.transport.protocolVersionProblem(req);
    if (problem) {
      rpcError(res, 400, -32000, problem, id);
      return null;
    }
    return entry;
  };

  const handlePost = async (
    req: IncomingMessage,
    res: ServerResponse,
    identity: Identity | null,
  ): Promise<void> => {
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      rpcError(
        res,
        406,
        -32000,
        'Not Acceptable: Client must accept both application/json and text/event-stream',
      );
      return;
    }
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      rpcError(res, 415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
      return;
    }
    let text: string;
    try {
      text = await readBody(req, limit);
    } catch (err) {
      if (err instanceof BodyTooLarge)
        rpcError(res, 413, INVALID_REQUEST, `message too large: more than ${limit} bytes`);
      return;
    }
    const parsed = parse(text, res);
    if (!parsed) return;
    const { messages, batch } = parsed;
    if (req.headers['mcp-session-id'] === undefined) {
      await openSession(req, res, messages, identity);
      return;
    }
    const entry = withSession(req, res, identity, batch ? null : idOf(messages[0]));
    if (!entry) return;
    if (messages.some((m) => 'method' in m && m.method === 'initialize')) {
      rpcError(
        res,
        400,
        INVALID_REQUEST,
        'Invalid Request: Server already initialized',
        batch ? null : idOf(messages[0]),
      );
      return;
    }
    entry.transport.handlePost(res, messages, batch);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const path =
      url.startsWith(PATH) && (url.length === PATH.length || url[PATH.length] === '?')
        ? PATH
        : new URL(url, 'http://gatehouse').pathname;
    const wellKnown = authenticator?.metadata(path) ?? null;
    if (wellKnown && req.method === 'GET' && checkHttpRequest(req.headers, policy).ok) {
      sendJson(res, 200, wellKnown, { 'cache-control': 'max-age=300' });
      return;
    }
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
    const who = authenticator ? await authenticator.authenticate(req.headers) : { identity: null };
    if ('challenge' in who) {
      const c = who.challenge;
      sendJson(res, c.status, { error: c.message }, { 'www-authenticate': c.header });
      return;
    }
    switch (req.method) {
      case 'POST':
        return handlePost(req, res, who.identity);
      case 'GET': {
        const entry = withSession(req, res, who.identity);
        if (!entry) return;
        if (!(req.headers.accept ?? '').includes('text/event-stream')) {
          rpcError(res, 406, -32000, 'Not Acceptable: Client must accept text/event-stream');
          return;
        }
        const conflict = entry.transport.handleGet(res);
        if (conflict) rpcError(res, conflict.status, -32000, conflict.message);
        return;
      }
      case 'DELETE': {
        const entry = withSession(req, res, who.identity);
        if (!entry) return;
        await drop(entry.transport.sessionId ?? '');
        res.writeHead(200).end();
        return;
      }
      default:
        sendJson(
          res,
          405,
          { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Method not allowed.' } },
          { allow: 'GET, POST, DELETE' },
        );
    }
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
  const url = `http://${shownHost}:${port}${PATH}`;
  authenticator = options.authenticator?.(url) ?? null;
  return {
    url,
    async close() {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...sessions.keys()].map(drop));
      server.closeAllConnections(); // open SSE streams would otherwise hold close() forever
      await stopped;
    },
  };
}
