import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * The I/O edge of `gatehouse connect`: a file is read once into a snapshot, and written only if
 * it still has exactly the snapshot's bytes right before the atomic rename, so an edit made by
 * a person or another tool in between is never overwritten.
 */
export interface FileSnapshot {
  file: string;
  exists: boolean;
  text: string;
  sha256: string;
}

export class ConcurrentEditError extends Error {
  constructor(readonly file: string) {
    super(`${file} changed while gatehouse was editing it`);
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export function readSnapshot(file: string): FileSnapshot {
  if (!existsSync(file)) return { file, exists: false, text: '', sha256: sha256('') };
  const text = readFileSync(file, 'utf8');
  return { file, exists: true, text, sha256: sha256(text) };
}

function stillAsRead(snap: FileSnapshot): boolean {
  if (!existsSync(snap.file)) return !snap.exists;
  return snap.exists && sha256(readFileSync(snap.file, 'utf8')) === snap.sha256;
}

/** `config.toml.gatehouse-backup-20261206T171500Z` (never an existing name). */
export function backupName(file: string, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  let candidate = `${file}.gatehouse-backup-${stamp}`;
  for (let n = 2; existsSync(candidate); n++) candidate = `${file}.gatehouse-backup-${stamp}-${n}`;
  return candidate;
}

/**
 * Writes `text` over the snapshot's file atomically (same directory, then rename), keeping the
 * file's mode; a new file gets 0600. Throws ConcurrentEditError, writing nothing, when the file
 * is no longer what was read. Returns the backup's path when one was made.
 */
export function writeIfUnchanged(
  snap: FileSnapshot,
  text: string,
  opts: { backup: boolean; now: Date },
): string | null {
  // A symlinked config (a dotfiles repo) stays a symlink: the file it points to is replaced.
  const target = snap.exists ? realpathSync(snap.file) : snap.file;
  const dir = dirname(target);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = snap.exists ? statSync(target).mode & 0o777 : 0o600;
  const tmp = join(dir, `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(tmp, text, { mode, flag: 'wx' });
  try {
    chmodSync(tmp, mode);
    if (!stillAsRead(snap)) throw new ConcurrentEditError(snap.file);
    let backup: string | null = null;
    if (opts.backup && snap.exists) {
      backup = backupName(snap.file, opts.now);
      copyFileSync(snap.file, backup);
      chmodSync(backup, mode);
    }
    renameSync(tmp, target);
    return backup;
  } catch (err) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw err;
  }
}
