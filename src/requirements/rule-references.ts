import type { SourceLocation } from '../diagnostics/diagnostic.js';
import { suggestKey } from '../diagnostics/suggest.js';
import type { KeyPath } from '../config/located-document.js';
import type { TomlDocument } from '../config/toml-document.js';
import { isGlob, matchGlob } from '../policy/glob.js';
import type { ToolRule } from '../policy/model.js';
import type { RequirementSource, Requirements } from './model.js';

/**
 * Rules that name things which are not there: an allowlist rule or a tool rule for a server no
 * config defines, or a tool rule whose tool pattern matches nothing the server offers. Such a
 * rule is harmless to the gateway (it never matches) but it is almost always a typo that leaves
 * the intended server or tool ungoverned, so `requirements check` reports it. Pure.
 */

export interface RuleReference {
  /** `mcp_servers`, `plugins."ID".mcp_servers` or `gatehouse_policy.tools`. */
  scope: string;
  /** The rule's key as written (`docs`, `payments/*`). */
  key: string;
  location: SourceLocation | null;
  message: string;
  /** The nearest configured name, when one is close. */
  nearest: string | null;
}

type Documents = readonly { source: RequirementSource; doc: TomlDocument }[];

function sameSource(a: RequirementSource, b: RequirementSource): boolean {
  return (
    a.kind === b.kind &&
    (a.kind === 'env' ? a.name === (b as typeof a).name : a.path === (b as { path: string }).path)
  );
}

/** Where a key of the layer `source` was written, or null when that layer has no document. */
export function locateIn(
  documents: Documents,
  source: RequirementSource,
  path: KeyPath,
): SourceLocation | null {
  const hit = documents.find((d) => sameSource(d.source, source));
  return hit ? hit.doc.locate(path) : null;
}

/** Where a tool rule was written: `file:line` of its `[gatehouse_policy.tools."KEY"]` table. */
export function toolRuleLocation(documents: Documents, rule: ToolRule): SourceLocation | null {
  return locateIn(documents, rule.source, ['gatehouse_policy', 'tools', rule.key]);
}

function nearest(name: string, known: readonly string[]): string | null {
  return suggestKey(name, known) ?? null;
}

/**
 * Allowlist and tool rules naming servers that are not configured here. `configured` holds the
 * names of servers outside plugins; `pluginServers` those of each plugin (by plugin id).
 */
export function rulesNamingUnknownServers(
  requirements: Requirements,
  documents: Documents,
  configured: readonly string[],
  pluginServers: ReadonlyMap<string, readonly string[]>,
): RuleReference[] {
  const out: RuleReference[] = [];
  for (const rule of requirements.mcpServers?.rules.values() ?? []) {
    if (configured.includes(rule.name)) continue;
    const near = nearest(rule.name, configured);
    out.push({
      scope: 'mcp_servers',
      key: rule.name,
      location: rule.location,
      message: `allowlist rule for '${rule.name}' names no configured server${near ? ` (did you mean '${near}'?)` : ''}`,
      nearest: near,
    });
  }
  for (const [id, set] of requirements.plugins) {
    const names = pluginServers.get(id);
    if (!names) continue; // the plugin is not installed here: nothing to compare with
    for (const rule of set.rules.values()) {
      if (names.includes(rule.name)) continue;
      const near = nearest(rule.name, names);
      out.push({
        scope: `plugins."${id}".mcp_servers`,
        key: rule.name,
        location: rule.location,
        message: `allowlist rule for '${rule.name}' names no server of plugin ${id}${near ? ` (did you mean '${near}'?)` : ''}`,
        nearest: near,
      });
    }
  }
  const all = [...new Set([...configured, ...[...pluginServers.values()].flat()])];
  for (const rule of [
    ...requirements.policy.rules,
    ...(requirements.policy.tighteningRules ?? []),
  ]) {
    if (all.some((name) => matchGlob(rule.server, name))) continue;
    const near = isGlob(rule.server) ? null : nearest(rule.server, all);
    out.push({
      scope: 'gatehouse_policy.tools',
      key: rule.key,
      location: toolRuleLocation(documents, rule),
      message: isGlob(rule.server)
        ? `tool rule "${rule.key}": the server pattern '${rule.server}' matches no configured server`
        : `tool rule "${rule.key}" names no configured server '${rule.server}'${near ? ` (did you mean '${near}'?)` : ''}`,
      nearest: near,
    });
  }
  return out;
}

/**
 * Tool rules whose tool pattern matches none of the tools the servers they apply to list now.
 * `live` holds, per server that answered, the names of the tools it lists; rules whose servers
 * all failed to answer are not judged (the caller reports those servers).
 */
export function toolRulesMatchingNoLiveTool(
  rules: readonly ToolRule[],
  documents: Documents,
  live: ReadonlyMap<string, readonly string[]>,
): RuleReference[] {
  const out: RuleReference[] = [];
  for (const rule of rules) {
    const servers = [...live.keys()].filter((name) => matchGlob(rule.server, name));
    if (servers.length === 0) continue;
    const tools = servers.flatMap((s) => live.get(s) ?? []);
    if (tools.some((t) => matchGlob(rule.tool, t))) continue;
    const near = isGlob(rule.tool) ? null : nearest(rule.tool, tools);
    out.push({
      scope: 'gatehouse_policy.tools',
      key: rule.key,
      location: toolRuleLocation(documents, rule),
      message: `tool rule "${rule.key}" matches no tool ${servers.length === 1 ? `'${servers[0]}'` : `the servers ${servers.map((s) => `'${s}'`).join(', ')}`} lists now${near ? ` (did you mean '${near}'?)` : ''}`,
      nearest: near,
    });
  }
  return out;
}
