/**
 * Every process group Gatehouse started and has not yet reaped. Servers run in their own group
 * (so a whole `npx` tree can be killed), which also means a terminal's Ctrl-C does not reach
 * them: whoever owns the process (the CLI's entry point) must kill these on the way out.
 */
const liveGroups = new Set<number>();

export function trackGroup(pgid: number): void {
  liveGroups.add(pgid);
}

export function untrackGroup(pgid: number): void {
  liveGroups.delete(pgid);
}

/** SIGKILLs every live group. Synchronous, so it is safe in `exit` and signal handlers. */
export function killAllGroups(): number {
  let killed = 0;
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
      killed++;
    } catch {
      // already gone
    }
  }
  liveGroups.clear();
  return killed;
}
