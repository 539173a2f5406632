/** A listen address as the CLI and config accept it: `127.0.0.1:8080`, `[::1]:8080`, `:8080` or `8080` (host 127.0.0.1). */
export function parseHttpListen(value: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:]*))?:?(\d{1,5})$/.exec(value.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  const host = m[1] ?? (m[2] || '127.0.0.1');
  return { host, port };
}
