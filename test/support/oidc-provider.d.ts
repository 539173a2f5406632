// The few parts of `oidc-provider` (which ships no types) that test/support/oidc*.ts use.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  interface ResourceServerInfo {
    scope: string;
    audience: string;
    accessTokenFormat: 'jwt' | 'opaque';
    jwt?: { sign: { alg: string } };
  }
  interface ProviderConfiguration {
    jwks: { keys: object[] };
    clients: object[];
    scopes: string[];
    ttl?: Record<string, number>;
    features: {
      devInteractions?: { enabled: boolean };
      clientCredentials?: { enabled: boolean };
      introspection?: { enabled: boolean; allowedPolicy?: () => boolean };
      revocation?: { enabled: boolean; allowedPolicy?: () => boolean };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (ctx: unknown, client: unknown, oneOf?: string[]) => string | undefined;
        useGrantedResource?: () => boolean;
        getResourceServerInfo: (
          ctx: unknown,
          resource: string,
          client: { clientId: string },
        ) => ResourceServerInfo;
      };
    };
    extraTokenClaims?: (ctx: unknown, token: unknown) => Record<string, unknown>;
    /** Further settings (test/support/oidc-upstream.ts: interactions, refresh tokens, PKCE). */
    [key: string]: unknown;
  }
  interface InteractionDetails {
    uid: string;
    prompt: { name: 'login' | 'consent' | string };
    params: Record<string, string>;
    session?: { accountId?: string };
  }
  class Grant {
    constructor(init: { accountId: string; clientId: string });
    addOIDCScope(scope: string): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }
  export default class Provider {
    constructor(issuer: string, configuration: ProviderConfiguration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    Grant: typeof Grant;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
  }
}
