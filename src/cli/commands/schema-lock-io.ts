// The lock file as the schema commands read and write it: where it is, who signs changes.
import { userInfo } from 'node:os';
import type { Lockfile } from '../../schema/lockfile.js';
import { emptyLock } from '../../schema/lockfile.js';
import type { LockLocation } from '../../schema/lock-store.js';
import { locateLock, readLockState, writeLock } from '../../schema/lock-store.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions, World } from '../world.js';

/** Who accepts a change: the OS user running the command (never a name given on the command line). */
export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

export function lockLocation(world: World, global: GlobalOptions, io: CliIo): LockLocation {
  const location = locateLock(world.requirements.requirements.schema, global.lock, io.env, io.cwd);
  if (location.overridden)
    io.stderr(
      `warning: the requirements fix the schema lock to ${location.file} (${location.origin}); --lock ${location.overridden} is ignored\n`,
    );
  return location;
}

/** A lock problem on stderr, as an error line (rendered diagnostics already start with one). */
export function printLockError(io: CliIo, message: string): void {
  io.stderr(`${message.startsWith('error:') ? '' : 'error: '}${message}\n`);
}

/** The lock to update or compare against; a broken lock stops the command (exit 14). */
export function loadLockOrFail(
  location: LockLocation,
  io: CliIo,
): { lock: Lockfile; existed: boolean } | null {
  const state = readLockState({ ...location, configured: false });
  if (state.status === 'error') {
    printLockError(io, state.message);
    io.stderr(
      `gatehouse: the schema lock ${location.file} is unreadable or invalid; nothing was changed\n`,
    );
    return null;
  }
  return state.status === 'loaded'
    ? { lock: state.lock, existed: true }
    : { lock: emptyLock(), existed: false };
}

/** Writes the lock; a file that cannot be written is reported (exit 14), never a stack trace. */
export function saveLock(file: string, lock: Lockfile, io: CliIo): boolean {
  try {
    writeLock(file, lock);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    io.stderr(
      `error: cannot write the schema lock ${file} (${code}): check the directory exists and is writable, or pass --lock FILE\n`,
    );
    return false;
  }
}
