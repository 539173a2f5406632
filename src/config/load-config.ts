import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { formatLocation, promoteWarnings } from '../diagnostics/diagnostic.js';
import { FieldReader, describeType, isPlainTable } from './field-reader.js';
import { importMcpJson } from './mcp-json.js';
import { loadCodexPluginServers } from './codex-plugins.js';
import type { ConfigOrigin, McpServerConfig } from './mcp-server.js';
import { parseMcpServer } from './parse-mcp-server.js';
import { isGatehouseRunEntry } from './gatehouse-wrapper.js';
import { readSourceFile } from './read-source.js';
import { diagnosticAt } from './located-document.js';
import { parseTomlDocument } from './toml-document.js';
import type { TomlDocument } from './toml-document.js';

/**
 * Configuration layers, lowest precedence first (see docs/architecture.md):
 *   1. Gatehouse's own config: `$GATEHOUSE_HOME/config.toml` (default `~/.gatehouse/config.toml`)
 *   2. Codex's config, only on request: `--codex-home [DIR]` → `DIR/config.toml`
 *   3. each `--config FILE`, in the order given
 * TOML layers merge field by field, as Codex merges its own layers: a higher layer can change
 * one field of a server (e.g. `enabled = false`) without repeating the rest.
 *   4. each `--mcp-json FILE` (Claude-style). These cannot merge with TOML fields, so a name
 *      that is already defined is an error naming both places.
 */
export interface ConfigSourceSpec {
  /** `codex_layer`: Codex's other config files (system, project, managed), read by `inventory`. */
  kind: 'gatehouse' | 'codex' | 'codex_layer' | 'config_flag';
  file: string;
  /** A default location that may legitimately not exist. */
  optional: boolean;
}

export interface LoadConfigOptions {
  sources: ConfigSourceSpec[];
  mcpJsonFiles: string[];
  /** Warnings (unknown keys, overrides, shadowing) count as errors. */
  strict?: boolean;
}

export interface SourceStatus {
  kind: ConfigSourceSpec['kind'] | 'mcp_json';
  file: string;
  status: 'loaded' | 'absent' | 'error';
}

export interface LoadedConfig {
  servers: McpServerConfig[];
  diagnostics: Diagnostic[];
  sources: SourceStatus[];
}

export function defaultGatehouseHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.GATEHOUSE_HOME && env.GATEHOUSE_HOME !== ''
    ? env.GATEHOUSE_HOME
    : join(homedir(), '.gatehouse');
}

export function defaultCodexHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.CODEX_HOME && env.CODEX_HOME !== '' ? env.CODEX_HOME : join(homedir(), '.codex');
}

interface MergedEntry {
  fields: Record<string, unknown>;
  /** The document that last set each top-level field, for locating errors. */
  fieldDoc: Map<string, TomlDocument>;
  origins: ConfigOrigin[];
  /** Client entries that run this server through `gatehouse run NAME`. */
  wrappedBy?: ConfigOrigin[];
}

/** Reads every configured layer and returns the servers with all problems found, never throwing. */
export function loadConfig(options: LoadConfigOptions): LoadedConfig {
  const diagnostics: Diagnostic[] = [];
  const sources: SourceStatus[] = [];
  const merged = new Map<string, MergedEntry>();
  const pluginServers: McpServerConfig[] = [];

  for (const spec of options.sources) {
    const read = readSourceFile(spec.file, 'config file');
    if (!read.ok) {
      if (read.missing && spec.optional) {
        sources.push({ kind: spec.kind, file: spec.file, status: 'absent' });
        continue;
      }
      diagnostics.push(read.diagnostic);
      sources.push({ kind: spec.kind, file: spec.file, status: 'error' });
      continue;
    }
    const parsed = parseTomlDocument(read.text, spec.file);
    if (!parsed.ok) {
      diagnostics.push(parsed.diagnostic);
      sources.push({ kind: spec.kind, file: spec.file, status: 'error' });
      continue;
    }
    sources.push({ kind: spec.kind, file: spec.file, status: 'loaded' });
    mergeLayer(parsed.doc, spec.kind, merged, diagnostics);
    if (spec.kind === 'codex') {
      const plugins = loadCodexPluginServers(dirname(spec.file), parsed.doc);
      diagnostics.push(...plugins.diagnostics);
      pluginServers.push(...plugins.servers);
    }
  }

  const servers: McpServerConfig[] = [];
  for (const [name, entry] of merged) {
    const lastDoc = [...entry.fieldDoc.values()].pop();
    if (!lastDoc) continue;
    const locate = (path: readonly (string | number)[]) => {
      const doc =
        (typeof path[0] === 'string' ? entry.fieldDoc.get(path[0]) : undefined) ?? lastDoc;
      const location = doc.locate(['mcp_servers', name, ...path]);
      return { location, snippet: doc.snippet(location) };
    };
    const reader = new FieldReader(entry.fields, `mcp_servers.${name}`, locate, diagnostics);
    const server = parseMcpServer(name, reader, entry.origins);
    if (server && entry.wrappedBy) server.wrappedBy = entry.wrappedBy;
    if (server) servers.push(server);
  }

  addPluginServers(servers, pluginServers, diagnostics);

  for (const file of options.mcpJsonFiles) {
    const imported = importMcpJson(file);
    diagnostics.push(...imported.diagnostics);
    sources.push({
      kind: 'mcp_json',
      file,
      status: imported.diagnostics.some((d) => d.severity === 'error') ? 'error' : 'loaded',
    });
    for (const server of imported.servers) {
      const existing = servers.find((s) => s.name === server.name);
      const here = server.origins[0];
      if (existing && here) {
        const there = existing.origins[existing.origins.length - 1];
        diagnostics.push({
          severity: 'error',
          code: 'duplicate_definition',
          message: `server '${server.name}' is already defined at ${formatLocation(there?.location)}`,
          key: `mcpServers.${server.name}`,
          location: here.location,
          hint: 'rename one of the two servers or remove one definition',
        });
        continue;
      }
      servers.push(server);
    }
  }
  servers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { servers, diagnostics: promoteWarnings(diagnostics, Boolean(options.strict)), sources };
}

function mergeLayer(
  doc: TomlDocument,
  kind: ConfigSourceSpec['kind'],
  merged: Map<string, MergedEntry>,
  diagnostics: Diagnostic[],
): void {
  const table = doc.value.mcp_servers;
  if (table === undefined) return;
  const located = (
    path: (string | number)[],
    message: string,
    code: Diagnostic['code'],
    severity: Diagnostic['severity'] = 'error',
    hint?: string,
  ): void => {
    diagnostics.push(diagnosticAt(doc, path, severity, code, message, hint));
  };
  if (!isPlainTable(table)) {
    located(['mcp_servers'], `invalid type: ${describeType(table)}, expected a map`, 'wrong_type');
    return;
  }
  for (const [name, raw] of Object.entries(table)) {
    if (!isPlainTable(raw)) {
      located(
        ['mcp_servers', name],
        `invalid type: ${describeType(raw)}, expected a map`,
        'wrong_type',
      );
      continue;
    }
    const origin: ConfigOrigin = {
      kind,
      file: doc.file,
      location: doc.locate(['mcp_servers', name]),
    };
    const defined = merged.get(name);
    if (
      kind !== 'gatehouse' &&
      defined?.origins.some((o) => o.kind === 'gatehouse') &&
      isGatehouseRunEntry(raw, name)
    ) {
      // A client's `gatehouse run NAME` (from `gatehouse connect`) wraps Gatehouse's own
      // definition: it is that governed server, wired through the gateway — not an override.
      (defined.wrappedBy ??= []).push(origin);
      continue;
    }
    const entry: MergedEntry = defined ?? { fields: {}, fieldDoc: new Map(), origins: [] };
    for (const identityKey of ['command', 'url'] as const) {
      const before = entry.fields[identityKey];
      const after = raw[identityKey];
      if (before !== undefined && after !== undefined && before !== after) {
        const prevDoc = entry.fieldDoc.get(identityKey);
        located(
          ['mcp_servers', name, identityKey],
          `overrides the ${identityKey} of server '${name}' defined at ${prevDoc ? formatLocation(prevDoc.locate(['mcp_servers', name, identityKey])) : 'a lower layer'}`,
          'override',
          'warning',
          'higher layers win field by field; remove one definition if this is not intended',
        );
      }
    }
    // A layer that switches transport replaces the other transport's identity key.
    if (raw.command !== undefined) delete entry.fields.url;
    if (raw.url !== undefined) delete entry.fields.command;
    for (const [k, v] of Object.entries(raw)) {
      const prev = entry.fields[k];
      entry.fields[k] = isPlainTable(prev) && isPlainTable(v) ? { ...prev, ...v } : v;
      entry.fieldDoc.set(k, doc);
    }
    if (Object.keys(raw).length === 0) entry.fieldDoc.set('', doc);
    entry.origins.push(origin);
    merged.set(name, entry);
  }
}

/**
 * Plugin servers join the list unless a config server has the same name: then the config
 * server wins (as in Codex 0.169, observed), and Gatehouse says so instead of dropping it silently.
 */
function addPluginServers(
  servers: McpServerConfig[],
  plugins: McpServerConfig[],
  diagnostics: Diagnostic[],
): void {
  for (const plugin of plugins) {
    const clash = servers.find((s) => s.name === plugin.name);
    const where = plugin.origins[0];
    if (clash) {
      diagnostics.push({
        severity: 'warning',
        code: 'duplicate_definition',
        message: `plugin ${plugin.pluginId}'s server '${plugin.name}' is shadowed by the config server of the same name (${formatLocation(clash.origins[clash.origins.length - 1]?.location)}) and is not used`,
        key: `mcpServers.${plugin.name}`,
        ...(where ? { location: where.location } : {}),
        hint: 'rename one of them if both are wanted',
      });
      continue;
    }
    servers.push(plugin);
  }
}
