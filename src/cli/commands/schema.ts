import { existsSync, readFileSync, renameSync } from 'node:fs';
import type { ExecutablePin } from '../../requirements/executable-pin.js';
import { pinsByServer } from '../../requirements/executable-pin.js';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { McpServerConfig } from '../../config/mcp-server.js';
import { renderDiagnostic } from '../../diagnostics/diagnostic.js';
import type { ProbeResult } from '../../gateway/probe.js';
import type { SchemaChange } from '../../schema/diff-contract.js';
import { diffLocks, diffServer, diffServerFacts, sortChanges } from '../../schema/diff-contract.js';
import type { LockState } from '../../schema/enforce.js';
import type { HistoryEntry, Lockfile, LockedServer } from '../../schema/lockfile.js';
import { emptyLock, parseLock } from '../../schema/lockfile.js';
import type { LockLocation } from '../../schema/lock-store.js';
import { locateLock, readLockState, writeLock } from '../../schema/lock-store.js';
import {
  changeToJson,
  countByClass,
  describeCounts,
  renderMarkdown,
} from '../../schema/render-changes.js';
import { acceptItem, acceptServer } from '../../schema/update-lock.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import { renderTable } from '../format/table.js';
import type { CliIo } from '../io.js';
import { configFailure, reportLoadProblems } from '../report.js';
import type { GlobalOptions, World } from '../world.js';
import { loadWorld } from '../world.js';

/** Who accepts a change: the OS user running the command (never a name given on the command line). */
function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

function lockLocation(world: World, global: GlobalOptions, io: CliIo): LockLocation {
  const location = locateLock(world.requirements.requirements.schema, global.lock, io.env, io.cwd);
  if (location.overridden)
    io.stderr(
      `warning: the requirements fix the schema lock to ${location.file} (${location.origin}); --lock ${location.overridden} is ignored\n`,
    );
  return location;
}

/** A lock problem on stderr, as an error line (rendered diagnostics already start with one). */
function printLockError(io: CliIo, message: string): void {
  io.stderr(`${message.startsWith('error:') ? '' : 'error: '}${message}\n`);
}

/** The lock to update or compare against; a broken lock stops the command (exit 14). */
function loadLockOrFail(
  location: LockLocation,
  io: CliIo,
): { lock: Lockfile; existed: boolean } | null {
  const state = readLockState({ ...location, configured: false });
  if (state.status === 'error') {
    printLockError(io, state.message);
    io.stderr(
      `gatehouse: the schema lock ${location.file} is unreadable or invalid; nothing was changed\n`,
    );
    return null;
  }
  return state.status === 'loaded'
    ? { lock: state.lock, existed: true }
    : { lock: emptyLock(), existed: false };
}

/** Writes the lock; a file that cannot be written is reported (exit 14), never a stack trace. */
function saveLock(file: string, lock: Lockfile, io: CliIo): boolean {
  try {
    writeLock(file, lock);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    io.stderr(
      `error: cannot write the schema lock ${file} (${code}): check the directory exists and is writable, or pass --lock FILE\n`,
    );
    return false;
  }
}

interface Captured {
  servers: Map<string, LockedServer>;
  failures: { server: string; detail: string }[];
  notes: string[];
}

/** Starts each server (as `mcp list --probe` does) and reads its whole contract. */
async function captureServers(
  servers: readonly McpServerConfig[],
  io: CliIo,
  quiet: boolean,
  pins: ReadonlyMap<string, ExecutablePin>,
): Promise<Captured> {
  const out: Captured = { servers: new Map(), failures: [], notes: [] };
  if (servers.length === 0) return out;
  // Loaded only when probing: the MCP SDK client is most of the CLI's start-up cost.
  const { probeServers } = await import('../../gateway/probe.js');
  const { captureContract, negotiatedProtocolVersion } = await import('../../schema/capture.js');
  const { serverFactsOf } = await import('../../schema/server-facts.js');
  const progress = io.isTTY && !quiet;
  if (progress) io.stderr(`reading ${servers.length} server(s)…`);
  const probes: Map<string, ProbeResult> = await probeServers(servers, {
    env: io.env,
    pins,
    inspect: async (server, upstream, remainingMs) => {
      const facts = serverFactsOf(server, io.env, io.cwd, {
        serverInfo: { name: upstream.serverInfo.name, version: upstream.serverInfo.version },
        protocolVersion: negotiatedProtocolVersion(upstream),
      });
      const captured = await captureContract(upstream, facts, remainingMs);
      out.servers.set(server.name, captured.server);
      for (const p of captured.problems) out.notes.push(`${server.name}: ${p}`);
      if (facts.executable_note)
        out.notes.push(`${server.name}: executable not hashed: ${facts.executable_note}`);
      if (facts.package_note) out.notes.push(`${server.name}: ${facts.package_note}`);
    },
    onSettled: (server, r, done) => {
      if (progress)
        io.stderr(`\r\x1b[2Kreading ${done}/${servers.length}: ${server.name} ${r.state}`);
    },
  });
  if (progress) io.stderr('\r\x1b[2K');
  for (const server of servers) {
    const probe = probes.get(server.name);
    if (!out.servers.has(server.name))
      out.failures.push({
        server: server.name,
        detail: probe ? `${probe.state}: ${probe.detail}` : 'not probed',
      });
  }
  return out;
}

/** Enabled servers by name; unknown names exit 6, disabled ones are reported and skipped. */
function selectServers(
  world: World,
  names: readonly string[],
  io: CliIo,
): { servers: McpServerConfig[]; code: ExitCodeValue } {
  if (names.length === 0)
    return {
      servers: world.decisions.filter((d) => d.enabled).map((d) => d.server),
      code: ExitCode.ok,
    };
  const servers: McpServerConfig[] = [];
  let code: ExitCodeValue = ExitCode.ok;
  for (const name of names) {
    const d = world.decisions.find((x) => x.server.name === name);
    if (!d) {
      const known = world.decisions.map((x) => x.server.name).join(', ') || 'none';
      io.stderr(`error: no MCP server named '${name}' (configured: ${known})\n`);
      return { servers: [], code: ExitCode.notFound };
    }
    if (!d.enabled) {
      io.stderr(`error: server '${name}' is disabled: ${d.disabledReason?.detail ?? 'disabled'}\n`);
      code = ExitCode.serverUnavailable;
      continue;
    }
    servers.push(d.server);
  }
  return { servers, code };
}

function loadWorldFor(global: GlobalOptions, io: CliIo): World | ExitCodeValue {
  const world = loadWorld(global, io);
  const failed = configFailure(io, world);
  if (failed !== null) return failed;
  reportLoadProblems(io, world);
  return world;
}

export interface SnapshotOptions {
  json?: boolean;
  replace?: boolean;
}

/** `gatehouse schema snapshot [SERVER…]`: probe servers and write what they offer into the lock. */
export async function runSchemaSnapshot(
  global: GlobalOptions,
  names: string[],
  opts: SnapshotOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const world = loadWorldFor(global, io);
  if (typeof world === 'number') return world;
  const location = lockLocation(world, global, io);
  let base: { lock: Lockfile; existed: boolean } | null;
  if (opts.replace && existsSync(location.file) && readLockState(location).status === 'error') {
    renameSync(location.file, `${location.file}.bak`);
    io.stderr(`note: the unreadable lock was moved to ${location.file}.bak\n`);
    base = { lock: emptyLock(), existed: false };
  } else base = loadLockOrFail(location, io);
  if (!base) return ExitCode.schemaLockInvalid;
  const selected = selectServers(world, names, io);
  if (selected.code === ExitCode.notFound) return selected.code;
  const captured = await captureServers(
    selected.servers,
    io,
    Boolean(opts.json),
    pinsByServer(world.decisions),
  );
  const approval = { by: osUser(), at: new Date().toISOString() };
  let lock = base.lock;
  const results: {
    server: string;
    status: string;
    changes: SchemaChange[];
    counts: Record<string, number>;
  }[] = [];
  for (const server of selected.servers) {
    const live = captured.servers.get(server.name);
    if (!live) continue;
    const had = Boolean(lock.servers[server.name]);
    const accepted = acceptServer(lock, server.name, live, approval);
    lock = accepted.lock;
    results.push({
      server: server.name,
      status: !had ? 'added' : accepted.changes.length > 0 ? 'changed' : 'unchanged',
      changes: sortChanges(accepted.changes),
      counts: {
        tools: Object.keys(live.tools).length,
        prompts: Object.keys(live.prompts).length,
        resource_templates: Object.keys(live.resource_templates).length,
      },
    });
  }
  const wrote =
    results.some((r) => r.status !== 'unchanged') || (!base.existed && results.length > 0);
  if (wrote && !saveLock(location.file, lock, io)) return ExitCode.schemaLockInvalid;
  const code =
    captured.failures.length > 0 || selected.code !== ExitCode.ok
      ? ExitCode.serverUnavailable
      : ExitCode.ok;
  if (opts.json) {
    io.stdout(
      `${JSON.stringify(
        {
          lock: location.file,
          written: wrote,
          by: approval.by,
          at: approval.at,
          servers: [
            ...results.map((r) => ({
              name: r.server,
              status: r.status,
              ...r.counts,
              changes: r.changes.map(changeToJson),
              detail: null,
            })),
            ...captured.failures.map((f) => ({
              name: f.server,
              status: 'failed',
              detail: f.detail,
            })),
          ],
          notes: captured.notes,
        },
        null,
        2,
      )}\n`,
    );
    return code;
  }
  for (const r of results) {
    const what = `${r.counts.tools} tools, ${r.counts.prompts} prompts, ${r.counts.resource_templates} resource templates`;
    io.stdout(
      `${r.server}: ${r.status === 'added' ? 'locked' : r.status === 'changed' ? `updated (${describeCounts(r.changes)})` : 'unchanged'} — ${what}\n`,
    );
    if (r.status === 'changed')
      for (const c of r.changes) io.stdout(`  ${c.class}: ${c.summary}\n`);
  }
  for (const f of captured.failures) io.stdout(`${f.server}: not locked — ${f.detail}\n`);
  for (const n of captured.notes) io.stderr(`note: ${n}\n`);
  if (results.length === 0 && captured.failures.length === 0)
    io.stdout('No enabled servers to snapshot.\n');
  io.stdout(
    wrote ? `wrote ${location.file} (as ${approval.by})\n` : `${location.file} is up to date\n`,
  );
  return code;
}

export interface DiffOptions {
  format?: string;
  json?: boolean;
  against?: string;
}

function readLockFile(file: string, io: CliIo): Lockfile | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    io.stderr(
      `error: cannot read schema lock ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'error')}\n`,
    );
    return null;
  }
  const parsed = parseLock(text, file);
  if (parsed.ok) return parsed.lock;
  io.stderr(`${renderDiagnostic(parsed.error.diagnostic)}\n`);
  return null;
}

/**
 * `gatehouse schema diff`: live servers against the lock (or `--against FILE`), or two lock files.
 * Exit 13 when a breaking or risky change is found, so CI can fail on it.
 */
export async function runSchemaDiff(
  global: GlobalOptions,
  files: string[],
  opts: DiffOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const format = opts.json ? 'json' : (opts.format ?? 'md');
  if (format !== 'md' && format !== 'json') {
    io.stderr(`error: --format ${format}: expected md or json\n`);
    return ExitCode.usage;
  }
  // Arguments are either two lock files (BEFORE AFTER) or server names (no path, no `.json`).
  const isFile = (a: string) => a.endsWith('.json') || a.includes('/') || a.includes('\\');
  const fileArgs = files.filter(isFile);
  if (fileArgs.length > 0 && (fileArgs.length !== 2 || files.length !== 2)) {
    io.stderr(
      'error: give two lock files (BEFORE AFTER), or server names (or nothing) to compare live servers with the lock\n',
    );
    return ExitCode.usage;
  }
  const serverNames = fileArgs.length === 0 ? files : [];
  let changes: SchemaChange[];
  let failures: { server: string; detail: string }[] = [];
  let notes: string[] = [];
  let compared: { before: string; after: string };
  let namedServerDisabled = false;
  if (fileArgs.length === 2) {
    const [a, b] = files.map((f) => resolve(io.cwd, f)) as [string, string];
    const before = readLockFile(a, io);
    const after = readLockFile(b, io);
    if (!before || !after) return ExitCode.schemaLockInvalid;
    changes = diffLocks(before, after);
    compared = { before: a, after: b };
  } else {
    const world = loadWorldFor(global, io);
    if (typeof world === 'number') return world;
    const location = opts.against
      ? {
          file: resolve(io.cwd, opts.against),
          configured: true,
          origin: '--against',
          overridden: null,
        }
      : lockLocation(world, global, io);
    const state: LockState = readLockState(location);
    if (state.status === 'error') {
      printLockError(io, state.message);
      return ExitCode.schemaLockInvalid;
    }
    const before = state.status === 'loaded' ? state.lock : emptyLock();
    if (state.status === 'absent')
      notes.push(`no schema lock at ${location.file}: every server is new`);
    const selected = selectServers(world, serverNames, io);
    if (selected.code === ExitCode.notFound) return selected.code;
    namedServerDisabled = selected.code !== ExitCode.ok;
    const enabled = selected.servers;
    const captured = await captureServers(
      enabled,
      io,
      format === 'json',
      pinsByServer(world.decisions),
    );
    failures = captured.failures;
    notes = [...notes, ...captured.notes];
    changes = [];
    const configured = new Set(world.decisions.map((d) => d.server.name));
    for (const server of enabled) {
      const live = captured.servers.get(server.name);
      if (live) changes.push(...diffServer(server.name, before.servers[server.name] ?? null, live));
    }
    for (const name of Object.keys(before.servers)) {
      if (serverNames.length > 0 && !serverNames.includes(name)) continue;
      if (!configured.has(name))
        changes.push(...diffServer(name, before.servers[name] ?? null, null));
      else if (!enabled.some((s) => s.name === name))
        notes.push(`${name}: in the lock but disabled here, not compared`);
    }
    for (const f of failures) notes.push(`${f.server}: could not be compared — ${f.detail}`);
    changes = sortChanges(changes);
    compared = { before: location.file, after: 'live servers' };
  }
  const counts = countByClass(changes);
  if (format === 'json') {
    io.stdout(
      `${JSON.stringify(
        {
          before: compared.before,
          after: compared.after,
          counts,
          changes: changes.map(changeToJson),
          failures,
          notes,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    io.stdout(renderMarkdown(changes, { notes }));
  }
  // Drift found on the servers that answered outranks the ones that did not: a CI gate must
  // see "breaking change" even when another server happens to be down (both are printed).
  if (counts.breaking + counts.risky > 0) return ExitCode.schemaDrift;
  return failures.length > 0 || namedServerDisabled ? ExitCode.serverUnavailable : ExitCode.ok;
}

/** `SERVER` or `SERVER/TOOL` (a server name cannot contain `/`; a tool name may). */
function parseTarget(target: string): { server: string; tool: string | null } {
  const slash = target.indexOf('/');
  return slash < 0
    ? { server: target, tool: null }
    : { server: target.slice(0, slash), tool: target.slice(slash + 1) || null };
}

/** `gatehouse schema approve SERVER[/TOOL]`: accept the live version into the lock, as this OS user. */
export async function runSchemaApprove(
  global: GlobalOptions,
  target: string,
  opts: { json?: boolean; yes?: boolean },
  io: CliIo,
): Promise<ExitCodeValue> {
  const world = loadWorldFor(global, io);
  if (typeof world === 'number') return world;
  const { server, tool } = parseTarget(target);
  const location = lockLocation(world, global, io);
  const base = loadLockOrFail(location, io);
  if (!base) return ExitCode.schemaLockInvalid;
  const selected = selectServers(world, [server], io);
  if (selected.code !== ExitCode.ok) return selected.code;
  const captured = await captureServers(
    selected.servers,
    io,
    Boolean(opts.json),
    pinsByServer(world.decisions),
  );
  const live = captured.servers.get(server);
  if (!live) {
    io.stderr(
      `error: server '${server}' could not be read, nothing was approved: ${captured.failures[0]?.detail ?? 'unknown'}\n`,
    );
    return ExitCode.serverUnavailable;
  }
  if (tool !== null && !live.tools[tool] && !base.lock.servers[server]?.tools[tool]) {
    const offered = Object.keys(live.tools).join(', ') || 'none';
    io.stderr(`error: server '${server}' has no tool '${tool}' (it offers: ${offered})\n`);
    return ExitCode.notFound;
  }
  const approval = { by: osUser(), at: new Date().toISOString() };
  const accepted =
    tool === null
      ? acceptServer(base.lock, server, live, approval)
      : acceptItem(base.lock, server, 'tool', tool, live, approval);
  const changes = sortChanges(accepted.changes);
  const fresh = !base.lock.servers[server];
  const name = tool === null ? server : `${server}/${tool}`;
  // A person at a terminal sees exactly what they accept before the lock changes (CI: --yes).
  if ((changes.length > 0 || fresh) && !opts.yes && io.confirm) {
    io.stderr(
      `${fresh ? `${server} is not in the lock yet: every tool it offers will be locked.\n` : ''}${changes.map((c) => `  ${c.class}: ${c.summary}\n`).join('')}`,
    );
    if (!(await io.confirm(`Accept ${name} into ${location.file} as ${approval.by}?`))) {
      io.stderr('nothing was approved; the lock is unchanged\n');
      return ExitCode.approvalRefused;
    }
  }
  if ((changes.length > 0 || fresh) && !saveLock(location.file, accepted.lock, io))
    return ExitCode.schemaLockInvalid;
  // A tool approved while the server itself changed stays blocked: say so.
  const locked = base.lock.servers[server];
  const serverChanges = tool !== null && locked ? diffServerFacts(server, locked, live) : [];
  if (opts.json) {
    io.stdout(
      `${JSON.stringify(
        {
          lock: location.file,
          target: tool === null ? server : `${server}/${tool}`,
          approved: changes.length > 0 || fresh,
          by: approval.by,
          at: approval.at,
          changes: changes.map(changeToJson),
          server_changes_not_approved: serverChanges.map(changeToJson),
        },
        null,
        2,
      )}\n`,
    );
    return ExitCode.ok;
  }
  const serverNote = () => {
    if (serverChanges.length === 0) return;
    io.stdout(
      `note: the server itself changed too, so its tools stay blocked until you run \`gatehouse schema approve ${server}\`:\n`,
    );
    for (const c of serverChanges) io.stdout(`  ${c.class}: ${c.summary}\n`);
  };
  if (changes.length === 0 && !fresh) {
    io.stdout(`${name} already matches ${location.file}: nothing to approve\n`);
    serverNote();
    return ExitCode.ok;
  }
  io.stdout(`approved ${name} as ${approval.by} at ${approval.at} (${describeCounts(changes)}):\n`);
  for (const c of changes) io.stdout(`  ${c.class}: ${c.summary}\n`);
  io.stdout(`wrote ${location.file}\n`);
  serverNote();
  return ExitCode.ok;
}

function historyJson(server: string, h: HistoryEntry): Record<string, unknown> {
  return {
    server,
    kind: h.kind,
    name: h.name,
    change: h.change,
    sha256: h.sha256,
    summary: h.summary,
    by: h.by,
    at: h.at,
  };
}

/** `gatehouse schema log [SERVER[/TOOL]]`: every accepted version, oldest first. */
export function runSchemaLog(
  global: GlobalOptions,
  target: string | undefined,
  opts: { json?: boolean },
  io: CliIo,
): ExitCodeValue {
  const world = loadWorldFor(global, io);
  if (typeof world === 'number') return world;
  const location = lockLocation(world, global, io);
  // Reading history: a lock that does not exist yet (configured or not) has none to show.
  const state = readLockState({ ...location, configured: false });
  if (state.status === 'error') {
    printLockError(io, state.message);
    return ExitCode.schemaLockInvalid;
  }
  if (state.status === 'absent') {
    io.stderr(
      `error: no schema lock at ${location.file}; create one with \`gatehouse schema snapshot\`\n`,
    );
    // Absent is not invalid: nothing to read here (6), as for an unknown server.
    return ExitCode.notFound;
  }
  const want = target ? parseTarget(target) : null;
  if (want && !state.lock.servers[want.server]) {
    io.stderr(`error: server '${want.server}' is not in ${location.file}\n`);
    return ExitCode.notFound;
  }
  const rows = Object.entries(state.lock.servers)
    .filter(([name]) => !want || name === want.server)
    .flatMap(([name, s]) =>
      s.history
        .filter((h) => !want?.tool || (h.kind !== 'server' && h.name === want.tool))
        .map((h) => ({ server: name, h })),
    );
  if (want?.tool && rows.length === 0) {
    io.stderr(`error: no history for '${want.server}/${want.tool}' in ${location.file}\n`);
    return ExitCode.notFound;
  }
  if (opts.json) {
    io.stdout(
      `${JSON.stringify(
        rows.map((r) => historyJson(r.server, r.h)),
        null,
        2,
      )}\n`,
    );
    return ExitCode.ok;
  }
  if (rows.length === 0) {
    io.stdout(`No history in ${location.file} yet.\n`);
    return ExitCode.ok;
  }
  io.stdout(
    renderTable(
      ['At', 'By', 'Item', 'Change', 'Sha256', 'Summary'],
      rows.map(({ server, h }) => [
        h.at,
        h.by,
        h.kind === 'server'
          ? server
          : `${server}/${h.name}${h.kind === 'tool' ? '' : ` (${h.kind})`}`,
        h.change,
        h.sha256 ? `${h.sha256.slice(0, 12)}` : '-',
        h.summary,
      ]),
    ),
  );
  return ExitCode.ok;
}
