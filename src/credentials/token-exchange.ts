import type { IssuedToken } from './token-endpoint.js';
import { CredentialUnavailable, postTokenRequest } from './token-endpoint.js';

/** What an RFC 8693 token exchange needs; the subject token goes to the IdP only. */
export interface ExchangeRequest {
  endpoint: string;
  clientId: string;
  clientSecret: string | null;
  /** The caller's own access token (the identity being exchanged). */
  subjectToken: string;
  audience: string | null;
  resource: string;
  scope: string | null;
  /** For messages: which server and model. */
  what: string;
}

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * RFC 8693 §2.1: exchanges the caller's token at the IdP for one issued to the upstream (its
 * audience/resource), so the upstream gets a token meant for it — never the caller's own. The
 * answer must be a different bearer token (an IdP echoing the subject token would be passthrough).
 */
export async function exchangeToken(req: ExchangeRequest): Promise<IssuedToken> {
  const params: Record<string, string> = {
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: req.subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    requested_token_type: ACCESS_TOKEN_TYPE,
    resource: req.resource,
  };
  if (req.audience) params.audience = req.audience;
  if (req.scope) params.scope = req.scope;
  const issued = await postTokenRequest(
    req.endpoint,
    { id: req.clientId, secret: req.clientSecret },
    params,
    `${req.what}`,
  );
  if (issued.token === req.subjectToken)
    throw new CredentialUnavailable(
      `${req.what}: the IdP answered the exchange with the caller's own token; Gatehouse never passes a client's token through`,
      'refused',
    );
  if (issued.tokenType !== null && issued.tokenType.toLowerCase() !== 'bearer')
    throw new CredentialUnavailable(
      `${req.what}: the exchanged token is of type ${issued.tokenType}, not Bearer`,
      'refused',
    );
  return issued;
}
