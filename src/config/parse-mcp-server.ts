import { suggestKey } from '../diagnostics/suggest.js';
import { FieldReader, isPlainTable } from './field-reader.js';
import type {
  ConfigOrigin,
  EnvVarRef,
  McpServerConfig,
  McpTransport,
  OAuthClientConfig,
} from './mcp-server.js';
import { APPROVAL_MODES } from './mcp-server.js';
import { CREDENTIALS_KEY, parseServerCredentials } from '../credentials/parse-credentials.js';
import { ERA_SETTINGS } from '../gateway/upstream/era.js';

/**
 * Gatehouse-only: which MCP protocol era to speak to the server (`auto` probes with
 * `server/discover`, `legacy` = 2025-11-25 `initialize`, `modern` = 2026-07-28). Prefixed like
 * `gatehouse_credentials`, so Codex, which ignores unknown fields, reads the same table.
 */
export const PROTOCOL_ERA_KEY = 'gatehouse_protocol_era';

/** Fields that only make sense for a spawned process. */
const STDIO_ONLY = ['args', 'env', 'env_vars', 'cwd'] as const;
/** Fields that only make sense for a URL. `scopes` is accepted on stdio by Codex 0.169 (observed). */
const HTTP_ONLY = [
  'url',
  'bearer_token_env_var',
  'bearer_token',
  'http_headers',
  'env_http_headers',
  'http_headers_helper',
  'oauth',
  'oauth_resource',
  'auth',
] as const;
const COMMON = [
  'command',
  'enabled',
  'required',
  'startup_timeout_sec',
  'startup_timeout_ms',
  'tool_timeout_sec',
  'enabled_tools',
  'disabled_tools',
  'default_tools_approval_mode',
  'tools',
  'supports_parallel_tool_calls',
  'scopes',
  'startup_readiness',
  'tool_input_schema_max_bytes',
  'environment_id',
  'name',
] as const;

/** Every key Codex 0.169 accepts in `[mcp_servers.NAME]`. */
export const MCP_SERVER_KEYS: readonly string[] = [...COMMON, ...STDIO_ONLY, ...HTTP_ONLY];

const OAUTH_KEYS = [
  'client_id',
  'client_secret',
  'token_endpoint_auth_method',
  'callback_port',
  'callback_url',
  'authorization_server_issuer',
];

/**
 * Turns one `[mcp_servers.NAME]` table into a server definition with Codex 0.169's rules:
 * transport inferred from `command` / `url`, keys of the other transport rejected with Codex's
 * wording. Returns null when the table has errors (all of them are reported on `reader`).
 */
export function parseMcpServer(
  name: string,
  reader: FieldReader,
  origins: ConfigOrigin[],
): McpServerConfig | null {
  const before = reader.diagnostics.filter((d) => d.severity === 'error').length;
  if (name.trim() === '') {
    reader.error(
      [],
      'server name is empty',
      'give the server a name: [mcp_servers.my-server]',
      'empty_name',
    );
  }
  for (const key of reader.keys()) {
    if (key !== CREDENTIALS_KEY && key !== PROTOCOL_ERA_KEY && !MCP_SERVER_KEYS.includes(key)) {
      const guess = suggestKey(key, [...MCP_SERVER_KEYS, CREDENTIALS_KEY, PROTOCOL_ERA_KEY]);
      reader.warn(
        [key],
        `unknown configuration field '${reader.keyPrefix}.${key}'`,
        guess ? `did you mean \`${guess}\`?` : 'remove it; Codex ignores unknown fields',
      );
    }
  }
  const transport = parseTransport(reader);
  const enabled = reader.boolean('enabled');
  const required = reader.boolean('required');
  const startupTimeoutSec = parseStartupTimeout(reader);
  const toolTimeoutSec = parseSeconds(reader, 'tool_timeout_sec');
  const enabledTools = reader.stringArray('enabled_tools');
  const disabledTools = reader.stringArray('disabled_tools');
  const defaultToolsApprovalMode = reader.oneOf('default_tools_approval_mode', APPROVAL_MODES);
  const tools = parseToolSettings(reader);
  const supportsParallelToolCalls = reader.boolean('supports_parallel_tool_calls');
  const scopes = reader.stringArray('scopes');
  const oauthResource = reader.string('oauth_resource');
  const auth = reader.oneOf('auth', ['oauth', 'chatgpt', 'ema_auth'] as const);
  const oauth = parseOAuth(reader, auth);
  const startupReadiness = reader.oneOf('startup_readiness', ['connection', 'catalog'] as const);
  const schemaMax = reader.number('tool_input_schema_max_bytes');
  if (typeof schemaMax === 'number' && (!Number.isInteger(schemaMax) || schemaMax < 0)) {
    reader.error(['tool_input_schema_max_bytes'], 'expected a non-negative integer');
  }
  const environmentId = reader.string('environment_id');
  reader.string('name');
  const credentials = parseServerCredentials(reader, transport);
  const protocolEra = reader.oneOf(PROTOCOL_ERA_KEY, ERA_SETTINGS);

  const after = reader.diagnostics.filter((d) => d.severity === 'error').length;
  if (after > before || !transport) return null;

  const disabledByConfig =
    auth === 'ema_auth'
      ? 'auth = "ema_auth" (enterprise-managed auth): Codex 0.169 keeps such servers disabled, and Gatehouse cannot start them either'
      : null;

  return {
    name,
    transport,
    enabled: enabled ?? true,
    required: required ?? false,
    startupTimeoutSec: startupTimeoutSec ?? null,
    toolTimeoutSec: toolTimeoutSec ?? null,
    enabledTools: enabledTools ?? null,
    disabledTools: disabledTools ?? null,
    defaultToolsApprovalMode: defaultToolsApprovalMode ?? null,
    tools: tools ?? {},
    supportsParallelToolCalls: supportsParallelToolCalls ?? false,
    scopes: scopes ?? null,
    oauth: oauth ?? null,
    oauthResource: oauthResource ?? null,
    auth: auth ?? null,
    startupReadiness: startupReadiness ?? null,
    toolInputSchemaMaxBytes: schemaMax ?? null,
    environmentId: environmentId ?? null,
    disabledByConfig,
    pluginId: null,
    ...(credentials ? { credentials } : {}),
    ...(protocolEra ? { protocolEra } : {}),
    origins,
  };
}

function parseTransport(reader: FieldReader): McpTransport | null {
  if (reader.has('command')) {
    for (const key of HTTP_ONLY) {
      if (reader.has(key)) {
        reader.error(
          [key],
          `${key} is not supported for stdio`,
          key === 'bearer_token'
            ? 'inline tokens are not allowed: put the token in an environment variable and set bearer_token_env_var (streamable HTTP only)'
            : 'a server has `command` (stdio) or `url` (streamable HTTP), not both kinds of keys',
          'transport_conflict',
        );
      }
    }
    const command = reader.string('command');
    if (command === '') {
      reader.error(
        ['command'],
        'command is empty',
        'set the executable to launch, e.g. command = "npx"',
      );
    }
    const args = reader.stringArray('args');
    const env = reader.stringMap('env');
    const envVars = parseEnvVars(reader);
    const cwd = reader.string('cwd');
    if (cwd === '') reader.error(['cwd'], 'cwd is empty', 'remove `cwd` or set a directory');
    if (
      typeof command !== 'string' ||
      command === '' ||
      args === null ||
      env === null ||
      envVars === null ||
      cwd === null
    ) {
      return null;
    }
    return {
      type: 'stdio',
      command,
      args: args ?? [],
      env: env ?? null,
      envVars: envVars ?? [],
      cwd: cwd ?? null,
    };
  }
  if (reader.has('url')) {
    for (const key of STDIO_ONLY) {
      if (reader.has(key)) {
        reader.error(
          [key],
          `${key} is not supported for streamable_http`,
          'a server has `command` (stdio) or `url` (streamable HTTP), not both kinds of keys',
          'transport_conflict',
        );
      }
    }
    if (reader.has('bearer_token')) {
      reader.error(
        ['bearer_token'],
        'bearer_token is not supported for streamable_http',
        'inline tokens are not allowed: put the token in an environment variable and set bearer_token_env_var',
        'transport_conflict',
      );
    }
    const url = reader.string('url');
    if (typeof url === 'string' && !isHttpUrl(url)) {
      reader.error(
        ['url'],
        'url is not an absolute http(s) URL',
        'use a full URL such as https://mcp.example.com/mcp',
      );
    }
    const bearerTokenEnvVar = reader.string('bearer_token_env_var');
    const httpHeaders = reader.stringMap('http_headers');
    const envHttpHeaders = reader.stringMap('env_http_headers');
    const helper = reader.string('http_headers_helper');
    if (helper === '')
      reader.error(['http_headers_helper'], 'http_headers_helper must not be empty');
    if (
      typeof url !== 'string' ||
      !isHttpUrl(url) ||
      bearerTokenEnvVar === null ||
      httpHeaders === null ||
      envHttpHeaders === null ||
      helper === null ||
      helper === ''
    ) {
      return null;
    }
    return {
      type: 'streamable_http',
      url,
      bearerTokenEnvVar: bearerTokenEnvVar ?? null,
      httpHeaders: httpHeaders ?? null,
      envHttpHeaders: envHttpHeaders ?? null,
      httpHeadersHelper: helper ?? null,
    };
  }
  reader.error(
    [],
    'invalid transport',
    'set `command` (a stdio server Gatehouse launches) or `url` (a streamable HTTP server)',
    'missing_field',
  );
  return null;
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function parseEnvVars(reader: FieldReader): EnvVarRef[] | null | undefined {
  const raw = reader.raw('env_vars');
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) {
    reader.error(
      ['env_vars'],
      'invalid type: expected a sequence of names or { name, source } tables',
      undefined,
      'wrong_type',
    );
    return null;
  }
  const out: EnvVarRef[] = [];
  let ok = true;
  raw.forEach((item: unknown, i) => {
    if (typeof item === 'string') out.push(item);
    else if (isPlainTable(item) && typeof item.name === 'string') {
      const source = item.source ?? 'local';
      if (source !== 'local' && source !== 'remote') {
        reader.error(
          ['env_vars', i],
          `unsupported env_vars source \`${String(source)}\`; expected \`local\` or \`remote\``,
        );
        ok = false;
      } else out.push({ name: item.name, source });
    } else {
      reader.error(
        ['env_vars', i],
        'expected a variable name or { name = "...", source = "local" | "remote" }',
        undefined,
        'wrong_type',
      );
      ok = false;
    }
  });
  return ok ? out : null;
}

function parseSeconds(reader: FieldReader, key: string): number | null | undefined {
  const v = reader.number(key);
  if (typeof v === 'number' && v < 0) {
    reader.error([key], 'cannot convert float seconds to Duration: value is negative');
    return null;
  }
  return v;
}

/** `startup_timeout_sec` wins over the legacy `startup_timeout_ms`. */
function parseStartupTimeout(reader: FieldReader): number | null | undefined {
  const sec = parseSeconds(reader, 'startup_timeout_sec');
  const ms = parseSeconds(reader, 'startup_timeout_ms');
  if (sec !== undefined) return sec;
  if (typeof ms === 'number') return ms / 1000;
  return ms;
}

function parseToolSettings(reader: FieldReader): McpServerConfig['tools'] | null | undefined {
  const tools = reader.subTable('tools');
  if (tools === undefined || tools === null) return tools;
  const out: McpServerConfig['tools'] = {};
  for (const [tool, settings] of Object.entries(tools)) {
    if (!isPlainTable(settings)) {
      reader.error(
        ['tools', tool],
        'expected a table such as { approval_mode = "prompt" }',
        undefined,
        'wrong_type',
      );
      continue;
    }
    const mode = settings.approval_mode;
    if (
      mode !== undefined &&
      !(typeof mode === 'string' && (APPROVAL_MODES as readonly string[]).includes(mode))
    ) {
      reader.error(
        ['tools', tool, 'approval_mode'],
        `unknown variant \`${String(mode)}\`, expected one of ${APPROVAL_MODES.map((m) => `\`${m}\``).join(', ')}`,
      );
      continue;
    }
    out[tool] = {
      approvalMode: (mode as McpServerConfig['tools'][string]['approvalMode']) ?? null,
    };
  }
  return out;
}

const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;

function parseOAuth(
  reader: FieldReader,
  auth: string | null | undefined,
): OAuthClientConfig | null | undefined {
  const t = reader.subTable('oauth');
  if (t === undefined || t === null) return t;
  for (const key of Object.keys(t)) {
    if (!OAUTH_KEYS.includes(key)) {
      const guess = suggestKey(key, OAUTH_KEYS);
      reader.warn(
        ['oauth', key],
        `unknown configuration field '${reader.keyPrefix}.oauth.${key}'`,
        guess ? `did you mean \`${guess}\`?` : undefined,
      );
    }
  }
  const oauth = new FieldReader(
    t,
    `${reader.keyPrefix}.oauth`,
    (path) => reader.locateField(['oauth', ...path]),
    reader.diagnostics,
  );
  const clientId = oauth.string('client_id');
  const clientSecret = oauth.string('client_secret');
  const method = oauth.oneOf('token_endpoint_auth_method', TOKEN_ENDPOINT_AUTH_METHODS);
  const callbackPort = oauth.number('callback_port');
  if (
    typeof callbackPort === 'number' &&
    !(Number.isInteger(callbackPort) && callbackPort >= 0 && callbackPort <= 65535)
  ) {
    oauth.error(
      ['callback_port'],
      `invalid value: ${callbackPort}, expected a port number (0-65535)`,
    );
  }
  const callbackUrl = oauth.string('callback_url');
  const issuer = oauth.string('authorization_server_issuer');
  // Codex 0.169's cross-field rules, in Codex's order and wording (observed).
  if (clientSecret !== undefined && clientId === undefined) {
    reader.error(['oauth'], 'oauth.client_secret requires oauth.client_id');
    return null;
  }
  if (method !== undefined && auth !== 'ema_auth') {
    reader.error(['oauth'], 'oauth.token_endpoint_auth_method requires auth = "ema_auth"');
    return null;
  }
  if (issuer !== undefined && auth !== 'ema_auth') {
    reader.error(['oauth'], 'oauth.authorization_server_issuer requires auth = "ema_auth"');
    return null;
  }
  if (method !== undefined && clientSecret === undefined) {
    reader.error(['oauth'], 'oauth.token_endpoint_auth_method requires oauth.client_secret');
    return null;
  }
  if ([clientId, clientSecret, method, callbackPort, callbackUrl, issuer].some((v) => v === null))
    return null;
  return {
    clientId: clientId ?? null,
    clientSecret: clientSecret ?? null,
    tokenEndpointAuthMethod: method ?? null,
    callbackPort: callbackPort ?? null,
    callbackUrl: callbackUrl ?? null,
    authorizationServerIssuer: issuer ?? null,
  };
}
