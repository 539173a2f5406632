import type { McpServerConfig, McpTransport } from '../../config/mcp-server.js';
import { MASK, maskArgs, maskUrl } from '../../masking/mask-text.js';
import type { ServerDecision } from '../../requirements/apply-requirements.js';
import { describeSource, describeSources } from '../../requirements/model.js';
import type { ServerIdentityRule, StringMatcher } from '../../requirements/model.js';
import type { ProbeResult } from '../../gateway/probe.js';
import type { CredentialState } from '../../credentials/credential-state.js';

/**
 * Everything here is what a user may see: every literal secret (env values, header values,
 * URL credentials, secret-looking arguments) is masked, in JSON as in tables. Codex prints
 * env and header values in clear in `--json`; Gatehouse never does.
 */
function maskedMap(map: Record<string, string> | null): Record<string, string> | null {
  return map
    ? Object.fromEntries(
        Object.keys(map)
          .sort()
          .map((k) => [k, MASK]),
      )
    : null;
}

export function transportJson(t: McpTransport): Record<string, unknown> {
  if (t.type === 'stdio') {
    return {
      type: 'stdio',
      command: t.command,
      args: maskArgs(t.args),
      env: maskedMap(t.env),
      env_vars: t.envVars,
      cwd: t.cwd,
    };
  }
  return {
    type: 'streamable_http',
    url: maskUrl(t.url),
    bearer_token_env_var: t.bearerTokenEnvVar,
    http_headers: maskedMap(t.httpHeaders),
    env_http_headers: t.envHttpHeaders,
    http_headers_helper: t.httpHeadersHelper,
  };
}

/** Codex's `auth_status` without network discovery; `--probe` refines it. */
export function authStatus(d: ServerDecision, probe?: ProbeResult): string {
  const t = d.server.transport;
  if (t.type === 'stdio' || !d.enabled) return 'unsupported';
  if (probe?.state === 'auth_required') return probe.oauth ? 'not_logged_in' : 'unknown';
  if (t.bearerTokenEnvVar) return 'bearer_token';
  // Reached and no auth asked for: as Codex, `unsupported`; otherwise we cannot tell.
  return probe?.state === 'ready' || probe?.state === 'no_tools' ? 'unsupported' : 'unknown';
}

const AUTH_DISPLAY: Record<string, string> = {
  unsupported: 'Unsupported',
  not_logged_in: 'Not logged in',
  bearer_token: 'Bearer token',
  o_auth: 'OAuth',
  unknown: 'Unknown',
};

export function authDisplay(status: string): string {
  return AUTH_DISPLAY[status] ?? status;
}

export function describeMatcher(m: StringMatcher): string {
  return m.match === 'regex'
    ? `regex ${JSON.stringify(m.expression)}`
    : `${m.match} ${JSON.stringify(m.value)}`;
}

export function describeIdentity(identity: ServerIdentityRule): string {
  if (identity.transport === 'streamable_http') return `url ${describeMatcher(identity.url)}`;
  const pin =
    (identity.sha256 ? `, sha256 ${identity.sha256.slice(0, 12)}…` : '') +
    (identity.interpreterSha256
      ? `, interpreter sha256 ${identity.interpreterSha256.slice(0, 12)}…`
      : '') +
    (identity.allowEnv?.length ? `, allow_env ${identity.allowEnv.join(' ')}` : '');
  if (identity.form === 'exact')
    return `command exact ${JSON.stringify(identity.command)} (args not compared)${pin}`;
  const args = identity.args.map(describeMatcher).join(', ');
  return `command ${JSON.stringify(identity.executable)} with exactly ${identity.args.length} arg(s) [${args}]${pin}`;
}

function originsJson(server: McpServerConfig): Record<string, unknown>[] {
  return server.origins.map((o) => ({ kind: o.kind, file: o.file, line: o.location.line }));
}

export function probeJson(p: ProbeResult | undefined): Record<string, unknown> | undefined {
  if (!p) return undefined;
  return {
    state: p.state,
    tools: p.toolCount,
    ...(p.exposed ? { tools_exposed: p.exposed.count, tools_hidden: p.exposed.hidden } : {}),
    detail: p.detail,
    ...(p.era ? { era: p.era } : {}),
    server_info: p.serverInfo,
    elapsed_ms: p.elapsedMs,
  };
}

/** One element of `mcp list --json`: Codex's shape, then Gatehouse's additions. */
export function serverListJson(
  d: ServerDecision,
  probe?: ProbeResult,
  codex?: ServerDecision,
  credential?: CredentialState,
): Record<string, unknown> {
  const s = d.server;
  const reason = d.disabledReason;
  const out: Record<string, unknown> = {
    name: s.name,
    enabled: d.enabled,
    disabled_reason: reason?.display ?? null,
    transport: transportJson(s.transport),
    startup_timeout_sec: s.startupTimeoutSec,
    tool_timeout_sec: s.toolTimeoutSec,
    auth_status: authStatus(d, probe),
    disabled_reason_code: reason?.code ?? null,
    disabled_detail: reason?.detail ?? null,
    rule_source: reason?.rule
      ? describeSource(reason.rule.source)
      : d.allowedBy
        ? describeSource(d.allowedBy.source)
        : reason && reason.sources.length > 0
          ? describeSources(reason.sources)
          : null,
    rule_location: ruleLocation(d),
    plugin_id: s.pluginId,
    origins: originsJson(s),
    // Gatehouse-only: the era setting (`gatehouse_protocol_era`); `runtime.era` is what was spoken.
    protocol_era: s.protocolEra ?? 'auto',
  };
  if (credential) out.credentials = credential;
  if (probe) out.runtime = probeJson(probe);
  if (codex)
    out.codex = { enabled: codex.enabled, disabled_reason: codex.disabledReason?.display ?? null };
  return out;
}

function ruleLocation(d: ServerDecision): string | null {
  const rule = d.disabledReason?.rule ?? d.allowedBy;
  return rule ? `${rule.location.file}:${rule.location.line}` : null;
}

/** `mcp get --json`: the list element minus `auth_status`, plus tool filters (as Codex). */
export function serverGetJson(
  d: ServerDecision,
  codex?: ServerDecision,
  credential?: CredentialState,
): Record<string, unknown> {
  const out = serverListJson(d, undefined, codex, credential);
  delete out.auth_status;
  return {
    ...out,
    enabled_tools: d.server.enabledTools,
    disabled_tools: d.server.disabledTools,
    required: d.server.required,
  };
}
