/**
 * An upstream credential that is not there: no grant yet (`login_required`), a secret that
 * cannot be read, or an authorization server that refused. Nothing is sent upstream then.
 */
export class CredentialUnavailable extends Error {
  constructor(
    message: string,
    readonly reason: 'login_required' | 'secret_unreadable' | 'refused',
  ) {
    super(message);
  }
}

/** A token endpoint's answer, reduced to what a connection uses. */
export interface IssuedToken {
  token: string;
  expiresAt: number | null;
  tokenType: string | null;
}

/**
 * Posts a token request (RFC 6749 §3.2): client authentication is HTTP Basic with the secret,
 * or the client id in the body for a public client. Errors name the endpoint and the AS's
 * error code, never a token or secret.
 */
export async function postTokenRequest(
  endpoint: string,
  client: { id: string; secret: string | null },
  params: Record<string, string>,
  what: string,
): Promise<IssuedToken> {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (client.secret)
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
  else body.set('client_id', client.id);
  let res: Response;
  try {
    res = await fetch(endpoint, { method: 'POST', headers, body, redirect: 'error' });
  } catch (err) {
    throw new CredentialUnavailable(
      `${what}: the token endpoint ${endpoint} could not be reached (${err instanceof Error ? err.message : String(err)})`,
      'refused',
    );
  }
  const json = (await res.json().catch(() => null)) as Record<string, unknown> | null;
  if (!res.ok || typeof json?.access_token !== 'string') {
    const code = typeof json?.error === 'string' ? json.error : `HTTP ${res.status}`;
    const desc =
      typeof json?.error_description === 'string'
        ? `: ${json.error_description.slice(0, 200)}`
        : '';
    throw new CredentialUnavailable(
      `${what}: the token endpoint ${endpoint} refused (${code}${desc})`,
      'refused',
    );
  }
  const expiresIn = typeof json.expires_in === 'number' ? json.expires_in : null;
  return {
    token: json.access_token,
    expiresAt: expiresIn === null ? null : Math.floor(Date.now() / 1000) + expiresIn,
    tokenType: typeof json.token_type === 'string' ? json.token_type : null,
  };
}
