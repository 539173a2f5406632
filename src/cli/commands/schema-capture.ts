// Live servers as the schema commands see them: started, listed, their whole contract.
import type { ExecutablePin } from '../../requirements/executable-pin.js';
import type { McpServerConfig } from '../../config/mcp-server.js';
import type { ProbeResult } from '../../gateway/probe.js';
import type { LockedServer } from '../../schema/lockfile.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { configFailure, reportLoadProblems } from '../report.js';
import type { GlobalOptions, World } from '../world.js';
import { loadWorld } from '../world.js';

export interface Captured {
  servers: Map<string, LockedServer>;
  failures: { server: string; detail: string }[];
  notes: string[];
}

/** Starts each server (as `mcp list --probe` does) and reads its whole contract. */
export async function captureServers(
  servers: readonly McpServerConfig[],
  io: CliIo,
  quiet: boolean,
  pins: ReadonlyMap<string, ExecutablePin>,
): Promise<Captured> {
  const out: Captured = { servers: new Map(), failures: [], notes: [] };
  if (servers.length === 0) return out;
  // Loaded only when probing: the MCP SDK client is most of the CLI's start-up cost.
  const { probeServers } = await import('../../gateway/probe.js');
  const { captureContract, negotiatedProtocolVersion } = await import('../../schema/capture.js');
  const { serverFactsOf } = await import('../../schema/server-facts.js');
  const progress = io.isTTY && !quiet;
  if (progress) io.stderr(`reading ${servers.length} server(s)…`);
  const probes: Map<string, ProbeResult> = await probeServers(servers, {
    env: io.env,
    pins,
    inspect: async (server, upstream, remainingMs) => {
      const facts = serverFactsOf(server, io.env, io.cwd, {
        serverInfo: { name: upstream.serverInfo.name, version: upstream.serverInfo.version },
        protocolVersion: negotiatedProtocolVersion(upstream),
      });
      const captured = await captureContract(upstream, facts, remainingMs);
      out.servers.set(server.name, captured.server);
      for (const p of captured.problems) out.notes.push(`${server.name}: ${p}`);
      if (facts.executable_note)
        out.notes.push(`${server.name}: executable not hashed: ${facts.executable_note}`);
      if (facts.package_note) out.notes.push(`${server.name}: ${facts.package_note}`);
    },
    onSettled: (server, r, done) => {
      if (progress)
        io.stderr(`\r\x1b[2Kreading ${done}/${servers.length}: ${server.name} ${r.state}`);
    },
  });
  if (progress) io.stderr('\r\x1b[2K');
  for (const server of servers) {
    const probe = probes.get(server.name);
    if (!out.servers.has(server.name))
      out.failures.push({
        server: server.name,
        detail: probe ? `${probe.state}: ${probe.detail}` : 'not probed',
      });
  }
  return out;
}

/** Enabled servers by name; unknown names exit 6, disabled ones are reported and skipped. */
export function selectServers(
  world: World,
  names: readonly string[],
  io: CliIo,
): { servers: McpServerConfig[]; code: ExitCodeValue } {
  if (names.length === 0)
    return {
      servers: world.decisions.filter((d) => d.enabled).map((d) => d.server),
      code: ExitCode.ok,
    };
  const servers: McpServerConfig[] = [];
  let code: ExitCodeValue = ExitCode.ok;
  for (const name of names) {
    const d = world.decisions.find((x) => x.server.name === name);
    if (!d) {
      const known = world.decisions.map((x) => x.server.name).join(', ') || 'none';
      io.stderr(`error: no MCP server named '${name}' (configured: ${known})\n`);
      return { servers: [], code: ExitCode.notFound };
    }
    if (!d.enabled) {
      io.stderr(`error: server '${name}' is disabled: ${d.disabledReason?.detail ?? 'disabled'}\n`);
      code = ExitCode.serverUnavailable;
      continue;
    }
    servers.push(d.server);
  }
  return { servers, code };
}

export function loadWorldFor(global: GlobalOptions, io: CliIo): World | ExitCodeValue {
  const world = loadWorld(global, io);
  const failed = configFailure(io, world);
  if (failed !== null) return failed;
  reportLoadProblems(io, world);
  return world;
}
