import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { defaultGatehouseHome } from '../../config/load-config.js';
import {
  maskTomlForDisplay,
  parseTomlText,
  planCodexConnect,
  verifyCodexEdit,
} from '../../connect/codex-config.js';
import type {
  ParsedToml,
  PlanResult,
  ServerOutcome,
  TomlSyntaxError,
} from '../../connect/codex-config.js';
import {
  JSON_CLIENTS,
  maskJsonForDisplay,
  parseJsonText,
  planJsonConnect,
  verifyJsonEdit,
} from '../../connect/json-config.js';
import {
  ConcurrentEditError,
  readSnapshot,
  sha256,
  writeIfUnchanged,
} from '../../connect/config-files.js';
import type { FileSnapshot } from '../../connect/config-files.js';
import { latestRecord, readConnectState, saveConnectState } from '../../connect/connect-state.js';
import { unifiedDiff } from '../../connect/unified-diff.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../world.js';
import { codexHomeDir } from '../world.js';
import { removeCreatedFile, runConnectRemote } from './connect-remote.js';

export interface ConnectOptions {
  scope?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
  gatehouseCommand?: string;
  /** The team gateway's URL: the entry points there instead of at a local `gatehouse run`. */
  remote?: string;
  /** With --remote: the variable holding the bearer token (never the token). */
  tokenEnv?: string;
}

export interface DisconnectOptions {
  scope?: string;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
}

export const CONNECT_CLIENTS = ['codex', 'claude-code', 'cursor', 'vscode'] as const;
export type ConnectClient = (typeof CONNECT_CLIENTS)[number];

export function checkClient(client: string, io: CliIo): ConnectClient | null {
  if ((CONNECT_CLIENTS as readonly string[]).includes(client)) return client as ConnectClient;
  io.stderr(`gatehouse: unknown client '${client}' (supported: ${CONNECT_CLIENTS.join(', ')})\n`);
  return null;
}

/**
 * The executable a client is told to start. An absolute path, because a client started from a
 * desktop launcher often has a shorter PATH than the shell, and a PATH lookup could be shadowed
 * by another `gatehouse` earlier on it. The path of the running bin (not its real path, so an
 * npm upgrade behind the same bin link keeps working).
 */
export function defaultGatehouseCommand(argv1: string | undefined = process.argv[1]): string {
  if (argv1 && /^gatehouse(\.js)?$/.test(basename(argv1))) return resolve(argv1);
  return 'gatehouse';
}

/** The client's config file for a scope, or null when the client has none there. */
function clientFile(
  globals: GlobalOptions,
  client: ConnectClient,
  scope: string,
  io: CliIo,
): string | null {
  if (client === 'codex')
    return scope === 'project'
      ? join(io.cwd, '.codex', 'config.toml')
      : join(codexHomeDir(globals, io), 'config.toml');
  const spec = JSON_CLIENTS[client];
  if (scope === 'project') return join(io.cwd, spec.projectFile);
  return spec.userFile ? join(io.env.HOME ?? homedir(), spec.userFile) : null;
}

export function resolveFile(
  globals: GlobalOptions,
  client: ConnectClient,
  scope: string,
  io: CliIo,
): string | null {
  const file = clientFile(globals, client, scope, io);
  if (!file)
    io.stderr(
      `gatehouse: ${client} has no user-level file connect edits; use --scope project (${JSON_CLIENTS[client as 'vscode'].projectFile})\n`,
    );
  return file;
}

export function reportSyntax(e: TomlSyntaxError, io: CliIo): void {
  io.stderr(
    `gatehouse: ${e.file}:${e.line}:${e.column}: invalid TOML: ${e.message}\n` +
      `  nothing was changed; fix the syntax at that position and run the command again\n`,
  );
}

function parseOrReport(snap: FileSnapshot, io: CliIo): ParsedToml | null {
  const parsed = parseTomlText(snap.text, snap.file);
  if (parsed.ok) return parsed.doc;
  reportSyntax(parsed.error, io);
  return null;
}

export function checkScope(scope: string | undefined, io: CliIo): string | null {
  const s = scope ?? 'user';
  if (s === 'user' || s === 'project') return s;
  io.stderr(`gatehouse: --scope must be user or project, not '${s}'\n`);
  return null;
}

export function showDiff(before: FileSnapshot, after: string): string {
  const mask = before.file.endsWith('.json') ? maskJsonForDisplay : maskTomlForDisplay;
  return unifiedDiff(mask(before.text), mask(after), {
    from: before.exists ? before.file : '/dev/null',
    to: before.file,
  });
}

/** `gatehouse connect codex [SERVER…]`: route Codex's servers through `gatehouse run NAME`. */
export async function runConnect(
  globals: GlobalOptions,
  client: string,
  names: string[],
  opts: ConnectOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const id = checkClient(client, io);
  if (!id) return ExitCode.usage;
  const scope = checkScope(opts.scope, io);
  if (!scope) return ExitCode.usage;
  if (opts.remote !== undefined) return runConnectRemote(globals, id, scope, names, opts, io);
  if (opts.tokenEnv !== undefined) {
    io.stderr('gatehouse: --token-env goes with --remote URL\n');
    return ExitCode.usage;
  }
  const now = new Date();
  const home = resolve(io.cwd, defaultGatehouseHome(io.env));
  const gatehouseFile = join(home, 'config.toml');
  const file = resolveFile(globals, id, scope, io);
  if (!file) return ExitCode.usage;
  const codexSnap = readSnapshot(file);
  if (!codexSnap.exists) {
    io.stderr(
      `gatehouse: no ${id} config at ${file}\n  nothing to connect; add servers to ${id} first, or use --scope ${scope === 'user' ? 'project' : 'user'}\n`,
    );
    return ExitCode.notFound;
  }
  const gatehouseSnap = readSnapshot(gatehouseFile);
  const gatehouse = parseOrReport(gatehouseSnap, io);
  if (!gatehouse) return ExitCode.configInvalid;
  const command = opts.gatehouseCommand ?? defaultGatehouseCommand();
  const wrapper = { command, gatehouseHome: home };
  let plan: PlanResult;
  let verify: (text: string, connected: string[]) => boolean;
  if (id === 'codex') {
    const codex = parseOrReport(codexSnap, io);
    if (!codex) return ExitCode.configInvalid;
    plan = planCodexConnect({
      codex,
      codexFile: file,
      gatehouse,
      gatehouseFile,
      names,
      wrapper,
      now,
    });
    verify = (text, connected) => {
      const after = parseTomlText(text, file);
      return after.ok && verifyCodexEdit(codex.value, after.doc.value, connected);
    };
  } else {
    const spec = JSON_CLIENTS[id];
    const json = parseJsonText(codexSnap.text, file);
    if (!json.ok) {
      reportSyntax(json.error, io);
      return ExitCode.configInvalid;
    }
    plan = planJsonConnect({
      client: spec,
      json: json.doc,
      file,
      gatehouse,
      gatehouseFile,
      names,
      wrapper,
      now,
      parseToml: (t) => {
        const r = parseTomlText(t, gatehouseFile);
        return r.ok ? r.doc.value : null;
      },
    });
    verify = (text, connected) => {
      const after = parseJsonText(text, file);
      return after.ok && verifyJsonEdit(spec, json.doc.value, after.doc.value, connected);
    };
  }
  if (!plan.ok) {
    io.stderr(`gatehouse: ${plan.message}\n  ${plan.hint}\n  nothing was changed\n`);
    return plan.reason === 'not_found' ? ExitCode.notFound : ExitCode.connectRefused;
  }
  const connected = plan.servers.filter((s) => s.action === 'connect').map((s) => s.name);
  // The edit must mean exactly what was planned; otherwise it is a bug and nothing is written.
  const gatehouseAfter = parseTomlText(plan.gatehouseText, gatehouseFile);
  if (!gatehouseAfter.ok || !verify(plan.codexText, connected)) {
    io.stderr(
      `gatehouse: internal error: the planned edit of ${file} does not check out; nothing was changed\n  please report this with the file's structure (not its secrets)\n`,
    );
    return ExitCode.internal;
  }
  const changed = connected.length > 0;
  const diff = changed
    ? showDiff(gatehouseSnap, plan.gatehouseText) + showDiff(codexSnap, plan.codexText)
    : '';
  const result: Record<string, unknown> = {
    client,
    scope,
    file,
    gatehouse_config: gatehouseFile,
    command,
    dry_run: Boolean(opts.dryRun),
    changed: changed && !opts.dryRun,
    servers: plan.servers,
    diff,
    backup: null,
    gatehouse_backup: null,
  };
  if (!opts.json && diff) io.stdout(diff);
  if (!changed || opts.dryRun) {
    if (opts.json) io.stdout(JSON.stringify(result, null, 2) + '\n');
    else io.stdout(summary(plan.servers, opts.dryRun ? 'dry run: nothing was written' : null));
    return ExitCode.ok;
  }
  if (io.confirm && !opts.yes && !opts.json) {
    if (!(await io.confirm(`write these changes to ${file} and ${gatehouseFile}?`))) {
      io.stderr('gatehouse: nothing was changed\n');
      return ExitCode.ok;
    }
  }
  let gatehouseBackup: string | null;
  try {
    gatehouseBackup = writeIfUnchanged(gatehouseSnap, plan.gatehouseText, { backup: true, now });
  } catch (err) {
    return reportWriteError(err, io);
  }
  let backup: string | null;
  try {
    backup = writeIfUnchanged(codexSnap, plan.codexText, { backup: true, now });
  } catch (err) {
    // Put Gatehouse's config back as it was, so a refused connect changes nothing at all.
    const ours = readSnapshot(gatehouseFile);
    if (ours.text === plan.gatehouseText) {
      if (gatehouseSnap.exists) writeIfUnchanged(ours, gatehouseSnap.text, { backup: false, now });
      else unlinkSync(gatehouseFile);
    }
    if (gatehouseBackup) unlinkSync(gatehouseBackup);
    return reportWriteError(err, io);
  }
  saveConnectState(home, (records) => [
    ...records,
    {
      client,
      file,
      backup,
      written_sha256: sha256(plan.codexText),
      servers: connected,
      gatehouse_config: gatehouseFile,
      at: now.toISOString(),
    },
  ]);
  result.backup = backup;
  result.gatehouse_backup = gatehouseBackup;
  if (opts.json) io.stdout(JSON.stringify(result, null, 2) + '\n');
  else
    io.stdout(
      summary(plan.servers, null) +
        (backup ? `backup: ${backup}\n` : '') +
        (gatehouseBackup ? `backup: ${gatehouseBackup}\n` : '') +
        `undo: gatehouse disconnect ${client}${scope === 'project' ? ' --scope project' : ''}\n`,
    );
  return ExitCode.ok;
}

function summary(servers: readonly ServerOutcome[], note: string | null): string {
  const lines = servers.map((s) =>
    s.action === 'connect'
      ? `${s.name}: now runs through \`gatehouse run ${s.name}\``
      : `${s.name}: already connected (nothing to do)`,
  );
  if (!servers.length) lines.push('no servers to connect');
  if (note) lines.push(note);
  return lines.join('\n') + '\n';
}

export function reportWriteError(err: unknown, io: CliIo): ExitCodeValue {
  if (err instanceof ConcurrentEditError) {
    io.stderr(
      `gatehouse: ${err.file} changed while connect was running (another editor or tool wrote it)\n  nothing was changed; run the command again to see the new diff\n`,
    );
    return ExitCode.connectRefused;
  }
  const e = err as NodeJS.ErrnoException;
  io.stderr(`gatehouse: cannot write ${e.path ?? 'the config'}: ${e.code ?? e.message}\n`);
  return ExitCode.connectRefused;
}

/**
 * `gatehouse disconnect codex`: put back exactly the file connect backed up. Refuses when the
 * file was edited after connect (those edits would be lost) unless --force.
 */
export async function runDisconnect(
  globals: GlobalOptions,
  client: string,
  opts: DisconnectOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const id = checkClient(client, io);
  if (!id) return ExitCode.usage;
  const scope = checkScope(opts.scope, io);
  if (!scope) return ExitCode.usage;
  const now = new Date();
  const home = resolve(io.cwd, defaultGatehouseHome(io.env));
  const file = resolveFile(globals, id, scope, io);
  if (!file) return ExitCode.usage;
  const record = latestRecord(readConnectState(home), client, file);
  if (!record) {
    io.stderr(
      `gatehouse: no connect of ${client} into ${file} is recorded in ${join(home, 'connect-state.json')}\n  nothing was changed\n`,
    );
    return ExitCode.notFound;
  }
  if (record.backup === null && record.created) return removeCreatedFile(home, record, opts, io);
  if (!record.backup || !existsSync(record.backup)) {
    io.stderr(
      `gatehouse: the backup of ${file} (${record.backup ?? 'none was made'}) is gone\n` +
        `  nothing was changed; the moved definitions are in ${record.gatehouse_config}: copy them back by hand\n`,
    );
    return ExitCode.connectRefused;
  }
  const current = readSnapshot(file);
  if (current.sha256 !== record.written_sha256 && !opts.force) {
    io.stderr(
      `gatehouse: ${file} was edited after connect (${record.at}); restoring the backup would drop those edits\n` +
        `  nothing was changed; --force restores the backup anyway (the current file is kept as a backup)\n`,
    );
    return ExitCode.connectRefused;
  }
  const restored = readFileSync(record.backup, 'utf8');
  const diff = showDiff(current, restored);
  const result: Record<string, unknown> = {
    client,
    scope,
    file,
    restored_from: record.backup,
    servers: record.servers,
    dry_run: Boolean(opts.dryRun),
    changed: !opts.dryRun && current.text !== restored,
    diff,
    backup: null,
  };
  if (!opts.json && diff) io.stdout(diff);
  if (opts.dryRun) {
    if (opts.json) io.stdout(JSON.stringify(result, null, 2) + '\n');
    else io.stdout('dry run: nothing was written\n');
    return ExitCode.ok;
  }
  let backup: string | null;
  try {
    backup = writeIfUnchanged(current, restored, { backup: opts.force === true, now });
  } catch (err) {
    return reportWriteError(err, io);
  }
  saveConnectState(home, (records) =>
    records.filter(
      (r) => !(r.client === record.client && r.file === record.file && r.at === record.at),
    ),
  );
  result.backup = backup;
  if (opts.json) io.stdout(JSON.stringify(result, null, 2) + '\n');
  else
    io.stdout(
      `${file} restored from ${record.backup}\n` +
        (backup ? `the edited file was kept as ${backup}\n` : '') +
        (record.remote
          ? `the entry for the team gateway (${record.remote}) is gone\n`
          : `the server definitions stay in ${record.gatehouse_config} (unused now; remove them if you like)\n`),
    );
  return ExitCode.ok;
}

// `requirements export` lives beside its command group; re-exported for the program's imports.
export { runRequirementsExport } from './requirements-export.js';
export type { ExportOptions } from './requirements-export.js';
