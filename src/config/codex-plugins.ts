import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { isPlainTable } from './field-reader.js';
import { importMcpJson } from './mcp-json.js';
import type { McpServerConfig } from './mcp-server.js';
import { parseJsonDocument } from './json-document.js';
import { readSourceFile } from './read-source.js';
import { containedPath } from './contained-path.js';
import { diagnosticAt } from './located-document.js';
import type { TomlDocument } from './toml-document.js';

/**
 * MCP servers bundled in installed Codex plugins, read the way Codex 0.169 reads them
 * (observed): `[plugins."<name>@<marketplace>"] enabled = true` in Codex's config.toml, the
 * highest version under `$CODEX_HOME/plugins/cache/<marketplace>/<name>/`, its manifest
 * `.codex-plugin/plugin.json` (or `.claude-plugin/plugin.json`) whose `mcpServers` is a path, an
 * inline object, or absent (then `.mcp.json` at the plugin root). No marketplace registration
 * is needed; disabled plugins contribute nothing.
 */
export function loadCodexPluginServers(
  codexHome: string,
  config: TomlDocument,
): { servers: McpServerConfig[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const servers: McpServerConfig[] = [];
  const plugins = config.value.plugins;
  if (!isPlainTable(plugins)) return { servers, diagnostics };
  for (const [id, settings] of Object.entries(plugins)) {
    if (!isPlainTable(settings) || settings.enabled !== true) continue;
    const at = id.lastIndexOf('@');
    if (at <= 0 || at === id.length - 1) {
      diagnostics.push(
        diagnosticAt(
          config,
          ['plugins', id],
          'warning',
          'invalid_value',
          `plugin id \`${id}\` is not <plugin>@<marketplace>`,
        ),
      );
      continue;
    }
    const root = installedRoot(codexHome, id.slice(at + 1), id.slice(0, at));
    if (!root) {
      diagnostics.push(
        diagnosticAt(
          config,
          ['plugins', id],
          'warning',
          'file_missing',
          `plugin \`${id}\` is enabled but not installed under ${join(codexHome, 'plugins', 'cache')}`,
          `install it with: codex plugin add ${id}`,
        ),
      );
      continue;
    }
    const imported = importPluginServers(root);
    diagnostics.push(...imported.diagnostics);
    for (const server of imported.servers) {
      servers.push({
        ...server,
        pluginId: id,
        origins: server.origins.map((o) => ({ ...o, kind: 'plugin' as const })),
      });
    }
  }
  return { servers, diagnostics };
}

/** Numeric-aware version order: 1.10.0 after 1.9.0. */
function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The newest installed copy of a plugin in Codex's cache, or null when none is installed. */
export function installedRoot(codexHome: string, marketplace: string, name: string): string | null {
  const dir = join(codexHome, 'plugins', 'cache', marketplace, name);
  let versions: string[];
  try {
    versions = readdirSync(dir).filter((v) => statSync(join(dir, v)).isDirectory());
  } catch {
    return null;
  }
  const newest = versions.sort(compareVersions).pop();
  return newest ? join(dir, newest) : null;
}

function importPluginServers(root: string): {
  servers: McpServerConfig[];
  diagnostics: Diagnostic[];
} {
  const manifest = ['.codex-plugin', '.claude-plugin']
    .map((d) => join(root, d, 'plugin.json'))
    .find((f) => existsSync(f));
  let mcpFile = join(root, '.mcp.json');
  if (manifest) {
    const read = readSourceFile(manifest, 'plugin manifest');
    if (!read.ok) return { servers: [], diagnostics: [read.diagnostic] };
    const parsed = parseJsonDocument(read.text, manifest);
    if (!parsed.ok) return { servers: [], diagnostics: [parsed.diagnostic] };
    const declared = isPlainTable(parsed.doc.value) ? parsed.doc.value.mcpServers : undefined;
    if (isPlainTable(declared)) return importMcpJson(manifest);
    if (typeof declared === 'string') {
      const within = containedPath(root, declared);
      if (!within.ok) {
        const message = `"mcpServers" ${within.reason}: not followed, so this plugin contributes no servers`;
        const hint =
          'a plugin may point only at files inside its own directory; remove or reinstall it';
        return {
          servers: [],
          diagnostics: [
            diagnosticAt(parsed.doc, ['mcpServers'], 'warning', 'invalid_value', message, hint),
          ],
        };
      }
      mcpFile = within.path;
    }
  }
  if (!existsSync(mcpFile)) return { servers: [], diagnostics: [] };
  return importMcpJson(mcpFile);
}
