import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/canonical-json.js';
import type { Inventory } from './model.js';

/** Orders by a string key, by code unit (the same in every locale). */
export const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/**
 * The inventory's identity: sha256 over the canonical JSON (RFC 8785) of its servers,
 * marketplaces and plugins, each list in one order. How it was read and what could not be read are left out, so the
 * same machine state gives the same hash whether codex ran live or its output was saved.
 */
export function inventoryDigest(inventory: Inventory): string {
  // In one order whatever order the lists came in (an inventory file reordered by hand, or by
  // another reader, is the same content): the order `buildInventory` writes, so its digests
  // are unchanged.
  const content = {
    schema_version: inventory.schema_version,
    servers: [...inventory.servers].sort(byKey((s) => `${s.name}\0${s.plugin_id ?? ''}`)),
    marketplaces: [...inventory.marketplaces].sort(byKey((m) => m.name)),
    plugins: [...inventory.plugins]
      .sort(byKey((p) => p.id))
      .map((p) => ({ ...p, mcp_servers: [...p.mcp_servers].sort(byKey((s) => s.name)) })),
  };
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

/** What an upgrade changed, in words an auditor reads: one entry per added, removed or changed item. */
export interface InventoryChange {
  kind: 'plugin' | 'marketplace' | 'server';
  id: string;
  change: 'added' | 'removed' | 'changed';
  /** For `changed`: field → [before, after]. */
  fields?: Record<string, [unknown, unknown]>;
}

/** The fields compared for `changed`; the rest (paths, manifests) only move the digest. */
const COMPARED = {
  plugin: [
    'version',
    'installed',
    'enabled',
    'install_policy',
    'auth_policy',
    'marketplace_source',
    'hooks',
    'mcp_servers',
    'skills',
  ],
  marketplace: ['marketplace_source', 'root'],
  server: ['transport', 'identity', 'enabled', 'status', 'plugin_id'],
} as const;

type Keyed = { kind: InventoryChange['kind']; items: Map<string, Record<string, unknown>> };

function keyed(inventory: Inventory): Keyed[] {
  return [
    {
      kind: 'plugin',
      items: new Map(inventory.plugins.map((p) => [p.id, p as unknown as Record<string, unknown>])),
    },
    {
      kind: 'marketplace',
      items: new Map(
        inventory.marketplaces.map((m) => [m.name, m as unknown as Record<string, unknown>]),
      ),
    },
    {
      kind: 'server',
      items: new Map(
        inventory.servers.map((s) => [
          s.plugin_id ? `${s.plugin_id}/${s.name}` : s.name,
          s as unknown as Record<string, unknown>,
        ]),
      ),
    },
  ];
}

/** Differences between two inventories, in a stable order. Pure. */
export function diffInventories(before: Inventory, after: Inventory): InventoryChange[] {
  const changes: InventoryChange[] = [];
  const b = keyed(before);
  const a = keyed(after);
  b.forEach(({ kind, items: old }, i) => {
    const now = a[i]?.items ?? new Map<string, Record<string, unknown>>();
    const ids = [...new Set([...old.keys(), ...now.keys()])].sort();
    for (const id of ids) {
      const x = old.get(id);
      const y = now.get(id);
      if (!x) changes.push({ kind, id, change: 'added' });
      else if (!y) changes.push({ kind, id, change: 'removed' });
      else {
        const fields: Record<string, [unknown, unknown]> = {};
        for (const f of COMPARED[kind]) {
          if (canonicalJson(x[f] ?? null) !== canonicalJson(y[f] ?? null))
            fields[f] = [x[f] ?? null, y[f] ?? null];
        }
        if (Object.keys(fields).length > 0) changes.push({ kind, id, change: 'changed', fields });
      }
    }
  });
  return changes;
}
