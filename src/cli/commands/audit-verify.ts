import type { KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkpointHash, keyId } from '../../audit/checkpoint.js';
import { ExportFormatError, verifyExport } from '../../audit/export.js';
import { auditKeyDir, readOwnPublicKey, readPublicKeyFile } from '../../audit/keys.js';
import type { AuditStore } from '../../audit/store.js';
import type { Commitment, VerifyFinding, VerifyProblem, VerifyReport } from '../../audit/verify.js';
import type { StoreVerifyReport } from '../../audit/verify-store.js';
import { verifyStore } from '../../audit/verify-store.js';
import { printApprovalEvidence, verifyApprovalEvidence } from '../../audit/verify-approvals.js';
import { WitnessError, readWitness, witnessCommitments } from '../../audit/witness.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { defaultGatehouseHome } from '../../config/load-config.js';
import type { GlobalOptions } from '../world.js';
import { withStore } from './audit.js';

/** Trusted keys: this machine's own, plus every --public-key FILE. */
function trustedKeys(home: string, files: readonly string[], cwd: string): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  const own = readOwnPublicKey(home);
  if (own) keys.set(keyId(own), own);
  for (const file of files) {
    const key = readPublicKeyFile(resolve(cwd, file));
    keys.set(keyId(key), key);
  }
  return keys;
}

const VERIFIED_FILE = 'verified.json';

/**
 * What `audit verify` remembers of a store it verified (TOFU, like `rekor-cli loginfo`): its last
 * checkpoint, keyed by the store's id AND its location, so a copy of a store (same id, another
 * file) never stands in for the original — and a store whose id changed at a known location is
 * noticed, not forgotten.
 */
interface RememberedEntry {
  store_id: string;
  location: string;
  seq: number;
  hash: string;
  ts: string;
  index?: number;
  checkpoint_hash?: string;
  verified_at: string;
}

interface RememberedFile {
  version: 2;
  stores: RememberedEntry[];
}

function rememberedPath(home: string): string {
  return join(auditKeyDir(home), VERIFIED_FILE);
}

/** The remembered entries; entries of the old format (keyed by store id alone) are not used. */
function readRemembered(home: string): RememberedEntry[] {
  try {
    const data = JSON.parse(readFileSync(rememberedPath(home), 'utf8')) as Partial<RememberedFile>;
    return data.version === 2 && Array.isArray(data.stores) ? data.stores : [];
  } catch {
    return [];
  }
}

function writeRemembered(home: string, stores: RememberedEntry[]): void {
  mkdirSync(auditKeyDir(home), { recursive: true, mode: 0o700 });
  const data: RememberedFile = { version: 2, stores };
  writeFileSync(rememberedPath(home), `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
}

/** A store's location as remembered: an absolute path for SQLite, the (masked) URL otherwise. */
function locationKey(store: AuditStore, cwd: string): string {
  return store.kind === 'sqlite' ? resolve(cwd, store.location) : store.location;
}

type PrintedReport = VerifyReport & { notes?: string[] };

function printReport(io: CliIo, report: PrintedReport, source: string, json: boolean): void {
  if (json) {
    io.stdout(`${JSON.stringify({ source, ...report }, null, 2)}\n`);
    return;
  }
  const notes = [
    ...(report.format === 1
      ? [
          'legacy store (format 1), weaker guarantees: its checkpoints are not chained, so deleting checkpoints (and rewriting what only they covered) or the oldest records up to any checkpoint is not detected; start a new store (move this one away) to get format 2',
        ]
      : []),
    ...(report.notes ?? []),
  ].map((n) => `  note: ${n}\n`);
  if (report.ok) {
    const range =
      report.first_seq === null ? 'no records' : `records ${report.first_seq}..${report.last_seq}`;
    const findings = report.findings.map((f) => `  ${f.kind.toUpperCase()}: ${f.message}\n`);
    io.stdout(
      `audit trail ${report.complete ? 'OK' : 'INCOMPLETE'}: ${source}\n  ${range} (${report.records}), chain intact\n  ${report.checkpoints.verified} signed checkpoint(s) verified${report.checkpoints.last_seq !== null ? `, the last at record ${report.checkpoints.last_seq}` : ''}\n` +
        (report.pruned_before !== null
          ? `  records before ${report.pruned_before} were pruned behind a signed anchor\n`
          : '') +
        findings.join('') +
        notes.join(''),
    );
    return;
  }
  const p = report.problem ?? report.findings.find((f) => f.broken);
  io.stdout(
    `audit trail BROKEN: ${source}\n  ${p?.kind.toUpperCase()} at record ${p?.seq}: ${p?.message}\n  ${report.last_seq === null ? 'no record before it verified' : `the chain verifies through record ${report.last_seq}`}\n${notes.join('')}`,
  );
}

function exitFor(report: VerifyReport): ExitCodeValue {
  if (!report.ok) return ExitCode.auditBroken;
  return report.complete ? ExitCode.ok : ExitCode.auditIncomplete;
}

function brokenReport(store: AuditStore, problem: VerifyProblem): PrintedReport {
  return {
    ok: false,
    complete: false,
    format: store.chainFormat,
    findings: [],
    records: 0,
    first_seq: null,
    last_seq: null,
    checkpoints: { total: 0, verified: 0, last_seq: null },
    unanchored: 0,
    anchored_through: null,
    pruned_before: null,
    problem,
  };
}

export interface VerifyOptions {
  fromExport?: string;
  publicKey?: string[];
  json?: boolean;
  /** A witness JSONL file or loopback URL (`[gatehouse_audit] witness`). */
  witness?: string;
  /** Drop what this machine remembers of the store before verifying it. */
  forget?: boolean;
  /** Print what this machine remembers, and where, instead of verifying. */
  showRemembered?: boolean;
}

/** `--show-remembered`: what this machine remembers of verified stores, and where. */
function printRemembered(home: string, json: boolean, io: CliIo): ExitCodeValue {
  const entries = readRemembered(home);
  if (json)
    io.stdout(`${JSON.stringify({ file: rememberedPath(home), stores: entries }, null, 2)}\n`);
  else if (entries.length === 0) io.stdout(`nothing remembered (${rememberedPath(home)})\n`);
  else
    io.stdout(
      `remembered in ${rememberedPath(home)}:\n${entries
        .map(
          (e) =>
            `  ${e.location} (store ${e.store_id}): record ${e.seq} ${e.hash.slice(0, 16)}…${e.index !== undefined ? `, checkpoint ${e.index}` : ''}, verified ${e.verified_at}\n`,
        )
        .join('')}`,
    );
  return ExitCode.ok;
}

/** `--from-export FILE`: verify a JSONL export instead of the live store. */
async function verifyExportFile(
  file: string,
  keys: Map<string, KeyObject>,
  json: boolean,
  io: CliIo,
): Promise<ExitCodeValue> {
  try {
    const report = await verifyExport(file, keys);
    printReport(io, report, file, json);
    return exitFor(report);
  } catch (err) {
    io.stderr(
      `error: ${err instanceof ExportFormatError ? err.message : `${file}: ${(err as Error).message}`}\n`,
    );
    return err instanceof ExportFormatError ? ExitCode.auditBroken : ExitCode.usage;
  }
}

/** What this machine's memory says about the store: what it must still hold, and what changed. */
interface Memory {
  file: string;
  here: string;
  entries: RememberedEntry[];
  commitments: Commitment[];
  findings: VerifyFinding[];
  notes: string[];
  replaced: RememberedEntry | undefined;
}

function recall(store: AuditStore, home: string, cwd: string, forget: boolean): Memory {
  const file = rememberedPath(home);
  const here = locationKey(store, cwd);
  let entries = readRemembered(home);
  const notes: string[] = [];
  if (forget) {
    const before = entries.length;
    entries = entries.filter((e) => e.location !== here && e.store_id !== store.storeId);
    writeRemembered(home, entries);
    notes.push(
      `forgot ${before - entries.length} remembered verification(s) of this store (${file})`,
    );
  }
  const commitments: Commitment[] = [];
  const same = entries.find((e) => e.store_id === store.storeId && e.location === here);
  if (same)
    commitments.push({
      seq: same.seq,
      hash: same.hash,
      ts: same.ts,
      source: `this machine's verification of ${same.location} on ${same.verified_at} (remembered in ${file}; see --show-remembered, reset with --forget)`,
      ...(same.index !== undefined
        ? { index: same.index, checkpoint_hash: same.checkpoint_hash }
        : {}),
    });
  const findings: VerifyFinding[] = [];
  const replaced = entries.find((e) => e.location === here && e.store_id !== store.storeId);
  if (replaced)
    findings.push({
      kind: 'store_replaced',
      seq: null,
      message: `this machine verified store ${replaced.store_id} at this location on ${replaced.verified_at} (remembered in ${file}), but this is store ${store.storeId}: if it was not replaced on purpose, the store's id was changed to escape that memory; after checking, reset with --forget`,
    });
  for (const e of entries)
    if (e.store_id === store.storeId && e.location !== here)
      notes.push(
        `a copy of this store at ${e.location} was verified on ${e.verified_at}; copies are remembered apart and not compared`,
      );
  return { file, here, entries, commitments, findings, notes, replaced };
}

/** Remember what was verified, so a later rewrite or truncation of it is caught (TOFU). */
function remember(
  home: string,
  store: AuditStore,
  memory: Memory,
  cp: StoreVerifyReport['checkpoint'],
) {
  if (!cp) return;
  const entry: RememberedEntry = {
    store_id: store.storeId,
    location: memory.here,
    seq: cp.seq,
    hash: cp.hash,
    ts: cp.ts,
    ...(cp.index !== undefined
      ? { index: cp.index, checkpoint_hash: checkpointHash(store.storeId, cp) }
      : {}),
    verified_at: new Date().toISOString(),
  };
  try {
    writeRemembered(home, [
      ...memory.entries.filter(
        (e) => !(e.store_id === store.storeId && e.location === memory.here),
      ),
      entry,
    ]);
  } catch {
    // Remembering is a convenience; verification itself succeeded.
  }
}

/** The live store: the chain, the checkpoints, what this machine and a witness remember. */
async function verifyLiveStore(
  store: AuditStore,
  keys: Map<string, KeyObject>,
  opts: VerifyOptions,
  home: string,
  io: CliIo,
): Promise<ExitCodeValue> {
  const memory = recall(store, home, io.cwd, Boolean(opts.forget));
  const { commitments, findings, notes } = memory;
  if (opts.witness) {
    const source = /^https?:\/\//i.test(opts.witness)
      ? opts.witness
      : resolve(io.cwd, opts.witness);
    const witnessed = witnessCommitments(await readWitness(source), opts.witness, {
      store,
      keys,
      sameLocation: (l) => l === store.location || locationKey(store, io.cwd) === l,
    });
    if (witnessed.problem) {
      printReport(io, brokenReport(store, witnessed.problem), store.location, Boolean(opts.json));
      return ExitCode.auditBroken;
    }
    commitments.push(...witnessed.commitments);
  }
  const progress = io.isTTY && !opts.json;
  const verified = await verifyStore(store, keys, commitments, (n) => {
    if (progress) io.stderr(`\rverified ${n} records…`);
  });
  if (progress) io.stderr('\r\x1b[2K');
  const report: PrintedReport & StoreVerifyReport = {
    ...verified,
    findings: [...verified.findings, ...findings],
    complete: verified.complete && findings.length === 0,
    notes,
  };
  // Approval evidence: every approval.used must rest on a valid signed approval.granted.
  const approvals = await verifyApprovalEvidence(store.records(), report.pruned_before);
  if (approvals.problems.length > 0) report.ok = false;
  printReport(
    io,
    opts.json ? Object.assign({}, report, { approval_evidence: approvals }) : report,
    store.location,
    Boolean(opts.json),
  );
  if (!opts.json) printApprovalEvidence(io, approvals);
  if (report.ok && !memory.replaced) remember(home, store, memory, report.checkpoint);
  return exitFor(report);
}

export async function runAuditVerify(
  global: GlobalOptions,
  opts: VerifyOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const home = defaultGatehouseHome(io.env);
  if (opts.showRemembered) return printRemembered(home, Boolean(opts.json), io);
  let keys: Map<string, KeyObject>;
  try {
    keys = trustedKeys(home, opts.publicKey ?? [], io.cwd);
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n`);
    return ExitCode.usage;
  }
  if (opts.fromExport)
    return verifyExportFile(resolve(io.cwd, opts.fromExport), keys, Boolean(opts.json), io);
  return withStore(
    global,
    io,
    (store) => verifyLiveStore(store, keys, opts, home, io),
    (err) => {
      if (err instanceof WitnessError) return ExitCode.usage;
      return null;
    },
  );
}
