// The few parts of `oidc-provider` (which ships no types) that test/support/oidc.ts uses.
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
        getResourceServerInfo: (
          ctx: unknown,
          resource: string,
          client: { clientId: string },
        ) => ResourceServerInfo;
      };
    };
    extraTokenClaims?: (ctx: unknown, token: unknown) => Record<string, unknown>;
  }
  export default class Provider {
    constructor(issuer: string, configuration: ProviderConfiguration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
