import type { EraSetting } from '../gateway/upstream/era.js';
import type { SourceLocation } from '../diagnostics/diagnostic.js';
import type { ServerCredentials } from '../credentials/model.js';

/** Codex's `env_vars` entry: a bare name, or a name with where its value comes from. */
export type EnvVarRef = string | { name: string; source: 'local' | 'remote' };

export interface StdioTransport {
  type: 'stdio';
  command: string;
  args: string[];
  /** Literal values: secrets. Never printed unmasked. */
  env: Record<string, string> | null;
  envVars: EnvVarRef[];
  cwd: string | null;
}

export interface StreamableHttpTransport {
  type: 'streamable_http';
  url: string;
  bearerTokenEnvVar: string | null;
  /** Literal values: secrets. Never printed unmasked. */
  httpHeaders: Record<string, string> | null;
  envHttpHeaders: Record<string, string> | null;
  httpHeadersHelper: string | null;
}

export type McpTransport = StdioTransport | StreamableHttpTransport;

export type ApprovalMode = 'auto' | 'prompt' | 'writes' | 'approve';
export const APPROVAL_MODES: readonly ApprovalMode[] = ['auto', 'prompt', 'writes', 'approve'];

export interface OAuthClientConfig {
  clientId: string | null;
  /** Secret. Never printed. */
  clientSecret: string | null;
  tokenEndpointAuthMethod: string | null;
  callbackPort: number | null;
  callbackUrl: string | null;
  authorizationServerIssuer: string | null;
}

/** Where a server definition was read from. */
export interface ConfigOrigin {
  kind: 'gatehouse' | 'codex' | 'codex_layer' | 'config_flag' | 'mcp_json' | 'plugin';
  file: string;
  location: SourceLocation;
}

/** A normalised MCP server definition, as Codex 0.169 understands `[mcp_servers.NAME]`. */
export interface McpServerConfig {
  name: string;
  transport: McpTransport;
  enabled: boolean;
  required: boolean;
  startupTimeoutSec: number | null;
  toolTimeoutSec: number | null;
  enabledTools: string[] | null;
  disabledTools: string[] | null;
  defaultToolsApprovalMode: ApprovalMode | null;
  tools: Record<string, { approvalMode: ApprovalMode | null }>;
  supportsParallelToolCalls: boolean;
  scopes: string[] | null;
  oauth: OAuthClientConfig | null;
  oauthResource: string | null;
  auth: 'oauth' | 'chatgpt' | 'ema_auth' | null;
  startupReadiness: 'connection' | 'catalog' | null;
  toolInputSchemaMaxBytes: number | null;
  /** Codex's `environment_id`: the local or remote exec-server environment to start in. */
  environmentId: string | null;
  /**
   * Set when the definition itself keeps the server disabled: `auth = "ema_auth"`, which Codex
   * 0.169 never starts (observed). Shown as plain `disabled`, like Codex.
   */
  disabledByConfig: string | null;
  /** Set for servers bundled in a plugin: `<plugin>@<marketplace>`. */
  pluginId: string | null;
  /** Gatehouse's `[mcp_servers.NAME.gatehouse_credentials]`: whose credential reaches the server. */
  credentials?: ServerCredentials | null;
  /** Gatehouse's `gatehouse_protocol_era`: absent means `auto` (probe, then fall back). */
  protocolEra?: EraSetting;
  /** Every file that contributed to this definition, lowest precedence first. */
  origins: ConfigOrigin[];
  /** Client entries (e.g. Codex's) that start this server as `gatehouse run NAME`. */
  wrappedBy?: ConfigOrigin[];
}

/** Codex's documented default budget for `initialize` + first `tools/list`. */
export const DEFAULT_STARTUP_TIMEOUT_SEC = 10;

/**
 * A definition with Codex's defaults for everything but name, transport and origin: for
 * importers whose format has no such settings (`.mcp.json`) and for tests.
 */
export function serverWithDefaults(
  name: string,
  transport: McpTransport,
  origins: ConfigOrigin[],
): McpServerConfig {
  return {
    name,
    transport,
    enabled: true,
    required: false,
    startupTimeoutSec: null,
    toolTimeoutSec: null,
    enabledTools: null,
    disabledTools: null,
    defaultToolsApprovalMode: null,
    tools: {},
    supportsParallelToolCalls: false,
    scopes: null,
    oauth: null,
    oauthResource: null,
    auth: null,
    startupReadiness: null,
    toolInputSchemaMaxBytes: null,
    environmentId: null,
    disabledByConfig: null,
    pluginId: null,
    origins,
  };
}
