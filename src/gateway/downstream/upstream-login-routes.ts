import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerDecision } from '../../requirements/apply-requirements.js';
import type { GrantVault } from '../../credentials/grant-vault.js';
import { beginLogin, finishLogin } from '../../credentials/login.js';
import { PendingLogins } from '../../credentials/pending-logins.js';
import { credentialModelOf } from '../../credentials/server-model.js';
import type { Identity } from '../../identity/identity.js';
import { principalOf } from '../../identity/identity.js';
import { maskTokens } from '../../masking/mask-text.js';
import { sendJson } from './http-messages.js';

export const LOGIN_PREFIX = '/login/';
export const CALLBACK_PATH = '/oauth/callback';

/** What the HTTP endpoint calls for `/login/SERVER` (caller checked) and `/oauth/callback` (a browser). */
export interface UpstreamLoginRoutes {
  start(req: IncomingMessage, res: ServerResponse, caller: Identity): Promise<void>;
  callback(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

export interface UpstreamLoginOptions {
  /** The servers this gateway serves: only enabled `user`-model ones can be logged in to. */
  decisions: readonly ServerDecision[];
  vault: GrantVault;
  /** `…/oauth/callback` as browsers reach it (beside the identity resource URI), once listening. */
  callbackUrl(): string;
  onEvent?(line: Record<string, unknown>): void;
}

/** The callback page: plain text, nothing from the request in it, nothing it could load or run. */
function page(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-security-policy': "default-src 'none'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
  });
  res.end(`${text}\n`);
}

/** A path segment as text; a malformed escape is just a name no server has. */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function onlyGet(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method === 'GET') return true;
  sendJson(res, 405, { error: 'Method not allowed: use GET' }, { allow: 'GET' });
  return false;
}

/**
 * The team gateway's half of per-user upstream OAuth: a signed-in caller asks `/login/SERVER`
 * for an authorization URL to open in a browser; the login waits server-side (state → caller,
 * server, PKCE verifier) until the browser comes back to `/oauth/callback`, whose code becomes
 * THAT caller's grant — the redirect itself names no one, so a forged or replayed one stores nothing.
 */
export function upstreamLoginRoutes(options: UpstreamLoginOptions): UpstreamLoginRoutes {
  const pending = new PendingLogins();
  const event = (line: Record<string, unknown>) =>
    options.onEvent?.({ event: 'upstream_login', ...line });
  return {
    start: (req, res, caller) => startLogin(req, res, caller, options, pending, event),
    callback: (req, res) => finishCallback(req, res, options, pending, event),
  };
}

type LoginEvent = (line: Record<string, unknown>) => void;

/** `GET /login/SERVER`: a new pending login for the caller, answered with its authorization URL. */
async function startLogin(
  req: IncomingMessage,
  res: ServerResponse,
  caller: Identity,
  options: UpstreamLoginOptions,
  pending: PendingLogins,
  event: LoginEvent,
): Promise<void> {
  if (!onlyGet(req, res)) return;
  const path = new URL(req.url ?? '/', 'http://gatehouse').pathname;
  const name = safeDecode(path.slice(LOGIN_PREFIX.length));
  const takesLogins = (d: ServerDecision) =>
    d.enabled &&
    d.server.transport.type === 'streamable_http' &&
    credentialModelOf(d.server).model === 'user';
  const decision = options.decisions.find((d) => takesLogins(d) && d.server.name === name);
  const t = decision?.server.transport;
  if (!decision || t?.type !== 'streamable_http') {
    const served = options.decisions.filter(takesLogins).map((d) => d.server.name);
    sendJson(res, 404, {
      error: `no server here takes each user's own login under that name (servers that do: ${served.join(', ') || 'none'})`,
    });
    return;
  }
  const principal = principalOf(caller);
  try {
    const started = await beginLogin(decision.server, t, principal, options.callbackUrl());
    const expiresAt = pending.add(started.pending);
    if (expiresAt === null) {
      sendJson(
        res,
        503,
        { error: 'too many logins in progress on this gateway; retry shortly' },
        { 'retry-after': '60' },
      );
      return;
    }
    event({ server: name, principal, outcome: 'started' });
    sendJson(
      res,
      200,
      {
        server: name,
        principal,
        authorization_url: started.authorizationUrl,
        expires_at: new Date(expiresAt).toISOString(),
      },
      { 'cache-control': 'no-store' },
    );
  } catch (err) {
    sendJson(res, 502, { error: maskTokens(err instanceof Error ? err.message : String(err)) });
  }
}

/** `GET /oauth/callback`: the pending login its state names (once), its code stored for that caller. */
async function finishCallback(
  req: IncomingMessage,
  res: ServerResponse,
  options: UpstreamLoginOptions,
  pending: PendingLogins,
  event: LoginEvent,
): Promise<void> {
  if (!onlyGet(req, res)) return;
  const url = new URL(req.url ?? '/', 'http://gatehouse');
  const login = pending.take(url.searchParams.get('state') ?? '');
  if (!login) {
    event({ server: null, principal: null, outcome: 'unknown_state' });
    page(
      res,
      400,
      'Gatehouse: this sign-in link is unknown, expired or already used, so nothing was stored. Ask your agent for a new login link and sign in again.',
    );
    return;
  }
  const who = `${login.server} as ${login.principal}`;
  try {
    await finishLogin(login, url, options.vault);
  } catch (err) {
    event({
      server: login.server,
      principal: login.principal,
      outcome: 'failed',
      detail: maskTokens(err instanceof Error ? err.message : String(err)),
    });
    page(
      res,
      400,
      `Gatehouse: signing in to ${who} did not complete (the authorization server refused, or its code was not accepted), so nothing was stored. The gateway's log says why; ask your agent for a new login link.`,
    );
    return;
  }
  event({ server: login.server, principal: login.principal, outcome: 'stored' });
  page(res, 200, `Gatehouse: signed in to ${who}. Return to your agent and start a new session.`);
}
