import type { McpServerConfig } from '../config/mcp-server.js';
import { GrantVault } from './grant-vault.js';
import type { CredentialModel } from './model.js';
import { describeSecretRef } from './model.js';
import { checkSecretRef } from './secret-ref.js';
import { credentialModelOf, localPrincipal } from './server-model.js';

/**
 * What `mcp list` / `mcp get` say about a server's credential without contacting anything:
 * `ready` (every reference readable), `unreadable` (a secret reference is not), `logged_in` /
 * `login_required` (the local user's grant, `user` model), `per_caller` (`exchange`), `none`.
 */
export type CredentialStateName =
  'none' | 'ready' | 'unreadable' | 'logged_in' | 'login_required' | 'per_caller';

export interface CredentialState {
  model: CredentialModel;
  /** Where the model comes from: `gatehouse_credentials.model` or the Codex key implying it. */
  from: string;
  state: CredentialStateName;
  /** Why, or what to do; never a secret value. */
  detail: string | null;
}

/** A server's credential model and state for one principal (the local user in the CLI). */
export function credentialState(
  server: McpServerConfig,
  env: NodeJS.ProcessEnv,
  vault: GrantVault,
  principal: string | null,
): CredentialState {
  const { model, from } = credentialModelOf(server);
  const at = (state: CredentialStateName, detail: string | null = null): CredentialState => ({
    model,
    from,
    state,
    detail,
  });
  const c = server.credentials ?? null;
  const t = server.transport;
  if (model === 'none') return at('none');
  if (model === 'exchange')
    return at('per_caller', "each caller's token is exchanged at the IdP when a session starts");
  if (model === 'service') {
    const refs = [
      ...(c?.bearer ? [{ what: 'bearer', ref: c.bearer }] : []),
      ...Object.entries(c?.headers ?? {}).map(([name, ref]) => ({ what: `header ${name}`, ref })),
      ...(c?.clientSecret ? [{ what: 'client_secret', ref: c.clientSecret }] : []),
    ];
    for (const { what, ref } of refs) {
      const problem = checkSecretRef(ref, env);
      if (problem) return at('unreadable', `${what} (${describeSecretRef(ref)}): ${problem}`);
    }
    if (t.type === 'streamable_http' && t.bearerTokenEnvVar && !env[t.bearerTokenEnvVar])
      return at('unreadable', `bearer_token_env_var ${t.bearerTokenEnvVar} is not set`);
    return at(
      'ready',
      refs.length > 0 ? refs.map((r) => describeSecretRef(r.ref)).join(', ') : null,
    );
  }
  // user: the local user's own grant.
  if (t.type !== 'streamable_http' || !principal) return at('login_required', null);
  try {
    const resource = server.oauthResource ?? t.url;
    const grant = vault.find(principal, resource).find((g) => !c?.issuer || g.issuer === c.issuer);
    if (!grant) return at('login_required', `run \`gatehouse login ${server.name}\``);
    const expires =
      grant.expires_at === null
        ? ''
        : `, expires ${new Date(grant.expires_at * 1000).toISOString()}`;
    return at(
      'logged_in',
      `${principal} at ${grant.issuer}${expires}${grant.has_refresh_token ? ', refreshable' : ''}`,
    );
  } catch (err) {
    return at('unreadable', err instanceof Error ? err.message : String(err));
  }
}

/** Each server's credential state for the local user (what `mcp list` / `mcp get` show). */
export function localCredentialStates(
  servers: readonly McpServerConfig[],
  env: NodeJS.ProcessEnv,
  gatehouseHome: string,
): Map<string, CredentialState> {
  const vault = new GrantVault(gatehouseHome);
  const principal = localPrincipal();
  return new Map(servers.map((s) => [s.name, credentialState(s, env, vault, principal)]));
}
