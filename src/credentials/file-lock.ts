import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';

/** How long a holder may keep the lock before others may take it over (the held work is ms). */
const STALE_AFTER_MS = 30_000;
/** How long a caller waits for the lock before giving up with an error that names the file. */
const WAIT_MS = 10_000;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `work` while holding `LOCKFILE` (created with O_EXCL), so several Gatehouse processes
 * (`serve`, `run` per server, `login`, `credentials revoke`) that read-modify-write one file do
 * not lose each other's changes. A lock left by a process that died (its pid is gone, or older
 * than 30 s) is taken over. Synchronous on purpose: the vault's callers are synchronous and the
 * held section is a read, an encrypt and a rename.
 */
export function withFileLock<T>(lockFile: string, work: () => T): T {
  const deadline = Date.now() + WAIT_MS;
  let fd: number | null = null;
  while (fd === null) {
    try {
      fd = openSync(lockFile, 'wx', 0o600);
      writeSync(fd, String(process.pid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (takeOverStale(lockFile)) continue;
      if (Date.now() > deadline)
        throw new Error(
          `${lockFile} is held by another Gatehouse process for over ${WAIT_MS / 1000}s; if no gatehouse process is running, remove it`,
        );
      Atomics.wait(sleeper, 0, 0, 5 + Math.floor(Math.random() * 10));
    }
  }
  try {
    return work();
  } finally {
    closeSync(fd);
    rmSync(lockFile, { force: true });
  }
}

/** Removes a lock whose holder is gone; true when the caller may try again at once. */
function takeOverStale(lockFile: string): boolean {
  try {
    const age = Date.now() - statSync(lockFile).mtimeMs;
    const pid = Number(readFileSync(lockFile, 'utf8'));
    const holderGone = Number.isInteger(pid) && pid > 0 && !processAlive(pid);
    if (!holderGone && age < STALE_AFTER_MS) return false;
    rmSync(lockFile, { force: true });
    return true;
  } catch {
    return true; // released between our attempts
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
