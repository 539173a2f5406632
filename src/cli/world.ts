import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LoadedConfig, ConfigSourceSpec } from '../config/load-config.js';
import { defaultCodexHome, defaultGatehouseHome, loadConfig } from '../config/load-config.js';
import type { ServerDecision } from '../requirements/apply-requirements.js';
import { constrainServers } from '../requirements/apply-requirements.js';
import type { ExecutableFacts } from '../requirements/match-server-identity.js';
import { inspectExecutable } from '../requirements/executable.js';
import type { LoadedRequirements } from '../requirements/load-requirements.js';
import { invalidSources, loadRequirements } from '../requirements/load-requirements.js';
import { CODEX_SYSTEM_REQUIREMENTS_FILE } from '../requirements/model.js';
import type { Requirements } from '../requirements/model.js';
import type { CliIo } from './io.js';
import type { Ownership } from '../requirements/file-ownership.js';

/** Options every command shares (see `gatehouse --help`). */
export interface GlobalOptions {
  config: string[];
  mcpJson: string[];
  codexHome?: string | boolean;
  requirements: string[];
  codexRequirements?: string | boolean;
  strict?: boolean;
  /** The audit store (`postgres://…`, `sqlite:PATH` or a path); default `$GATEHOUSE_HOME/audit.db`. */
  audit?: string;
  /** The tool schema lock (`gatehouse.lock.json`); the admin's `lock_path` wins for the gateway. */
  lock?: string;
}

/** Everything a command needs to know about servers and rules, loaded once. */
export interface World {
  gatehouseHome: string;
  config: LoadedConfig;
  requirements: LoadedRequirements;
  decisions: ServerDecision[];
  /** What Codex itself decides, when `--codex-requirements` was given. */
  codex: { file: string; requirements: LoadedRequirements; decisions: ServerDecision[] } | null;
}

function pinnedExecutables(
  config: LoadedConfig,
  requirements: Requirements,
  env: NodeJS.ProcessEnv,
): Map<string, ExecutableFacts> {
  const facts = new Map<string, ExecutableFacts>();
  for (const server of config.servers) {
    if (server.transport.type !== 'stdio') continue;
    const set = server.pluginId
      ? requirements.plugins.get(server.pluginId)
      : requirements.mcpServers;
    const rule = set?.rules.get(server.name);
    const pinned = rule
      ? [rule, ...(rule.also ?? [])].some(
          (r) => r.identity.transport === 'stdio' && r.identity.sha256,
        )
      : false;
    if (pinned) facts.set(server.name, inspectExecutable(server.transport, env));
  }
  return facts;
}

/** Where the system requirements file is and how its ownership is judged (tests inject both). */
export function requirementsLocation(io: CliIo): {
  systemFile?: string;
  ownership?: (path: string) => Ownership;
} {
  return {
    ...(io.systemRequirementsFile ? { systemFile: io.systemRequirementsFile } : {}),
    ...(io.requirementsOwnership ? { ownership: io.requirementsOwnership } : {}),
  };
}

/** The Codex home a command reads: `--codex-home DIR`, else $CODEX_HOME or ~/.codex. */
export function codexHomeDir(opts: GlobalOptions, io: CliIo): string {
  return typeof opts.codexHome === 'string' && opts.codexHome !== ''
    ? resolve(io.cwd, opts.codexHome)
    : defaultCodexHome(io.env);
}

/** Codex's own config files around its home, lowest precedence first (see codex-compat §1.3). */
export const CODEX_SYSTEM_CONFIG = '/etc/codex/config.toml';
export const CODEX_MANAGED_CONFIG = '/etc/codex/managed_config.toml';

/**
 * `discover` (the inventory): read every place a server can come from without being told —
 * Codex's system, home, project and managed config, and the project's `.mcp.json` — each only
 * when it exists.
 */
export function loadWorld(opts: GlobalOptions, io: CliIo, discover = false): World {
  const strict = Boolean(opts.strict);
  const gatehouseHome = defaultGatehouseHome(io.env);
  const sources: ConfigSourceSpec[] = [
    { kind: 'gatehouse', file: join(gatehouseHome, 'config.toml'), optional: true },
  ];
  if (discover) sources.push({ kind: 'codex_layer', file: CODEX_SYSTEM_CONFIG, optional: true });
  const explicitHome = opts.codexHome !== undefined && opts.codexHome !== false;
  if (explicitHome || discover) {
    const file = join(codexHomeDir(opts, io), 'config.toml');
    sources.push({ kind: 'codex', file, optional: !explicitHome });
  }
  if (discover) {
    for (const file of [join(io.cwd, '.codex', 'config.toml'), CODEX_MANAGED_CONFIG])
      sources.push({ kind: 'codex_layer', file, optional: true });
  }
  for (const file of opts.config)
    sources.push({ kind: 'config_flag', file: resolve(io.cwd, file), optional: false });
  const mcpJsonFiles = opts.mcpJson.map((f) => resolve(io.cwd, f));
  const projectMcpJson = join(io.cwd, '.mcp.json');
  if (discover && existsSync(projectMcpJson) && !mcpJsonFiles.includes(projectMcpJson))
    mcpJsonFiles.push(projectMcpJson);
  const config = loadConfig({ sources, mcpJsonFiles, strict });

  const requirements = loadRequirements({
    requirementFiles: opts.requirements.map((f) => resolve(io.cwd, f)),
    env: io.env,
    strict,
    ...requirementsLocation(io),
  });
  const decisions = constrainServers(config.servers, requirements.requirements, {
    mode: 'gatehouse',
    invalidSources: invalidSources(requirements),
    executables: pinnedExecutables(config, requirements.requirements, io.env),
  }).value;

  let codex: World['codex'] = null;
  if (opts.codexRequirements !== undefined && opts.codexRequirements !== false) {
    const file =
      typeof opts.codexRequirements === 'string' && opts.codexRequirements !== ''
        ? resolve(io.cwd, opts.codexRequirements)
        : CODEX_SYSTEM_REQUIREMENTS_FILE;
    const loaded = loadRequirements({ requirementFiles: [file], env: {}, systemFile: file });
    codex = {
      file,
      requirements: loaded,
      decisions: constrainServers(config.servers, withoutSeedRules(loaded.requirements), {
        mode: 'codex',
        invalidSources: invalidSources(loaded),
      }).value,
    };
  }
  return { gatehouseHome, config, requirements, decisions, codex };
}

/** Codex never reads the Gatehouse-only `[mcp_server_allowlist]` form. */
function withoutSeedRules(requirements: Requirements): Requirements {
  const top = requirements.mcpServers;
  if (!top) return requirements;
  const rules = new Map([...top.rules].filter(([, rule]) => rule.form !== 'seed'));
  const onlySeed = rules.size === 0 && top.rules.size > 0;
  return { ...requirements, mcpServers: onlySeed ? null : { ...top, rules } };
}
