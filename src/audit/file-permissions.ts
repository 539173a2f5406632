import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * The audit store and its keys hold evidence and secrets (HMAC key, signing key, call records):
 * only their owner may read or write them. Files are created 0600 in 0700 directories, and an
 * existing file or directory that other users can reach is refused, with the command that fixes
 * it, instead of being used (or silently chmod-ed: whoever could write it may already have).
 */
export class UnsafePermissionsError extends Error {}

const quote = (p: string) => `'${p.replace(/'/g, `'\\''`)}'`;
const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

function ownerProblem(path: string, st: Stats, what: string): string | null {
  const uid = process.getuid?.();
  if (uid === undefined || st.uid === uid || st.uid === 0) return null;
  return `${what} ${path} belongs to another user (uid ${st.uid}); Gatehouse refuses to use it. Fix: move it away, or as that user or root: chown "$(id -u):$(id -g)" ${quote(path)}`;
}

/** Refuses a directory that is not the owner's alone (group or others have any access). */
export function checkPrivateDir(dir: string, what = 'directory'): void {
  const st = statSync(dir);
  const owner = ownerProblem(dir, st, what);
  if (owner) throw new UnsafePermissionsError(owner);
  if ((st.mode & 0o077) !== 0)
    throw new UnsafePermissionsError(
      `${what} ${dir} is open to other users (mode ${octal(st.mode)}); Gatehouse keeps the audit store and keys only in a directory of mode 0700. Fix: chmod 700 ${quote(dir)}`,
    );
}

/**
 * Refuses a directory others could change (write to it, so replace or remove the files in it), or
 * that another user owns. A directory others may only list (0755, e.g. a `~/.gatehouse` made by
 * hand) is accepted for the store: the store's own files are 0600, so listing them reveals names,
 * not contents. The keys' directory, which Gatehouse creates, stays 0700 (`checkPrivateDir`).
 */
export function checkUnchangeableDir(dir: string, what = 'directory'): void {
  const st = statSync(dir);
  const owner = ownerProblem(dir, st, what);
  if (owner) throw new UnsafePermissionsError(owner);
  if ((st.mode & 0o022) !== 0)
    throw new UnsafePermissionsError(
      `${what} ${dir} can be written by other users (mode ${octal(st.mode)}), who could replace the audit store; Gatehouse refuses to use it. Fix: chmod go-w ${quote(dir)} (0700 is best)`,
    );
}

/** Refuses a file other users can read or write (mode must leave group and others nothing). */
export function checkPrivateFile(file: string, what = 'file'): void {
  const st = statSync(file);
  const owner = ownerProblem(file, st, what);
  if (owner) throw new UnsafePermissionsError(owner);
  if ((st.mode & 0o077) !== 0) {
    const siblings = [`${file}-wal`, `${file}-shm`].filter((f) => existsSync(f));
    throw new UnsafePermissionsError(
      `${what} ${file} can be ${st.mode & 0o022 ? 'written' : 'read'} by other users (mode ${octal(st.mode)}); Gatehouse refuses to use it. Fix: chmod 600 ${[file, ...siblings].map(quote).join(' ')}`,
    );
  }
}

/** Creates `dir` (and missing parents) with mode 0700; then checks it is private. */
export function ensurePrivateDir(dir: string, what = 'directory'): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkPrivateDir(dir, what);
}

/**
 * Creates an empty `file` with mode 0600 unless it exists (never truncates), so a database or
 * key written into it afterwards is never readable by others, not even for a moment.
 */
export function createPrivateFile(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * The audit store file: its directory and the file (and SQLite's `-wal`/`-shm` beside it, which
 * SQLite creates with the database's own mode) must be the owner's alone.
 */
export function checkPrivateStore(file: string, create: boolean): void {
  const full = resolve(file);
  // A directory Gatehouse creates is 0700; an existing one must at least be closed to writers.
  if (create) mkdirSync(dirname(full), { recursive: true, mode: 0o700 });
  checkUnchangeableDir(dirname(full), 'the audit store directory');
  if (create) createPrivateFile(full);
  checkPrivateFile(full, 'the audit store');
  for (const side of [`${full}-wal`, `${full}-shm`])
    if (existsSync(side)) checkPrivateFile(side, 'the audit store file');
}
