import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { importMcpJson } from '../config/mcp-json.js';
import type { McpServerConfig } from '../config/mcp-server.js';
import { renderDiagnostic } from '../diagnostics/diagnostic.js';
import { parseHooksDocument } from './hooks.js';
import type { InventoryHook, InventorySkill, ManifestProblem } from './model.js';
import { containedPath } from '../config/contained-path.js';

/**
 * Reads plugin and marketplace manifests on disk for what Codex's CLI JSON leaves out (hooks,
 * bundled MCP servers, skills). An adapter: every problem (unreadable, malformed, a path that
 * escapes its root) is returned as a problem next to whatever could still be read.
 */

export interface PluginContents {
  manifest: string | null;
  name: string | null;
  version: string | null;
  hooks: InventoryHook[];
  servers: McpServerConfig[];
  skills: InventorySkill[];
  problems: ManifestProblem[];
  /**
   * Everything the manifest declares was read. False after any problem but a badly shaped hook
   * entry (which is still counted as a hook): then hooks or servers may be missing from the lists.
   */
  complete: boolean;
}

const PLUGIN_MANIFESTS = ['.codex-plugin/plugin.json', '.claude-plugin/plugin.json'];
const MARKETPLACE_MANIFESTS = [
  '.agents/plugins/marketplace.json',
  '.claude-plugin/marketplace.json',
];

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function readJson(
  file: string,
  problems: ManifestProblem[],
): { ok: true; value: unknown } | { ok: false } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    problems.push({ kind: 'unreadable', file, message: `cannot be read (${code})` });
    return { ok: false };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    problems.push({
      kind: 'invalid',
      file,
      message: `is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    });
    return { ok: false };
  }
}

/** A declared path inside `root`, following symbolic links too; or a problem. */
function inside(
  root: string,
  declared: unknown,
  key: string,
  manifest: string,
  problems: ManifestProblem[],
): string | null {
  if (typeof declared !== 'string') {
    problems.push({ kind: 'invalid', file: manifest, message: `"${key}" is not a path string` });
    return null;
  }
  const within = containedPath(root, declared);
  if (!within.ok) {
    problems.push({ kind: 'escape', file: manifest, message: `"${key}" ${within.reason}` });
    return null;
  }
  return within.path;
}

function asList(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

function readSkills(dir: string, problems: ManifestProblem[]): InventorySkill[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) return [];
    names = readdirSync(dir).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT')
      problems.push({ kind: 'unreadable', file: dir, message: `cannot be read (${code})` });
    return [];
  }
  const skills: InventorySkill[] = [];
  for (const name of names) {
    const file = join(dir, name, 'SKILL.md');
    if (!existsSync(file)) continue;
    let declared: string | null = null;
    try {
      const head = readFileSync(file, 'utf8').slice(0, 4096);
      declared =
        /^---\r?\n(?:.*\r?\n)*?name:\s*["']?([^"'\r\n]+)["']?\s*\r?\n/m.exec(head)?.[1] ?? null;
    } catch {
      problems.push({ kind: 'unreadable', file, message: 'cannot be read' });
    }
    skills.push({ name: declared?.trim() || name, path: join(dir, name) });
  }
  return skills;
}

/** Hooks, bundled MCP servers and skills of the plugin at `root`. */
export function readPluginContents(root: string): PluginContents {
  const problems: ManifestProblem[] = [];
  const out: PluginContents = {
    manifest: null,
    name: null,
    version: null,
    hooks: [],
    servers: [],
    skills: [],
    problems,
    complete: false,
  };
  if (!existsSync(root)) {
    problems.push({
      kind: 'unreadable',
      file: root,
      message: 'the plugin directory does not exist',
    });
    return out;
  }
  const manifest = PLUGIN_MANIFESTS.map((m) => join(root, m)).find((f) => existsSync(f)) ?? null;
  out.manifest = manifest;
  let doc: Record<string, unknown> = {};
  if (manifest) {
    const read = readJson(manifest, problems);
    if (!read.ok) return out;
    if (!isObj(read.value)) {
      problems.push({ kind: 'invalid', file: manifest, message: 'expected a JSON object' });
      return out;
    }
    doc = read.value;
    if (typeof doc.name === 'string') out.name = doc.name;
    if (typeof doc.version === 'string') out.version = doc.version;
  }
  const where = manifest ?? root;

  // Bundled MCP servers: a path, an inline object, or `.mcp.json` at the root.
  let mcpFile: string | null = join(root, '.mcp.json');
  if (isObj(doc.mcpServers) && manifest) mcpFile = manifest;
  else if (doc.mcpServers !== undefined)
    mcpFile = inside(root, doc.mcpServers, 'mcpServers', where, problems);
  if (mcpFile && (mcpFile === manifest || existsSync(mcpFile))) {
    const imported = importMcpJson(mcpFile);
    out.servers = imported.servers;
    for (const d of imported.diagnostics.filter((x) => x.severity === 'error'))
      problems.push({ kind: 'invalid', file: mcpFile, message: renderDiagnostic(d) });
  } else if (mcpFile && doc.mcpServers !== undefined) {
    problems.push({
      kind: 'unreadable',
      file: mcpFile,
      message: 'declared in "mcpServers" but missing',
    });
  }

  // Hooks: inline, one path or several; by default hooks.json or hooks/hooks.json.
  const hookSources: { file: string; value?: unknown }[] = [];
  let hookEntryProblems = 0;
  if (isObj(doc.hooks) && manifest) hookSources.push({ file: manifest, value: doc.hooks });
  else if (doc.hooks !== undefined) {
    for (const entry of asList(doc.hooks)) {
      if (isObj(entry) && manifest) hookSources.push({ file: manifest, value: entry });
      else {
        const file = inside(root, entry, 'hooks', where, problems);
        if (file) hookSources.push({ file });
      }
    }
  } else {
    for (const f of ['hooks.json', 'hooks/hooks.json'].map((n) => join(root, n)))
      if (existsSync(f)) hookSources.push({ file: f });
  }
  for (const source of hookSources) {
    let value = source.value;
    if (value === undefined) {
      const read = readJson(source.file, problems);
      if (!read.ok) continue;
      value = read.value;
    }
    const parsed = parseHooksDocument(value, source.file);
    out.hooks.push(...parsed.hooks);
    for (const message of parsed.problems)
      problems.push({ kind: 'invalid', file: source.file, message });
    hookEntryProblems += parsed.problems.length;
  }

  // Skills: one directory or several; by default skills/.
  const skillDirs =
    doc.skills === undefined
      ? [join(root, 'skills')]
      : asList(doc.skills).flatMap((s) => {
          const dir = inside(root, s, 'skills', where, problems);
          return dir ? [dir] : [];
        });
  for (const dir of skillDirs) out.skills.push(...readSkills(dir, problems));
  out.complete = problems.length === hookEntryProblems;
  return out;
}

/** One plugin entry of a marketplace manifest. */
export interface MarketplaceEntry {
  name: string;
  /** The plugin's directory when it is inside the marketplace root, else null (remote source). */
  dir: string | null;
  source: unknown;
  installPolicy: string | null;
  authPolicy: string | null;
}

/** `.agents/plugins/marketplace.json` (or `.claude-plugin/marketplace.json`) at a marketplace root. */
export function readMarketplaceManifest(root: string): {
  manifest: string | null;
  name: string | null;
  plugins: MarketplaceEntry[];
  problems: ManifestProblem[];
} {
  const problems: ManifestProblem[] = [];
  const manifest =
    MARKETPLACE_MANIFESTS.map((m) => join(root, m)).find((f) => existsSync(f)) ?? null;
  if (!manifest) {
    if (!existsSync(root))
      problems.push({
        kind: 'unreadable',
        file: root,
        message: 'the marketplace directory does not exist',
      });
    return { manifest, name: null, plugins: [], problems };
  }
  const read = readJson(manifest, problems);
  if (!read.ok) return { manifest, name: null, plugins: [], problems };
  const doc = read.value;
  if (!isObj(doc) || !Array.isArray(doc.plugins)) {
    problems.push({
      kind: 'invalid',
      file: manifest,
      message: 'expected {"name": …, "plugins": [ … ]}',
    });
    return { manifest, name: null, plugins: [], problems };
  }
  const plugins: MarketplaceEntry[] = [];
  doc.plugins.forEach((p: unknown, i) => {
    if (!isObj(p) || typeof p.name !== 'string') {
      problems.push({ kind: 'invalid', file: manifest, message: `plugins[${i}] has no "name"` });
      return;
    }
    const policy = isObj(p.policy) ? p.policy : {};
    let dir: string | null = null;
    const src = p.source;
    const local =
      typeof src === 'string' &&
      !src.includes('://') &&
      (/^[./]/.test(src) || !/^[\w-][\w.-]*\/[\w.-]+$/.test(src))
        ? src
        : isObj(src) && src.source === 'local' && typeof src.path === 'string'
          ? src.path
          : null;
    if (local !== null) dir = inside(root, local, `plugins[${i}].source`, manifest, problems);
    plugins.push({
      name: p.name,
      dir,
      source: src ?? null,
      installPolicy: typeof policy.installation === 'string' ? policy.installation : null,
      authPolicy: typeof policy.authentication === 'string' ? policy.authentication : null,
    });
  });
  return { manifest, name: typeof doc.name === 'string' ? doc.name : null, plugins, problems };
}
