import { createHash, timingSafeEqual } from 'node:crypto';
import type { Identity } from './identity.js';
import { SHARED_TOKEN_ISSUER } from './identity.js';
import type { IdentitySettings } from './settings.js';
import { identityConfigured } from './settings.js';
import type { ClaimCheck, ClaimExpectation } from './claims.js';
import type { Refusal } from './challenge.js';
import { bearerChallenge, bearerToken, resourceMetadataUrl } from './challenge.js';
import { jwtVerifier } from './jwt-verifier.js';
import { introspector } from './introspection.js';
import { cachedServiceTokens, matchServiceToken, SERVICE_TOKEN_PREFIX } from './service-tokens.js';

/** A request's outcome: who is calling, or the refusal to send (status, header, message). */
export type AuthOutcome =
  | { identity: Identity | null }
  | { challenge: { status: 401 | 403; header: string; message: string } };

/** What the HTTP endpoint calls: one authenticate per request, and the RFC 9728 documents it serves. */
export interface RequestAuthenticator {
  /** The resource URI tokens must be issued for (RFC 8707). */
  readonly resource: string;
  authenticate(headers: Record<string, string | string[] | undefined>): Promise<AuthOutcome>;
  /** The protected-resource metadata for a `/.well-known/oauth-protected-resource…` path, or null. */
  metadata(path: string): Record<string, unknown> | null;
}

export interface AuthenticatorOptions {
  settings: IdentitySettings;
  /** The single shared bearer token (`--http-token-env`), used only without [gatehouse_identity]. */
  sharedToken: string | null;
  /** The URL the endpoint listens on (the resource URI when none is configured). */
  endpointUrl: string;
  env: NodeJS.ProcessEnv;
}

/** Who the shared bearer token identifies: a short hash of it (never the token itself). */
export function sharedTokenSubject(token: string): string {
  return `token:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
}

function sameToken(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Builds the authenticator for one HTTP endpoint. Throws (a configuration error, before
 * listening) when introspection is configured but its client secret variable is unset.
 * Tokens are routed by form: `ghst_…` to the service token store, a JWT to the issuer's keys,
 * anything else to introspection; whatever cannot be checked is refused (fail closed).
 */
export function createAuthenticator(options: AuthenticatorOptions): RequestAuthenticator {
  const s = options.settings;
  const resource = s.resource ?? options.endpointUrl;
  const metadataUrl = resourceMetadataUrl(resource);
  const configured = identityConfigured(s);
  const expect: ClaimExpectation = {
    issuer: s.issuer,
    audience: resource,
    requiredScopes: s.requiredScopes,
    clockSkewSeconds: s.clockSkewSeconds,
    groupsClaim: s.groupsClaim,
  };
  const verifyJwt = s.issuer
    ? jwtVerifier({
        issuer: s.issuer,
        jwksUrl: s.jwksUrl,
        algorithms: s.algorithms,
        cooldownSeconds: s.jwksCooldownSeconds,
      })
    : null;
  let introspect: ((token: string, e: ClaimExpectation) => Promise<ClaimCheck>) | null = null;
  if (s.introspection) {
    const secret = options.env[s.introspection.clientSecretEnv];
    if (!secret)
      throw new Error(
        `[gatehouse_identity] introspection_client_secret_env: the environment variable ${s.introspection.clientSecretEnv} is not set or empty`,
      );
    introspect = introspector({
      endpoint: s.introspection.endpoint,
      clientId: s.introspection.clientId,
      clientSecret: secret,
      fallbackIssuer: new URL(s.introspection.endpoint).origin,
      cacheSeconds: s.introspectionCacheSeconds,
    });
  }
  const serviceTokens = s.serviceTokens ? cachedServiceTokens(s.serviceTokens) : null;
  const scopes = s.requiredScopes;
  const challenge = (r: Refusal): AuthOutcome => ({
    challenge: {
      status: r.status,
      header: bearerChallenge(r, configured ? metadataUrl : null, configured ? scopes : []),
      message: `${r.status === 403 ? 'Forbidden' : 'Unauthorized'}: ${r.description}`,
    },
  });

  async function check(token: string): Promise<AuthOutcome> {
    if (!configured) {
      if (options.sharedToken !== null && sameToken(token, options.sharedToken))
        return {
          identity: {
            issuer: SHARED_TOKEN_ISSUER,
            subject: sharedTokenSubject(token),
            email: null,
            groups: [],
            via: 'shared-token',
          },
        };
      return challenge({
        status: 401,
        error: 'invalid_token',
        description: 'a valid bearer token is required',
      });
    }
    if (token.startsWith(SERVICE_TOKEN_PREFIX)) {
      if (!serviceTokens)
        return challenge({
          status: 401,
          error: 'invalid_token',
          description: 'service tokens are not accepted here',
        });
      let found: Identity | null;
      try {
        found = matchServiceToken(serviceTokens(), token);
      } catch (err) {
        return challenge({
          status: 401,
          error: 'invalid_token',
          description: `the service token store cannot be read: ${(err as Error).message}`,
        });
      }
      return found
        ? { identity: found }
        : challenge({
            status: 401,
            error: 'invalid_token',
            description: 'unknown or revoked service token',
          });
    }
    const looksJwt = /^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(token);
    const via = looksJwt && verifyJwt ? verifyJwt : introspect;
    if (!via)
      return challenge({
        status: 401,
        error: 'invalid_token',
        description: looksJwt
          ? 'JWT access tokens are not accepted here (no issuer configured)'
          : 'the token is not a JWT and no introspection endpoint is configured',
      });
    const out = await via(token, expect);
    return out.ok ? { identity: out.identity } : challenge(out.refusal);
  }

  return {
    resource,
    async authenticate(headers) {
      const token = bearerToken(headers.authorization);
      if (token === null) {
        if (!configured && options.sharedToken === null) return { identity: null }; // loopback, no auth
        return challenge({ status: 401, description: 'a bearer token is required' });
      }
      if (token === 'malformed')
        return challenge({
          status: 401,
          error: 'invalid_request',
          description: 'the Authorization header must be "Bearer TOKEN"',
        });
      return check(token);
    },
    metadata(path) {
      if (!configured) return null;
      const own = new URL(metadataUrl).pathname;
      if (path !== own && path !== '/.well-known/oauth-protected-resource') return null;
      return {
        resource,
        ...(s.issuer ? { authorization_servers: [s.issuer] } : {}),
        bearer_methods_supported: ['header'],
        ...(scopes.length > 0 ? { scopes_supported: [...scopes] } : {}),
        resource_name: 'Gatehouse MCP gateway',
      };
    },
  };
}
