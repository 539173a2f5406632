import { Constrained } from '../config/constrained.js';
import type { McpServerConfig } from '../config/mcp-server.js';
import type { DisabledReason } from './disabled-reason.js';
import { requirementsReason } from './disabled-reason.js';
import type { ExecutableFacts, MatchMode } from './match-server-identity.js';
import { matchServerIdentity } from './match-server-identity.js';
import type { RequirementSource, Requirements, ServerRule, ServerRuleSet } from './model.js';
import { describeSource } from './model.js';
import { credentialModelOf } from '../credentials/server-model.js';
import { credentialRulesFor, restrictsCredentials } from './parse-credentials-table.js';

/** A server after requirements were applied: still listed, possibly disabled, always with why. */
export interface ServerDecision {
  server: McpServerConfig;
  enabled: boolean;
  disabledReason: DisabledReason | null;
  /** The rule that allowed it (null when unrestricted or disabled). */
  allowedBy: ServerRule | null;
  /** The rule table that governs this server, or null when none does. */
  governedBy: ServerRuleSet | null;
}

export interface ApplyOptions {
  mode: MatchMode;
  /** Malformed requirements: every server is disabled (fail closed). */
  invalidSources?: RequirementSource[] | null;
  /** Executable facts for pinned stdio servers, by server name. */
  executables?: ReadonlyMap<string, ExecutableFacts>;
}

/**
 * Which rule table governs a server. Plugin servers follow their plugin's table, as in Codex.
 * Codex lets a plugin server with no plugin table escape a non-empty top-level allowlist;
 * Gatehouse does not (mode `gatehouse`): such a server is governed by the top-level table,
 * where it has no rule, so it is disabled until the admin adds a plugin-scoped rule.
 */
function ruleSetFor(
  server: McpServerConfig,
  requirements: Requirements,
  mode: MatchMode,
): ServerRuleSet | null {
  const top = requirements.mcpServers;
  if (top && top.rules.size === 0) return top; // the global kill switch reaches plugin servers too
  if (server.pluginId === null) return top;
  const own = requirements.plugins.get(server.pluginId);
  if (own) return own;
  return mode === 'gatehouse' && top ? top : null;
}

interface Verdict {
  governedBy: ServerRuleSet | null;
  allowedBy: ServerRule | null;
  refusal: DisabledReason | null;
}

/** What the requirements say about one server: the rule that allows it, or why not. */
function judge(
  server: McpServerConfig,
  requirements: Requirements,
  options: ApplyOptions,
): Verdict {
  if (options.invalidSources) {
    const where = options.invalidSources.map(describeSource).join(', ');
    const detail = `the requirements could not be read or are malformed (${where}); every server is disabled until they are fixed`;
    return {
      governedBy: null,
      allowedBy: null,
      refusal: requirementsReason('requirements_invalid', options.invalidSources, detail),
    };
  }
  const set = ruleSetFor(server, requirements, options.mode);
  if (!set) return { governedBy: null, allowedBy: null, refusal: null };
  const refuse = (reason: DisabledReason): Verdict => ({
    governedBy: set,
    allowedBy: null,
    refusal: reason,
  });
  const scope = server.pluginId ? `plugins."${server.pluginId}".mcp_servers` : 'mcp_servers';
  if (set.rules.size === 0) {
    return refuse(
      requirementsReason(
        'deny_all',
        set.sources,
        `[${scope}] is an empty table: every server is denied`,
      ),
    );
  }
  if (server.pluginId !== null && set === requirements.mcpServers) {
    const id = server.pluginId;
    const detail = `server of plugin ${id}: [mcp_servers] restricts servers and there is no [plugins."${id}".mcp_servers] table; add [plugins."${id}".mcp_servers.${server.name}.identity] to allow it`;
    return refuse(requirementsReason('not_allowlisted', set.sources, detail));
  }
  const rule = set.rules.get(server.name);
  if (!rule) {
    const detail = `no rule named '${server.name}' in [${scope}]; allowed: ${[...set.rules.keys()].join(', ')}`;
    return refuse(requirementsReason('not_allowlisted', set.sources, detail));
  }
  for (const each of [rule, ...(rule.also ?? [])]) {
    const verdict = matchServerIdentity(
      server.transport,
      each.identity,
      options.mode,
      options.executables?.get(server.name),
    );
    if (!verdict.matched)
      return refuse(requirementsReason(verdict.code, [each.source], verdict.detail, each));
  }
  return { governedBy: set, allowedBy: rule, refusal: null };
}

/** Reasons in the server's own definition; requirement reasons take precedence (as Codex shows). */
function definitionReason(server: McpServerConfig): DisabledReason | null {
  const local = (code: 'user' | 'unsupported_auth', detail: string): DisabledReason => ({
    code,
    display: null,
    detail,
    sources: [],
    rule: null,
  });
  if (!server.enabled) return local('user', 'enabled = false in the server config');
  if (server.disabledByConfig) return local('unsupported_auth', server.disabledByConfig);
  return null;
}

/**
 * The admin's `[gatehouse_credentials]` rules against the server's credential model (declared,
 * or implied by its Codex keys): the first rule it breaks, named, with the fix.
 */
function credentialReason(
  server: McpServerConfig,
  requirements: Requirements,
): DisabledReason | null {
  const { model, from } = credentialModelOf(server);
  for (const rule of credentialRulesFor(requirements.credentials, server.name)) {
    if (rule.allowed.includes(model)) continue;
    const allowed = rule.allowed.map((m) => `"${m}"`).join(' or ');
    const detail = `credential model "${model}" (from ${from}) is not allowed: ${rule.key} = ${rule.allowed.length === 1 ? allowed : `[${rule.allowed.map((m) => `"${m}"`).join(', ')}]`} in ${describeSource(rule.source)}; set [mcp_servers.${server.name}.gatehouse_credentials] model = ${allowed}`;
    return requirementsReason('credential_model_mismatch', [rule.source], detail);
  }
  return null;
}

function decide(
  server: McpServerConfig,
  requirements: Requirements,
  options: ApplyOptions,
): ServerDecision {
  const { governedBy, allowedBy, refusal } = judge(server, requirements, options);
  const reason = refusal ?? credentialReason(server, requirements) ?? definitionReason(server);
  return { server, governedBy, allowedBy, enabled: reason === null, disabledReason: reason };
}

/**
 * The normalizer: applies requirements to the configured servers without ever refusing to
 * start. Non-matching servers are rewritten to disabled with a reason (Codex's design), so the
 * agent keeps working with what is allowed and the user can see why the rest is not.
 */
export function constrainServers(
  servers: readonly McpServerConfig[],
  requirements: Requirements,
  options: ApplyOptions,
): Constrained<ServerDecision[], Requirements> {
  const initial = servers.map((server) => ({
    server,
    enabled: server.enabled,
    disabledReason: null,
    allowedBy: null,
    governedBy: null,
  }));
  const unrestricted =
    requirements.mcpServers === null &&
    requirements.plugins.size === 0 &&
    !restrictsCredentials(requirements.credentials) &&
    !options.invalidSources;
  if (unrestricted) {
    return Constrained.allowAny(initial.map((d) => decide(d.server, requirements, options)));
  }
  return Constrained.normalized<ServerDecision[], Requirements>(
    initial,
    (decisions) => decisions.map((d) => decide(d.server, requirements, options)),
    requirements,
  );
}
