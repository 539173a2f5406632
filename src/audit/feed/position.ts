import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/**
 * Where `audit ship` stands: the last record the sink acknowledged. Kept in a state file of
 * mode 0600, replaced atomically (write a temporary file, fsync, rename, fsync the directory),
 * so a shipper killed at any point restarts either before or after a batch, never in between.
 */
export interface ShipPosition {
  version: 1;
  store_id: string;
  /** Which sink this position belongs to (kind and address, no credentials). */
  sink: string;
  /** The last delivered record's seq (0: nothing yet) and hash (its chain link). */
  seq: number;
  hash: string | null;
  updated_at: string;
}

/** A state file that cannot be used: names the file and the fix. */
export class ShipStateError extends Error {}

export function readPosition(file: string): ShipPosition | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ShipStateError(`${file}: cannot read the ship state (${(err as Error).message})`);
  }
  const mode = statSync(file).mode & 0o077;
  if (mode !== 0)
    throw new ShipStateError(
      `${file}: the ship state is open to other users (mode ${(statSync(file).mode & 0o777).toString(8)}); fix: chmod 600 '${file}'`,
    );
  try {
    const value = JSON.parse(text) as ShipPosition;
    if (
      value.version !== 1 ||
      typeof value.store_id !== 'string' ||
      typeof value.sink !== 'string' ||
      !Number.isInteger(value.seq) ||
      value.seq < 0
    )
      throw new Error('expected version 1 with store_id, sink and seq');
    return value;
  } catch (err) {
    throw new ShipStateError(
      `${file}: not a Gatehouse ship state (${(err as Error).message}); move it away to start over from the first record`,
    );
  }
}

export function writePosition(file: string, position: ShipPosition): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, `${JSON.stringify(position, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
