import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { classifyInboundRequest } from '@modelcontextprotocol/server';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import type { ConnectionInfo } from '../../pipeline/context.js';
import type { ConsoleRequest } from '../../console/handler.js';
import type { RequestAuthenticator } from '../../identity/authenticate.js';
import type { Identity } from '../../identity/identity.js';
import { principalOf } from '../../identity/identity.js';
import { subjectTokenOf } from './http-session-open.js';
import { checkHttpRequest, policyFor } from './http-checks.js';
import {
  BodyTooLarge,
  carriesRequest,
  idOf,
  parseBody,
  readBody,
  rpcError,
  sendJson,
} from './http-messages.js';
import { openHttpSession } from './http-session-open.js';
import { ModernHttp } from './http-modern.js';
import type { HttpCaller, HttpSessionEntry, SessionOpening } from './http-session-open.js';
import { answerHealth, HEALTH_PATHS } from './health.js';
import { answerMetrics } from '../../telemetry/metrics-listener.js';
import { SessionRegistry } from './session-registry.js';
import { DEFAULT_HTTP_SETTINGS } from './http-settings.js';
import type { HttpServerSettings } from './http-settings.js';
import type { InitInfo, OpenedSession } from './session.js';
import { SERVER_UNAVAILABLE } from './session.js';
import { DEFAULT_MAX_LINE_BYTES, INVALID_REQUEST } from './stdio-line-transport.js';
import { createListener } from './tls-listener.js';
import { requestOrigin, trustedProxies } from './trusted-proxy.js';
import { codeOf } from '../../pipeline/error-table.js';
import { CALLBACK_PATH, LOGIN_PREFIX } from './upstream-login-routes.js';
import type { UpstreamLoginRoutes } from './upstream-login-routes.js';

/** A transport-level refusal (headers, session, media type, a limit): error-table.ts. */
const HTTP_REFUSED = codeOf('http_refused');

export interface HttpEndpointOptions {
  host: string;
  /** 0 picks a free port; the chosen one is in the result. */
  port: number;
  /** Clients must send `Authorization: Bearer <token>`; required off loopback. */
  token: string | null;
  /** Identifies each request instead of `token` (src/identity), made once the URL is known. */
  authenticator?: (endpointUrl: string) => RequestAuthenticator;
  settings?: HttpServerSettings;
  /** Upstream processes one session starts (its stdio servers): counted against the per-user limit. */
  processesPerSession?: number;
  /** For `/readyz`: null when the audit store answers. */
  storeProblem?: () => Promise<string | null>;
  /** `/metrics` (Prometheus text), served with the same Host checks and authentication as `/mcp`. */
  metrics?: () => Promise<string>;
  /**
   * The console under `/console/` (a team gateway with approvals): it signs people in itself
   * (their identity-provider token, once, for a session cookie), so it gets the request's Host and
   * Origin check, whether it came over HTTPS, and the authenticator to call at sign-in.
   */
  console?(req: IncomingMessage, res: ServerResponse, request: ConsoleRequest): Promise<void>;
  /** Largest request body accepted (default 16 MiB, as on stdio). */
  maxBodyBytes?: number;
  /** Opens the upstream side of a new client session (a gateway mode's session factory). */
  open(init: InitInfo, connection: ConnectionInfo, caller?: HttpCaller): Promise<OpenedSession>;
  /**
   * This replica's name (`--replica-id`): every session id starts with `NAME.`, so a reverse
   * proxy in front of several replicas sends each session's requests to the one that holds it.
   */
  replicaId?: string;
  /** A session ended because its upstream went away. */
  onLost?(sessionId: string, reason: string): void;
  /** A session was ended by the gateway (idle), as a stderr line. */
  onEvent?(line: Record<string, unknown>): void;
  /**
   * The approvals API under `/approvals` (a team gateway with identity on): called once Host,
   * Origin and the caller's token are checked, with the caller's identity (never null).
   */
  approvals?(req: IncomingMessage, res: ServerResponse, approver: Identity): Promise<void>;
  /**
   * Logins to `user`-model upstreams through the gateway (identity on): `/login/SERVER` with the
   * caller's token as on `/mcp`, `/oauth/callback` from the browser (no token: the state names the caller).
   */
  upstreamLogin?: UpstreamLoginRoutes;
}

export interface HttpEndpoint {
  url: string;
  close(): Promise<void>;
  /**
   * Stops taking new work (503 + Retry-After), waits (bounded) for requests in flight, then
   * ends every session and its upstream trees.
   */
  drain(): Promise<{ unfinished: number }>;
  /** Reads the TLS files again (SIGHUP); throws naming the file when they are unusable. */
  reloadTls(): void;
}

const PATH = '/mcp';
const METRICS_PATH = '/metrics';

/**
 * Which era a POST belongs to, by the SDK's own classifier (the spec's compatibility rules: a
 * body carrying the `_meta` envelope claim is modern, `initialize` and claim-less traffic are
 * legacy), or the SDK's ladder rejection (a batch holding a modern request, a bad claim, …).
 */
function classifyPost(req: IncomingMessage, body: unknown) {
  const header = (name: string) => {
    const v = req.headers[name];
    return typeof v === 'string' ? v : undefined;
  };
  const version = header('mcp-protocol-version');
  const method = header('mcp-method');
  const name = header('mcp-name');
  return classifyInboundRequest({
    httpMethod: 'POST',
    body,
    ...(version !== undefined ? { protocolVersionHeader: version } : {}),
    ...(method !== undefined ? { mcpMethodHeader: method } : {}),
    ...(name !== undefined ? { mcpNameHeader: name } : {}),
  });
}

/** Who a bearer token identifies: a short hash of it (never the token itself). */
export function tokenSubject(token: string): string {
  return `token:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1';
}

/**
 * The streamable HTTP downstream (`--http`): one endpoint at `/mcp`, one MCP session per
 * client, each with its own upstream side (so server→client requests reach the right client).
 * Host and Origin are checked on every request (DNS-rebinding protection), then the caller
 * (`authenticator`: src/identity, one call per request) or the bearer token when one is set; a
 * session is bound to the caller that opened it; an unknown session is 404 (the client re-initialises); DELETE ends a session
 * and the upstream processes it started. Deployment: configured names, trusted proxies, TLS,
 * health endpoints, per-user limits, idle expiry and a bounded drain.
 */
export async function startHttpEndpoint(options: HttpEndpointOptions): Promise<HttpEndpoint> {
  if (!isLoopback(options.host) && options.token === null && !options.authenticator) {
    throw new Error(
      `refusing to listen on ${options.host} without a bearer token: set --http-token-env, or listen on 127.0.0.1`,
    );
  }
  const settings = options.settings ?? DEFAULT_HTTP_SETTINGS;
  const proxies = trustedProxies(settings.trustedProxies);
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_LINE_BYTES;
  const perSession = options.processesPerSession ?? 1;
  const sharedSubject = options.token !== null ? tokenSubject(options.token) : 'anonymous';
  let authenticator: RequestAuthenticator | null = null;
  const registry = new SessionRegistry<HttpSessionEntry>({
    maxSessionsPerUser: settings.maxSessionsPerUser,
    maxProcessesPerUser: settings.maxProcessesPerUser,
    idleMs: settings.idleSessionSeconds * 1000,
  });
  let draining = false;
  let inFlight = 0;
  let settled: (() => void) | null = null;
  const retryAfter = { 'retry-after': String(Math.max(1, Math.ceil(settings.drainSeconds))) };

  const drop = async (id: string): Promise<void> => {
    const entry = registry.remove(id);
    if (!entry) return;
    await entry.opened.close();
    await entry.server?.close().catch(() => undefined);
  };

  /** Counts a request until its response is done (drain waits for these). */
  const track = (res: ServerResponse, session: string | null): void => {
    inFlight += 1;
    const used = session ? registry.use(session) : () => undefined;
    res.once('close', () => {
      inFlight -= 1;
      used();
      if (inFlight === 0) settled?.();
    });
  };

  const sessions: SessionOpening = { registry, perSession, options, drop };
  // 2026-07-28 clients: no session; their gateway sessions are pooled per caller (http-modern.ts).
  const modern = new ModernHttp({
    open: (init, connection, caller) => options.open(init, connection, caller),
    perSession,
    limits: {
      maxSessionsPerUser: settings.maxSessionsPerUser,
      maxProcessesPerUser: settings.maxProcessesPerUser,
      idleMs: settings.idleSessionSeconds * 1000,
    },
    maxBodyBytes: limit,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  const openSession = (
    req: IncomingMessage,
    res: ServerResponse,
    messages: JSONRPCMessage[],
    forwarded: boolean,
    caller: HttpCaller,
  ) => openHttpSession(sessions, req, res, messages, forwarded, caller);

  const withSession = (
    req: IncomingMessage,
    res: ServerResponse,
    caller: HttpCaller,
    id: unknown = null,
  ) => {
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId !== 'string') {
      rpcError(res, 400, HTTP_REFUSED, 'Bad Request: Mcp-Session-Id header is required', id);
      return null;
    }
    const entry = registry.get(sessionId);
    // A session is bound to the caller that opened it: anyone else is told it does not exist.
    if (!entry || entry.principal !== caller.principal) {
      rpcError(res, 404, SERVER_UNAVAILABLE, 'Session not found: initialize a new session', id);
      return null;
    }
    const problem = entry.transport.protocolVersionProblem(req);
    if (problem) {
      rpcError(res, 400, HTTP_REFUSED, problem, id);
      return null;
    }
    return { id: sessionId, entry };
  };

  const refuseDraining = (res: ServerResponse, id: unknown = null) =>
    rpcError(
      res,
      503,
      SERVER_UNAVAILABLE,
      'Service Unavailable: this gateway is shutting down (draining); retry, or connect to another replica',
      id,
      retryAfter,
    );

  /** `/login/SERVER` and `/oauth/callback` (identity on only): Host/Origin checked first. */
  const answerUpstreamLogin = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    seen: ReturnType<typeof requestOrigin>,
    routes: UpstreamLoginRoutes,
  ): Promise<void> => {
    const check = checkHttpRequest(req.headers, policy, seen);
    if (!check.ok) return rpcError(res, check.status, HTTP_REFUSED, check.message);
    if (!authenticator) return sendJson(res, 404, { error: 'not found: no identity provider' });
    if (draining) return refuseDraining(res);
    track(res, null); // drain waits for a code exchange in flight
    if (path === CALLBACK_PATH) return routes.callback(req, res);
    const who = await authenticator.authenticate(req.headers);
    if ('challenge' in who) {
      const c = who.challenge;
      return sendJson(res, c.status, { error: c.message }, { 'www-authenticate': c.header });
    }
    if (!who.identity) return sendJson(res, 401, { error: 'Unauthorized: sign in first' });
    return routes.start(req, res, who.identity);
  };

  const handlePost = async (
    req: IncomingMessage,
    res: ServerResponse,
    forwarded: boolean,
    caller: HttpCaller,
  ) => {
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      rpcError(
        res,
        406,
        HTTP_REFUSED,
        'Not Acceptable: Client must accept both application/json and text/event-stream',
      );
      return;
    }
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      rpcError(
        res,
        415,
        HTTP_REFUSED,
        'Unsupported Media Type: Content-Type must be application/json',
      );
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
    const parsed = parseBody(text, res);
    if (!parsed) return;
    const { messages, batch } = parsed;
    const firstId = batch ? null : idOf(messages[0]);
    // Draining: replies and notifications still reach the requests in flight; new work does not.
    if (draining && carriesRequest(messages)) return refuseDraining(res, firstId);
    const era = classifyPost(req, batch ? messages : messages[0]);
    if (era.kind === 'reject') return rpcError(res, era.httpStatus, era.code, era.message, firstId);
    if (era.kind === 'modern') {
      track(res, null);
      return modern.handle(req, res, messages[0] as JSONRPCMessage, caller, forwarded);
    }
    if (req.headers['mcp-session-id'] === undefined) {
      track(res, null);
      return openSession(req, res, messages, forwarded, caller);
    }
    const found = withSession(req, res, caller, firstId);
    if (!found) return;
    if (messages.some((m) => 'method' in m && m.method === 'initialize')) {
      rpcError(res, 400, INVALID_REQUEST, 'Invalid Request: Server already initialized', firstId);
      return;
    }
    track(res, found.id);
    found.entry.transport.handlePost(res, messages, batch);
  };

  const handleMcp = async (
    req: IncomingMessage,
    res: ServerResponse,
    forwarded: boolean,
    caller: HttpCaller,
  ) => {
    switch (req.method) {
      case 'POST':
        return handlePost(req, res, forwarded, caller);
      case 'GET': {
        if (draining) return refuseDraining(res);
        const found = withSession(req, res, caller);
        if (!found) return;
        if (!(req.headers.accept ?? '').includes('text/event-stream')) {
          rpcError(res, 406, HTTP_REFUSED, 'Not Acceptable: Client must accept text/event-stream');
          return;
        }
        const conflict = found.entry.transport.handleGet(res);
        if (conflict) rpcError(res, conflict.status, HTTP_REFUSED, conflict.message);
        else res.once('close', registry.use(found.id)); // a client listening is not idle
        return;
      }
      case 'DELETE': {
        const found = withSession(req, res, caller);
        if (!found) return;
        await drop(found.id);
        res.writeHead(200).end();
        return;
      }
      default:
        sendJson(
          res,
          405,
          {
            jsonrpc: '2.0',
            id: null,
            error: { code: HTTP_REFUSED, message: 'Method not allowed.' },
          },
          { allow: 'GET, POST, DELETE' },
        );
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const path =
      url.startsWith(PATH) && (url.length === PATH.length || url[PATH.length] === '?')
        ? PATH
        : new URL(url, 'http://gatehouse').pathname;
    if ((HEALTH_PATHS as readonly string[]).includes(path)) {
      return answerHealth(path, req.method, res, {
        draining: () => draining,
        storeProblem: options.storeProblem ?? (() => Promise.resolve(null)),
      });
    }
    const seen = requestOrigin(req.headers, req.socket.remoteAddress, proxies, listener.proto);
    // The console signs people in itself (their IdP token once, then its session cookie).
    if (options.console && authenticator && (path === '/console' || path.startsWith('/console/'))) {
      if (draining) return refuseDraining(res);
      const identify = authenticator;
      return options.console(req, res, {
        check: checkHttpRequest(req.headers, { ...policy, token: null }, seen),
        secure: seen.proto === 'https',
        authenticate: () => identify.authenticate(req.headers),
      });
    }
    // RFC 9728 protected-resource metadata: no token needed, Host and Origin still checked.
    const wellKnown = authenticator?.metadata(path) ?? null;
    if (wellKnown && req.method === 'GET' && checkHttpRequest(req.headers, policy, seen).ok) {
      sendJson(res, 200, wellKnown, { 'cache-control': 'max-age=300' });
      return;
    }
    // Upstream logins: the browser's callback carries no token, `/login/SERVER` the caller's.
    if (options.upstreamLogin && (path === CALLBACK_PATH || path.startsWith(LOGIN_PREFIX)))
      return answerUpstreamLogin(req, res, path, seen, options.upstreamLogin);
    const approvalsPath = path === '/approvals' || path.startsWith('/approvals/');
    const metrics = path === METRICS_PATH ? (options.metrics ?? null) : null;
    if (path !== PATH && !metrics && !(approvalsPath && options.approvals && authenticator)) {
      sendJson(res, 404, { error: `not found: the MCP endpoint is ${PATH}` });
      return;
    }
    const check = checkHttpRequest(req.headers, policy, seen);
    if (!check.ok) {
      rpcError(
        res,
        check.status,
        HTTP_REFUSED,
        check.message,
        null,
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
    if (approvalsPath && options.approvals) {
      if (!who.identity) {
        sendJson(res, 401, { error: 'Unauthorized: approvals need a signed-in person' });
        return;
      }
      if (draining) return refuseDraining(res);
      track(res, null);
      return options.approvals(req, res, who.identity);
    }
    const caller: HttpCaller = who.identity
      ? {
          principal: principalOf(who.identity),
          identity: who.identity,
          authenticated: true,
          // Kept only for an `exchange` upstream's token exchange at the IdP; never forwarded.
          subjectToken: subjectTokenOf(who.identity, req.headers.authorization),
        }
      : { principal: sharedSubject, identity: null, authenticated: options.token !== null };
    if (metrics) return answerMetrics(req.method, res, metrics);
    return handleMcp(req, res, seen.viaProxy, caller);
  };

  const listener = createListener(settings.tls, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      rpcError(
        res,
        500,
        codeOf('internal_error'),
        `Gatehouse internal error: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
  });
  const server = listener.server;
  const policyOf = (port: number) =>
    policyFor(options.host, port, options.token, {
      allowedHosts: settings.allowedHosts,
      allowedOrigins: settings.allowedOrigins,
      proto: listener.proto,
    });
  let policy = policyOf(options.port);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  policy = policyOf(port);

  const idleMs = settings.idleSessionSeconds * 1000;
  const sweeper = setInterval(
    () => {
      modern.sweep(settings.idleSessionSeconds);
      for (const id of registry.idle()) {
        options.onEvent?.({
          event: 'session_expired',
          subject: registry.get(id)?.principal ?? null,
          idle_seconds: settings.idleSessionSeconds,
        });
        void drop(id);
      }
    },
    Math.min(Math.max(idleMs / 4, 100), 30_000),
  );
  sweeper.unref();

  const close = async () => {
    clearInterval(sweeper);
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all([...registry.ids().map(drop), modern.close()]);
    server.closeAllConnections(); // open SSE streams would otherwise hold close() forever
    await stopped;
  };
  const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `${listener.proto}://${shownHost}:${port}${PATH}`;
  authenticator = options.authenticator?.(url) ?? null;
  return {
    url,
    close,
    async drain() {
      draining = true;
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          settled = resolve;
          setTimeout(resolve, settings.drainSeconds * 1000).unref();
        });
      }
      const unfinished = inFlight;
      await close();
      return { unfinished };
    },
    reloadTls: () => listener.reload(),
  };
}
