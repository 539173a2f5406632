import { MASK, maskArgs, maskTokens, maskUrl } from '../../masking/mask-text.js';
import { formatStatus } from '../../requirements/disabled-reason.js';
import { describeSource } from '../../requirements/model.js';
import type { ExitCodeValue } from '../exit-codes.js';
import { serverGetJson } from '../format/server-view.js';
import type { CliIo } from '../io.js';
import { loadOneServer } from '../report.js';
import type { GlobalOptions } from '../world.js';
import { localCredentialStates } from '../../credentials/credential-state.js';

const list = (items: readonly string[] | null | undefined) =>
  items && items.length > 0 ? items.join(', ') : '-';
const masked = (map: Record<string, string> | null) =>
  map && Object.keys(map).length > 0
    ? Object.keys(map)
        .map((k) => `${k}=${MASK}`)
        .join(', ')
    : '-';

export function runMcpGet(
  global: GlobalOptions,
  name: string,
  opts: { json?: boolean },
  io: CliIo,
): ExitCodeValue {
  const loaded = loadOneServer(global, name, io);
  if ('exit' in loaded) return loaded.exit;
  const { decision: d, codex, code, world } = loaded;
  const credential = localCredentialStates([d.server], io.env, world.gatehouseHome).get(
    d.server.name,
  );
  if (opts.json) {
    io.stdout(`${JSON.stringify(serverGetJson(d, codex, credential), null, 2)}\n`);
    return code;
  }
  const s = d.server;
  const lines: string[] = [];
  if (!d.enabled) {
    lines.push(`${s.name} (${formatStatus(d.enabled, d.disabledReason)})`);
    lines.push(`  reason: ${d.disabledReason?.code}: ${d.disabledReason?.detail}`);
    const rule = d.disabledReason?.rule;
    if (rule)
      lines.push(
        `  rule: ${rule.location.file}:${rule.location.line} (${describeSource(rule.source)})`,
      );
  } else {
    // As Codex: the tool filters are shown only when set.
    lines.push(s.name, `  enabled: true`);
    if (s.enabledTools) lines.push(`  enabled_tools: ${list(s.enabledTools)}`);
    if (s.disabledTools) lines.push(`  disabled_tools: ${list(s.disabledTools)}`);
    const t = s.transport;
    if (t.type === 'stdio') {
      const envNames = [
        ...Object.keys(t.env ?? {}),
        ...t.envVars.map((v) => (typeof v === 'string' ? v : v.name)),
      ];
      lines.push(
        `  transport: stdio`,
        `  command: ${t.command}`,
        `  args: ${t.args.length > 0 ? maskArgs(t.args).join(' ') : '-'}`,
        `  cwd: ${t.cwd ?? '-'}`,
        `  env: ${envNames.length > 0 ? envNames.map((n) => `${n}=${MASK}`).join(', ') : '-'}`,
      );
    } else {
      lines.push(
        `  transport: streamable_http`,
        `  url: ${maskUrl(t.url)}`,
        `  bearer_token_env_var: ${t.bearerTokenEnvVar ?? '-'}`,
        `  http_headers: ${masked(t.httpHeaders)}`,
        `  env_http_headers: ${
          t.envHttpHeaders
            ? Object.entries(t.envHttpHeaders)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ')
            : '-'
        }`,
        `  http_headers_helper: ${t.httpHeadersHelper ?? '-'}`,
      );
    }
    if (s.startupTimeoutSec !== null) lines.push(`  startup_timeout_sec: ${s.startupTimeoutSec}`);
    if (s.toolTimeoutSec !== null) lines.push(`  tool_timeout_sec: ${s.toolTimeoutSec}`);
    lines.push(
      `  allowed_by: ${d.allowedBy ? `${d.allowedBy.location.file}:${d.allowedBy.location.line}` : 'no requirements restrict this server'}`,
    );
  }
  // Gatehouse's additions after Codex's lines: whose credential reaches it.
  if (credential && d.enabled)
    lines.push(
      `  credentials: ${credential.model} (${credential.from}): ${credential.state}${credential.detail ? ` — ${maskTokens(credential.detail)}` : ''}`,
    );
  // Which MCP era Gatehouse speaks to it (auto: probed with server/discover at start).
  if (d.enabled) lines.push(`  protocol_era: ${s.protocolEra ?? 'auto'}`);
  lines.push(`  defined_in: ${s.origins.map((o) => `${o.file}:${o.location.line}`).join(', ')}`);
  if (codex) lines.push(`  codex: ${formatStatus(codex.enabled, codex.disabledReason)}`);
  io.stdout(`${lines.join('\n')}\n`);
  return code;
}
