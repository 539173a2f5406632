import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { probeServers } from '../../gateway/probe.js';
import { matchGlob } from '../../policy/glob.js';
import type { RuleReference } from '../../requirements/rule-references.js';
import {
  rulesNamingUnknownServers,
  toolRulesMatchingNoLiveTool,
} from '../../requirements/rule-references.js';
import type { CliIo } from '../io.js';
import type { World } from '../world.js';

/**
 * The checks of `requirements check` that look beyond the requirement files: rules naming
 * servers the configuration does not define and, with `--probe`, tool rules matching no tool
 * the live servers list. Findings are warnings (exit 5), each at the rule's file:line.
 */
export interface ReferenceCheck {
  diagnostics: Diagnostic[];
  /** Why a part was not checked (no servers configured, a server that did not start). */
  notes: string[];
  /** What `--probe` found per server: tool names, or the reason it was not judged. */
  probed: Record<string, { state: string; tools: string[] | null; detail: string }>;
}

function toDiagnostic(world: World, r: RuleReference): Diagnostic {
  const doc = world.requirements.documents.find((d) => d.doc.file === r.location?.file)?.doc;
  return {
    severity: 'warning',
    code: 'unknown_reference',
    message: r.message,
    key: r.scope === 'gatehouse_policy.tools' ? `${r.scope}."${r.key}"` : `${r.scope}.${r.key}`,
    ...(r.location ? { location: r.location } : {}),
    ...(r.location && doc ? { snippet: doc.snippet(r.location) } : {}),
    hint: r.nearest
      ? `did you mean '${r.nearest}'? a rule for a name that is not there governs nothing`
      : 'a rule for a name that is not there governs nothing; check the spelling',
  };
}

export async function checkRuleReferences(
  world: World,
  opts: { probe?: boolean },
  io: CliIo,
): Promise<ReferenceCheck> {
  const out: ReferenceCheck = { diagnostics: [], notes: [], probed: {} };
  const req = world.requirements.requirements;
  const configErrors = world.config.diagnostics.some((d) => d.severity === 'error');
  if (configErrors) {
    out.notes.push(
      'server names in rules were not checked: the configuration has errors (gatehouse mcp list names them)',
    );
    return out;
  }
  const servers = world.config.servers;
  if (servers.length === 0) {
    out.notes.push(
      'server names in rules were not checked: no server is configured here (Gatehouse config, --config, --mcp-json)',
    );
    return out;
  }
  const top = servers.filter((s) => s.pluginId === null).map((s) => s.name);
  const plugins = new Map<string, string[]>();
  for (const s of servers)
    if (s.pluginId !== null) plugins.set(s.pluginId, [...(plugins.get(s.pluginId) ?? []), s.name]);
  const docs = world.requirements.documents;
  const refs = rulesNamingUnknownServers(req, docs, top, plugins);
  out.diagnostics.push(...refs.map((r) => toDiagnostic(world, r)));
  if (!opts.probe) return out;

  const rules = [...req.policy.rules, ...(req.policy.tighteningRules ?? [])];
  const targets = world.decisions
    .filter((d) => d.enabled && rules.some((r) => matchGlob(r.server, d.server.name)))
    .map((d) => d.server);
  const live = new Map<string, string[]>();
  const listed = new Map<string, string[]>();
  const results = await probeServers(targets, {
    env: io.env,
    inspect: async (server, upstream) => {
      const names: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await upstream.client.listTools(cursor ? { cursor } : undefined);
        names.push(...page.tools.map((t) => t.name));
        cursor = page.nextCursor;
      } while (cursor);
      listed.set(server.name, names);
    },
  });
  for (const server of targets) {
    const r = results.get(server.name);
    const tools =
      r?.state === 'ready' || r?.state === 'no_tools' ? (listed.get(server.name) ?? []) : null;
    if (tools) live.set(server.name, tools);
    else
      out.notes.push(
        `tool rules for '${server.name}' were not checked against its tools: it is ${r?.state ?? 'failed'} (${r?.detail ?? 'no result'})`,
      );
    out.probed[server.name] = { state: r?.state ?? 'failed', tools, detail: r?.detail ?? '' };
  }
  for (const d of world.decisions)
    if (!d.enabled && rules.some((r) => matchGlob(r.server, d.server.name)))
      out.notes.push(`tool rules for '${d.server.name}' were not checked: the server is disabled`);
  // A rule that also covers a server which did not answer is not judged on the others alone.
  const unjudged = world.decisions.map((d) => d.server.name).filter((n) => !live.has(n));
  const judged = rules.filter((r) => !unjudged.some((n) => matchGlob(r.server, n)));
  out.diagnostics.push(
    ...toolRulesMatchingNoLiveTool(judged, docs, live).map((r) => toDiagnostic(world, r)),
  );
  return out;
}
