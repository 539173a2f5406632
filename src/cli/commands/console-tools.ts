import { pinsByServer } from '../../requirements/executable-pin.js';
import { maskTokens } from '../../masking/mask-text.js';
import { probedVisibility } from '../../pipeline/probe-visibility.js';
import type { ToolAnnotations } from '../../policy/model.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { policySettingsFor } from '../policy-settings.js';
import { configFailure } from '../report.js';
import type { GlobalOptions } from '../world.js';
import { loadWorld } from '../world.js';
import { decideInWorld, decisionJson } from './policy.js';

/**
 * The servers page's tools: every enabled server started as `mcp list --probe` starts it, and
 * each tool it lists with what `policy explain` decides for it (effect, category, approval,
 * rule), and whether the agent is shown it. Descriptions are the server's own words (untrusted).
 */
export async function runConsoleTools(global: GlobalOptions, io: CliIo): Promise<ExitCodeValue> {
  const world = loadWorld(global, io);
  const failed = configFailure(io, world);
  if (failed !== null) return failed;
  const enabled = world.decisions.filter((d) => d.enabled).map((d) => d.server);
  // Loaded only when asked: the MCP SDK client is most of the CLI's start-up cost.
  const { probeServers } = await import('../../gateway/probe.js');
  const probes = await probeServers(enabled, { env: io.env, pins: pinsByServer(world.decisions) });
  const settings = policySettingsFor(world);
  const out = [];
  for (const server of enabled) {
    const p = probes.get(server.name);
    const tools = p?.tools ?? [];
    const hidden = new Map(
      (await probedVisibility(server, tools, settings)).hidden.map((h) => [h.tool, h.reason]),
    );
    out.push({
      server: server.name,
      state: p?.state ?? 'failed',
      detail: p?.detail ?? null,
      tools: tools.map((t) => {
        const name = String(t.name);
        const annotations = (t.annotations as ToolAnnotations | undefined) ?? null;
        return {
          name: maskTokens(name),
          description: typeof t.description === 'string' ? maskTokens(t.description) : null,
          hidden: hidden.get(name) ?? null,
          ...decisionJson(decideInWorld(world, server.name, name, annotations)),
        };
      }),
    });
  }
  io.stdout(`${JSON.stringify(out, null, 2)}\n`);
  return ExitCode.ok;
}
