import {
  discoverAuthorizationServerMetadata,
  refreshAuthorization,
} from '@modelcontextprotocol/client';
import type { AuthorizationServerMetadata } from '@modelcontextprotocol/client';
import type { McpServerConfig, StreamableHttpTransport } from '../config/mcp-server.js';
import { upstreamHeaders } from '../gateway/upstream/http-headers.js';
import type { GrantKey, GrantTokens, GrantVault } from './grant-vault.js';
import { describeSecretRef } from './model.js';
import { readSecret, SecretUnavailable } from './secret-ref.js';
import type { CredentialUse } from './server-model.js';
export type { CredentialUse };
import { credentialUse } from './server-model.js';
import { exchangeToken } from './token-exchange.js';
import type { IssuedToken } from './token-endpoint.js';
import { CredentialUnavailable, postTokenRequest } from './token-endpoint.js';

export { CredentialUnavailable };

/** Who the upstream connection is for and where per-user grants live. */
export interface CredentialContext {
  env: NodeJS.ProcessEnv;
  /** The caller's principal (`user:SUB`, `os:NAME`); null: nobody authenticated. */
  caller: string | null;
  /** The caller's own token, only ever sent to the IdP's token endpoint (`exchange`). */
  subjectToken?: string | null;
  vault: GrantVault | null;
}

/** What a connection to an HTTP upstream sends: fixed headers and, when dynamic, a bearer source. */
export interface UpstreamAuth {
  headers: Record<string, string>;
  /** Called before every request (the SDK's AuthProvider): refreshes before expiry. */
  token: (() => Promise<string>) | null;
  use: CredentialUse;
}

/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_SECONDS = 60;

/** The RFC 8707 resource a server's tokens are for: `oauth_resource`, else its URL. */
export function resourceOf(server: McpServerConfig, t: StreamableHttpTransport): string {
  return server.oauthResource ?? t.url;
}

const secretFailure = (what: string, err: unknown): never => {
  if (err instanceof SecretUnavailable)
    throw new CredentialUnavailable(`${what}: ${err.message}`, 'secret_unreadable');
  throw err;
};

/**
 * Resolves the credential an HTTP upstream gets for this caller. The client's own inbound
 * token is never among the inputs, so it cannot reach the upstream (MCP forbids token
 * passthrough); `exchange` sends it only to the IdP, which answers with a different token.
 */
export async function resolveUpstreamAuth(
  server: McpServerConfig,
  t: StreamableHttpTransport,
  ctx: CredentialContext,
): Promise<UpstreamAuth> {
  const use = credentialUse(server, ctx.caller);
  const c = server.credentials ?? null;
  const codexHeaders = upstreamHeaders(t, ctx.env);
  if (use.model === 'none' || (use.model === 'service' && !c)) {
    // Codex's keys only (bearer_token_env_var, headers) — or nothing at all.
    return { headers: codexHeaders, token: null, use };
  }
  if (use.model === 'service' && c) {
    const headers = { ...codexHeaders };
    for (const [name, ref] of Object.entries(c.headers))
      headers[name] = await readSecret(ref, ctx.env).catch((e: unknown) =>
        secretFailure(`${server.name}: header ${name} (${describeSecretRef(ref)})`, e),
      );
    if (c.bearer) {
      const bearer = c.bearer;
      const value = await readSecret(bearer, ctx.env).catch((e: unknown) =>
        secretFailure(`${server.name}: bearer (${describeSecretRef(bearer)})`, e),
      );
      headers.Authorization = `Bearer ${value}`;
    }
    if (c.grant === 'client_credentials') {
      const tokens = new ClientCredentialsTokens(server, t, ctx.env);
      return { headers, token: () => tokens.current(), use };
    }
    return { headers, token: null, use };
  }
  if (!ctx.caller)
    throw new CredentialUnavailable(
      `${server.name} uses each caller's own credential (model "${use.model}"), but this caller is not authenticated; serve --http needs [gatehouse_identity] for it`,
      'login_required',
    );
  if (use.model === 'exchange') {
    const subject = ctx.subjectToken;
    if (!c || !subject)
      throw new CredentialUnavailable(
        `${server.name} exchanges the caller's identity token at the IdP (model "exchange"), but this caller presented none (only serve --http with [gatehouse_identity] has one)`,
        'login_required',
      );
    const exchanged = new ExchangedTokens(server, t, ctx.env, subject);
    await exchanged.current();
    return { headers: codexHeaders, token: () => exchanged.current(), use };
  }
  if (!ctx.vault)
    throw new CredentialUnavailable(`${server.name}: no grant vault`, 'login_required');
  const grants = new UserGrantTokens(server, t, ctx.vault, ctx.caller);
  await grants.current();
  return { headers: codexHeaders, token: () => grants.current(), use };
}

/** The `gatehouse login` command a user without a grant is told to run. */
export function loginHint(server: string): string {
  return `gatehouse login ${server}`;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** AS metadata by issuer, fetched once per process (RFC 8414 / OIDC discovery). */
const metadataCache = new Map<string, Promise<AuthorizationServerMetadata>>();

export function authorizationServerMetadata(issuer: string): Promise<AuthorizationServerMetadata> {
  let found = metadataCache.get(issuer);
  if (!found) {
    found = discoverAuthorizationServerMetadata(issuer).then((m) => {
      if (!m) throw new Error(`no authorization server metadata at ${issuer}`);
      return m;
    });
    found.catch(() => metadataCache.delete(issuer));
    metadataCache.set(issuer, found);
  }
  return found;
}

/** Token endpoint: the configured one, else the issuer's metadata's. */
async function tokenEndpointOf(
  server: McpServerConfig,
): Promise<{ endpoint: string; issuer: string | null }> {
  const c = server.credentials;
  if (c?.tokenEndpoint) return { endpoint: c.tokenEndpoint, issuer: c.issuer };
  if (!c?.issuer) throw new Error(`${server.name}: no token_endpoint or issuer configured`);
  const m = await authorizationServerMetadata(c.issuer);
  return { endpoint: m.token_endpoint, issuer: c.issuer };
}

async function clientSecretOf(
  server: McpServerConfig,
  env: NodeJS.ProcessEnv,
): Promise<string | null> {
  const ref = server.credentials?.clientSecret;
  if (!ref) return null;
  return readSecret(ref, env).catch((e: unknown) =>
    secretFailure(`${server.name}: client_secret (${describeSecretRef(ref)})`, e),
  );
}

/** One token, fetched again shortly before it expires. */
abstract class ExpiringToken {
  private cached: { token: string; expiresAt: number | null } | null = null;
  private inflight: Promise<string> | null = null;

  async current(): Promise<string> {
    const c = this.cached;
    if (c && (c.expiresAt === null || c.expiresAt - REFRESH_MARGIN_SECONDS > nowSeconds()))
      return c.token;
    this.inflight ??= this.fetch()
      .then((t) => {
        this.cached = t;
        return t.token;
      })
      .finally(() => (this.inflight = null));
    return this.inflight;
  }

  protected abstract fetch(): Promise<Pick<IssuedToken, 'token' | 'expiresAt'>>;
}

/** `service` with `grant = "client_credentials"`: the gateway's own token, for every caller. */
class ClientCredentialsTokens extends ExpiringToken {
  constructor(
    private readonly server: McpServerConfig,
    private readonly t: StreamableHttpTransport,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    super();
  }

  protected async fetch() {
    const c = this.server.credentials;
    const { endpoint } = await tokenEndpointOf(this.server);
    const params: Record<string, string> = {
      grant_type: 'client_credentials',
      resource: resourceOf(this.server, this.t),
    };
    if (c?.scopes?.length) params.scope = c.scopes.join(' ');
    return postTokenRequest(
      endpoint,
      { id: c?.clientId ?? '', secret: await clientSecretOf(this.server, this.env) },
      params,
      `${this.server.name} (client credentials)`,
    );
  }
}

/** `exchange`: the caller's token exchanged at the IdP for one with the upstream's audience. */
class ExchangedTokens extends ExpiringToken {
  constructor(
    private readonly server: McpServerConfig,
    private readonly t: StreamableHttpTransport,
    private readonly env: NodeJS.ProcessEnv,
    private readonly subjectToken: string,
  ) {
    super();
  }

  protected async fetch() {
    const c = this.server.credentials;
    const { endpoint } = await tokenEndpointOf(this.server);
    return exchangeToken({
      endpoint,
      clientId: c?.clientId ?? '',
      clientSecret: await clientSecretOf(this.server, this.env),
      subjectToken: this.subjectToken,
      audience: c?.audience ?? null,
      resource: resourceOf(this.server, this.t),
      scope: c?.scopes?.join(' ') ?? null,
      what: `${this.server.name} (token exchange)`,
    });
  }
}

/** `user`: the caller's own grant from the vault, refreshed (and stored again) before expiry. */
class UserGrantTokens extends ExpiringToken {
  constructor(
    private readonly server: McpServerConfig,
    private readonly t: StreamableHttpTransport,
    private readonly vault: GrantVault,
    private readonly caller: string,
  ) {
    super();
  }

  private key(): GrantKey & { client_id: string } {
    const resource = resourceOf(this.server, this.t);
    const configured = this.server.credentials?.issuer ?? null;
    const found = this.vault
      .find(this.caller, resource)
      .find((g) => configured === null || g.issuer === configured);
    if (!found)
      throw new CredentialUnavailable(
        `${this.caller} has no grant for ${this.server.name} yet: run \`${loginHint(this.server.name)}\` and authorize, then call again`,
        'login_required',
      );
    return found;
  }

  protected async fetch() {
    const key = this.key();
    let tokens: GrantTokens | null;
    try {
      tokens = this.vault.tokens(key);
    } catch (err) {
      throw new CredentialUnavailable(
        err instanceof Error ? err.message : String(err),
        'login_required',
      );
    }
    if (!tokens)
      throw new CredentialUnavailable(
        `${this.caller} has no grant for ${this.server.name}: run \`${loginHint(this.server.name)}\``,
        'login_required',
      );
    const fresh =
      tokens.expires_at === null || tokens.expires_at - REFRESH_MARGIN_SECONDS > nowSeconds();
    if (fresh) return { token: tokens.access_token, expiresAt: tokens.expires_at };
    if (!tokens.refresh_token)
      throw new CredentialUnavailable(
        `the grant of ${this.caller} for ${this.server.name} expired and has no refresh token: run \`${loginHint(this.server.name)}\` again`,
        'login_required',
      );
    let refreshed;
    try {
      const metadata = await authorizationServerMetadata(key.issuer);
      refreshed = await refreshAuthorization(key.issuer, {
        metadata,
        clientInformation: { client_id: key.client_id },
        refreshToken: tokens.refresh_token,
        resource: new URL(key.resource),
      });
    } catch (err) {
      throw new CredentialUnavailable(
        `refreshing the grant of ${this.caller} for ${this.server.name} failed (${err instanceof Error ? err.message.split('\n')[0] : String(err)}): run \`${loginHint(this.server.name)}\` again`,
        'login_required',
      );
    }
    const next: GrantTokens = {
      access_token: refreshed.access_token,
      refresh_token: refreshed.refresh_token ?? tokens.refresh_token,
      token_type: refreshed.token_type,
      expires_at:
        typeof refreshed.expires_in === 'number' ? nowSeconds() + refreshed.expires_in : null,
      scope: refreshed.scope ?? tokens.scope,
    };
    const summary = this.vault
      .list()
      .find(
        (g) =>
          g.principal === key.principal && g.issuer === key.issuer && g.resource === key.resource,
      );
    if (summary)
      this.vault.put(
        {
          principal: key.principal,
          issuer: key.issuer,
          resource: key.resource,
          server: summary.server,
          client_id: summary.client_id,
          token_endpoint: summary.token_endpoint,
        },
        next,
      );
    return { token: next.access_token, expiresAt: next.expires_at };
  }
}
