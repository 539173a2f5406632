/**
 * Whose credential reaches an upstream, declared per server. MCP's authorization spec forbids
 * passing the client's token through, so every model names a credential Gatehouse itself holds:
 * `service` (one credential for every caller), `user` (each user's own OAuth grant), `exchange`
 * (the caller's identity exchanged at the IdP for an upstream-audience token, RFC 8693) or
 * `none`. The model is what the admin constrains, `mcp list` shows and the audit records.
 */
export type CredentialModel = 'service' | 'user' | 'exchange' | 'none';
export const CREDENTIAL_MODELS: readonly CredentialModel[] = [
  'service',
  'user',
  'exchange',
  'none',
];

/**
 * Where a secret's value is read when it is needed — never the value itself, so config files,
 * `mcp get --json` and diagnostics only ever hold the reference.
 */
export type SecretRef =
  | { kind: 'env'; name: string }
  | { kind: 'file'; path: string }
  | { kind: 'command'; argv: string[] };

/** `[mcp_servers.NAME.gatehouse_credentials]`, parsed. */
export interface ServerCredentials {
  model: CredentialModel;
  /** service: sent as `Authorization: Bearer …`. */
  bearer: SecretRef | null;
  /** service: further headers, each from a reference. */
  headers: Record<string, SecretRef>;
  /** user / exchange / service (client credentials): Gatehouse's client id at the AS. */
  clientId: string | null;
  clientSecret: SecretRef | null;
  /** service: `client_credentials` grant instead of a static bearer. */
  grant: 'client_credentials' | null;
  scopes: string[] | null;
  /** exchange and client credentials: the token endpoint (else discovered from `issuer`). */
  tokenEndpoint: string | null;
  /** The authorization server (exchange: the IdP); user: discovered from the upstream when unset. */
  issuer: string | null;
  /** exchange: the `audience` asked for (RFC 8693); defaults to the upstream URL. */
  audience: string | null;
  /** user: fixed loopback port for `gatehouse login`'s redirect listener (0: any free port). */
  callbackPort: number | null;
}

/** A server's model and what it was read from (declared, or implied by Codex's keys). */
export interface ModelOf {
  model: CredentialModel;
  /** `gatehouse_credentials.model`, or the Codex key that implies it. */
  from: string;
}

/** How a reference is shown: its kind and where, never its value. */
export function describeSecretRef(ref: SecretRef): string {
  switch (ref.kind) {
    case 'env':
      return `env ${ref.name}`;
    case 'file':
      return `file ${ref.path}`;
    case 'command':
      return `command ${ref.argv[0] ?? ''}`;
  }
}
