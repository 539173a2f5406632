import { spawn } from 'node:child_process';
import { constants as osConstants, userInfo } from 'node:os';
import type { StoredRecord } from '../../audit/chain.js';
import type { AuditEventBody } from '../../audit/event.js';
import { loadOrCreateAuditKeys } from '../../audit/keys.js';
import { describeAuditSpec, openAuditStore } from '../../audit/open-store.js';
import type { AuditStore } from '../../audit/store.js';
import { AuditWriter } from '../../audit/writer.js';
import { diffInventories } from '../../inventory/digest.js';
import type { InventoryChange } from '../../inventory/digest.js';
import type { EvidenceData, InventoryState, StoredStream } from '../../inventory/evidence.js';
import {
  EVIDENCE_SCHEMA_VERSION,
  maskCommand,
  maskEvidenceText,
  storeStream,
  summarize,
} from '../../inventory/evidence.js';
import { auditSpec } from '../audit-store.js';
import { onShutdown } from '../shutdown.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { loadWorld } from '../world.js';
import type { GlobalOptions } from '../world.js';
import { withStore } from './audit.js';
import type { InventoryOptions, TakenInventory } from './inventory.js';
import { takeInventory } from './inventory.js';

const EVIDENCE_TYPE = 'release.evidence';

function state(t: TakenInventory): InventoryState {
  return {
    sha256: t.sha256,
    plugins: t.inventory.plugins
      .filter((p) => p.installed)
      .map((p) => `${p.id}@${p.version ?? '?'}${p.enabled ? '' : ' (disabled)'}`),
    marketplaces: t.inventory.marketplaces.map((m) => m.name),
  };
}

function osUser(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}

interface Ran {
  exitCode: number | null;
  signal: string | null;
  spawnError: string | null;
  stdout: Buffer;
  stderr: Buffer;
}

interface Running {
  done: Promise<Ran>;
  /** What the command has written so far (for a record made when Gatehouse is interrupted). */
  partial(): Ran;
  kill(): void;
}

/** Runs the command, its output shown live (unless --json) and captured whole. */
function runCommand(argv: readonly string[], io: CliIo, echo: boolean): Running {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let spawnError: string | null = null;
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: io.cwd,
    env: io.env,
    stdio: ['inherit', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (d: Buffer) => {
    out.push(d);
    if (echo) io.stdout(d.toString('utf8'));
  });
  child.stderr.on('data', (d: Buffer) => {
    err.push(d);
    if (echo) io.stderr(d.toString('utf8'));
  });
  child.on('error', (e: NodeJS.ErrnoException) => {
    spawnError = e.code === 'ENOENT' ? `${argv[0]}: command not found` : `${argv[0]}: ${e.message}`;
  });
  const snapshot = (exitCode: number | null, signal: string | null): Ran => ({
    exitCode,
    signal,
    spawnError,
    stdout: Buffer.concat(out),
    stderr: Buffer.concat(err),
  });
  return {
    done: new Promise((resolve) =>
      child.on('close', (code, signal) => resolve(snapshot(code, signal))),
    ),
    partial: () => snapshot(null, 'interrupted'),
    kill: () => void child.kill('SIGTERM'),
  };
}

/** The record: masked command, both streams, the inventory before and (unless interrupted) after. */
function evidenceData(
  argv: readonly string[],
  cwd: string,
  startedAt: string,
  ran: Ran,
  before: TakenInventory,
  after: TakenInventory | null,
): EvidenceData {
  const changes: InventoryChange[] = after
    ? diffInventories(before.inventory, after.inventory)
    : [];
  const stdout: StoredStream = storeStream(ran.stdout);
  const stderr: StoredStream = storeStream(ran.stderr);
  const summary = ran.spawnError
    ? ran.spawnError
    : after
      ? summarize(stdout, ran.exitCode, changes)
      : 'interrupted: Gatehouse was stopped before the command finished; the inventory after was not taken';
  return {
    schema_version: EVIDENCE_SCHEMA_VERSION,
    command: maskCommand(argv),
    cwd,
    started_at: startedAt,
    finished_at: new Date().toISOString(),
    exit_code: ran.exitCode,
    signal: ran.signal,
    spawn_error: ran.spawnError ? maskEvidenceText(ran.spawnError) : null,
    stdout,
    stderr,
    summary: maskEvidenceText(summary),
    inventory: { before: state(before), after: after ? state(after) : null, changes },
    recorded_by: osUser(),
  };
}

function evidenceEvent(data: EvidenceData): AuditEventBody {
  return {
    type: EVIDENCE_TYPE,
    kind: 'command',
    subject: data.command.join(' ').slice(0, 200),
    data,
  };
}

/** The exit code of a command killed by a signal, as a shell reports it. */
function signalExit(signal: string | null): number {
  const n = signal
    ? (osConstants.signals as Record<string, number | undefined>)[signal]
    : undefined;
  return 128 + (n ?? 0);
}

function recordJson(r: StoredRecord): Record<string, unknown> {
  const event = JSON.parse(r.body) as { kind?: string; subject?: string; data?: EvidenceData };
  return {
    seq: r.seq,
    ts: r.ts,
    hash: r.hash,
    kind: event.kind,
    subject: event.subject,
    ...event.data,
  };
}

/**
 * `evidence record -- CMD…`: runs CMD and keeps what it did as a `release.evidence` audit
 * record, with the inventory hash before and after. The store is opened first, so nothing runs
 * whose evidence cannot be kept. Exits with the command's own exit code (like `time`).
 */
export async function runEvidenceRecord(
  global: GlobalOptions,
  argv: readonly string[],
  opts: InventoryOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  if (argv.length === 0) {
    io.stderr(
      'error: give the command to run after --, e.g. gatehouse evidence record -- codex plugin marketplace upgrade --json\n',
    );
    return ExitCode.usage;
  }
  const world = loadWorld(global, io, true);
  const spec = auditSpec(world, io, global.audit);
  let store: AuditStore;
  let writer: AuditWriter;
  try {
    const keys = loadOrCreateAuditKeys(world.gatehouseHome);
    store = await openAuditStore(spec, world.gatehouseHome);
    writer = new AuditWriter(store, { signingKey: keys.signing, checkpointEverySeconds: 0 });
  } catch (err) {
    io.stderr(
      `error: audit store ${describeAuditSpec(spec, world.gatehouseHome)}: ${err instanceof Error ? err.message : String(err)}\n  the command was NOT run: its evidence could not be kept\n`,
    );
    return ExitCode.auditUnavailable;
  }
  try {
    const quietOpts = { ...opts, json: true };
    const progress = (text: string | null) => {
      if (io.isTTY && !opts.json) io.stderr(text === null ? '\r\x1b[2K' : `\r\x1b[2K${text}`);
    };
    progress('gatehouse: taking the inventory before…');
    const before = await takeInventory(global, quietOpts, io, true);
    progress(null);
    const startedAt = new Date().toISOString();
    const running = runCommand(argv, io, !opts.json);
    let recorded = false;
    // Stopped by a signal: keep what the command printed so far, then stop it.
    const unhook = onShutdown(async () => {
      if (recorded) return;
      recorded = true;
      await writer.record(
        evidenceEvent(evidenceData(argv, io.cwd, startedAt, running.partial(), before, null)),
      );
      running.kill();
      await writer.close();
    });
    const ran = await running.done;
    if (recorded) return ExitCode.internal; // the signal handler recorded it and exits the process
    progress('gatehouse: taking the inventory after…');
    const after = await takeInventory(global, quietOpts, io, true);
    progress(null);
    if (recorded) return ExitCode.internal;
    recorded = true;
    unhook();
    const data = evidenceData(argv, io.cwd, startedAt, ran, before, after);
    const event = evidenceEvent(data);
    const record = await writer.record(event);
    await writer.checkpoint().catch(() => undefined);
    if (opts.json) io.stdout(`${JSON.stringify(recordJson(record), null, 2)}\n`);
    else
      io.stderr(
        `gatehouse: evidence #${record.seq} recorded in ${store.location}: ${data.summary}\n  inventory ${before.sha256.slice(0, 12)}… → ${after.sha256.slice(0, 12)}…  (gatehouse evidence show ${record.seq})\n`,
      );
    if (ran.spawnError) return 127 as ExitCodeValue;
    // The recorded command's own exit code passes through, as `time` and `nice` do.
    return (ran.exitCode ?? signalExit(ran.signal)) as ExitCodeValue;
  } catch (err) {
    io.stderr(
      `error: the evidence could not be written: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return ExitCode.auditUnavailable;
  } finally {
    await writer.close().catch(() => undefined);
    await store.close().catch(() => undefined);
  }
}

export function runEvidenceList(
  global: GlobalOptions,
  opts: { json?: boolean; limit?: string },
  io: CliIo,
): Promise<ExitCodeValue> {
  const limit = opts.limit === undefined ? undefined : Number(opts.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    io.stderr(`error: --limit ${opts.limit}: expected a whole number ≥ 1\n`);
    return Promise.resolve(ExitCode.usage);
  }
  return withStore(global, io, async (store) => {
    const found = await store.query({
      type: EVIDENCE_TYPE,
      ...(limit ? { limit, newestFirst: true } : {}),
    });
    if (limit) found.reverse();
    const rows = found.map(recordJson);
    if (opts.json) {
      io.stdout(
        `${JSON.stringify(
          rows.map((r) => ({
            seq: r.seq,
            ts: r.ts,
            hash: r.hash,
            kind: r.kind,
            command: r.command,
            exit_code: r.exit_code,
            summary: r.summary,
            inventory_before:
              (r.inventory as EvidenceData['inventory'] | undefined)?.before.sha256 ?? null,
            inventory_after:
              (r.inventory as EvidenceData['inventory'] | undefined)?.after?.sha256 ?? null,
          })),
          null,
          2,
        )}\n`,
      );
    } else if (rows.length === 0) io.stdout('no release evidence recorded\n');
    else {
      for (const r of rows)
        io.stdout(
          `#${String(r.seq)}  ${String(r.ts)}  exit ${r.exit_code === null ? '-' : String(r.exit_code)}  ${String(r.subject)}\n    ${String(r.summary)}\n`,
        );
    }
    return ExitCode.ok;
  });
}

function streamText(s: StoredStream | undefined): string {
  if (!s || s.format === 'empty') return '(empty)\n';
  const body = s.format === 'json' ? JSON.stringify(s.json, null, 2) : (s.text ?? '');
  return `${body}${body.endsWith('\n') ? '' : '\n'}${s.truncated ? `(truncated: ${s.bytes} bytes in all, sha256 ${s.sha256})\n` : ''}`;
}

export function runEvidenceShow(
  global: GlobalOptions,
  id: string,
  opts: { json?: boolean },
  io: CliIo,
): Promise<ExitCodeValue> {
  const seq = Number(id.replace(/^#/, ''));
  if (!Number.isInteger(seq) || seq < 1) {
    io.stderr(
      `error: ${id}: expected an evidence number as listed by \`gatehouse evidence list\`\n`,
    );
    return Promise.resolve(ExitCode.usage);
  }
  return withStore(global, io, async (store) => {
    const [record] = await store.query({ afterSeq: seq - 1, limit: 1 });
    if (!record || record.seq !== seq || record.columns.type !== EVIDENCE_TYPE) {
      io.stderr(`error: no release evidence #${seq}\n  hint: gatehouse evidence list\n`);
      return ExitCode.notFound;
    }
    const r = recordJson(record) as Record<string, unknown> & Partial<EvidenceData>;
    if (opts.json) {
      io.stdout(`${JSON.stringify(r, null, 2)}\n`);
      return ExitCode.ok;
    }
    const inv = r.inventory;
    const lines = [
      `evidence #${seq}  ${String(r.ts)}  record hash ${String(r.hash).slice(0, 16)}…`,
      `command:   ${(r.command ?? []).join(' ')}`,
      `cwd:       ${r.cwd ?? '?'}`,
      `ran:       ${r.started_at ?? '?'} → ${r.finished_at ?? '?'} by ${r.recorded_by ?? '?'}`,
      `exit:      ${r.spawn_error ?? (r.exit_code === null ? `signal ${r.signal ?? '?'}` : String(r.exit_code))}`,
      `summary:   ${r.summary ?? ''}`,
      `inventory: ${inv?.before.sha256 ?? '?'} (before)`,
      `           ${inv?.after ? inv.after.sha256 : 'not taken (interrupted)'} (after)`,
    ];
    for (const c of inv?.changes ?? []) {
      const fields = c.fields
        ? ` ${Object.entries(c.fields)
            .map(([k, [a, b]]) => `${k}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`)
            .join(', ')}`
        : '';
      lines.push(`  ${c.change} ${c.kind} ${c.id}${fields}`);
    }
    io.stdout(
      `${lines.join('\n')}\n\nstdout (${r.stdout?.kind ?? '?'}):\n${streamText(r.stdout)}\nstderr:\n${streamText(r.stderr)}`,
    );
    return ExitCode.ok;
  });
}
