import { accessSync, constants, lstatSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Whether a requirements file is out of the governed user's reach, and why (shown to users). */
export interface Ownership {
  adminOwned: boolean;
  why: string;
}

const STICKY = 0o1000;
const GROUP_OR_OTHER_WRITE = 0o022;

/**
 * Decides whether a requirements file is admin-owned: only such a file is a floor the other
 * layers may tighten but never loosen. A file counts when the user running Gatehouse cannot
 * change it — not its owner (unless that user is root: then root is the admin), cannot write it,
 * and cannot replace it in its directory (or in the directory of a symlink that points to it).
 * Anything else is the user's own layer. I/O: stat and access(2) on the file and its directories.
 */
export function requirementsFileOwnership(
  path: string,
  uid: number | undefined = process.getuid?.(),
): Ownership {
  if (uid === undefined)
    return {
      adminOwned: true,
      why: 'no POSIX file ownership here: the system file is the admin’s',
    };
  let real: string;
  try {
    real = realpathSync(path);
  } catch (error) {
    return { adminOwned: false, why: `cannot resolve it: ${(error as Error).message}` };
  }
  const st = statSync(real);
  const dirs = [...new Set([dirname(path), dirname(real)])];
  if (uid === 0) {
    // Running as root: root is the admin. A root-owned file nobody else can write counts.
    if (st.uid !== 0) return { adminOwned: false, why: `owned by uid ${st.uid}, not root` };
    if (st.mode & GROUP_OR_OTHER_WRITE)
      return { adminOwned: false, why: 'writable by group or others' };
    for (const dir of dirs) {
      const d = statSync(dir);
      if (d.uid !== 0) return { adminOwned: false, why: `its directory ${dir} is not root's` };
      if (d.mode & GROUP_OR_OTHER_WRITE && !(d.mode & STICKY))
        return { adminOwned: false, why: `its directory ${dir} is writable by group or others` };
    }
    return { adminOwned: true, why: 'owned by root, writable only by root' };
  }
  if (st.uid === uid) return { adminOwned: false, why: `owned by you (uid ${uid})` };
  if (lstatSync(path).uid === uid)
    return { adminOwned: false, why: `it is a symlink owned by you (uid ${uid})` };
  if (writable(real)) return { adminOwned: false, why: 'writable by you' };
  for (const dir of dirs) {
    if (writable(dir) && !(statSync(dir).mode & STICKY))
      return {
        adminOwned: false,
        why: `you can replace it: its directory ${dir} is writable by you`,
      };
  }
  return { adminOwned: true, why: `owned by uid ${st.uid}, not writable by you (uid ${uid})` };
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
