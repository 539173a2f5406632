import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import {
  discoverOAuthServerInfo,
  exchangeAuthorization,
  startAuthorization,
} from '@modelcontextprotocol/client';
import { decodeJwt } from 'jose';
import type { McpServerConfig, StreamableHttpTransport } from '../config/mcp-server.js';
import type { GrantVault } from './grant-vault.js';
import { CredentialUnavailable } from './token-endpoint.js';

/** What `gatehouse login SERVER` needs besides the server. */
export interface LoginOptions {
  vault: GrantVault;
  /** Whose grant this is (`os:NAME` locally). */
  principal: string;
  /** Shown to the user: the URL to open in a browser. */
  showUrl(url: string): void;
  /** How long to wait for the browser's redirect. */
  timeoutMs: number;
}

export interface LoginResult {
  issuer: string;
  resource: string;
  expiresAt: number | null;
  refreshable: boolean;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * A login between the authorization URL and the redirect: what the redirect must carry (its
 * `state`) and what exchanging its code needs (the PKCE verifier, the redirect URI). Held in
 * memory only, by the CLI while it waits and by the team gateway until the browser returns.
 */
export interface PendingLogin {
  server: string;
  /** Whose grant the code becomes: bound when the login starts, never taken from the redirect. */
  principal: string;
  state: string;
  codeVerifier: string;
  redirectUrl: string;
  resource: string;
  clientId: string;
  discovered: Awaited<ReturnType<typeof discoverFor>>;
  /** How the person who started it is named to the browser that finishes it (team gateway). */
  shownAs?: string;
}

/**
 * Per-user upstream OAuth, authorization code + PKCE (the MCP authorization spec), first half:
 * the upstream's authorization server is discovered from its RFC 9728 metadata (then RFC 8414 /
 * OIDC discovery), Gatehouse's pre-registered client id asks for a token for the upstream alone
 * (`resource`, RFC 8707), and a fresh random `state` (192 bits) and PKCE verifier bind the
 * redirect to this login and this principal.
 */
export async function beginLogin(
  server: McpServerConfig,
  t: StreamableHttpTransport,
  principal: string,
  redirectUrl: string,
): Promise<{ authorizationUrl: string; pending: PendingLogin }> {
  const c = server.credentials;
  if (!c?.clientId)
    throw new CredentialUnavailable(
      `${server.name} has no client id for its authorization server: set [mcp_servers.${server.name}.gatehouse_credentials] model = "user", client_id = "…"`,
      'refused',
    );
  const resource = server.oauthResource ?? t.url;
  const discovered = await discoverFor(server, t.url);
  const state = randomBytes(24).toString('base64url');
  const { authorizationUrl, codeVerifier } = await startAuthorization(
    discovered.info.authorizationServerUrl,
    {
      metadata: discovered.metadata,
      clientInformation: { client_id: c.clientId },
      redirectUrl,
      ...(c.scopes?.length ? { scope: c.scopes.join(' ') } : {}),
      state,
      resource: new URL(resource),
    },
  );
  return {
    authorizationUrl: authorizationUrl.href,
    pending: {
      server: server.name,
      principal,
      state,
      codeVerifier,
      redirectUrl,
      resource,
      clientId: c.clientId,
      discovered,
    },
  };
}

/**
 * Second half, shared by `gatehouse login` and the team gateway's `/oauth/callback`: the
 * redirect must carry this login's `state`; its code is exchanged with the PKCE verifier (the
 * RFC 9207 `iss` checked by the SDK), a JWT token must name the upstream as audience, and the
 * tokens are stored encrypted for the principal bound at the start, keyed by issuer too.
 */
export async function finishLogin(
  pending: PendingLogin,
  callback: URL,
  vault: GrantVault,
): Promise<LoginResult> {
  const { server, resource, clientId } = pending;
  const { info, metadata, issuer } = pending.discovered;
  const code = codeFrom(server, callback, pending.state);
  const iss = callback.searchParams.get('iss');
  const tokens = await exchangeAuthorization(info.authorizationServerUrl, {
    metadata,
    clientInformation: { client_id: clientId },
    authorizationCode: code,
    ...(iss ? { iss } : {}),
    codeVerifier: pending.codeVerifier,
    redirectUri: pending.redirectUrl,
    resource: new URL(resource),
  }).catch((err: unknown) => {
    throw new CredentialUnavailable(
      `${server}: the token endpoint refused the code (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); nothing was stored`,
      'refused',
    );
  });
  checkAudience(server, tokens.access_token, resource);
  const expiresAt = typeof tokens.expires_in === 'number' ? nowSeconds() + tokens.expires_in : null;
  vault.put(
    {
      principal: pending.principal,
      issuer,
      resource,
      server,
      client_id: clientId,
      token_endpoint: metadata.token_endpoint,
    },
    {
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token ?? null,
      token_type: tokens.token_type,
      expires_at: expiresAt,
      scope: tokens.scope ?? null,
    },
  );
  return { issuer, resource, expiresAt, refreshable: !!tokens.refresh_token };
}

/**
 * `gatehouse login SERVER`: the whole code + PKCE login with a loopback listener taking the
 * redirect (RFC 8252 §7.3).
 */
export async function loginToUpstream(
  server: McpServerConfig,
  t: StreamableHttpTransport,
  opts: LoginOptions,
): Promise<LoginResult> {
  const listener = await listenLoopback(server.credentials?.callbackPort ?? 0);
  try {
    const redirectUrl = `http://127.0.0.1:${listener.port}/callback`;
    const { authorizationUrl, pending } = await beginLogin(server, t, opts.principal, redirectUrl);
    opts.showUrl(authorizationUrl);
    return await finishLogin(pending, await listener.next(opts.timeoutMs), opts.vault);
  } finally {
    listener.close();
  }
}

/** The upstream's authorization server (RFC 9728, then RFC 8414 / OIDC), checked against a pin. */
async function discoverFor(server: McpServerConfig, url: string) {
  const info = await discoverOAuthServerInfo(url).catch((err: unknown) => {
    throw new CredentialUnavailable(
      `${server.name}: OAuth discovery failed at ${url} (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`,
      'refused',
    );
  });
  const metadata = info.authorizationServerMetadata;
  if (!metadata)
    throw new CredentialUnavailable(
      `${server.name}: no authorization server metadata found for ${url} (RFC 9728 / RFC 8414)`,
      'refused',
    );
  const pinned = server.credentials?.issuer;
  if (pinned && pinned !== metadata.issuer)
    throw new CredentialUnavailable(
      `${server.name}: the upstream names authorization server ${metadata.issuer}, but the config pins issuer = "${pinned}"; nothing was sent`,
      'refused',
    );
  return { info, metadata, issuer: metadata.issuer };
}

/** The code of a redirect that belongs to this login (its `state`), or why not. */
function codeFrom(server: string, callback: URL, state: string): string {
  const error = callback.searchParams.get('error');
  if (error) {
    const description = callback.searchParams.get('error_description');
    throw new CredentialUnavailable(
      `${server}: the authorization server refused (${error}${description ? `: ${description.slice(0, 200)}` : ''})`,
      'refused',
    );
  }
  if (callback.searchParams.get('state') !== state)
    throw new CredentialUnavailable(
      `${server}: the redirect's state does not match this login (a forged or stale redirect); nothing was stored. Run \`gatehouse login ${server}\` again`,
      'refused',
    );
  const code = callback.searchParams.get('code');
  if (!code) throw new CredentialUnavailable(`${server}: the redirect carried no code`, 'refused');
  return code;
}

/**
 * A JWT access token must name the upstream as its audience: a token for another audience
 * would be refused there (or worse, accepted by a server it was not meant for). Opaque tokens
 * are the resource server's to check.
 */
export function checkAudience(server: string, token: string, resource: string): void {
  let aud: unknown;
  try {
    aud = decodeJwt(token).aud;
  } catch {
    return; // opaque
  }
  const list = Array.isArray(aud) ? aud : [aud];
  if (!list.includes(resource))
    throw new CredentialUnavailable(
      `${server}: the authorization server issued a token for another audience (${list.map(String).join(', ') || 'none'}), not ${resource}; nothing was stored`,
      'refused',
    );
}

interface Loopback {
  port: number;
  next(timeoutMs: number): Promise<URL>;
  close(): void;
}

/** A one-shot listener on 127.0.0.1 for the authorization redirect (RFC 8252 §7.3). */
function listenLoopback(port: number): Promise<Loopback> {
  let deliver: ((url: URL) => void) | null = null;
  const http: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Gatehouse received the authorization. You can close this window.\n');
    deliver?.(url);
  });
  return new Promise((resolve, reject) => {
    http.once('error', (err) =>
      reject(
        new CredentialUnavailable(
          `the login redirect listener cannot listen on 127.0.0.1:${port} (${err.message})`,
          'refused',
        ),
      ),
    );
    http.listen(port, '127.0.0.1', () => {
      resolve({
        port: (http.address() as { port: number }).port,
        next: (timeoutMs) =>
          new Promise<URL>((done, fail) => {
            const timer = setTimeout(
              () =>
                fail(
                  new CredentialUnavailable(
                    `no authorization arrived within ${Math.round(timeoutMs / 1000)}s; run the login again`,
                    'login_required',
                  ),
                ),
              timeoutMs,
            );
            deliver = (url) => {
              clearTimeout(timer);
              done(url);
            };
          }),
        close: () => {
          http.closeAllConnections();
          http.close();
        },
      });
    });
  });
}
