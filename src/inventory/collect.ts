import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPlainTable } from '../config/field-reader.js';
import { parseTomlDocument } from '../config/toml-document.js';
import { findExecutable } from '../requirements/executable.js';
import { maskTokens } from '../masking/mask-text.js';
import type { CliMarketplace, CliParse, CliPlugin } from './codex-cli-json.js';
import {
  mergeCliPlugins,
  parseMarketplaceListJson,
  parsePluginListJson,
} from './codex-cli-json.js';
import type { InventoryNotice, InventorySources } from './model.js';

/**
 * Where plugins and marketplaces come from: the live `codex` CLI, JSON saved from it
 * (`--from DIR`), or — when neither is there — Codex's config.toml on disk. An adapter: a
 * missing binary, a timeout, a non-zero exit or malformed JSON becomes a notice and the next
 * source is used; it never throws.
 */
export interface CollectedPlugins {
  mode: InventorySources['plugins'];
  binary: string | null;
  plugins: CliPlugin[];
  marketplaces: CliMarketplace[];
  notices: InventoryNotice[];
}

/** The three files `--from DIR` reads: what each of the three commands printed. */
export const SAVED_FILES = {
  installed: 'plugin-list.json',
  available: 'plugin-list-available.json',
  marketplaces: 'marketplace-list.json',
} as const;

const CODEX_COMMANDS = {
  installed: ['plugin', 'list', '--json'],
  available: ['plugin', 'list', '--available', '--json'],
  marketplaces: ['plugin', 'marketplace', 'list', '--json'],
} as const;

type Which = keyof typeof SAVED_FILES;

export interface CollectOptions {
  codexHome: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** `--from DIR`: read saved JSON instead of running codex. */
  savedDir?: string;
  /** The codex executable; default `codex` on PATH. */
  codexBinary?: string;
  timeoutMs?: number;
}

interface Output {
  ok: boolean;
  text: string;
  problem: string | null;
}

function runCodex(
  binary: string,
  args: readonly string[],
  codexHome: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<Output> {
  return new Promise((resolve) => {
    execFile(
      binary,
      [...args],
      {
        env: { ...env, CODEX_HOME: codexHome },
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ ok: true, text: stdout, problem: null });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        const last = maskTokens(
          stderr
            .split('\n')
            .filter((l) => l.trim() !== '' && !l.startsWith('WARNING:'))
            .slice(0, 2)
            .join(' / '),
        );
        const why = e.killed
          ? `timed out after ${timeoutMs / 1000} s`
          : typeof e.code === 'number'
            ? `exited ${e.code}${last ? `: ${last}` : ''}`
            : `could not be started (${String(e.code ?? e.message)})`;
        resolve({ ok: false, text: stdout, problem: why });
      },
    );
  });
}

function readSaved(dir: string, which: Which): Output {
  const file = join(dir, SAVED_FILES[which]);
  try {
    return { ok: true, text: readFileSync(file, 'utf8'), problem: null };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      ok: false,
      text: '',
      problem: code === 'ENOENT' ? `${file} not found` : `${file} cannot be read (${code})`,
    };
  }
}

function describe(which: Which, mode: 'codex_cli' | 'saved', binary: string | null, dir?: string) {
  return mode === 'saved'
    ? join(dir ?? '', SAVED_FILES[which])
    : `${binary ?? 'codex'} ${CODEX_COMMANDS[which].join(' ')}`;
}

/** Plugins and marketplaces from Codex's config.toml alone (no CLI): what is configured and installed. */
export function pluginsFromCodexConfig(codexHome: string): {
  plugins: CliPlugin[];
  marketplaces: CliMarketplace[];
  notices: InventoryNotice[];
} {
  const file = join(codexHome, 'config.toml');
  const notices: InventoryNotice[] = [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      notices.push({
        severity: 'error',
        subject: 'codex config',
        message: `cannot be read (${(err as NodeJS.ErrnoException).code})`,
        file,
      });
    return { plugins: [], marketplaces: [], notices };
  }
  const parsed = parseTomlDocument(text, file);
  if (!parsed.ok) {
    notices.push({
      severity: 'error',
      subject: 'codex config',
      message: parsed.diagnostic.message,
      file,
    });
    return { plugins: [], marketplaces: [], notices };
  }
  const root = parsed.doc.value;
  const marketplaces: CliMarketplace[] = [];
  if (isPlainTable(root.marketplaces)) {
    for (const [name, m] of Object.entries(root.marketplaces)) {
      if (!isPlainTable(m)) continue;
      const sourceType = typeof m.source_type === 'string' ? m.source_type : null;
      const source = typeof m.source === 'string' ? m.source : null;
      marketplaces.push({
        name,
        root: sourceType === 'local' ? source : null,
        marketplaceSource: sourceType && source ? { source_type: sourceType, source } : null,
      });
    }
  }
  const plugins: CliPlugin[] = [];
  if (isPlainTable(root.plugins)) {
    for (const [id, p] of Object.entries(root.plugins)) {
      const at = id.lastIndexOf('@');
      if (at <= 0 || at === id.length - 1 || !isPlainTable(p)) continue;
      const marketplaceName = id.slice(at + 1);
      plugins.push({
        pluginId: id,
        name: id.slice(0, at),
        marketplaceName,
        version: null,
        installed: true,
        enabled: p.enabled === true,
        source: null,
        marketplaceSource:
          marketplaces.find((m) => m.name === marketplaceName)?.marketplaceSource ?? null,
        installPolicy: null,
        authPolicy: null,
      });
    }
  }
  return { plugins, marketplaces, notices };
}

/** Reads plugins and marketplaces from the best source available; never throws. */
export async function collectPlugins(options: CollectOptions): Promise<CollectedPlugins> {
  const notices: InventoryNotice[] = [];
  const mode: 'codex_cli' | 'saved' = options.savedDir ? 'saved' : 'codex_cli';
  let binary: string | null = null;
  if (!options.savedDir) {
    binary = findExecutable(
      {
        type: 'stdio',
        command: options.codexBinary ?? 'codex',
        args: [],
        env: null,
        envVars: [],
        cwd: options.cwd,
      },
      options.env,
    );
    if (!binary) {
      notices.push({
        severity: 'info',
        subject: 'codex',
        message: `${options.codexBinary ?? '`codex`'} not found${options.codexBinary ? '' : ' on PATH'}: plugins and marketplaces were read from ${join(options.codexHome, 'config.toml')} and the manifests on disk (available, not installed plugins are not listed)`,
        file: null,
      });
      const disk = pluginsFromCodexConfig(options.codexHome);
      return { mode: 'disk', binary: null, ...disk, notices: [...notices, ...disk.notices] };
    }
  }
  const read = (which: Which): Promise<Output> =>
    options.savedDir
      ? Promise.resolve(readSaved(options.savedDir, which))
      : runCodex(
          binary as string,
          CODEX_COMMANDS[which],
          options.codexHome,
          options.env,
          options.timeoutMs ?? 20_000,
        );
  const [installed, available, markets] = await Promise.all([
    read('installed'),
    read('available'),
    read('marketplaces'),
  ]);
  const take = <T>(which: Which, out: Output, parse: (t: string) => CliParse<T>): T[] | null => {
    const what = describe(which, mode, binary, options.savedDir);
    if (!out.ok) {
      notices.push({
        severity: 'warning',
        subject: 'codex',
        message: `${what}: ${out.problem}`,
        file: null,
      });
      return null;
    }
    const parsed = parse(out.text);
    if (!parsed.ok) {
      notices.push({
        severity: 'warning',
        subject: 'codex',
        message: `${what}: ${parsed.error}`,
        file: null,
      });
      return null;
    }
    for (const p of parsed.problems)
      notices.push({ severity: 'warning', subject: 'codex', message: `${what}: ${p}`, file: null });
    return parsed.entries;
  };
  const installedList = take('installed', installed, parsePluginListJson);
  const availableList = take('available', available, parsePluginListJson);
  const marketplaceList = take('marketplaces', markets, parseMarketplaceListJson);
  const lists = [installedList, availableList].filter((l): l is CliPlugin[] => l !== null);
  let plugins = mergeCliPlugins(lists);
  let marketplaces = marketplaceList ?? [];
  if (mode === 'codex_cli') {
    // What config.toml says is installed is installed, whatever the CLI managed to print.
    const disk = pluginsFromCodexConfig(options.codexHome);
    notices.push(...disk.notices);
    const known = new Set(plugins.filter((p) => p.installed).map((p) => p.pluginId));
    const missing = disk.plugins.filter((p) => !known.has(p.pluginId));
    if (missing.length > 0 && installedList !== null) {
      for (const p of missing)
        notices.push({
          severity: 'warning',
          subject: `plugin ${p.pluginId}`,
          message: `enabled in ${join(options.codexHome, 'config.toml')} but not listed by codex (its marketplace may have been removed or restricted)`,
          file: join(options.codexHome, 'config.toml'),
        });
    }
    plugins = mergeCliPlugins([plugins, missing]);
    if (marketplaceList === null) marketplaces = disk.marketplaces;
  }
  return { mode, binary, plugins, marketplaces, notices };
}
