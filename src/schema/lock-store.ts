/**
 * The lock on disk: which file (admin's `lock_path` > `--lock` > `GATEHOUSE_LOCK` >
 * `./gatehouse.lock.json`), reading it fail-closed, writing it atomically, and noticing when it
 * changed (so `gatehouse schema approve` takes effect in a running gateway).
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { renderDiagnostic } from '../diagnostics/diagnostic.js';
import { describeSource } from '../requirements/model.js';
import type { SchemaRequirements } from '../requirements/parse-schema-table.js';
import type { LockState } from './enforce.js';
import type { Lockfile } from './lockfile.js';
import { DEFAULT_LOCK_FILE, parseLock, serializeLock } from './lockfile.js';

export interface LockLocation {
  file: string;
  /** Someone named this file (admin, flag or env): its absence is an error, not "no lock". */
  configured: boolean;
  /** Where the choice came from, for messages. */
  origin: string;
  /** Set when the admin's lock_path overrides a different `--lock`. */
  overridden: string | null;
}

export function locateLock(
  requirements: SchemaRequirements,
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): LockLocation {
  const user = flag ?? env.GATEHOUSE_LOCK;
  const userFile = user !== undefined && user !== '' ? resolve(cwd, user) : null;
  const admin = requirements.lockPath;
  if (admin)
    return {
      file: admin.value,
      configured: true,
      origin: `lock_path in ${describeSource(admin.source)}`,
      overridden: userFile !== null && userFile !== admin.value ? userFile : null,
    };
  if (userFile)
    return {
      file: userFile,
      configured: true,
      origin: flag !== undefined ? '--lock' : 'GATEHOUSE_LOCK',
      overridden: null,
    };
  return {
    file: join(cwd, DEFAULT_LOCK_FILE),
    configured: false,
    origin: 'default',
    overridden: null,
  };
}

/** Reads the lock. Absent is only "no lock" when nobody configured one; anything else fails closed. */
export function readLockState(location: LockLocation): LockState {
  const { file } = location;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !location.configured) return { status: 'absent', file };
    return {
      status: 'error',
      file,
      message:
        code === 'ENOENT'
          ? `${file} does not exist (configured by ${location.origin}); create it with \`gatehouse schema snapshot\``
          : `cannot read ${file} (${code ?? 'error'}); check its permissions`,
    };
  }
  const parsed = parseLock(text, file);
  if (parsed.ok) return { status: 'loaded', file, lock: parsed.lock };
  return { status: 'error', file, message: renderDiagnostic(parsed.error.diagnostic) };
}

/** Writes the whole lock through a temporary file and a rename, so no reader sees half of it. */
export function writeLock(file: string, lock: Lockfile): void {
  const tmp = join(dirname(file), `.${process.pid}.${Date.now()}.gatehouse-lock.tmp`);
  writeFileSync(tmp, serializeLock(lock));
  renameSync(tmp, file);
}

/** The lock for a long-running gateway: re-read when the file's size or mtime changes. */
export class WatchedLock {
  private stamp = '';
  private state: LockState | null = null;

  constructor(readonly location: LockLocation) {}

  current(): LockState {
    let stamp: string;
    try {
      const st = statSync(this.location.file);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch (err) {
      stamp = `missing:${(err as NodeJS.ErrnoException).code ?? ''}`;
    }
    if (this.state === null || stamp !== this.stamp) {
      this.state = readLockState(this.location);
      this.stamp = stamp;
    }
    return this.state;
  }
}
