// `schema diff`: live servers against the lock, or two lock files.
import { readFileSync } from 'node:fs';
import { pinsByServer } from '../../requirements/executable-pin.js';
import { resolve } from 'node:path';
import { renderDiagnostic } from '../../diagnostics/diagnostic.js';
import type { SchemaChange } from '../../schema/diff-contract.js';
import { diffLocks, diffServer, sortChanges } from '../../schema/diff-contract.js';
import type { LockState } from '../../schema/enforce.js';
import type { Lockfile } from '../../schema/lockfile.js';
import { emptyLock, parseLock } from '../../schema/lockfile.js';
import { readLockState } from '../../schema/lock-store.js';
import { changeToJson, countByClass, renderMarkdown } from '../../schema/render-changes.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../world.js';
import { lockLocation, printLockError } from './schema-lock-io.js';
import { captureServers, loadWorldFor, selectServers } from './schema-capture.js';

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
