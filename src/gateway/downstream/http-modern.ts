import type { IncomingMessage, ServerResponse } from 'node:http';
import { createMcpHandler, InMemoryServerEventBus } from '@modelcontextprotocol/server';
import type { JSONRPCMessage, McpHttpHandler } from '@modelcontextprotocol/server';
import type { ConnectionInfo } from '../../pipeline/context.js';
import { codeOf } from '../../pipeline/error-table.js';
import { envelopeOf, initFromEnvelope, modernHeaderProblem } from './era.js';
import { lowerHeaders, rpcError, sendJson } from './http-messages.js';
import type { HttpCaller } from './http-session-open.js';
import { SessionRegistry } from './session-registry.js';
import type { RegistryLimits } from './session-registry.js';
import type { ClientNotice, GatewaySession, InitInfo, OpenedSession } from './session.js';
import { SERVER_UNAVAILABLE } from './session.js';

const HTTP_REFUSED = codeOf('http_refused');

/** Most callers whose gateway sessions the modern pool keeps at once (the oldest idle go first). */
export const MODERN_POOL_SIZE = 256;

/** One caller's pooled gateway session, serving all their modern requests. */
interface Pooled {
  opened: GatewaySession;
  /** The SDK's modern entry (legacy: 'reject'): envelope ladder, discover, listen streams. */
  handler: McpHttpHandler;
  stopListening: () => void;
}

export interface ModernHttpOptions {
  open(init: InitInfo, connection: ConnectionInfo, caller?: HttpCaller): Promise<OpenedSession>;
  /** Upstream processes one gateway session starts. */
  perSession: number;
  limits: RegistryLimits;
  maxBodyBytes: number;
  onEvent?(line: Record<string, unknown>): void;
  /** Most callers pooled at once (default MODERN_POOL_SIZE; smaller in tests). */
  poolSize?: number;
}

/**
 * The 2026-07-28 side of the HTTP endpoint. A modern request has no session: it carries who it
 * is (the bearer, checked by the endpoint) and what it can do (its `_meta` envelope). Starting
 * upstreams per request would be slow and, on a team gateway, wrong (each caller has their own
 * upstream credentials), so the gateway sessions are pooled per caller's principal: the first
 * modern request of a caller opens one (with that request's envelope capabilities), later ones
 * reuse it until it has been idle for the idle-session limit. Each request is answered by a
 * server from the same builder as a legacy session's (buildServer: same pipeline) on the SDK's
 * per-request transport, so discover, envelope validation and `resultType` are the SDK's.
 *
 * The pool lives in this replica only: a modern request needs no session-id routing, and any
 * replica opens its own pooled session for a caller on their first request there.
 */
export class ModernHttp {
  private readonly pool: SessionRegistry<Pooled>;
  private readonly opening = new Map<string, Promise<Pooled | { refusal: string }>>();
  /** The connection facts of each request in flight, for the server factory (keyed by Request). */
  private readonly connections = new WeakMap<Request, ConnectionInfo>();

  constructor(private readonly options: ModernHttpOptions) {
    this.pool = new SessionRegistry<Pooled>(options.limits);
  }

  /**
   * Serves one modern POST (classified modern by the endpoint, after Host/Origin, TLS, media
   * type, body limit and authentication). Headers that disagree with the body are refused here,
   * before any upstream starts or the pipeline runs.
   */
  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    message: JSONRPCMessage,
    caller: HttpCaller,
    forwarded: boolean,
  ): Promise<void> {
    const body = message as { method: string; id?: unknown; params?: Record<string, unknown> };
    const header = (name: string) => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : undefined;
    };
    const mismatch = modernHeaderProblem(
      {
        ...(header('mcp-protocol-version') !== undefined
          ? { protocolVersion: header('mcp-protocol-version') }
          : {}),
        ...(header('mcp-method') !== undefined ? { method: header('mcp-method') } : {}),
        ...(header('mcp-name') !== undefined ? { name: header('mcp-name') } : {}),
      },
      body,
    );
    if (mismatch) return rpcError(res, 400, mismatch.code, mismatch.message, body.id);
    const connection: ConnectionInfo = {
      transport: 'http',
      headers: lowerHeaders(req, forwarded),
      authSubject: caller.authenticated ? caller.principal : null,
      clientInfo: envelopeOf(message)?.clientInfo ?? null,
      identity: caller.identity,
      era: 'modern',
    };
    // A notification for a caller with no pooled session has nothing to reach (cancellation).
    if (!('id' in message) && !this.pool.get(caller.principal)) {
      res.writeHead(202).end();
      return;
    }
    const pooled = await this.session(caller, connection, message);
    if ('refusal' in pooled) {
      if ('status' in pooled) return rpcError(res, 429, HTTP_REFUSED, pooled.refusal, body.id);
      return sendJson(res, 200, {
        jsonrpc: '2.0',
        id: body.id ?? null,
        error: { code: SERVER_UNAVAILABLE, message: pooled.refusal },
      });
    }
    res.once('close', this.pool.use(caller.principal)); // a listen stream keeps it from idling
    const aborted = new AbortController();
    res.once('close', () => aborted.abort());
    const request = new Request(`http://gatehouse${req.url ?? '/mcp'}`, {
      method: 'POST',
      headers: webHeaders(req),
      body: JSON.stringify(message),
      signal: aborted.signal,
    });
    this.connections.set(request, connection);
    const response = await pooled.handler.fetch(request, { parsedBody: message });
    await writeResponse(await methodNotFoundAs404(response), res);
  }

  /** The caller's pooled session, opened on their first modern request. */
  private async session(
    caller: HttpCaller,
    connection: ConnectionInfo,
    first: JSONRPCMessage,
  ): Promise<Pooled | { refusal: string } | { refusal: string; status: 429 }> {
    const size = this.options.poolSize ?? MODERN_POOL_SIZE;
    for (;;) {
      const found = this.pool.get(caller.principal) ?? this.opening.get(caller.principal);
      if (found) return found;
      // Sessions still opening count: a burst of new callers would otherwise all pass while
      // none has registered yet, each starting its upstreams.
      if (this.pool.size + this.opening.size < size) break;
      const idle = this.pool.idle()[0];
      if (!idle)
        return {
          refusal: `Too many callers: the modern session pool holds ${size}, none idle; retry later`,
          status: 429,
        };
      await this.drop(idle); // then look again: others may have come meanwhile
    }
    const admitted = this.pool.admit(caller.principal, this.options.perSession);
    if (!admitted.ok) return { refusal: admitted.message, status: 429 };
    const opening = this.openFor(caller, connection, first);
    this.opening.set(caller.principal, opening);
    try {
      return await opening;
    } finally {
      this.opening.delete(caller.principal);
    }
  }

  private async openFor(
    caller: HttpCaller,
    connection: ConnectionInfo,
    first: JSONRPCMessage,
  ): Promise<Pooled | { refusal: string }> {
    let registered = false;
    try {
      const init = initFromEnvelope(envelopeOf(first));
      const opened = await this.options.open(init, connection, caller);
      if ('refusal' in opened) return { refusal: opened.refusal };
      const bus = new InMemoryServerEventBus();
      const handler = createMcpHandler(
        ({ requestInfo }) => {
          const conn = (requestInfo && this.connections.get(requestInfo)) ?? connection;
          return opened.build(conn, false);
        },
        { legacy: 'reject', bus, maxRequestBodySize: this.options.maxBodyBytes },
      );
      const pooled: Pooled = {
        opened,
        handler,
        stopListening: opened.listen((n) => publish(handler, n)),
      };
      this.pool.register(caller.principal, pooled, caller.principal, this.options.perSession);
      registered = true;
      void opened.lost.then(() => {
        if (this.pool.get(caller.principal) === pooled) void this.drop(caller.principal);
      });
      return pooled;
    } finally {
      if (!registered) this.pool.release(caller.principal, this.options.perSession);
    }
  }

  /** Ends a caller's pooled session: its listen streams, then every upstream tree it started. */
  async drop(principal: string): Promise<void> {
    const pooled = this.pool.remove(principal);
    if (!pooled) return;
    pooled.stopListening();
    await pooled.handler.close().catch(() => undefined);
    await pooled.opened.close();
  }

  /** Ends the pooled sessions idle longer than the limit. */
  sweep(idleSeconds: number): void {
    for (const principal of this.pool.idle()) {
      this.options.onEvent?.({
        event: 'session_expired',
        subject: principal,
        era: 'modern',
        idle_seconds: idleSeconds,
      });
      void this.drop(principal);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.pool.ids().map((id) => this.drop(id)));
  }
}

/** The session's unasked notices, onto the caller's `subscriptions/listen` streams. */
function publish(handler: McpHttpHandler, n: ClientNotice): void {
  switch (n.method) {
    case 'notifications/tools/list_changed':
      return handler.notify.toolsChanged();
    case 'notifications/prompts/list_changed':
      return handler.notify.promptsChanged();
    case 'notifications/resources/list_changed':
      return handler.notify.resourcesChanged();
    case 'notifications/resources/updated': {
      const uri = (n.params as { uri?: unknown } | undefined)?.uri;
      if (typeof uri === 'string') handler.notify.resourceUpdated(uri);
      return;
    }
    default:
      // Logs and state changes have no unsolicited channel in 2026-07-28.
      return;
  }
}

/** The request headers the SDK's modern entry reads (never the bearer: it is checked already). */
function webHeaders(req: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v !== 'string' || k === 'authorization' || k === 'cookie' || k === 'host') continue;
    if (k === 'content-length' || k === 'transfer-encoding' || k === 'connection') continue;
    headers.set(k, v);
  }
  return headers;
}

/** JSON-RPC "Method not found" (-32601). */
const METHOD_NOT_FOUND = codeOf('method_not_found');

/**
 * SEP-2575 (2026-07-28 over HTTP): a request for a method the server does not implement MUST be
 * answered 404 Not Found with -32601. The SDK gives that status only to errors its own ladder
 * raises before dispatch; Gatehouse learns that nobody serves a method after dispatch (its
 * catch-all handler asks the upstream, or `serve` routes it nowhere), so that -32601 arrives
 * in-band on 200. A JSON answer that is exactly that error gets the SDK's status for it. A
 * streamed answer (SSE) has sent its 200 already and stays as it is; legacy sessions never come
 * here (2025-11-25 answers every JSON-RPC error on 200).
 */
async function methodNotFoundAs404(response: Response): Promise<Response> {
  if (response.status !== 200) return response;
  if (!response.headers.get('content-type')?.startsWith('application/json')) return response;
  const text = await response.text();
  const rebuilt = (status: number) => new Response(text, { status, headers: response.headers });
  // Only an answer that mentions the code is parsed (results can be large; errors are small).
  if (!text.includes(String(METHOD_NOT_FOUND))) return rebuilt(200);
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown }; result?: unknown };
    return rebuilt(body.result === undefined && body.error?.code === METHOD_NOT_FOUND ? 404 : 200);
  } catch {
    return rebuilt(200);
  }
}

/** Writes a web Response (JSON, or an SSE stream for as long as it runs) to the Node response. */
async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  // A stream (progress, a listen subscription) must not sit in a reverse proxy's buffer.
  if (headers['content-type']?.startsWith('text/event-stream')) headers['x-accel-buffering'] = 'no';
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  res.once('close', () => void reader.cancel().catch(() => undefined));
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      res.write(value);
    }
  } catch {
    // The client went away mid-stream: nothing left to write to.
  }
  res.end();
}
