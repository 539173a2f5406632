import { createHash } from 'node:crypto';
import { maskSecrets } from '../masking/detect.js';
import { MASK, isSecretName, maskArgs, maskJsonValue, maskText } from '../masking/mask-text.js';
import type { InventoryChange } from './digest.js';

/**
 * Release evidence: what a command (typically `codex plugin marketplace upgrade --json` or
 * `codex plugin add X --json`) printed and how it ended, with the inventory before and after.
 * Pure: the CLI runs the command and stores the result as a `release.evidence` audit event.
 * Nothing is dropped — known JSON is kept field for field, anything else verbatim — and
 * nothing is stored unmasked.
 */
export const EVIDENCE_SCHEMA_VERSION = 1;

/** The largest part of one stream stored; the rest is counted and hashed, never silently lost. */
export const MAX_STORED_BYTES = 1024 * 1024;

export type OutputKind =
  | 'codex.marketplace.upgrade'
  | 'codex.marketplace.add'
  | 'codex.plugin.add'
  | 'codex.plugin.remove'
  | 'codex.plugin.list'
  | 'codex.marketplace.list'
  | 'json'
  | 'text'
  | 'empty';

export interface StoredStream {
  /** `json`: `json` holds the parsed document; `text`: `text` holds it verbatim (masked). */
  format: 'json' | 'text' | 'empty';
  kind: OutputKind;
  json?: unknown;
  text?: string;
  bytes: number;
  /** sha256 of the exact bytes the command wrote. */
  sha256: string;
  truncated: boolean;
}

export interface InventoryState {
  sha256: string;
  plugins: string[];
  marketplaces: string[];
}

export interface EvidenceData {
  schema_version: number;
  command: string[];
  cwd: string;
  started_at: string;
  finished_at: string;
  exit_code: number | null;
  signal: string | null;
  /** Set when the command could not be started (not found, not executable). */
  spawn_error: string | null;
  stdout: StoredStream;
  stderr: StoredStream;
  summary: string;
  /** `after` is null when Gatehouse was interrupted before the command finished. */
  inventory: { before: InventoryState; after: InventoryState | null; changes: InventoryChange[] };
  recorded_by: string | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: Obj, ...keys: string[]) => keys.every((k) => k in o);

/** Which Codex output a JSON document is, by its fields (codex-cli 0.169 shapes). */
export function classifyJson(value: unknown): OutputKind {
  if (!isObj(value)) return 'json';
  if (has(value, 'selectedMarketplaces') || has(value, 'upgradedRoots'))
    return 'codex.marketplace.upgrade';
  if (has(value, 'marketplaceName', 'installedRoot')) return 'codex.marketplace.add';
  if (has(value, 'pluginId', 'installedPath')) return 'codex.plugin.add';
  if (has(value, 'installed') && has(value, 'available')) return 'codex.plugin.list';
  if (Array.isArray(value.marketplaces)) return 'codex.marketplace.list';
  if (has(value, 'pluginId', 'marketplaceName') && !has(value, 'installed'))
    return 'codex.plugin.remove';
  return 'json';
}

/** Codex fields whose names look secret-bearing to the generic masker but hold no secret. */
const CODEX_FIELDS = new Set(['appsNeedingAuth', 'authPolicy']);

/**
 * Masks a JSON document for storage, keeping every field and Codex's named fields intact: values
 * under secret-named keys entirely; every other string (and every key) through the secret AND
 * personal-data detectors, at every depth, as text output is.
 */
export function maskEvidenceJson(value: unknown, depth = 0): unknown {
  if (depth > 64) return maskJsonValue(value);
  if (Array.isArray(value)) return value.map((v) => maskEvidenceJson(v, depth + 1));
  if (isObj(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        maskEvidenceText(k),
        !CODEX_FIELDS.has(k) && isSecretName(k) && v !== null && typeof v !== 'boolean'
          ? MASK
          : maskEvidenceJson(v, depth + 1),
      ]),
    );
  }
  return typeof value === 'string' ? maskEvidenceText(value) : value;
}

/** Free text: the secret detectors, then the high-confidence token shapes. */
export function maskEvidenceText(text: string): string {
  return maskText(maskSecrets(text).text);
}

/** One captured stream as stored: parsed when it is JSON, verbatim otherwise; masked either way. */
export function storeStream(raw: Buffer): StoredStream {
  const sha256 = createHash('sha256').update(raw).digest('hex');
  const bytes = raw.length;
  const truncated = bytes > MAX_STORED_BYTES;
  const text = raw.subarray(0, MAX_STORED_BYTES).toString('utf8');
  if (text.trim() === '') return { format: 'empty', kind: 'empty', bytes, sha256, truncated };
  if (!truncated) {
    try {
      const json = JSON.parse(text) as unknown;
      return {
        format: 'json',
        kind: classifyJson(json),
        json: maskEvidenceJson(json),
        bytes,
        sha256,
        truncated,
      };
    } catch {
      // not JSON: kept as text
    }
  }
  return { format: 'text', kind: 'text', text: maskEvidenceText(text), bytes, sha256, truncated };
}

/** One line a person reads in `evidence list`: what the command did, from its own output. */
export function summarize(
  stdout: StoredStream,
  exitCode: number | null,
  changes: readonly InventoryChange[],
): string {
  const parts: string[] = [];
  const j = isObj(stdout.json) ? stdout.json : null;
  const count = (v: unknown) => (Array.isArray(v) ? v.length : 0);
  if (j && stdout.kind === 'codex.marketplace.upgrade')
    parts.push(
      `${count(j.selectedMarketplaces)} selected, ${count(j.upgradedRoots)} upgraded, ${count(j.errors)} error(s)`,
    );
  else if (j && stdout.kind === 'codex.plugin.add')
    parts.push(
      `added ${String(j.pluginId)} ${typeof j.version === 'string' ? j.version : ''}`.trim(),
    );
  else if (j && stdout.kind === 'codex.plugin.remove') parts.push(`removed ${String(j.pluginId)}`);
  else if (j && stdout.kind === 'codex.marketplace.add')
    parts.push(
      `${j.alreadyAdded === true ? 'already had' : 'added'} marketplace ${String(j.marketplaceName)}`,
    );
  else parts.push(stdout.kind === 'empty' ? 'no output' : `${stdout.kind} output`);
  parts.push(exitCode === null ? 'did not exit normally' : `exit ${exitCode}`);
  parts.push(
    changes.length === 0 ? 'inventory unchanged' : `${changes.length} inventory change(s)`,
  );
  return parts.join('; ');
}

/** The command line as stored: secret-looking arguments masked (`--token X`, `KEY=…`, URLs). */
export function maskCommand(argv: readonly string[]): string[] {
  return maskArgs(argv).map(maskEvidenceText);
}
