// An EXAMPLE OpenID provider for trying the team gateway locally (docker-compose.yml). It is the
// certified `oidc-provider` package with a development login page: any listed user logs in by
// name with ANY password. Never expose it beyond your own machine; use your real IdP (Okta,
// Entra ID, Keycloak, Google…) for a team.
//
// Environment:
//   IDP_ISSUER          the issuer URL clients and the gateway use (default http://localhost:9000)
//   GATEHOUSE_RESOURCE  the gateway's resource URI, the audience of every token
//                       (default http://localhost:8080/mcp)
//   IDP_USERS           JSON: { "alice": { "email": "...", "groups": ["eng"] }, ... }
//   IDP_CI_BOT_SECRET   when set, a confidential client `ci-bot` (client_credentials, groups ["ci"])
//
// Users' clients (Codex, Claude Code, Cursor) register themselves (RFC 7591 dynamic client
// registration) and sign in with authorization code + PKCE; access tokens are JWTs for the
// gateway's resource (RFC 8707) carrying `groups` (and `email`).
import { createServer } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors } from 'oidc-provider';

const issuer = process.env.IDP_ISSUER ?? 'http://localhost:9000';
const resource = process.env.GATEHOUSE_RESOURCE ?? 'http://localhost:8080/mcp';
const users = JSON.parse(
  process.env.IDP_USERS ??
    '{"alice":{"email":"alice@example.com","groups":["eng","finance"]},"bob":{"email":"bob@example.com","groups":["eng"]}}',
);
const port = Number(process.env.PORT || new URL(issuer).port || 9000);
const botGroups = { 'ci-bot': ['ci'] };

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const provider = new Provider(issuer, {
  jwks: {
    keys: [{ ...(await exportJWK(privateKey)), kid: 'example-1', alg: 'RS256', use: 'sig' }],
  },
  clients: process.env.IDP_CI_BOT_SECRET
    ? [
        {
          client_id: 'ci-bot',
          client_secret: process.env.IDP_CI_BOT_SECRET,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
        },
      ]
    : [],
  scopes: ['openid', 'email', 'offline_access', 'mcp:tools'],
  claims: { openid: ['sub'], email: ['email'] },
  findAccount: (_ctx, id) =>
    users[id]
      ? {
          accountId: id,
          claims: () => ({ sub: id, email: users[id].email, groups: users[id].groups }),
        }
      : undefined,
  features: {
    devInteractions: { enabled: true }, // the example login page: user name, any password
    registration: { enabled: true }, // MCP clients register themselves
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, asked) => {
        if (asked !== resource) throw new errors.InvalidTarget(`only ${resource} is served here`);
        return {
          scope: 'mcp:tools',
          audience: resource,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  extraTokenClaims: (_ctx, token) => {
    const who = users[token.accountId];
    if (who) return { email: who.email, groups: who.groups ?? [] };
    return { groups: botGroups[token.clientId] ?? [] };
  },
  ttl: { AccessToken: 900, ClientCredentials: 900 },
});
provider.proxy = true;
createServer(provider.callback()).listen(port, '0.0.0.0', () =>
  process.stdout.write(`example IdP: ${issuer} (tokens for ${resource})\n`),
);
