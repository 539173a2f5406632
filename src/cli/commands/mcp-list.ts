import type { ProbeResult } from '../../gateway/probe.js';
import { pinsByServer } from '../../requirements/executable-pin.js';
import { maskArgs, maskTokens, maskUrl } from '../../masking/mask-text.js';
import { probedVisibility } from '../../pipeline/probe-visibility.js';
import { policySettingsFor } from '../policy-settings.js';
import { formatStatus } from '../../requirements/disabled-reason.js';
import type { ServerDecision } from '../../requirements/apply-requirements.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import { authDisplay, authStatus, serverListJson } from '../format/server-view.js';
import { renderTable } from '../format/table.js';
import type { CliIo } from '../io.js';
import { configFailure, reportLoadProblems } from '../report.js';
import type { GlobalOptions } from '../world.js';
import { loadWorld } from '../world.js';
import { localCredentialStates } from '../../credentials/credential-state.js';

export interface McpListOptions {
  json?: boolean;
  probe?: boolean;
}

function envColumn(d: ServerDecision): string {
  const t = d.server.transport;
  if (t.type !== 'stdio') return '-';
  const names = [
    ...Object.keys(t.env ?? {}),
    ...t.envVars.map((v) => (typeof v === 'string' ? v : v.name)),
  ];
  return names.length === 0 ? '-' : names.map((n) => `${n}=*****`).join(', ');
}

function runtimeColumn(p: ProbeResult | undefined, d: ServerDecision): string {
  if (!d.enabled) return '-';
  if (!p) return 'not probed';
  if (p.state !== 'ready') return `${p.state}: ${p.detail}`;
  const era = p.era ? `, ${p.era === 'modern' ? 'MCP 2026-07-28' : 'MCP 2025-11-25'}` : '';
  // What the agent will be offered, not what the server lists.
  if (p.exposed && p.exposed.count !== p.toolCount)
    return `ready (${p.exposed.count} of ${p.toolCount} tools exposed)${era}`;
  return `ready (${p.toolCount} tools)${era}`;
}

export async function runMcpList(
  global: GlobalOptions,
  opts: McpListOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const world = loadWorld(global, io);
  const failed = configFailure(io, world);
  if (failed !== null) return failed;
  let code = reportLoadProblems(io, world);
  const { decisions } = world;

  let probes = new Map<string, ProbeResult>();
  if (opts.probe) {
    const enabled = decisions.filter((d) => d.enabled).map((d) => d.server);
    const progress = io.isTTY && !opts.json;
    if (progress && enabled.length > 0) io.stderr(`probing ${enabled.length} server(s)…`);
    // Loaded only when probing: the MCP SDK client is most of the CLI's start-up cost.
    const { probeServers } = await import('../../gateway/probe.js');
    probes = await probeServers(enabled, {
      env: io.env,
      pins: pinsByServer(decisions),
      onSettled: (server, r, done) => {
        if (progress)
          io.stderr(`\r\x1b[2Kprobing ${done}/${enabled.length}: ${server.name} ${r.state}`);
      },
    });
    if (progress && enabled.length > 0) io.stderr('\r\x1b[2K');
    const settings = policySettingsFor(world);
    for (const server of enabled) {
      const p = probes.get(server.name);
      if (!p?.tools) continue;
      const seen = await probedVisibility(server, p.tools, settings);
      p.exposed = {
        count: seen.exposed,
        hidden: seen.hidden.map((h) => ({ tool: maskTokens(h.tool), reason: h.reason })),
      };
    }
    const requiredDown = decisions.filter(
      (d) => d.enabled && d.server.required && probes.get(d.server.name)?.state !== 'ready',
    );
    if (requiredDown.length > 0 && code === ExitCode.ok) {
      io.stderr(
        `gatehouse: required server(s) not ready: ${requiredDown.map((d) => d.server.name).join(', ')}\n`,
      );
      code = ExitCode.requiredServerNotReady;
    }
  }
  const codexByName = new Map(world.codex?.decisions.map((d) => [d.server.name, d]));
  const credentials = localCredentialStates(
    decisions.map((d) => d.server),
    io.env,
    world.gatehouseHome,
  );

  if (opts.json) {
    const out = decisions.map((d) =>
      serverListJson(
        d,
        probes.get(d.server.name),
        codexByName.get(d.server.name),
        credentials.get(d.server.name),
      ),
    );
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
    return code;
  }
  if (decisions.length === 0) {
    io.stdout(
      `No MCP servers configured yet. Add [mcp_servers.NAME] to ${world.gatehouseHome}/config.toml or pass --config FILE.\n`,
    );
    return code;
  }
  const probeCol = opts.probe ? ['Runtime'] : [];
  const stdio = decisions.filter((d) => d.server.transport.type === 'stdio');
  const http = decisions.filter((d) => d.server.transport.type === 'streamable_http');
  const blocks: string[] = [];
  if (stdio.length > 0) {
    blocks.push(
      renderTable(
        ['Name', 'Command', 'Args', 'Env', 'Cwd', 'Status', 'Auth', ...probeCol],
        stdio.map((d) => {
          const t = d.server.transport.type === 'stdio' ? d.server.transport : null;
          const p = probes.get(d.server.name);
          return [
            d.server.name,
            t?.command ?? '',
            t && t.args.length > 0 ? maskArgs(t.args).join(' ') : '-',
            envColumn(d),
            t?.cwd ?? '-',
            formatStatus(d.enabled, d.disabledReason),
            authDisplay(authStatus(d, p)),
            ...(opts.probe ? [runtimeColumn(p, d)] : []),
          ];
        }),
      ),
    );
  }
  if (http.length > 0) {
    blocks.push(
      renderTable(
        ['Name', 'Url', 'Bearer Token Env Var', 'Status', 'Auth', ...probeCol],
        http.map((d) => {
          const t = d.server.transport.type === 'streamable_http' ? d.server.transport : null;
          const p = probes.get(d.server.name);
          return [
            d.server.name,
            t ? maskUrl(t.url) : '',
            t?.bearerTokenEnvVar ?? '-',
            formatStatus(d.enabled, d.disabledReason),
            authDisplay(authStatus(d, p)),
            ...(opts.probe ? [runtimeColumn(p, d)] : []),
          ];
        }),
      ),
    );
  }
  io.stdout(blocks.join('\n'));
  // Whose credential reaches each server: shown once any server declares its model.
  if (decisions.some((d) => d.server.credentials)) {
    io.stdout(`\nCredentials (whose credential reaches each server):\n`);
    const width = Math.max(...decisions.map((d) => d.server.name.length));
    for (const d of decisions) {
      const c = credentials.get(d.server.name);
      if (!c) continue;
      io.stdout(
        `  ${d.server.name.padEnd(width)}  ${c.model.padEnd(8)} ${c.state}${c.detail ? `: ${maskTokens(c.detail)}` : ''}\n`,
      );
    }
  }
  const disabled = decisions.filter((d) => d.disabledReason);
  if (disabled.length > 0) {
    io.stdout(`\nWhy disabled:\n`);
    const width = Math.max(...disabled.map((d) => d.server.name.length));
    for (const d of disabled)
      io.stdout(
        `  ${d.server.name.padEnd(width)}  ${d.disabledReason?.code}: ${d.disabledReason?.detail}\n`,
      );
    io.stdout(`  (details: gatehouse requirements explain NAME)\n`);
  }
  if (world.codex) {
    const differ = decisions.filter((d) => codexByName.get(d.server.name)?.enabled !== d.enabled);
    io.stdout(
      `\nCodex (${world.codex.file}) decides ${differ.length === 0 ? 'the same for every server' : 'differently for:'}\n`,
    );
    for (const d of differ) {
      const c = codexByName.get(d.server.name);
      io.stdout(
        `  ${d.server.name}: Codex ${c ? formatStatus(c.enabled, c.disabledReason) : '?'}, Gatehouse ${formatStatus(d.enabled, d.disabledReason)}\n`,
      );
    }
  }
  return code;
}
