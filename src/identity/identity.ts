/**
 * Who an HTTP caller is, once Gatehouse has checked their bearer token. One shape for every way
 * in (an OpenID provider's JWT, an introspected opaque token, a named service token, the old
 * shared token), so policy, approvals, audit and webhooks compare and record the same thing.
 */
export type IdentityVia = 'oidc' | 'introspection' | 'service-token' | 'shared-token';

export interface Identity {
  /** The token's issuer (`iss`), or a Gatehouse label for its own tokens. */
  issuer: string;
  /** The person or bot (`sub`; a service token's subject; `token:HASH` for the shared token). */
  subject: string;
  email: string | null;
  groups: string[];
  via: IdentityVia;
}

/** The issuer label of Gatehouse's own named service tokens. */
export const SERVICE_TOKEN_ISSUER = 'gatehouse:service-tokens';
/** The issuer label of the single shared bearer token (`--http-token-env`). */
export const SHARED_TOKEN_ISSUER = 'gatehouse:shared-token';

/**
 * The identity as a principal string, what approvals bind to and the audit's actor column shows:
 * `user:SUBJECT` for a person from the identity provider, `service:SUBJECT` for a service token
 * (a bot: never a person), and the shared token's own `token:HASH` (not a person either).
 */
export function principalOf(identity: Identity): string {
  switch (identity.via) {
    case 'oidc':
    case 'introspection':
      return `user:${identity.subject}`;
    case 'service-token':
      return `service:${identity.subject}`;
    case 'shared-token':
      return identity.subject;
  }
}
