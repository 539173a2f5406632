import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWK } from 'jose';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

/**
 * A real OpenID provider (`oidc-provider`, certified) on 127.0.0.1 for tests. Clients use the
 * client_credentials grant with a resource indicator (RFC 8707): the token is a JWT for that
 * audience, signed with a key the test also holds (to craft bad tokens the provider never would).
 * Client `opaque` gets opaque tokens instead (for RFC 7662 introspection); client `gateway` may
 * introspect. Each other client's id is its subject; claims from `people` add email and groups.
 */
export interface TestProvider {
  issuer: string;
  /** The provider's signing key (private JWK, kid `k1`, RS256). */
  signingKey: JWK;
  token(clientId: string, params: { resource: string; scope?: string }): Promise<string>;
  /** Revokes a token (RFC 7009), as the client it was issued to. */
  revoke(clientId: string, token: string): Promise<void>;
  close(): Promise<void>;
}

export const GATEWAY_CLIENT = { id: 'gateway', secret: 'gateway-secret-0123456789' };
const secretOf = (id: string) => `${id}-secret-0123456789`;
const clientHeaders = (id: string) => ({
  authorization: `Basic ${Buffer.from(`${id}:${secretOf(id)}`).toString('base64')}`,
  'content-type': 'application/x-www-form-urlencoded',
});

export async function startTestProvider(
  people: Record<string, { email?: string; groups?: string[] }>,
): Promise<TestProvider> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey: JWK = { ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.end();
  const http = createServer((q, r) => handler(q, r));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as { port: number }).port;
  const issuer = `http://127.0.0.1:${port}`;
  const ids = [...Object.keys(people), 'opaque'];
  const provider = new Provider(issuer, {
    jwks: { keys: [signingKey] },
    clients: [
      ...ids.map((id) => ({
        client_id: id,
        client_secret: secretOf(id),
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      })),
      {
        client_id: GATEWAY_CLIENT.id,
        client_secret: GATEWAY_CLIENT.secret,
        grant_types: [],
        redirect_uris: [],
        response_types: [],
      },
    ],
    scopes: ['mcp:tools', 'other'],
    ttl: { ClientCredentials: 600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: () => true },
      revocation: { enabled: true, allowedPolicy: () => true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: (_ctx, resource, client) => ({
          scope: 'mcp:tools other',
          audience: resource,
          accessTokenFormat: client.clientId === 'opaque' ? 'opaque' : 'jwt',
          ...(client.clientId === 'opaque' ? {} : { jwt: { sign: { alg: 'RS256' } } }),
        }),
      },
    },
    extraTokenClaims: (_ctx, token) => {
      const who = people[(token as { clientId?: string }).clientId ?? ''];
      return who ? { ...(who.email ? { email: who.email } : {}), groups: who.groups ?? [] } : {};
    },
  });
  handler = provider.callback();
  return {
    issuer,
    signingKey,
    async token(clientId, params) {
      const res = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: clientHeaders(clientId),
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          resource: params.resource,
          ...(params.scope !== undefined ? { scope: params.scope } : {}),
        }),
      });
      const body = (await res.json()) as { access_token?: string; error_description?: string };
      if (!body.access_token) throw new Error(`token request failed: ${JSON.stringify(body)}`);
      return body.access_token;
    },
    async revoke(clientId, token) {
      const res = await fetch(`${issuer}/token/revocation`, {
        method: 'POST',
        headers: clientHeaders(clientId),
        body: new URLSearchParams({ token }),
      });
      if (!res.ok) throw new Error(`revocation failed: HTTP ${res.status} ${await res.text()}`);
    },
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
