import { existsSync, renameSync } from 'node:fs';
import { pinsByServer } from '../../requirements/executable-pin.js';
import type { SchemaChange } from '../../schema/diff-contract.js';
import { diffServerFacts, sortChanges } from '../../schema/diff-contract.js';
import type { HistoryEntry, Lockfile } from '../../schema/lockfile.js';
import { emptyLock } from '../../schema/lockfile.js';
import { readLockState } from '../../schema/lock-store.js';
import { changeToJson, describeCounts } from '../../schema/render-changes.js';
import { acceptItem, acceptServer } from '../../schema/update-lock.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import { renderTable } from '../format/table.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../world.js';
import {
  lockLocation,
  loadLockOrFail,
  osUser,
  printLockError,
  saveLock,
} from './schema-lock-io.js';
import { captureServers, loadWorldFor, selectServers } from './schema-capture.js';

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
