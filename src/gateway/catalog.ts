import { UriTemplate } from '@modelcontextprotocol/server';
import type { McpServerConfig } from '../config/mcp-server.js';
import { hiddenToolReason } from '../pipeline/tool-filter.js';
import { annotationsOf } from '../policy/model.js';
import type { ToolAnnotations } from '../policy/model.js';
import type { HiddenTool, ToolGuard } from '../pipeline/tool-filter.js';
import type { ToolRef } from './tool-names.js';
import { nameTools } from './tool-names.js';
import type { Upstream } from './upstream/connect.js';
import { passThroughSchema } from './wire.js';

/** One ready upstream behind `gatehouse serve`. */
export interface ServedUpstream {
  config: McpServerConfig;
  upstream: Upstream;
  /** Starts a new session after the server forgot ours (HTTP 404). */
  reinitialize?: (reason: string) => Promise<Upstream | null>;
}

/** Lists can be paginated upstream; the gateway answers with one page, so a cap keeps it bounded. */
const MAX_PAGES = 100;

/**
 * What `gatehouse serve` offers: every ready server's tools and prompts under `server__name`
 * names (Codex's rules, tool-names.ts), resources under their own URIs. Keeps the maps from
 * exposed names back to (server, raw name), refreshed by each list (and before routing a name
 * it does not know yet).
 */
export class Catalog {
  private readonly tools = new Map<string, ToolRef>();
  private readonly prompts = new Map<string, ToolRef>();
  private readonly resources = new Map<string, string>();
  private templates: { server: string; template: UriTemplate }[] = [];
  /**
   * A name the maps do not know is looked up again only when something may have changed
   * (an upstream said list_changed, or restarted): an unknown or hidden tool called in a loop
   * must not turn every call into a tools/list to every server.
   */
  private readonly stale = { tools: true, prompts: true, resources: true, templates: true };

  /** Something changed upstream: the next miss re-lists. */
  invalidate(): void {
    this.stale.tools = this.stale.prompts = this.stale.resources = this.stale.templates = true;
  }

  constructor(
    private readonly upstreams: () => readonly ServedUpstream[],
    private readonly onListError: (server: string, message: string) => void,
    /** The schema lock's check, when the gateway enforces one. */
    private readonly guard?: ToolGuard,
  ) {}

  private async listAll(
    u: ServedUpstream,
    method: string,
    key: string,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let cursor: unknown;
    for (let page = 0; page < MAX_PAGES; page++) {
      const params = cursor === undefined ? {} : { cursor };
      const result = (await u.upstream.client.request(
        { method, params } as never,
        passThroughSchema,
      )) as Record<string, unknown>;
      const list = result[key];
      if (Array.isArray(list)) items.push(...(list as Record<string, unknown>[]));
      cursor = result.nextCursor;
      if (typeof cursor !== 'string' || cursor === '') break;
    }
    return items;
  }

  /** Runs `list` on every server offering `capability`; a failing server is reported and left out. */
  private async gather(capability: 'tools' | 'prompts' | 'resources', method: string, key: string) {
    const offering = this.upstreams().filter((u) => u.upstream.capabilities[capability]);
    const lists = await Promise.all(
      offering.map(async (u) => {
        try {
          return { u, items: await this.listAll(u, method, key) };
        } catch (err) {
          this.onListError(
            u.config.name,
            `${method} failed: ${err instanceof Error ? err.message : String(err)}`,
          );
          return { u, items: [] };
        }
      }),
    );
    return lists;
  }

  private rename(
    lists: { u: ServedUpstream; items: Record<string, unknown>[] }[],
    into: Map<string, ToolRef>,
  ): Record<string, unknown>[] {
    const refs = lists.flatMap(({ u, items }) =>
      items
        .filter((i) => typeof i.name === 'string')
        .map((i) => ({ server: u.config.name, tool: i.name as string, item: i })),
    );
    const named = nameTools(refs.map(({ server, tool }) => ({ server, tool })));
    into.clear();
    return refs.map((ref, i) => {
      const exposed = named[i]?.exposed ?? ref.tool;
      into.set(exposed, { server: ref.server, tool: ref.tool });
      return { ...ref.item, name: exposed };
    });
  }

  private readonly annotations = new Map<string, ToolAnnotations | null>();

  /** A tool's declared annotations (`server\u0000tool`), listing the tools if it is not known yet. */
  async toolAnnotations(server: string, tool: string): Promise<ToolAnnotations | null> {
    const key = `${server}\u0000${tool}`;
    if (!this.annotations.has(key) && this.stale.tools) await this.listTools();
    return this.annotations.get(key) ?? null;
  }

  private readonly outputSchemas = new Map<string, unknown>();

  /** A tool's declared `outputSchema` (masking keeps structuredContent valid against it). */
  async toolOutputSchema(server: string, tool: string): Promise<unknown> {
    const key = `${server}\u0000${tool}`;
    if (!this.outputSchemas.has(key) && this.stale.tools) await this.listTools();
    return this.outputSchemas.get(key);
  }

  /** What the last tools/list left out, and why (for the audit trail). */
  hiddenTools: HiddenTool[] = [];

  async listTools(): Promise<Record<string, unknown>[]> {
    const lists = await this.gather('tools', 'tools/list', 'tools');
    const hidden: HiddenTool[] = [];
    // Blocked by the schema lock: hidden from the list, but still routable, so a call to it is
    // refused with what changed (an allowlist-hidden tool is unknown, as if it did not exist).
    const blocked = new Set<Record<string, unknown>>();
    const allowed = lists.map(({ u, items }) => ({
      u,
      items: items.filter((t) => {
        if (typeof t.name !== 'string') return false;
        const reason = hiddenToolReason(t.name, {
          enabledTools: u.config.enabledTools,
          disabledTools: u.config.disabledTools,
        });
        const schemaReason = reason ? null : (this.guard?.hiddenReason(u.config.name, t) ?? null);
        if (reason ?? schemaReason)
          hidden.push({
            server: u.config.name,
            tool: t.name,
            reason: (reason ?? schemaReason) as string,
          });
        if (schemaReason) blocked.add(t);
        return reason === null;
      }),
    }));
    this.hiddenTools = hidden;
    this.annotations.clear();
    this.outputSchemas.clear();
    for (const { u, items } of lists)
      for (const t of items)
        if (typeof t.name === 'string') {
          this.annotations.set(`${u.config.name}\u0000${t.name}`, annotationsOf(t));
          this.outputSchemas.set(`${u.config.name}\u0000${t.name}`, t.outputSchema);
        }
    this.stale.tools = false;
    const named = this.rename(allowed, this.tools);
    const flat = allowed.flatMap(({ items }) => items);
    return named.filter((_, i) => !blocked.has(flat[i] as Record<string, unknown>));
  }

  async listPrompts(): Promise<Record<string, unknown>[]> {
    this.stale.prompts = false;
    return this.rename(await this.gather('prompts', 'prompts/list', 'prompts'), this.prompts);
  }

  async listResources(): Promise<Record<string, unknown>[]> {
    const lists = await this.gather('resources', 'resources/list', 'resources');
    this.stale.resources = false;
    this.resources.clear();
    for (const { u, items } of lists)
      for (const r of items)
        if (typeof r.uri === 'string' && !this.resources.has(r.uri))
          this.resources.set(r.uri, u.config.name);
    return lists.flatMap(({ items }) => items);
  }

  async listResourceTemplates(): Promise<Record<string, unknown>[]> {
    this.stale.templates = false;
    const lists = await this.gather('resources', 'resources/templates/list', 'resourceTemplates');
    this.templates = lists.flatMap(({ u, items }) =>
      items.flatMap((t) => {
        try {
          return typeof t.uriTemplate === 'string'
            ? [{ server: u.config.name, template: new UriTemplate(t.uriTemplate) }]
            : [];
        } catch {
          return [];
        }
      }),
    );
    return lists.flatMap(({ items }) => items);
  }

  async resolveTool(exposed: string): Promise<ToolRef | null> {
    if (!this.tools.has(exposed) && this.stale.tools) await this.listTools();
    return this.tools.get(exposed) ?? null;
  }

  async resolvePrompt(exposed: string): Promise<ToolRef | null> {
    if (!this.prompts.has(exposed) && this.stale.prompts) await this.listPrompts();
    return this.prompts.get(exposed) ?? null;
  }

  /** Which server a resource URI belongs to: a listed resource, else the first matching template. */
  async serverForUri(uri: string): Promise<string | null> {
    if (!this.resources.has(uri) && this.stale.resources) await this.listResources();
    const listed = this.resources.get(uri);
    if (listed) return listed;
    if (this.stale.templates) await this.listResourceTemplates();
    return this.templates.find((t) => t.template.match(uri) !== null)?.server ?? null;
  }
}
