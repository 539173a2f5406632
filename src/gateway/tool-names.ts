import { createHash } from 'node:crypto';

/**
 * Names for tools from several servers behind one endpoint, built by Codex 0.169's rules
 * (reference §4.2–4.4, checked against names Codex sent to a model:
 * test/fixtures/codex/tool-names-0.169.json):
 *  - every character outside [A-Za-z0-9_] becomes `_` (one per character, non-ASCII included);
 *  - names that collide after that ALL get `_` + 12 hex characters of a hash of their raw identity;
 *  - `namespace + "__" + tool` fits in 128 bytes: a longer tool name is cut and gets the hash.
 * Codex's hash input is not public (not a plain digest of the raw names); Gatehouse's is SHA-1 of
 * the raw server name, or of server NUL tool, so names stay stable across restarts.
 */
export const MAX_NAME_BYTES = 128;
const HASH_LENGTH = 12;

export function sanitizeName(raw: string): string {
  return Array.from(raw, (ch) => (/^[A-Za-z0-9_]$/.test(ch) ? ch : '_')).join('');
}

export function shortHash(identity: string): string {
  return createHash('sha1').update(identity).digest('hex').slice(0, HASH_LENGTH);
}

export interface ToolRef {
  server: string;
  tool: string;
}

export interface ExposedName extends ToolRef {
  /** The name the client sees and calls. */
  exposed: string;
}

/** Groups `items` by `key`; every member of a group of two or more gets `_hash`. */
function disambiguate<T>(
  items: readonly T[],
  key: (t: T) => string,
  identity: (t: T) => string,
): Map<T, string> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  const out = new Map<T, string>();
  for (const [name, members] of groups) {
    for (const m of members)
      out.set(m, members.length > 1 ? `${name}_${shortHash(identity(m))}` : name);
  }
  return out;
}

/**
 * Exposed names for every (server, tool), unique and within the byte budget. `prefix` is put
 * before each server's namespace (`mcp__` reproduces Codex's flat names; `gatehouse serve` uses none).
 */
export function nameTools(refs: readonly ToolRef[], prefix = ''): ExposedName[] {
  const servers = [...new Set(refs.map((r) => r.server))].sort();
  const namespaces = disambiguate(servers, sanitizeName, (s) => s);
  const byServer = new Map<string, ToolRef[]>();
  for (const ref of refs) byServer.set(ref.server, [...(byServer.get(ref.server) ?? []), ref]);
  const out: ExposedName[] = [];
  for (const server of servers) {
    let ns = `${prefix}${namespaces.get(server) ?? sanitizeName(server)}`;
    const roomForTool = () => MAX_NAME_BYTES - ns.length - 2;
    if (roomForTool() < HASH_LENGTH + 2)
      ns = `${ns.slice(0, MAX_NAME_BYTES - 2 * (HASH_LENGTH + 2) - 1)}_${shortHash(server)}`;
    const tools = byServer.get(server) ?? [];
    const local = disambiguate(
      tools,
      (r) => sanitizeName(r.tool),
      (r) => `${r.server}\u0000${r.tool}`,
    );
    for (const ref of tools) {
      let tool = local.get(ref) ?? sanitizeName(ref.tool);
      if (tool.length > roomForTool())
        tool = `${tool.slice(0, roomForTool() - HASH_LENGTH - 1)}_${shortHash(`${ref.server}\u0000${ref.tool}`)}`;
      out.push({ ...ref, exposed: `${ns}__${tool}` });
    }
  }
  // `a` + `b__c` and `a__b` + `c` meet at `a__b__c`: the namespaces cannot prevent every clash.
  const seen = new Map<string, number>();
  for (const e of out) seen.set(e.exposed, (seen.get(e.exposed) ?? 0) + 1);
  return out.map((e) => {
    if ((seen.get(e.exposed) ?? 0) < 2) return e;
    const suffix = `_${shortHash(`${e.server}\u0000${e.tool}`)}`;
    return { ...e, exposed: `${e.exposed.slice(0, MAX_NAME_BYTES - suffix.length)}${suffix}` };
  });
}
