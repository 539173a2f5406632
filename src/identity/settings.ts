import type { RequirementSource } from '../requirements/model.js';
import { DEFAULT_INTROSPECTION_CACHE_SECONDS } from './introspection.js';

/**
 * `[gatehouse_identity]` as composed from the requirement layers: who may vouch for HTTP callers
 * (an OpenID provider's JWTs, an introspection endpoint, Gatehouse's own service tokens) and what
 * a token must say to be accepted. Admin-owned: a user layer over an admin floor cannot change it.
 */
export interface IdentitySettings {
  /** The authorization server whose tokens are accepted (`iss`), or null (no JWTs). */
  issuer: string | null;
  /** This gateway's resource URI (RFC 8707 `aud`); null: the URL it listens on. */
  resource: string | null;
  /** Where the issuer's keys are; null: from its discovery document. */
  jwksUrl: string | null;
  /** JWS algorithms accepted (asymmetric only). */
  algorithms: string[];
  /** Seconds after a key fetch before a token with an unknown `kid` makes Gatehouse fetch again. */
  jwksCooldownSeconds: number;
  /** Scopes every token must carry. */
  requiredScopes: string[];
  /** Tolerance for `exp` / `nbf` / `iat`, in seconds. */
  clockSkewSeconds: number;
  /** The claim holding the caller's groups. */
  groupsClaim: string;
  /** RFC 7662 introspection for opaque tokens, or null. */
  introspection: { endpoint: string; clientId: string; clientSecretEnv: string } | null;
  /** How long an active introspection answer is reused (0: never); never past the token's `exp`. */
  introspectionCacheSeconds: number;
  /** The service token store (a JSON file of hashes), or null (no service tokens). */
  serviceTokens: string | null;
  /** The layers that set these keys (what `requirements check` can show). */
  sources: RequirementSource[];
}

/** Asymmetric JWS algorithms: a JWKS holds only public keys, so nothing else can be verified. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export const DEFAULT_ALGORITHMS: readonly string[] = [
  'RS256',
  'PS256',
  'ES256',
  'EdDSA',
  'Ed25519',
];
export const DEFAULT_CLOCK_SKEW_SECONDS = 30;
export const MAX_CLOCK_SKEW_SECONDS = 300;

export const NO_IDENTITY: IdentitySettings = {
  issuer: null,
  resource: null,
  jwksUrl: null,
  algorithms: [...DEFAULT_ALGORITHMS],
  jwksCooldownSeconds: 30,
  requiredScopes: [],
  clockSkewSeconds: DEFAULT_CLOCK_SKEW_SECONDS,
  groupsClaim: 'groups',
  introspection: null,
  introspectionCacheSeconds: DEFAULT_INTROSPECTION_CACHE_SECONDS,
  serviceTokens: null,
  sources: [],
};

/** Whether any way of identifying callers is configured (else the shared token, if any, applies). */
export function identityConfigured(s: IdentitySettings): boolean {
  return s.issuer !== null || s.introspection !== null || s.serviceTokens !== null;
}
