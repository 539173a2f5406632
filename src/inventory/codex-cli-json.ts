import type { MarketplaceSource } from './model.js';

/**
 * Readers for the JSON that `codex plugin list --json [--available]` and `codex plugin
 * marketplace list --json` print (codex-cli 0.169; shapes in docs/cli.md). Pure: text in,
 * typed entries plus every problem out; a malformed document or entry never throws.
 */
export interface CliPlugin {
  pluginId: string;
  name: string;
  marketplaceName: string;
  version: string | null;
  installed: boolean;
  enabled: boolean;
  source: unknown;
  marketplaceSource: MarketplaceSource | null;
  installPolicy: string | null;
  authPolicy: string | null;
}

export interface CliMarketplace {
  name: string;
  root: string | null;
  marketplaceSource: MarketplaceSource | null;
}

export type CliParse<T> =
  { ok: true; entries: T[]; problems: string[] } | { ok: false; error: string };

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const first = text.trim().split('\n')[0]?.slice(0, 80) ?? '';
    return {
      ok: false,
      error: `not JSON (${err instanceof Error ? err.message : String(err)}); output began: ${JSON.stringify(first)}`,
    };
  }
}

/** `{sourceType, source}` as Codex prints a marketplace's source; null when absent or malformed. */
export function readMarketplaceSource(v: unknown): MarketplaceSource | null {
  if (!isObj(v) || typeof v.sourceType !== 'string' || typeof v.source !== 'string') return null;
  return { source_type: v.sourceType, source: v.source };
}

function optString(o: Obj, key: string, where: string, problems: string[]): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  problems.push(`${where}: "${key}" is ${typeof v}, expected a string`);
  return null;
}

function readPlugin(v: unknown, where: string, problems: string[]): CliPlugin | null {
  if (!isObj(v)) {
    problems.push(`${where}: expected an object`);
    return null;
  }
  const id = v.pluginId;
  if (typeof id !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(id)) {
    problems.push(`${where}: "pluginId" missing or not <plugin>@<marketplace>; entry skipped`);
    return null;
  }
  const at = id.lastIndexOf('@');
  const bool = (key: string): boolean => {
    if (typeof v[key] === 'boolean') return v[key];
    if (v[key] !== undefined) problems.push(`${where}: "${key}" is not true/false`);
    return false;
  };
  if (v.marketplaceSource !== undefined && !readMarketplaceSource(v.marketplaceSource))
    problems.push(`${where}: "marketplaceSource" is not {sourceType, source}`);
  return {
    pluginId: id,
    name: optString(v, 'name', where, problems) ?? id.slice(0, at),
    marketplaceName: optString(v, 'marketplaceName', where, problems) ?? id.slice(at + 1),
    version: optString(v, 'version', where, problems),
    installed: bool('installed'),
    enabled: bool('enabled'),
    source: v.source ?? null,
    marketplaceSource: readMarketplaceSource(v.marketplaceSource),
    installPolicy: optString(v, 'installPolicy', where, problems),
    authPolicy: optString(v, 'authPolicy', where, problems),
  };
}

/** `codex plugin list --json` (with or without `--available`): `{installed: [...], available: [...]}`. */
export function parsePluginListJson(text: string): CliParse<CliPlugin> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const doc = json.value;
  if (!isObj(doc))
    return { ok: false, error: 'expected an object {"installed": [...], "available": [...]}' };
  const problems: string[] = [];
  const entries: CliPlugin[] = [];
  for (const list of ['installed', 'available'] as const) {
    const items = doc[list];
    if (items === undefined) continue;
    if (!Array.isArray(items)) {
      problems.push(`"${list}" is not a list`);
      continue;
    }
    items.forEach((item: unknown, i) => {
      const plugin = readPlugin(item, `${list}[${i}]`, problems);
      if (plugin) entries.push(list === 'installed' ? { ...plugin, installed: true } : plugin);
    });
  }
  if (doc.installed === undefined && doc.available === undefined)
    return { ok: false, error: 'neither "installed" nor "available" is present' };
  return { ok: true, entries, problems };
}

/** `codex plugin marketplace list --json`: `{marketplaces: [{name, root, marketplaceSource}]}`. */
export function parseMarketplaceListJson(text: string): CliParse<CliMarketplace> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const doc = json.value;
  if (!isObj(doc) || !Array.isArray(doc.marketplaces))
    return { ok: false, error: 'expected an object {"marketplaces": [...]}' };
  const problems: string[] = [];
  const entries: CliMarketplace[] = [];
  doc.marketplaces.forEach((item: unknown, i) => {
    const where = `marketplaces[${i}]`;
    if (!isObj(item) || typeof item.name !== 'string' || item.name === '') {
      problems.push(`${where}: expected an object with a "name"; entry skipped`);
      return;
    }
    if (item.marketplaceSource !== undefined && !readMarketplaceSource(item.marketplaceSource))
      problems.push(`${where}: "marketplaceSource" is not {sourceType, source}`);
    entries.push({
      name: item.name,
      root: optString(item, 'root', where, problems),
      marketplaceSource: readMarketplaceSource(item.marketplaceSource),
    });
  });
  return { ok: true, entries, problems };
}

/**
 * Merges `plugin list --json` and `--available --json` by id: an entry marked installed wins
 * (the installed list is the authority on what is installed), the rest fill gaps.
 */
export function mergeCliPlugins(lists: readonly (readonly CliPlugin[])[]): CliPlugin[] {
  const byId = new Map<string, CliPlugin>();
  for (const list of lists) {
    for (const p of list) {
      const prev = byId.get(p.pluginId);
      if (!prev || (p.installed && !prev.installed)) byId.set(p.pluginId, p);
    }
  }
  return [...byId.values()].sort((a, b) =>
    a.pluginId < b.pluginId ? -1 : a.pluginId > b.pluginId ? 1 : 0,
  );
}
