/**
 * Accepting live versions into the lock (`schema snapshot`, `schema approve`), with who and when
 * and a history entry for every item that changed. Pure: returns a new lock.
 */
import type { SchemaChange } from './diff-contract.js';
import { diffItem, diffServer, worstClass } from './diff-contract.js';
import type {
  Approval,
  ContractKind,
  HistoryEntry,
  LockedItem,
  Lockfile,
  LockedServer,
} from './lockfile.js';
import { CONTRACT_KINDS, SECTION } from './lockfile.js';

function summarise(changes: readonly SchemaChange[]): string {
  const first = changes[0];
  if (!first) return 'no change';
  const worst = worstClass(changes) ?? first.class;
  const lead = changes.find((c) => c.class === worst) ?? first;
  const more = changes.length > 1 ? ` (+${changes.length - 1} more)` : '';
  return `${worst}: ${lead.summary}${more}`;
}

function historyFor(
  server: string,
  before: LockedServer | null,
  after: LockedServer | null,
  approval: Approval,
  only?: { kind: ContractKind; name: string },
): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  const changes = only
    ? diffItem(
        server,
        only.kind,
        only.name,
        before?.[SECTION[only.kind]][only.name] ?? null,
        after?.[SECTION[only.kind]][only.name] ?? null,
      )
    : diffServer(server, before, after);
  const groups = new Map<string, SchemaChange[]>();
  for (const c of changes) {
    const key = `${c.kind}\u0000${c.name}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  for (const group of groups.values()) {
    const c = group[0] as SchemaChange;
    const kind = c.kind;
    const item = kind === 'server' ? null : (after?.[SECTION[kind]][c.name] ?? null);
    const existed = kind === 'server' ? before !== null : c.sha256_before !== null;
    const exists = kind === 'server' ? after !== null : item !== null;
    out.push({
      kind,
      name: c.name,
      change: !existed ? 'added' : !exists ? 'removed' : 'changed',
      sha256: item?.sha256 ?? null,
      summary: summarise(group),
      by: approval.by,
      at: approval.at,
    });
  }
  // A new server: one entry per item, so each tool's log starts at its first version.
  if (!before && after && !only) {
    for (const kind of CONTRACT_KINDS)
      for (const [name, item] of Object.entries(after[SECTION[kind]]))
        out.push({
          kind,
          name,
          change: 'added',
          sha256: item.sha256,
          summary: 'first locked',
          by: approval.by,
          at: approval.at,
        });
  }
  return out;
}

const approvedItems = (items: Record<string, LockedItem>, approval: Approval) =>
  Object.fromEntries(Object.entries(items).map(([k, v]) => [k, { ...v, approved: approval }]));

/**
 * Accepts a server's whole live contract. Items that did not change keep their earlier approval;
 * the history keeps growing.
 */
export function acceptServer(
  lock: Lockfile,
  name: string,
  live: LockedServer,
  approval: Approval,
): { lock: Lockfile; changes: SchemaChange[] } {
  const before = lock.servers[name] ?? null;
  const changes = diffServer(name, before, live);
  if (before && changes.length === 0) return { lock, changes };
  const keep = (kind: ContractKind) =>
    Object.fromEntries(
      Object.entries(live[SECTION[kind]]).map(([k, item]) => {
        const old = before?.[SECTION[kind]][k];
        return [k, old && old.sha256 === item.sha256 ? old : { ...item, approved: approval }];
      }),
    );
  const next: LockedServer = {
    ...live,
    approved: approval,
    tools: before ? keep('tool') : approvedItems(live.tools, approval),
    prompts: before ? keep('prompt') : approvedItems(live.prompts, approval),
    resource_templates: before
      ? keep('resource_template')
      : approvedItems(live.resource_templates, approval),
    history: [...(before?.history ?? []), ...historyFor(name, before, live, approval)],
  };
  return { lock: { ...lock, servers: { ...lock.servers, [name]: next } }, changes };
}

/** Accepts one item's live version (or its removal); the rest of the server stays as locked. */
export function acceptItem(
  lock: Lockfile,
  server: string,
  kind: ContractKind,
  name: string,
  live: LockedServer,
  approval: Approval,
): { lock: Lockfile; changes: SchemaChange[] } {
  const before = lock.servers[server];
  if (!before) return acceptServer(lock, server, live, approval);
  const section = SECTION[kind];
  const liveItem = live[section][name] ?? null;
  const changes = diffItem(server, kind, name, before[section][name] ?? null, liveItem);
  if (changes.length === 0) return { lock, changes };
  const items = { ...before[section] };
  if (liveItem) items[name] = { ...liveItem, approved: approval };
  else delete items[name];
  const after: LockedServer = { ...before, [section]: items };
  const next: LockedServer = {
    ...after,
    history: [...before.history, ...historyFor(server, before, after, approval, { kind, name })],
  };
  return { lock: { ...lock, servers: { ...lock.servers, [server]: next } }, changes };
}
