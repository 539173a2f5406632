import type { GrantSummary, GrantVault } from './grant-vault.js';
import { authorizationServerMetadata } from './upstream-auth.js';

/**
 * Asks the authorization server to revoke a grant's refresh token (RFC 7009), so removing it
 * here also ends it there. Best effort: the local grant is removed either way; the answer says
 * what the server did, for the user.
 */
export async function revokeAtServer(vault: GrantVault, g: GrantSummary): Promise<string> {
  try {
    const tokens = vault.tokens(g);
    const token = tokens?.refresh_token ?? tokens?.access_token;
    if (!token) return 'nothing to revoke at the server';
    const metadata = await authorizationServerMetadata(g.issuer);
    const endpoint = (metadata as { revocation_endpoint?: string }).revocation_endpoint;
    if (!endpoint) return 'the authorization server offers no revocation endpoint';
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token,
        token_type_hint: tokens?.refresh_token ? 'refresh_token' : 'access_token',
        client_id: g.client_id,
      }),
      redirect: 'error',
    });
    return res.ok
      ? 'revoked at the authorization server'
      : `the authorization server answered ${res.status} to the revocation`;
  } catch (err) {
    return `not revoked at the authorization server (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`;
  }
}
