import { readdirSync, readFileSync } from 'node:fs';

/** Running, not a zombie waiting for a reaper (containers' PID 1 may never reap). */
export function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Polls (bounded) until `check` holds. */
export async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25)))
    if (await check()) return true;
  return check();
}

/** Waits (bounded) until the process is gone: a killed process takes a moment to be torn down. */
export function exitsWithin(pid: number, ms: number): Promise<boolean> {
  return until(() => !isRunning(pid), ms);
}

/** Running processes whose environment carries `marker` (children inherit it: a whole tree). */
export function processesWithMarker(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (
        readFileSync(`/proc/${entry}/environ`, 'utf8').includes(marker) &&
        isRunning(Number(entry))
      )
        pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}
