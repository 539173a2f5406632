import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerDecision } from '../../requirements/apply-requirements.js';
import type { GrantVault } from '../../credentials/grant-vault.js';
import { beginLogin, finishLogin } from '../../credentials/login.js';
import { PendingLogins } from '../../credentials/pending-logins.js';
import { credentialModelOf } from '../../credentials/server-model.js';
import type { Identity } from '../../identity/identity.js';
import { principalOf } from '../../identity/identity.js';
import { maskTokens } from '../../masking/mask-text.js';
import type { PendingLogin } from '../../credentials/login.js';
import { readBody, sendJson } from './http-messages.js';

export const LOGIN_PREFIX = '/login/';
export const CALLBACK_PATH = '/oauth/callback';

/** How long the confirmation page waits for its click (an authorization code lives about as long). */
export const CONFIRM_TTL_MS = 5 * 60_000;

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

/**
 * The confirmation page: names the Gatehouse user the upstream account will be linked to and
 * posts back only a one-time token (the code stays server-side). No script; its only action is
 * a same-origin form post; it cannot be framed. `same-origin` referrer so the form's POST carries
 * the gateway's own Origin (with `no-referrer` a browser would send `Origin: null`).
 */
function confirmPage(res: ServerResponse, server: string, shownAs: string, token: string): void {
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
  });
  const who = escapeHtml(shownAs);
  const where = escapeHtml(server);
  res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gatehouse: connect ${where}</title></head>
<body>
<h1>Connect your ${where} account to Gatehouse user ${who}?</h1>
<p>You signed in to <strong>${where}</strong>. Continuing lets the Gatehouse gateway act on
${where} <strong>as you</strong>, for requests made by the Gatehouse user <strong>${who}</strong>.</p>
<p><strong>Only continue if you are ${who}.</strong> If someone else sent you this link, choose
Cancel: they would get access to your ${where} account.</p>
<form method="post" action="${CALLBACK_PATH}">
<input type="hidden" name="confirm" value="${token}">
<button type="submit" name="action" value="connect">Connect my account for ${who}</button>
<button type="submit" name="action" value="cancel">Cancel</button>
</form>
</body></html>
`);
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
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
  const confirmations = new Confirmations();
  const event = (line: Record<string, unknown>) =>
    options.onEvent?.({ event: 'upstream_login', ...line });
  return {
    start: (req, res, caller) => startLogin(req, res, caller, options, pending, event),
    callback: (req, res) =>
      req.method === 'POST'
        ? confirmCallback(req, res, options, confirmations, event)
        : finishCallback(req, res, options, pending, confirmations, event),
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
    const shownAs = caller.email ? `${caller.email} (${principal})` : principal;
    const expiresAt = pending.add({ ...started.pending, shownAs });
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

/**
 * Callbacks waiting for their person's click, by a one-time token's hash: single use, five
 * minutes, bounded like the pending logins.
 */
class Confirmations {
  private readonly byToken = new Map<
    string,
    { login: PendingLogin; url: URL; expiresAt: number }
  >();

  hold(login: PendingLogin, url: URL): string | null {
    const now = Date.now();
    for (const [k, v] of this.byToken) if (v.expiresAt <= now) this.byToken.delete(k);
    if (this.byToken.size >= 10_000) return null;
    const token = randomBytes(32).toString('base64url');
    this.byToken.set(digest(token), { login, url, expiresAt: now + CONFIRM_TTL_MS });
    return token;
  }

  take(token: string): { login: PendingLogin; url: URL } | null {
    const key = digest(token);
    const found = this.byToken.get(key);
    this.byToken.delete(key);
    return found && found.expiresAt > Date.now() ? found : null;
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * `GET /oauth/callback`: the pending login its state names (once). A redirect with a code is
 * not stored yet: the browser gets a page naming the Gatehouse user the account would be linked
 * to, and only its person's click (`POST`) stores it. Otherwise a caller could send their own
 * login link to a colleague, whose sign-in would become the caller's grant (account linking).
 */
async function finishCallback(
  req: IncomingMessage,
  res: ServerResponse,
  options: UpstreamLoginOptions,
  pending: PendingLogins,
  confirmations: Confirmations,
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
  if (url.searchParams.has('code') && !url.searchParams.has('error')) {
    const token = confirmations.hold(login, url);
    if (token === null) {
      page(res, 503, 'Gatehouse: too many sign-ins are waiting; try again shortly.');
      return;
    }
    event({ server: login.server, principal: login.principal, outcome: 'awaiting_confirmation' });
    confirmPage(res, login.server, login.shownAs ?? login.principal, token);
    return;
  }
  await complete(res, login, url, options, event);
}

/** `POST /oauth/callback`: the person confirmed (or cancelled) on the page; the code is exchanged now. */
async function confirmCallback(
  req: IncomingMessage,
  res: ServerResponse,
  options: UpstreamLoginOptions,
  confirmations: Confirmations,
  event: LoginEvent,
): Promise<void> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    page(res, 415, 'Gatehouse: this address takes the confirmation form only.');
    return;
  }
  let form: URLSearchParams;
  try {
    form = new URLSearchParams(await readBody(req, 4096));
  } catch {
    page(res, 413, 'Gatehouse: the confirmation form is too large.');
    return;
  }
  const held = confirmations.take(form.get('confirm') ?? '');
  if (!held) {
    event({ server: null, principal: null, outcome: 'unknown_confirmation' });
    page(
      res,
      400,
      'Gatehouse: this confirmation is unknown, expired or already used, so nothing was stored. Ask your agent for a new login link and sign in again.',
    );
    return;
  }
  if (form.get('action') !== 'connect') {
    event({ server: held.login.server, principal: held.login.principal, outcome: 'cancelled' });
    page(res, 200, `Gatehouse: cancelled; nothing was stored for ${held.login.server}.`);
    return;
  }
  await complete(res, held.login, held.url, options, event);
}

async function complete(
  res: ServerResponse,
  login: PendingLogin,
  url: URL,
  options: UpstreamLoginOptions,
  event: LoginEvent,
): Promise<void> {
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
