/**
 * The schema lock (`gatehouse.lock.json`): what every server offered when a person accepted it,
 * meant to be checked into a repository like a package lock. Definitions are stored verbatim
 * (never normalised: `oneOf`, `$ref`, 2020-12 keywords and key order are kept exactly) beside an
 * RFC 8785 hash of each. Pure: parsing, validation and serialisation over plain data.
 */
import { createHash } from 'node:crypto';
import { parseJsonDocument } from '../config/json-document.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { diagnosticAt, formatKeyPath } from '../config/located-document.js';
import type { KeyPath } from '../config/located-document.js';
import { canonicalJson } from '../audit/canonical-json.js';
import { gatehouseVersion } from '../version.js';

/** The format this Gatehouse reads and writes. A newer one is refused, never guessed at. */
export const LOCKFILE_VERSION = 1;

export const DEFAULT_LOCK_FILE = 'gatehouse.lock.json';

export type ContractKind = 'tool' | 'prompt' | 'resource_template';
export const CONTRACT_KINDS: readonly ContractKind[] = ['tool', 'prompt', 'resource_template'];

/** The lock's section for each kind of item. */
export const SECTION: Record<ContractKind, 'tools' | 'prompts' | 'resource_templates'> = {
  tool: 'tools',
  prompt: 'prompts',
  resource_template: 'resource_templates',
};

/** The fields of a listed item that are part of the contract (anything else, e.g. `_meta`, is not). */
export const CONTRACT_FIELDS: Record<ContractKind, readonly string[]> = {
  tool: ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'],
  prompt: ['name', 'title', 'description', 'arguments'],
  resource_template: ['name', 'title', 'uriTemplate', 'description', 'mimeType', 'annotations'],
};

/** Who accepted something, and when. */
export interface Approval {
  by: string;
  at: string;
}

export interface LockedItem {
  /** The item as the server listed it (contract fields only), verbatim. */
  definition: Record<string, unknown>;
  /** sha256 of the definition's RFC 8785 form. */
  sha256: string;
  approved: Approval | null;
}

export type ServerIdentity =
  | { transport: 'stdio'; command: string; args: string[] }
  | { transport: 'streamable_http'; url: string };

export interface PackageIdentity {
  name: string;
  version: string;
  integrity: string | null;
}

/** What the server is, beyond what it lists: the facts a rug pull would change. */
export interface ServerFacts {
  identity: ServerIdentity;
  /** The resolved executable of a stdio server; null with a note when it cannot be resolved. */
  executable: { path: string; sha256: string } | null;
  executable_note: string | null;
  /** The npm package an `npx` server runs, when it can be resolved locally. */
  package: PackageIdentity | null;
  package_note: string | null;
  server_info: { name: string; version: string } | null;
  protocol_version: string | null;
}

export interface HistoryEntry {
  kind: ContractKind | 'server';
  name: string;
  change: 'added' | 'changed' | 'removed';
  /** The new definition's hash (null when removed, or for server facts). */
  sha256: string | null;
  summary: string;
  by: string;
  at: string;
}

export interface LockedServer extends ServerFacts {
  approved: Approval | null;
  tools: Record<string, LockedItem>;
  prompts: Record<string, LockedItem>;
  resource_templates: Record<string, LockedItem>;
  /** Every accepted change, oldest first (`gatehouse schema log`). */
  history: HistoryEntry[];
}

export interface Lockfile {
  version: number;
  servers: Record<string, LockedServer>;
}

export function emptyLock(): Lockfile {
  return { version: LOCKFILE_VERSION, servers: {} };
}

/** The hash every comparison starts from: equal hashes mean nothing changed. */
export function definitionHash(definition: unknown): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}

/** An item's contract fields, in the order the server wrote them (verbatim values). */
export function contractDefinition(
  kind: ContractKind,
  item: Record<string, unknown>,
): Record<string, unknown> {
  const keep = CONTRACT_FIELDS[kind];
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) if (keep.includes(key)) out[key] = value;
  return out;
}

/** The key an item is locked under: its name (a template without one: its URI template). */
export function itemKey(kind: ContractKind, item: Record<string, unknown>): string | null {
  if (typeof item.name === 'string' && item.name !== '') return item.name;
  if (kind === 'resource_template' && typeof item.uriTemplate === 'string') return item.uriTemplate;
  return null;
}

export function lockItem(
  kind: ContractKind,
  item: Record<string, unknown>,
  approved: Approval | null,
): LockedItem {
  const definition = contractDefinition(kind, item);
  return { definition, sha256: definitionHash(definition), approved };
}

/** Why a lock cannot be used, with where and how to fix it. Never means "allow everything". */
export interface LockError {
  file: string;
  code: 'missing' | 'unreadable' | 'syntax' | 'newer_version' | 'invalid' | 'tampered';
  diagnostic: Diagnostic;
}

const REGENERATE =
  'run `gatehouse schema snapshot --replace` to write a fresh one (the old file is kept as .bak; review the result with `git diff`)';

/** Parses and validates a lock file's text; every problem names the file, key and fix. */
export function parseLock(
  text: string,
  file: string,
): { ok: true; lock: Lockfile } | { ok: false; error: LockError } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    const parsed = parseJsonDocument(text, file);
    const diagnostic: Diagnostic = parsed.ok
      ? {
          severity: 'error',
          code: 'json_syntax',
          message: 'invalid JSON',
          location: { file, line: 1, column: 1 },
        }
      : parsed.diagnostic;
    return {
      ok: false,
      error: {
        file,
        code: 'syntax',
        diagnostic: {
          ...diagnostic,
          message: `schema lock is not valid JSON: ${diagnostic.message.replace(/^invalid JSON: /, '')}`,
          hint: `fix the JSON at that position (a merge conflict?), or ${REGENERATE}`,
        },
      },
    };
  }
  const problems: { path: KeyPath; message: string; code: LockError['code'] }[] = [];
  const lock = validateLock(raw, (path, message, code = 'invalid') =>
    problems.push({ path, message, code }),
  );
  if (problems.length === 0 && lock) return { ok: true, lock };
  const problem = problems[0] ?? {
    path: [],
    message: 'not a schema lock',
    code: 'invalid' as const,
  };
  const hint =
    problem.code === 'newer_version'
      ? `this lock was written by a newer Gatehouse: upgrade Gatehouse, or ${REGENERATE}`
      : problem.code === 'tampered'
        ? `the lock was edited by hand; restore it from version control, or ${REGENERATE}`
        : `restore it from version control, or ${REGENERATE}`;
  const parsed = parseJsonDocument(text, file);
  const diagnostic = parsed.ok
    ? diagnosticAt(parsed.doc, problem.path, 'error', 'invalid_value', problem.message, hint)
    : {
        severity: 'error' as const,
        code: 'invalid_value' as const,
        message: problem.message,
        key: formatKeyPath(problem.path),
        hint,
      };
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : '';
  return {
    ok: false,
    error: {
      file,
      code: problem.code,
      diagnostic: { ...diagnostic, message: `${diagnostic.message}${more}` },
    },
  };
}

type Report = (path: KeyPath, message: string, code?: LockError['code']) => void;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

function validateLock(raw: unknown, report: Report): Lockfile | null {
  if (!isRecord(raw)) {
    report([], 'expected a JSON object with `lockfile_version` and `servers`');
    return null;
  }
  const version = raw.lockfile_version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    report(['lockfile_version'], `expected a whole number ≥ 1, got ${JSON.stringify(version)}`);
    return null;
  }
  if (version > LOCKFILE_VERSION) {
    report(
      ['lockfile_version'],
      `lock format version ${version} is newer than this Gatehouse understands (${LOCKFILE_VERSION})`,
      'newer_version',
    );
    return null;
  }
  if (!isRecord(raw.servers)) {
    report(['servers'], 'expected an object of servers by name');
    return null;
  }
  const servers: Record<string, LockedServer> = {};
  for (const [name, value] of Object.entries(raw.servers)) {
    const server = validateServer(value, ['servers', name], report);
    if (server) servers[name] = server;
  }
  return { version, servers };
}

function validateApproval(raw: unknown, path: KeyPath, report: Report): Approval | null {
  if (raw === null || raw === undefined) return null;
  if (isRecord(raw) && isString(raw.by) && isString(raw.at)) return { by: raw.by, at: raw.at };
  report(path, 'expected null or {"by": "...", "at": "ISO time"}');
  return null;
}

function validateIdentity(raw: unknown, path: KeyPath, report: Report): ServerIdentity | null {
  if (isRecord(raw) && raw.transport === 'stdio' && isString(raw.command)) {
    if (Array.isArray(raw.args) && raw.args.every(isString))
      return { transport: 'stdio', command: raw.command, args: raw.args };
  }
  if (isRecord(raw) && raw.transport === 'streamable_http' && isString(raw.url))
    return { transport: 'streamable_http', url: raw.url };
  report(
    path,
    'expected {"transport": "stdio", "command", "args": [...]} or {"transport": "streamable_http", "url"}',
  );
  return null;
}

function validateItems(
  raw: unknown,
  kind: ContractKind,
  path: KeyPath,
  report: Report,
): Record<string, LockedItem> {
  const out: Record<string, LockedItem> = {};
  if (raw === undefined) return out;
  if (!isRecord(raw)) {
    report(path, `expected an object of ${SECTION[kind]} by name`);
    return out;
  }
  for (const [name, item] of Object.entries(raw)) {
    const at = [...path, name];
    if (!isRecord(item) || !isRecord(item.definition) || !isString(item.sha256)) {
      report(at, 'expected {"definition": {...}, "sha256": "...", "approved": ...}');
      continue;
    }
    let actual: string;
    try {
      actual = definitionHash(item.definition);
    } catch (err) {
      report([...at, 'definition'], `cannot be hashed: ${(err as Error).message}`);
      continue;
    }
    if (actual !== item.sha256) {
      report(
        [...at, 'sha256'],
        `does not match its definition (the definition hashes to ${actual.slice(0, 12)}…)`,
        'tampered',
      );
      continue;
    }
    out[name] = {
      definition: item.definition,
      sha256: item.sha256,
      approved: validateApproval(item.approved, [...at, 'approved'], report),
    };
  }
  return out;
}

const HISTORY_KINDS = ['tool', 'prompt', 'resource_template', 'server'];
const HISTORY_CHANGES = ['added', 'changed', 'removed'];

function validateHistory(raw: unknown, path: KeyPath, report: Report): HistoryEntry[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    report(path, 'expected an array of history entries');
    return [];
  }
  const out: HistoryEntry[] = [];
  raw.forEach((entry: unknown, i) => {
    if (
      isRecord(entry) &&
      HISTORY_KINDS.includes(entry.kind as string) &&
      isString(entry.name) &&
      HISTORY_CHANGES.includes(entry.change as string) &&
      isStringOrNull(entry.sha256) &&
      isString(entry.summary) &&
      isString(entry.by) &&
      isString(entry.at)
    )
      out.push(entry as unknown as HistoryEntry);
    else
      report(
        [...path, i],
        'expected {"kind", "name", "change": "added|changed|removed", "sha256", "summary", "by", "at"}',
      );
  });
  return out;
}

function validateServer(raw: unknown, path: KeyPath, report: Report): LockedServer | null {
  if (!isRecord(raw)) {
    report(path, 'expected an object');
    return null;
  }
  const identity = validateIdentity(raw.identity, [...path, 'identity'], report);
  if (!identity) return null;
  let executable: LockedServer['executable'] = null;
  if (raw.executable !== null && raw.executable !== undefined) {
    if (
      isRecord(raw.executable) &&
      isString(raw.executable.path) &&
      isString(raw.executable.sha256)
    )
      executable = { path: raw.executable.path, sha256: raw.executable.sha256 };
    else report([...path, 'executable'], 'expected null or {"path", "sha256"}');
  }
  let pkg: PackageIdentity | null = null;
  if (raw.package !== null && raw.package !== undefined) {
    const p = raw.package;
    if (
      isRecord(p) &&
      isString(p.name) &&
      isString(p.version) &&
      isStringOrNull(p.integrity ?? null)
    )
      pkg = { name: p.name, version: p.version, integrity: (p.integrity as string | null) ?? null };
    else report([...path, 'package'], 'expected null or {"name", "version", "integrity"}');
  }
  let serverInfo: LockedServer['server_info'] = null;
  if (raw.server_info !== null && raw.server_info !== undefined) {
    const s = raw.server_info;
    if (isRecord(s) && isString(s.name) && isString(s.version))
      serverInfo = { name: s.name, version: s.version };
    else report([...path, 'server_info'], 'expected null or {"name", "version"}');
  }
  for (const key of ['executable_note', 'package_note', 'protocol_version'] as const) {
    if (raw[key] !== undefined && !isStringOrNull(raw[key]))
      report([...path, key], 'expected a string or null');
  }
  return {
    identity,
    executable,
    executable_note: isString(raw.executable_note) ? raw.executable_note : null,
    package: pkg,
    package_note: isString(raw.package_note) ? raw.package_note : null,
    server_info: serverInfo,
    protocol_version: isString(raw.protocol_version) ? raw.protocol_version : null,
    approved: validateApproval(raw.approved, [...path, 'approved'], report),
    tools: validateItems(raw.tools, 'tool', [...path, 'tools'], report),
    prompts: validateItems(raw.prompts, 'prompt', [...path, 'prompts'], report),
    resource_templates: validateItems(
      raw.resource_templates,
      'resource_template',
      [...path, 'resource_templates'],
      report,
    ),
    history: validateHistory(raw.history, [...path, 'history'], report),
  };
}

const byName = <T>(record: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** The lock as written to disk: servers and items sorted by name, definitions verbatim. */
export function serializeLock(lock: Lockfile): string {
  const servers = Object.fromEntries(
    Object.entries(byName(lock.servers)).map(([name, s]) => [
      name,
      {
        identity: s.identity,
        executable: s.executable,
        executable_note: s.executable_note,
        package: s.package,
        package_note: s.package_note,
        server_info: s.server_info,
        protocol_version: s.protocol_version,
        approved: s.approved,
        tools: byName(s.tools),
        prompts: byName(s.prompts),
        resource_templates: byName(s.resource_templates),
        history: s.history,
      },
    ]),
  );
  return `${JSON.stringify(
    {
      lockfile_version: LOCKFILE_VERSION,
      generator: `gatehouse ${gatehouseVersion()}`,
      comment:
        'Tool schema lock: review changes like code. Update with `gatehouse schema snapshot` / `gatehouse schema approve`.',
      servers,
    },
    null,
    2,
  )}\n`;
}
