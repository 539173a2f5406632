/**
 * Is a client's server entry the Gatehouse wrapper for `name` (`gatehouse run NAME`, as
 * `gatehouse connect` writes it)? Such an entry is the governed server it wraps, not a second
 * definition of it.
 */
export function isGatehouseRunEntry(entry: unknown, name: string): boolean {
  if (typeof entry !== 'object' || entry === null) return false;
  const e = entry as Record<string, unknown>;
  return (
    typeof e.command === 'string' &&
    /(^|[/\\])gatehouse(\.js|\.cmd)?$/.test(e.command) &&
    Array.isArray(e.args) &&
    e.args.length === 2 &&
    e.args[0] === 'run' &&
    e.args[1] === name
  );
}

/** Names `gatehouse run NAME` can take as one argument (Codex's names, never an option). */
const RUNNABLE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_:@/.-]*$/;

/**
 * Why `connect` cannot wrap a server under this name, with the fix; null when it can. One rule
 * for every client, so the TOML and JSON editors cannot disagree on which names are safe.
 */
export function unrunnableName(name: string): { message: string; hint: string } | null {
  return RUNNABLE_NAME.test(name)
    ? null
    : {
        message: `server name '${name}' cannot be passed to \`gatehouse run\` as one argument`,
        hint: 'rename it to letters, digits and - _ : @ / . (not starting with -)',
      };
}
