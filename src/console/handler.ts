import type { IncomingMessage, ServerResponse } from 'node:http';
import { ExitCode } from '../cli/exit-codes.js';
import type { HttpCheck } from '../gateway/downstream/http-checks.js';
import type { AuthOutcome } from '../identity/authenticate.js';
import type { Identity } from '../identity/identity.js';
import { BodyTooLarge, readBody } from '../gateway/downstream/http-messages.js';
import type { CommandAnswer, ConsoleData } from './data.js';
import { LiveApprovals } from './live-updates.js';
import type { ConsoleLogin, ConsoleSession } from './login.js';
import { cookieValue, sameSecret } from './login.js';
import type { ConsoleAssets } from './page.js';
import { consoleHtml, messageHtml, SECURITY_HEADERS, signInHtml } from './page.js';

/** What the server the console is mounted on says about one request. */
export interface ConsoleRequest {
  /** Its Host and Origin checks (DNS rebinding). */
  check: HttpCheck;
  /** It reached the server over HTTPS (directly or via a trusted proxy): the cookie is Secure. */
  secure: boolean;
  /** Under the team gateway: who its bearer token identifies (src/identity, as for `/mcp`). */
  authenticate?: () => Promise<AuthOutcome>;
}

export interface ConsoleHandlerOptions {
  /** The data a session sees: locally one console for one person (null); per person in team mode. */
  data: (person: Identity | null) => ConsoleData;
  login: ConsoleLogin;
  assets: ConsoleAssets;
  /**
   * Team mode (under `serve --http`): people sign in with their identity-provider token
   * (`POST session`), never with a one-time link. Says why an identity may not sign in, or null.
   */
  people?: (identity: Identity) => string | null;
  /**
   * The session cookie's name. Browsers send a host's cookies to every port of it, so a console
   * on another port must use another name (the port is in it) or the two would sign each other out.
   */
  cookieName?: () => string;
  /** Where the console is mounted ('' at the root, or e.g. '/console'). */
  basePath?: string;
  /** How often open approvals pages look for changes (ms). */
  liveEveryMs?: number;
}

export interface ConsoleHandler {
  /** Answers a request under the base path; false when the path is not the console's. */
  handle(req: IncomingMessage, res: ServerResponse, request: ConsoleRequest): Promise<boolean>;
  close(): void;
}

const MAX_BODY = 64 * 1024;

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, ...extra });
  res.end(body);
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));

/** A command's answer as HTTP: 200 with its JSON, or its message with a status its code implies. */
function answer(res: ServerResponse, a: CommandAnswer): void {
  if (a.code === 0 || (a.json !== null && a.json !== undefined))
    return json(res, 200, { code: a.code, data: a.json, message: a.message });
  const status =
    a.status ??
    (a.code === ExitCode.notFound
      ? 404
      : a.code === ExitCode.approvalRefused
        ? 409
        : a.code === ExitCode.usage
          ? 400
          : 500);
  json(res, status, { code: a.code, error: a.message ?? `failed with exit code ${a.code}` });
}

/** A JSON object body, or null when the body is not one (or not declared as JSON). */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) return null;
  const text = await readBody(req, MAX_BODY);
  try {
    const v = JSON.parse(text || '{}') as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** What the request handlers share. */
interface Context {
  options: ConsoleHandlerOptions;
  base: string;
  live: LiveApprovals;
}

/** A state change: CSRF token first, then a JSON body; a decision tells the live pages. */
async function change(
  { options, base, live }: Context,
  req: IncomingMessage,
  res: ServerResponse,
  session: ConsoleSession,
  route: string[],
): Promise<void> {
  const presented = String(req.headers['x-csrf-token'] ?? '');
  if (!presented || !sameSecret(presented, session.csrf))
    return json(res, 403, {
      error: 'Forbidden: this change lacks the page’s CSRF token (reload the console and retry)',
    });
  const body = await readJson(req);
  if (!body) return json(res, 400, { error: 'expected a JSON object body (application/json)' });
  const reason = typeof body.reason === 'string' && body.reason.trim() ? body.reason.trim() : null;
  if (route[0] === 'approvals' && route[1] && (route[2] === 'approve' || route[2] === 'deny')) {
    if (route[2] === 'deny' && !reason)
      return json(res, 400, { error: 'a denial needs a reason: the caller is told it' });
    const decided = await options
      .data(session.person)
      .decide(route[1], route[2] === 'approve' ? 'approved' : 'denied', reason);
    await live.changed();
    return answer(res, decided);
  }
  if (route[0] === 'login-links' && route.length === 1 && !options.people)
    return json(res, 200, { path: `${base}/login?token=${options.login.issueLink()}` });
  const actions = options.data(session.person).actions;
  const action = route[0] === 'action' && route[1] ? actions[route[1]] : undefined;
  if (!action || route.length !== 2) return json(res, 404, { error: 'no such action' });
  return answer(res, await action(body));
}

/** A signed-in request: the page, the session, approvals, live updates, views and changes. */
async function signedIn(
  ctx: Context,
  req: IncomingMessage,
  res: ServerResponse,
  session: ConsoleSession,
  path: string,
  url: URL,
): Promise<void> {
  const route = path.split('/').filter(Boolean).slice(1);
  if (req.method === 'POST') return change(ctx, req, res, session, route);
  const { options, live } = ctx;
  const data = options.data(session.person);
  if (req.method !== 'GET') return json(res, 405, { error: 'method not allowed' });
  if (path === '/') return send(res, 200, 'text/html; charset=utf-8', consoleHtml());
  if (route[0] === 'session')
    return json(res, 200, {
      csrf: session.csrf,
      viewer: data.viewer,
      links: !options.people,
      // Team mode serves only the approvals page (the others read a local CLI's state).
      pages: options.people ? ['approvals'] : null,
    });
  if (route[0] === 'approvals' && route.length === 1)
    return json(res, 200, await data.approvals(url.searchParams.get('all') === '1'));
  if (route[0] === 'events') return live.watch(res);
  const view = route[0] === 'view' && route[1] ? data.views[route[1]] : undefined;
  if (view && route.length === 2) return answer(res, await view(url.searchParams));
  return json(res, 404, { error: 'not found' });
}

/** Team mode: `POST session` with the person's identity-provider token starts a session. */
async function signInPerson(
  options: ConsoleHandlerOptions,
  res: ServerResponse,
  request: ConsoleRequest,
  cookie: (value: string, expiresAt: number) => string,
): Promise<void> {
  const who = request.authenticate
    ? await request.authenticate()
    : { challenge: { status: 401 as const, header: '', message: 'no identity provider' } };
  if ('challenge' in who) return json(res, who.challenge.status, { error: who.challenge.message });
  if (!who.identity)
    return json(res, 401, {
      error:
        'Unauthorized: sign in with `Authorization: Bearer <your identity-provider access token>`',
    });
  const refused = options.people?.(who.identity);
  if (refused) return json(res, 403, { error: `Forbidden: ${refused}` });
  const { sessionId, session } = options.login.open(who.identity);
  send(
    res,
    200,
    'application/json; charset=utf-8',
    JSON.stringify({ signed_in: options.data(who.identity).viewer.name }),
    { 'set-cookie': cookie(sessionId, session.expiresAt) },
  );
}

/**
 * The console as a request handler, to mount on any node:http server: login, the page, its
 * assets, the JSON views and actions, and live approval updates. Every request passes the Host
 * and Origin checks; everything but the login link and the assets needs a session; every state
 * change needs the session's CSRF token and a JSON body.
 */
export function consoleHandler(options: ConsoleHandlerOptions): ConsoleHandler {
  const base = options.basePath ?? '';
  const cookieName = options.cookieName ?? (() => 'gatehouse_console');
  const live = new LiveApprovals(async () => {
    const rows = await options.data(null).approvals(false);
    return rows.map((r) => `${r.id}:${r.status}`).join(',');
  }, options.liveEveryMs);

  // Seconds left, rounded up: a session made a moment ago gets its whole lifetime (3600, not 3599
  // because a millisecond passed); the server refuses it at its own expiry either way.
  const cookie = (request: ConsoleRequest, value: string, expiresAt: number) =>
    `${cookieName()}=${value}; Path=${base}/; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000))}${request.secure ? '; Secure' : ''}`;

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    request: ConsoleRequest,
  ): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://console');
    if (base && url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return false;
    const path = url.pathname.slice(base.length) || '';
    const check = request.check;
    if (!check.ok) {
      json(res, check.status, { error: check.message });
      return true;
    }
    if (path === '') {
      send(res, 308, 'text/plain', '', { location: `${base}/` });
      return true;
    }
    if (req.method === 'GET' && (path === '/assets/console.js' || path === '/assets/console.css')) {
      const name = path.endsWith('.js') ? 'console.js' : 'console.css';
      send(res, 200, name.endsWith('.js') ? 'text/javascript' : 'text/css', options.assets[name]);
      return true;
    }
    const sessionId = cookieValue(req.headers.cookie, cookieName());
    if (options.people && req.method === 'POST' && path === '/session') {
      await signInPerson(options, res, request, (v, at) => cookie(request, v, at));
      return true;
    }
    if (req.method === 'GET' && path === '/login' && !options.people) {
      const r = options.login.exchange(url.searchParams.get('token') ?? '');
      if (!r.ok)
        send(res, 403, 'text/html; charset=utf-8', messageHtml('Cannot sign in', r.message));
      else
        send(res, 303, 'text/plain', '', {
          location: `${base}/`,
          'set-cookie': cookie(request, r.sessionId, r.session.expiresAt),
        });
      return true;
    }
    const session = options.login.session(sessionId);
    if (!session) {
      const message = options.people
        ? 'Sign in with your identity-provider access token (your session is missing or has ended).'
        : 'Sign in with the one-time link `gatehouse console` printed (your session is missing or has ended).';
      if (path.startsWith('/api/')) json(res, 401, { error: `Unauthorized: ${message}` });
      else if (options.people) send(res, 401, 'text/html; charset=utf-8', signInHtml(message));
      else send(res, 401, 'text/html; charset=utf-8', messageHtml('Sign in', message));
      return true;
    }
    if (path !== '/' && !path.startsWith('/api/')) {
      json(res, 404, { error: 'not found' });
      return true;
    }
    try {
      await signedIn({ options, base, live }, req, res, session, path, url);
    } catch (err) {
      if (err instanceof BodyTooLarge) json(res, 413, { error: 'request body too large' });
      else json(res, 500, { error: `the console could not answer: ${String(err)}` });
    }
    return true;
  }

  return { handle, close: () => live.close() };
}
