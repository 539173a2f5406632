import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/**
 * A real OpenID provider (`oidc-provider`) on 127.0.0.1 acting as an upstream MCP server's
 * authorization server: authorization code + PKCE for the public native client `gatehouse`
 * (loopback redirect, any port), refresh tokens, revocation, RFC 8707 resource indicators (JWT
 * access tokens whose audience is the resource). Its login/consent page signs in whoever the
 * test named with `nextUser` and grants what was asked — the "browser" is `authorize()`.
 */
export interface UpstreamProvider {
  issuer: string;
  /** Who the next login signs in as. */
  nextUser: string;
  /**
   * A malicious or misconfigured AS: access tokens name this audience instead of the resource
   * asked for (null: the resource, as RFC 8707 says).
   */
  audience: string | null;
  /** Follows an authorization URL as a browser would (cookies, redirects) up to the redirect_uri. */
  authorize(url: string): Promise<URL>;
  close(): Promise<void>;
}

export const UPSTREAM_CLIENT_ID = 'gatehouse';

export async function startUpstreamProvider(
  options: { accessTokenTtl?: number } = {},
): Promise<UpstreamProvider> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'u1', alg: 'RS256', use: 'sig' };
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.end();
  const http = createServer((q, r) => handler(q, r));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  const provider = new Provider(issuer, {
    jwks: { keys: [signingKey] },
    clients: [
      {
        client_id: UPSTREAM_CLIENT_ID,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback', 'http://127.0.0.1/oauth/callback'],
      },
    ],
    scopes: ['openid', 'offline_access', 'mcp:tools'],
    ttl: { AccessToken: options.accessTokenTtl ?? 3600, RefreshToken: 86400 },
    pkce: { required: () => true },
    issueRefreshToken: () => true,
    interactions: { url: (_ctx: unknown, i: { uid: string }) => `/interaction/${i.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, oneOf) => oneOf?.[0],
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => ({
          scope: 'mcp:tools',
          audience: state.audience ?? resource,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  const callback = provider.callback();
  const state: { nextUser: string; audience: string | null } = {
    nextUser: 'alice',
    audience: null,
  };
  handler = (req, res) => {
    if (!req.url?.startsWith('/interaction/')) return callback(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === 'login') {
        await provider.interactionFinished(req, res, { login: { accountId: state.nextUser } });
        return;
      }
      const grant = new provider.Grant({
        accountId: details.session?.accountId ?? state.nextUser,
        clientId: details.params.client_id ?? '',
      });
      grant.addOIDCScope(details.params.scope ?? 'openid');
      if (details.params.resource)
        grant.addResourceScope(details.params.resource, details.params.scope ?? 'mcp:tools');
      await provider.interactionFinished(
        req,
        res,
        { consent: { grantId: await grant.save() } },
        { mergeWithLastSubmission: true },
      );
    })().catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  };
  return {
    issuer,
    get nextUser() {
      return state.nextUser;
    },
    set nextUser(v: string) {
      state.nextUser = v;
    },
    get audience() {
      return state.audience;
    },
    set audience(v: string | null) {
      state.audience = v;
    },
    async authorize(url: string): Promise<URL> {
      const jar = new Map<string, string>();
      let next = new URL(url);
      for (let hop = 0; hop < 20; hop++) {
        if (!next.href.startsWith(issuer)) return next; // reached the redirect_uri
        const res = await fetch(next, {
          redirect: 'manual',
          headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
        });
        for (const c of res.headers.getSetCookie()) {
          const [pair] = c.split(';');
          const [k, ...v] = (pair ?? '').split('=');
          if (k) jar.set(k.trim(), v.join('='));
        }
        const location = res.headers.get('location');
        if (!location)
          throw new Error(
            `authorization stopped at ${next.href}: ${res.status} ${await res.text()}`,
          );
        next = new URL(location, next);
      }
      throw new Error('too many redirects');
    },
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
