import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname } from 'node:path';
import type { Identity } from './identity.js';
import { SERVICE_TOKEN_ISSUER } from './identity.js';

/**
 * Named service tokens for bots and CI: Gatehouse mints a high-entropy token, shows it once, and
 * keeps only its SHA-256 (a 256-bit random value needs no slow hash: nothing to brute-force).
 * Each token has a subject and groups, so a bot is a caller like any other — but never a person.
 */
export const SERVICE_TOKEN_PREFIX = 'ghst_';

export interface ServiceTokenEntry {
  name: string;
  subject: string;
  groups: string[];
  /** Hex SHA-256 of the whole token. */
  sha256: string;
  created_at: string;
  revoked_at: string | null;
}

interface StoreFile {
  version: 1;
  tokens: ServiceTokenEntry[];
}

export class ServiceTokenStoreError extends Error {}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const SUBJECT = /^[\x21-\x7e]{1,200}$/;

/** A fresh token: the prefix (so it is recognisable, and never sent to the identity provider) and 32 random bytes. */
export function mintServiceToken(): string {
  return `${SERVICE_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashServiceToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether a name / subject / group is acceptable (pure; the CLI reports the rule). */
export function serviceTokenFieldProblem(
  field: 'name' | 'subject' | 'group',
  value: string,
): string | null {
  const re = field === 'name' ? NAME : SUBJECT;
  if (re.test(value)) return null;
  return field === 'name'
    ? `token name ${JSON.stringify(value)}: use 1–64 letters, digits, . _ -`
    : `${field} ${JSON.stringify(value)}: use 1–200 visible ASCII characters, no spaces`;
}

/** The store file's entries; a missing file is an empty store. Refuses a file others may change. */
export function readServiceTokens(path: string): ServiceTokenEntry[] {
  if (!existsSync(path)) return [];
  const st = statSync(path);
  if ((st.mode & 0o022) !== 0)
    throw new ServiceTokenStoreError(
      `service token store ${path} is writable by other users (mode ${(st.mode & 0o777).toString(8)}): anyone could add a token. Fix: chmod 600 '${path}'`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ServiceTokenStoreError(
      `service token store ${path} is not valid JSON: ${(err as Error).message}`,
    );
  }
  const file = parsed as Partial<StoreFile> | null;
  if (!file || file.version !== 1 || !Array.isArray(file.tokens))
    throw new ServiceTokenStoreError(
      `service token store ${path} is not a Gatehouse service token store (version 1)`,
    );
  file.tokens.forEach((t, i) => {
    const ok =
      t &&
      typeof t.name === 'string' &&
      typeof t.subject === 'string' &&
      Array.isArray(t.groups) &&
      t.groups.every((g) => typeof g === 'string') &&
      typeof t.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(t.sha256);
    if (!ok)
      throw new ServiceTokenStoreError(`service token store ${path}: tokens[${i}] is malformed`);
  });
  return file.tokens;
}

/** Writes the store atomically (temp file, then rename), 0600. */
export function writeServiceTokens(path: string, tokens: ServiceTokenEntry[]): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ version: 1, tokens } satisfies StoreFile, null, 2)}\n`, {
    mode: 0o600,
  });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/**
 * The identity of a presented service token, or null. Every active entry is compared in
 * constant time (no early exit on the hash prefix). Pure over the entries.
 */
export function matchServiceToken(
  entries: readonly ServiceTokenEntry[],
  token: string,
): Identity | null {
  const presented = Buffer.from(hashServiceToken(token), 'hex');
  let found: ServiceTokenEntry | null = null;
  for (const e of entries) {
    const same = timingSafeEqual(presented, Buffer.from(e.sha256, 'hex'));
    if (same && e.revoked_at === null) found = e;
  }
  if (!found) return null;
  return {
    issuer: SERVICE_TOKEN_ISSUER,
    subject: found.subject,
    email: null,
    groups: [...found.groups],
    via: 'service-token',
  };
}

/**
 * Reads the store when it changed (size or mtime), so revocations apply to the next request
 * without a restart and without a file read per request.
 */
export function cachedServiceTokens(path: string): () => ServiceTokenEntry[] {
  let key = '';
  let entries: ServiceTokenEntry[] = [];
  return () => {
    const st = existsSync(path) ? statSync(path) : null;
    const now = st ? `${st.size}:${st.mtimeMs}:${st.ino}:${st.mode}` : 'absent';
    if (now !== key) {
      entries = readServiceTokens(path);
      key = now;
    }
    return entries;
  };
}
