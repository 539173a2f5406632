/**
 * The facts about a server that are not in what it lists: its transport identity, the sha256 of
 * the executable it runs, and — for `npx`-launched packages — the package name, version and
 * integrity, resolved from the local npm cache or node_modules only (no network). Anything that
 * cannot be resolved is left null with a stated reason, never guessed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { McpServerConfig } from '../config/mcp-server.js';
import { maskArgs, maskUrl } from '../masking/mask-text.js';
import { findExecutable } from '../requirements/executable.js';
import type { PackageIdentity, ServerFacts, ServerIdentity } from './lockfile.js';

/** Secrets in args and URLs are masked: the lock is meant to be committed. */
export function identityOf(server: McpServerConfig): ServerIdentity {
  const t = server.transport;
  return t.type === 'stdio'
    ? { transport: 'stdio', command: t.command, args: maskArgs(t.args) }
    : { transport: 'streamable_http', url: maskUrl(t.url) };
}

/** The package spec an `npx` command line runs (`-p/--package` or the first positional), or null. */
export function npxPackageSpec(command: string, args: readonly string[]): string | null {
  if (basename(command) !== 'npx') return null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--package' || arg === '-p') return args[i + 1] ?? null;
    if (arg.startsWith('--package=')) return arg.slice('--package='.length);
    if (arg === '--') return args[i + 1] ?? null;
    if (arg.startsWith('-')) continue;
    return arg;
  }
  return null;
}

/** `@scope/name@1.2.3` → name and requested version (null: any). */
export function splitPackageSpec(spec: string): { name: string; version: string | null } {
  const at = spec.indexOf('@', spec.startsWith('@') ? 1 : 0);
  return at < 0
    ? { name: spec, version: null }
    : { name: spec.slice(0, at), version: spec.slice(at + 1) || null };
}

function readJson(path: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The installed package under `root` (a directory holding node_modules and maybe a lock). */
function installedIn(root: string, name: string): (PackageIdentity & { mtime: number }) | null {
  const manifest = readJson(join(root, 'node_modules', name, 'package.json'));
  if (!manifest || typeof manifest.version !== 'string') return null;
  const lock =
    readJson(join(root, 'package-lock.json')) ??
    readJson(join(root, 'node_modules', '.package-lock.json'));
  const packages = (lock?.packages ?? {}) as Record<
    string,
    { integrity?: unknown; version?: unknown }
  >;
  const entry = packages[`node_modules/${name}`];
  const integrity =
    entry && entry.version === manifest.version && typeof entry.integrity === 'string'
      ? entry.integrity
      : null;
  let mtime = 0;
  try {
    mtime = statSync(join(root, 'node_modules', name, 'package.json')).mtimeMs;
  } catch {
    // keep 0
  }
  return { name, version: manifest.version, integrity, mtime };
}

/**
 * Resolves what `npx SPEC` runs from what is on this machine: the project's node_modules (npx
 * runs a local install first), else npx's own cache (`$npm_config_cache/_npx/HASH`).
 */
export function resolveNpxPackage(
  server: McpServerConfig,
  env: NodeJS.ProcessEnv,
  cwd: string,
): { package: PackageIdentity | null; note: string | null } {
  const t = server.transport;
  if (t.type !== 'stdio') return { package: null, note: null };
  const spec = npxPackageSpec(t.command, t.args);
  if (!spec) return { package: null, note: null };
  const { name, version } = splitPackageSpec(spec);
  if (/^[./]|:/.test(name))
    return { package: null, note: `npx runs ${spec}: a path or URL, not a registry package` };
  const matches = (p: PackageIdentity | null) =>
    p !== null && (version === null || p.version === version);
  const local = installedIn(resolve(t.cwd ?? cwd), name);
  if (local && matches(local)) return { package: strip(local), note: integrityNote(local) };
  const cache = env.npm_config_cache ?? env.NPM_CONFIG_CACHE ?? join(env.HOME ?? homedir(), '.npm');
  const npxDir = join(cache, '_npx');
  const found: (PackageIdentity & { mtime: number })[] = [];
  if (existsSync(npxDir)) {
    let dirs: string[] = [];
    try {
      dirs = readdirSync(npxDir);
    } catch {
      dirs = [];
    }
    for (const dir of dirs) {
      const p = installedIn(join(npxDir, dir), name);
      if (p && matches(p)) found.push(p);
    }
  }
  const newest = found.sort((a, b) => b.mtime - a.mtime)[0];
  if (newest) return { package: strip(newest), note: integrityNote(newest) };
  return {
    package: null,
    note: `npx package ${spec} is not in node_modules nor in the npx cache (${npxDir}): run the server once so npx installs it, then snapshot again`,
  };
}

const strip = (p: PackageIdentity & { mtime: number }): PackageIdentity => ({
  name: p.name,
  version: p.version,
  integrity: p.integrity,
});

const integrityNote = (p: PackageIdentity) =>
  p.integrity ? null : `no integrity for ${p.name}@${p.version} in the local package-lock`;

const hashes = new Map<string, string>();

/** sha256 of a file, remembered per (path, size, mtime, inode): a 100 MB interpreter takes ~0.3 s. */
function fileSha256(path: string): string {
  const st = statSync(path);
  const key = `${path}\u0000${st.size}\u0000${st.mtimeMs}\u0000${st.ino}`;
  let sha = hashes.get(key);
  if (!sha) {
    sha = createHash('sha256').update(readFileSync(path)).digest('hex');
    hashes.set(key, sha);
  }
  return sha;
}

/**
 * Everything about a server except what it lists. `serverInfo` and the protocol version come
 * from its `initialize` answer (null when not connected).
 */
export function serverFactsOf(
  server: McpServerConfig,
  env: NodeJS.ProcessEnv,
  cwd: string,
  answered: {
    serverInfo: { name: string; version: string } | null;
    protocolVersion: string | null;
  },
  /** Hash the executable at this resolved path? (The gateway only needs it when the lock can compare it.) */
  hashExecutable: (path: string) => boolean = () => true,
): ServerFacts {
  const t = server.transport;
  let executable: ServerFacts['executable'] = null;
  let executableNote: string | null = null;
  if (t.type === 'stdio') {
    const found = findExecutable(t, env);
    if (!found) executableNote = `executable \`${t.command}\` was not found on PATH`;
    else {
      try {
        const path = realpathSync(found);
        if (hashExecutable(path)) executable = { path, sha256: fileSha256(path) };
        else executableNote = 'not hashed: the lock has no executable at this path to compare with';
      } catch (err) {
        executableNote = `cannot read ${found}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`;
      }
    }
  }
  const pkg = resolveNpxPackage(server, env, cwd);
  return {
    identity: identityOf(server),
    executable,
    executable_note: executableNote,
    package: pkg.package,
    package_note: pkg.note,
    server_info: answered.serverInfo,
    protocol_version: answered.protocolVersion,
  };
}
