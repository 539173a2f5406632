import { userInfo } from 'node:os';
import type { McpServerConfig } from '../config/mcp-server.js';
import type { CredentialModel, ModelOf } from './model.js';
import { CREDENTIALS_KEY } from './parse-credentials.js';

/**
 * A server's credential model: as declared in `gatehouse_credentials`, or else what its Codex
 * keys imply — a static bearer or header is one credential for everyone (`service`), Codex's
 * `auth = "oauth"` / `[oauth]` is each user's login (`user`), a stdio server's `env` is the
 * service credential it starts with. Pure: requirements, `mcp list` and the audit agree on it.
 */
export function credentialModelOf(server: McpServerConfig): ModelOf {
  if (server.credentials)
    return { model: server.credentials.model, from: `${CREDENTIALS_KEY}.model` };
  const t = server.transport;
  if (t.type === 'stdio') {
    if (t.env && Object.keys(t.env).length > 0) return { model: 'service', from: 'env' };
    if (t.envVars.length > 0) return { model: 'service', from: 'env_vars' };
    return { model: 'none', from: 'no credential configured' };
  }
  if (t.bearerTokenEnvVar) return { model: 'service', from: 'bearer_token_env_var' };
  if (t.envHttpHeaders && Object.keys(t.envHttpHeaders).length > 0)
    return { model: 'service', from: 'env_http_headers' };
  if (t.httpHeaders && Object.keys(t.httpHeaders).length > 0)
    return { model: 'service', from: 'http_headers' };
  if (t.httpHeadersHelper) return { model: 'service', from: 'http_headers_helper' };
  if (server.auth === 'oauth' || server.oauth) return { model: 'user', from: 'auth = "oauth"' };
  return { model: 'none', from: 'no credential configured' };
}

/**
 * Whose credential a connection uses, as the audit records it: the model and the principal
 * whose credential it is (`gatehouse` for the gateway's own service credential, the caller for
 * `user` and `exchange`, null for `none`) — never the value.
 */
export interface CredentialUse {
  model: CredentialModel;
  principal: string | null;
}

/** The gateway's own identity, owner of every `service` credential. */
export const SERVICE_PRINCIPAL = 'gatehouse';

/** Whose credential a server uses for a caller (pure: the audit and `connectUpstream` agree). */
export function credentialUse(server: McpServerConfig, caller: string | null): CredentialUse {
  const { model } = credentialModelOf(server);
  if (model === 'service') return { model, principal: SERVICE_PRINCIPAL };
  if (model === 'none') return { model, principal: null };
  return { model, principal: caller };
}

/** The local OS user as a credential principal (`os:NAME`), or null when it cannot be read. */
export function localPrincipal(): string | null {
  try {
    return `os:${userInfo().username}`;
  } catch {
    return null;
  }
}
