import { installedRoot } from '../config/codex-plugins.js';
import type { SourceStatus } from '../config/load-config.js';
import type { McpServerConfig, McpTransport } from '../config/mcp-server.js';
import { maskArgs, maskJsonValue, maskUrl } from '../masking/mask-text.js';
import type { ServerDecision } from '../requirements/apply-requirements.js';
import { constrainServers } from '../requirements/apply-requirements.js';
import { formatStatus } from '../requirements/disabled-reason.js';
import { inspectExecutable } from '../requirements/executable.js';
import type { ExecutableFacts } from '../requirements/match-server-identity.js';
import type { RequirementSource, Requirements } from '../requirements/model.js';
import { describeSource } from '../requirements/model.js';
import { credentialModelOf } from '../credentials/server-model.js';
import type { CliPlugin } from './codex-cli-json.js';
import type { CollectedPlugins } from './collect.js';
import { byKey } from './digest.js';
import { readMarketplaceManifest, readPluginContents } from './manifests.js';
import type { MarketplaceEntry } from './manifests.js';
import type {
  MarketplaceSource,
  Inventory,
  InventoryMarketplace,
  InventoryPlugin,
  InventoryServer,
  PluginServer,
  ServerIdentity,
} from './model.js';
import { INVENTORY_SCHEMA_VERSION } from './model.js';

export interface BuildInventoryInput {
  /** Servers from every config layer (plugin servers of enabled plugins included), decided. */
  decisions: readonly ServerDecision[];
  configSources: readonly SourceStatus[];
  collected: CollectedPlugins;
  codexHome: string;
  savedDir: string | null;
  requirements: Requirements;
  invalidSources: RequirementSource[] | null;
  env: NodeJS.ProcessEnv;
}

export function serverIdentity(t: McpTransport): ServerIdentity {
  return t.type === 'stdio'
    ? { command: t.command, args: maskArgs(t.args) }
    : { url: maskUrl(t.url) };
}

/** `[mcp_servers.NAME] (source)` or the plugin-scoped rule that allows a server, if any. */
function allowedBy(d: ServerDecision, requirements: Requirements): string | null {
  const rule = d.allowedBy;
  if (!rule) return null;
  const id = d.server.pluginId;
  const scope =
    id !== null && d.governedBy === requirements.plugins.get(id)
      ? `plugins."${id}".mcp_servers`
      : 'mcp_servers';
  return `[${scope}.${rule.name}] (${describeSource(rule.source)})`;
}

function inventoryServer(d: ServerDecision, requirements: Requirements): InventoryServer {
  const origin = d.server.origins[d.server.origins.length - 1];
  return {
    name: d.server.name,
    origin: {
      kind: origin?.kind ?? 'unknown',
      file: origin?.file ?? '',
      line: origin?.location.line ?? null,
    },
    plugin_id: d.server.pluginId,
    transport: d.server.transport.type,
    remote: d.server.transport.type === 'streamable_http',
    identity: serverIdentity(d.server.transport),
    enabled: d.enabled,
    status: formatStatus(d.enabled, d.disabledReason),
    disabled_reason_code: d.disabledReason?.code ?? null,
    allowed_by: allowedBy(d, requirements),
    // Only when declared or refused, so the inventory hash of other machines stays as it was.
    ...(d.server.credentials || d.disabledReason?.code === 'credential_model_mismatch'
      ? { credential_model: credentialModelOf(d.server).model }
      : {}),
    ...(d.disabledReason?.code === 'credential_model_mismatch'
      ? { credential_violation: d.disabledReason.detail }
      : {}),
    // Only when present, so the inventory hash of a machine without connect stays as it was.
    ...(d.server.wrappedBy?.length
      ? {
          wrapped_by: d.server.wrappedBy.map((o) => ({
            kind: o.kind,
            file: o.file,
            line: o.location.line,
          })),
        }
      : {}),
  };
}

/** Decides plugin servers exactly as `mcp list` decides installed ones (pins checked too). */
function decidePluginServers(
  servers: McpServerConfig[],
  requirements: Requirements,
  invalidSources: RequirementSource[] | null,
  env: NodeJS.ProcessEnv,
): ServerDecision[] {
  const executables = new Map<string, ExecutableFacts>();
  for (const s of servers) {
    if (s.transport.type !== 'stdio' || !s.pluginId) continue;
    const rule = (requirements.plugins.get(s.pluginId) ?? requirements.mcpServers)?.rules.get(
      s.name,
    );
    if (rule?.identity.transport === 'stdio' && rule.identity.sha256)
      executables.set(s.name, inspectExecutable(s.transport, env));
  }
  return constrainServers(servers, requirements, {
    mode: 'gatehouse',
    invalidSources,
    executables,
  }).value;
}

function pluginServer(d: ServerDecision, requirements: Requirements): PluginServer {
  return {
    name: d.server.name,
    transport: d.server.transport.type,
    remote: d.server.transport.type === 'streamable_http',
    identity: serverIdentity(d.server.transport),
    allowed: d.disabledReason === null || d.disabledReason.code === 'user',
    allowed_by: allowedBy(d, requirements),
    disabled_reason_code: d.disabledReason?.code ?? null,
  };
}

/** A Git source URL may carry a token (`https://user:TOKEN@host/…`): never printed or stored. */
function maskedSource(source: MarketplaceSource | null): MarketplaceSource | null {
  return source && { source_type: source.source_type, source: maskUrl(source.source) };
}

function localPath(source: unknown): string | null {
  if (typeof source !== 'object' || source === null) return null;
  const s = source as Record<string, unknown>;
  const kind = s.source ?? s.type;
  return kind === 'local' && typeof s.path === 'string' ? s.path : null;
}

/**
 * Puts the inventory together: config servers as decided, marketplaces and plugins with what
 * their manifests on disk say. Reads manifests (an adapter), never throws: what cannot be read
 * is a notice or a manifest problem beside the rest.
 */
export function buildInventory(input: BuildInventoryInput): Inventory {
  const { collected } = input;
  const notices = [...collected.notices];
  const marketplaces: InventoryMarketplace[] = [];
  const entries = new Map<string, MarketplaceEntry>();
  const fromManifests: CliPlugin[] = [];
  for (const m of collected.marketplaces) {
    const root =
      m.root ?? (m.marketplaceSource?.source_type === 'local' ? m.marketplaceSource.source : null);
    const read = root ? readMarketplaceManifest(root) : null;
    marketplaces.push({
      name: m.name,
      root,
      marketplace_source: maskedSource(m.marketplaceSource),
      manifest: read?.manifest ?? null,
      manifest_problems: read?.problems ?? [],
    });
    for (const e of read?.plugins ?? []) {
      entries.set(`${e.name}@${m.name}`, e);
      if (collected.mode === 'disk')
        fromManifests.push({
          pluginId: `${e.name}@${m.name}`,
          name: e.name,
          marketplaceName: m.name,
          version: null,
          installed: false,
          enabled: false,
          source: e.source,
          marketplaceSource: m.marketplaceSource,
          installPolicy: e.installPolicy,
          authPolicy: e.authPolicy,
        });
    }
  }
  const cliPlugins = new Map(collected.plugins.map((p) => [p.pluginId, p]));
  for (const p of fromManifests) {
    const have = cliPlugins.get(p.pluginId);
    cliPlugins.set(
      p.pluginId,
      have
        ? {
            ...have,
            installPolicy: have.installPolicy ?? p.installPolicy,
            authPolicy: have.authPolicy ?? p.authPolicy,
            source: have.source ?? p.source,
          }
        : p,
    );
  }

  const plugins: InventoryPlugin[] = [];
  const bundled: McpServerConfig[] = [];
  const serversOf = new Map<string, string[]>();
  for (const p of [...cliPlugins.values()].sort(byKey((x) => x.pluginId))) {
    const installedCopy = p.installed
      ? installedRoot(input.codexHome, p.marketplaceName, p.name)
      : null;
    const root = installedCopy ?? localPath(p.source) ?? entries.get(p.pluginId)?.dir ?? null;
    const contents = root ? readPluginContents(root) : null;
    if (!root)
      notices.push({
        severity: 'info',
        subject: `plugin ${p.pluginId}`,
        message: 'its files are not on this machine: hooks, bundled servers and skills are unknown',
        file: null,
      });
    const names: string[] = [];
    for (const s of contents?.servers ?? []) {
      bundled.push({
        ...s,
        pluginId: p.pluginId,
        origins: s.origins.map((o) => ({ ...o, kind: 'plugin' as const })),
      });
      names.push(s.name);
    }
    serversOf.set(p.pluginId, names);
    plugins.push({
      id: p.pluginId,
      name: p.name,
      marketplace: p.marketplaceName,
      version:
        p.version ??
        contents?.version ??
        (installedCopy ? (installedCopy.split('/').pop() ?? null) : null),
      installed: p.installed,
      enabled: p.enabled,
      source: maskJsonValue(p.source),
      marketplace_source: maskedSource(p.marketplaceSource),
      install_policy: p.installPolicy,
      auth_policy: p.authPolicy,
      root,
      manifest: contents?.manifest ?? null,
      contents_known: contents?.complete ?? false,
      hooks: contents?.hooks ?? [],
      mcp_servers: [],
      skills: contents?.skills ?? [],
      manifest_problems: contents?.problems ?? [],
    });
  }
  const decided = decidePluginServers(bundled, input.requirements, input.invalidSources, input.env);
  for (const plugin of plugins) {
    plugin.mcp_servers = decided
      .filter((d) => d.server.pluginId === plugin.id)
      .map((d) => pluginServer(d, input.requirements))
      .sort(byKey((s) => s.name));
  }
  return {
    schema_version: INVENTORY_SCHEMA_VERSION,
    sources: {
      plugins: collected.mode,
      codex_binary: collected.binary,
      codex_home: input.codexHome,
      saved_dir: input.savedDir,
      config: input.configSources.map((s) => ({ kind: s.kind, file: s.file, status: s.status })),
    },
    servers: input.decisions
      .map((d) => inventoryServer(d, input.requirements))
      .sort(byKey((s) => `${s.name}\0${s.plugin_id ?? ''}`)),
    marketplaces: marketplaces.sort(byKey((m) => m.name)),
    plugins,
    notices,
  };
}
