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
