/**
 * Reads a connected server's contract — tools, prompts, resource templates — exactly as it lists
 * them (through a result schema that strips nothing), into the lock's shape.
 */
import type { Upstream } from '../gateway/upstream/connect.js';
import { passThroughSchema } from '../gateway/wire.js';
import type { ContractKind, LockedItem, LockedServer, ServerFacts } from './lockfile.js';
import { itemKey, lockItem } from './lockfile.js';

const LISTS: {
  kind: ContractKind;
  method: string;
  key: string;
  capability: 'tools' | 'prompts' | 'resources';
}[] = [
  { kind: 'tool', method: 'tools/list', key: 'tools', capability: 'tools' },
  { kind: 'prompt', method: 'prompts/list', key: 'prompts', capability: 'prompts' },
  {
    kind: 'resource_template',
    method: 'resources/templates/list',
    key: 'resourceTemplates',
    capability: 'resources',
  },
];

/** Follows cursors, bounded (100 pages) like the gateway's own listing. */
async function listAll(
  upstream: Upstream,
  method: string,
  key: string,
  timeoutMs: number,
): Promise<unknown[]> {
  const items: unknown[] = [];
  let cursor: unknown;
  for (let page = 0; page < 100; page++) {
    const result = (await upstream.client.request(
      { method, params: cursor === undefined ? {} : { cursor } } as never,
      passThroughSchema,
      { timeout: timeoutMs },
    )) as Record<string, unknown>;
    const list = result[key];
    if (Array.isArray(list)) items.push(...(list as unknown[]));
    cursor = result.nextCursor;
    if (typeof cursor !== 'string' || cursor === '') break;
  }
  return items;
}

/** Items by their lock key; a nameless item or a duplicate name is a problem the caller reports. */
export function lockItems(
  kind: ContractKind,
  items: readonly unknown[],
): { items: Record<string, LockedItem>; problems: string[] } {
  const out: Record<string, LockedItem> = {};
  const problems: string[] = [];
  for (const raw of items) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(`a ${kind} that is not an object was skipped`);
      continue;
    }
    const item = raw as Record<string, unknown>;
    const key = itemKey(kind, item);
    if (key === null) {
      problems.push(`a ${kind} without a name was skipped`);
      continue;
    }
    if (out[key]) {
      problems.push(`${kind} '${key}' is listed twice; the first was kept`);
      continue;
    }
    try {
      out[key] = lockItem(kind, item, null);
    } catch (err) {
      problems.push(`${kind} '${key}' was skipped: ${(err as Error).message}`);
    }
  }
  return { items: out, problems };
}

export interface CapturedContract {
  server: LockedServer;
  problems: string[];
}

/** The server's whole contract as a lock entry (not approved yet, no history). */
export async function captureContract(
  upstream: Upstream,
  facts: ServerFacts,
  timeoutMs: number,
): Promise<CapturedContract> {
  const server: LockedServer = {
    ...facts,
    approved: null,
    tools: {},
    prompts: {},
    resource_templates: {},
    history: [],
  };
  const problems: string[] = [];
  for (const list of LISTS) {
    if (!upstream.capabilities[list.capability]) continue;
    let items: unknown[];
    try {
      items = await listAll(upstream, list.method, list.key, timeoutMs);
    } catch (err) {
      // A server may declare resources without templates: only tools must list.
      if (list.kind === 'tool') throw err;
      problems.push(`${list.method} failed: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    const locked = lockItems(list.kind, items);
    problems.push(...locked.problems);
    if (list.kind === 'tool') server.tools = locked.items;
    else if (list.kind === 'prompt') server.prompts = locked.items;
    else server.resource_templates = locked.items;
  }
  return { server, problems };
}

/** The protocol version the server and this client agreed on, when the SDK tells. */
export function negotiatedProtocolVersion(upstream: Upstream): string | null {
  const client = upstream.client as unknown as { getNegotiatedProtocolVersion?: () => unknown };
  const v = client.getNegotiatedProtocolVersion?.();
  return typeof v === 'string' ? v : null;
}
