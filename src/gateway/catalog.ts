import { UriTemplate } from '@modelcontextprotocol/server';
import type { McpServerConfig } from '../config/mcp-server.js';
import { hiddenToolReason } from '../pipeline/tool-filter.js';
import { annotationsOf, stricterAnnotations } from '../policy/model.js';
import type { ToolAnnotations } from '../policy/model.js';
import type { HiddenTool, ToolGate, ToolGuard } from '../pipeline/tool-filter.js';
import type { ToolRef } from './tool-names.js';
import { nameTools, sanitizeName } from './tool-names.js';
import type { Upstream } from './upstream/connect.js';
import { passThroughSchema } from './wire.js';
import { canonicalJson } from '../audit/canonical-json.js';

/** One ready upstream behind a gateway session. */
export interface ServedUpstream {
  config: McpServerConfig;
  upstream: Upstream;
  /** Starts a new session after the server forgot ours (HTTP 404). */
  reinitialize?: (reason: string) => Promise<Upstream | null>;
}

/** Lists can be paginated upstream; the gateway answers with one page, so a cap keeps it bounded. */
const MAX_PAGES = 100;

/**
 * How the client names tools: `namespaced` (`gatehouse serve`: `server__tool`, Codex's rules,
 * tool-names.ts) or `raw` (`gatehouse run`: one server, its own names).
 */
export type ToolNaming = 'namespaced' | 'raw';

/** Where a name the client used goes, or why it goes nowhere. */
export type ToolRoute = ToolRef | { refusal: string; server: string } | null;

/** Where a resource URI goes: one server, none, or several (an ambiguity, refused). */
export type UriRoute = { server: string } | { ambiguous: string[] } | null;

export interface CatalogOptions {
  naming: ToolNaming;
  /** A server's list request failed (reported on stderr; the server is left out). */
  onListError(server: string, message: string): void;
  /** The schema lock's check, when the gateway enforces one. */
  guard?: ToolGuard;
  /**
   * How long calls wait for a server's tools to be checked again after it (re)connected or said
   * its tools changed; past it, calls to that server are refused until a listing succeeds.
   */
  recheckTimeoutMs(server: McpServerConfig): number;
}

/** The exposed view of the last checked listings: what the client sees, and where each name goes. */
interface ToolView {
  tools: Record<string, unknown>[];
  routes: Map<string, ToolRef>;
  hidden: HiddenTool[];
}

const EMPTY_VIEW: ToolView = { tools: [], routes: new Map(), hidden: [] };

function sameJson(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false; // not comparable: treated as changed
  }
}

/**
 * The check a gateway forwarder runs when a server re-initialises under a tools/call: the
 * definition the call was checked against is taken now, and compared after (catalog.recheckedCall).
 */
export function reconnectCheck(
  catalog: Catalog,
): (ctx: {
  request: { method: string };
  target: { server: string; tool: string | null } | null;
}) => () => Promise<string | null> {
  return (ctx) => {
    const target = ctx.target;
    if (ctx.request.method !== 'tools/call' || !target?.tool) return async () => null;
    const tool = target.tool;
    const before = catalog.toolDefinition(target.server, tool);
    return () => catalog.recheckedCall(target.server, tool, before);
  };
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * What a gateway session offers the client, and the one place that decides it: every server's
 * tools come from a listing that went through the allowlists and the schema guard, and a call is
 * routed ONLY to a name of that listing (never to a name the server did not list: a server that
 * normalises names would otherwise run `Wipe` for a rule that names `wipe`). The policy reads
 * annotations from the same listing (or from the lock). After a server (re)connects or says its
 * tools changed, calls to it wait (bounded) for a new checked listing, and are refused if there
 * is none. Prompts and resources of `serve` are routed here too.
 */
export class Catalog {
  /** Each server's tools from its last checked listing (raw names), in the order listed. */
  private readonly listed = new Map<string, Record<string, unknown>[]>();
  /** Servers whose tools could not be checked since they (re)connected, and why. */
  private readonly unchecked = new Map<string, string>();
  /** What each server last did that made its tools need a check ("restarted", …). */
  private readonly causes = new Map<string, string>();
  /** Checks in flight after a (re)connect or list_changed; calls wait for them. */
  private readonly rechecks = new Map<string, Promise<void>>();
  /** Bumped by every listing of a server: an older listing that ends late is not applied. */
  private readonly generation = new Map<string, number>();
  private view: ToolView = EMPTY_VIEW;
  private readonly prompts = new Map<string, ToolRef>();
  /** uri → every server that lists it. */
  private readonly resources = new Map<string, string[]>();
  private templates: { server: string; template: UriTemplate }[] = [];
  /**
   * A name the maps do not know is looked up again only when something may have changed
   * (an upstream said list_changed, or restarted): an unknown or hidden tool called in a loop
   * must not turn every call into a tools/list to every server.
   */
  private readonly stale = { tools: true, prompts: true, resources: true, templates: true };

  constructor(
    private readonly upstreams: () => readonly ServedUpstream[],
    private readonly options: CatalogOptions,
  ) {}

  /** Something changed upstream: the next miss re-lists. */
  invalidate(): void {
    this.stale.tools = this.stale.prompts = this.stale.resources = this.stale.templates = true;
  }

  /** What the last tools/list left out, and why (for the audit trail). */
  get hiddenTools(): HiddenTool[] {
    return this.view.hidden;
  }

  /** Task ids are per server: which server created each task (CreateTaskResult). */
  private readonly taskOwners = new Map<string, string>();

  rememberTask(taskId: string, server: string): void {
    this.taskOwners.set(taskId, server);
  }

  taskServer(taskId: string): string | null {
    return this.taskOwners.get(taskId) ?? null;
  }

  private async listAll(
    u: ServedUpstream,
    method: string,
    key: string,
    /** Bounds each page (a call waiting on this listing must not wait for ever). */
    timeoutMs?: number,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let cursor: unknown;
    for (let page = 0; page < MAX_PAGES; page++) {
      const params = cursor === undefined ? {} : { cursor };
      const result = (await u.upstream.client.request(
        { method, params } as never,
        passThroughSchema,
        timeoutMs === undefined ? {} : { timeout: timeoutMs },
      )) as Record<string, unknown>;
      const list = result[key];
      if (Array.isArray(list))
        items.push(
          ...(list as unknown[]).filter(
            (i): i is Record<string, unknown> => i !== null && typeof i === 'object',
          ),
        );
      cursor = result.nextCursor;
      if (typeof cursor !== 'string' || cursor === '') break;
    }
    return items;
  }

  /** Runs `list` on every server offering `capability`; a failing server is reported and left out. */
  private async gather(
    capability: 'tools' | 'prompts' | 'resources',
    method: string,
    key: string,
    bounded = false,
  ) {
    const offering = this.upstreams().filter((u) => u.upstream.capabilities[capability]);
    return Promise.all(
      offering.map(async (u) => {
        const timeoutMs = bounded ? this.options.recheckTimeoutMs(u.config) : undefined;
        try {
          return {
            u,
            items: await this.listAll(u, method, key, timeoutMs),
            error: null,
            cause: null,
          };
        } catch (err) {
          const error = `${method} failed: ${reasonOf(err)}`;
          this.options.onListError(u.config.name, error);
          return { u, items: [], error, cause: err };
        }
      }),
    );
  }

  private nextGeneration(server: string): number {
    const n = (this.generation.get(server) ?? 0) + 1;
    this.generation.set(server, n);
    return n;
  }

  /**
   * A server's tools, as listed now, become the checked listing: every definition goes past the
   * schema guard (which reports drift), and the exposed view is rebuilt from it.
   */
  private apply(server: string, tools: Record<string, unknown>[]): void {
    this.listed.set(
      server,
      tools.filter((t) => typeof t.name === 'string'),
    );
    this.unchecked.delete(server);
    this.rebuild();
  }

  private rebuild(): void {
    const hidden: HiddenTool[] = [];
    const refs: { ref: ToolRef; item: Record<string, unknown>; blocked: boolean }[] = [];
    for (const u of this.upstreams()) {
      const tools = this.listed.get(u.config.name);
      if (!tools) continue;
      const filter = { enabledTools: u.config.enabledTools, disabledTools: u.config.disabledTools };
      for (const t of tools) {
        const name = t.name as string;
        const reason = hiddenToolReason(name, filter);
        if (reason) {
          hidden.push({ server: u.config.name, tool: name, reason });
          continue;
        }
        // Blocked by the schema lock: hidden from the list, but still routable, so a call to it
        // is refused with what changed (an allowlist-hidden tool is unknown, as if it did not exist).
        const schemaReason = this.options.guard?.hiddenReason(u.config.name, t) ?? null;
        if (schemaReason) hidden.push({ server: u.config.name, tool: name, reason: schemaReason });
        refs.push({ ref: { server: u.config.name, tool: name }, item: t, blocked: !!schemaReason });
      }
    }
    const names =
      this.options.naming === 'raw'
        ? refs.map((r) => r.ref.tool)
        : nameTools(refs.map((r) => r.ref)).map((n) => n.exposed);
    const routes = new Map<string, ToolRef>();
    const exposed: Record<string, unknown>[] = [];
    refs.forEach((r, i) => {
      const name = names[i] ?? r.ref.tool;
      // A server listing one name twice: the first definition is the one checked and routed.
      if (routes.has(name)) return;
      routes.set(name, r.ref);
      if (!r.blocked) exposed.push({ ...r.item, name });
    });
    this.view = { tools: exposed, routes, hidden };
  }

  /**
   * Lists every server's tools now and returns what the client may see. In `raw` naming (one
   * server) a failed listing is the client's error; with several, the failing server is left out.
   * `bounded`: for a call waiting on it, each server's listing has its re-check bound.
   */
  async listTools(bounded = false): Promise<Record<string, unknown>[]> {
    const live = this.upstreams();
    const generations = new Map(
      live.map((u) => [u.config.name, this.nextGeneration(u.config.name)]),
    );
    const lists = await this.gather('tools', 'tools/list', 'tools', bounded);
    for (const server of [...this.listed.keys()])
      if (!live.some((u) => u.config.name === server)) this.listed.delete(server);
    let failure: unknown = null;
    for (const { u, items, error, cause } of lists) {
      const server = u.config.name;
      if (this.generation.get(server) !== generations.get(server)) continue; // a newer one runs
      if (error) {
        this.listed.delete(server);
        this.unchecked.set(server, `its tools could not be listed (${error})`);
        this.causes.set(server, 'failed to list its tools');
        failure = cause;
      } else {
        this.listed.set(
          server,
          items.filter((t) => typeof t.name === 'string'),
        );
        this.unchecked.delete(server);
      }
    }
    this.stale.tools = false;
    this.rebuild();
    if (failure !== null && this.options.naming === 'raw') throw failure;
    return this.view.tools;
  }

  /**
   * A server (re)connected, or said its tools changed: its previous listing is not trusted any
   * more, and calls to it wait for a new one, checked by the guard, within the server's bound.
   */
  recheck(server: string, cause: string): Promise<void> {
    const u = this.upstreams().find((x) => x.config.name === server);
    this.listed.delete(server);
    this.rebuild();
    if (!u || !u.upstream.capabilities.tools) {
      this.unchecked.delete(server);
      return Promise.resolve();
    }
    const generation = this.nextGeneration(server);
    this.causes.set(server, cause);
    const timeoutMs = this.options.recheckTimeoutMs(u.config);
    this.unchecked.set(server, `its tools are being checked again after it ${cause}`);
    let timer: NodeJS.Timeout | undefined;
    const done = Promise.race([
      this.listAll(u, 'tools/list', 'tools'),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer to tools/list within ${timeoutMs / 1000}s`)),
          timeoutMs,
        );
      }),
    ])
      .then(
        (tools) => {
          if (this.generation.get(server) === generation) this.apply(server, tools);
        },
        (err: unknown) => {
          if (this.generation.get(server) !== generation) return;
          const why = `its tools could not be checked again after it ${cause} (${reasonOf(err)})`;
          this.unchecked.set(server, why);
          this.options.onListError(server, why);
        },
      )
      .finally(() => {
        clearTimeout(timer);
        if (this.rechecks.get(server) === done) this.rechecks.delete(server);
      });
    this.rechecks.set(server, done);
    return done;
  }

  /**
   * Waits for the re-checks in flight of these servers (all: every server), once: each is bounded,
   * and a server that keeps announcing changes cannot hold calls to the others.
   */
  private async settled(servers?: readonly string[]): Promise<void> {
    const pending = [...this.rechecks.entries()]
      .filter(([server]) => !servers || servers.includes(server))
      .map(([, done]) => done);
    await Promise.all(pending);
  }

  /** The servers an exposed name may belong to (for a refusal that says why). */
  private ownersOf(exposed: string): string[] {
    const servers = this.upstreams().map((u) => u.config.name);
    if (this.options.naming === 'raw') return servers;
    return servers.filter((s) => exposed.startsWith(`${sanitizeName(s)}__`));
  }

  /**
   * Where a tool name the client used goes: only a name of the checked listing. A name of a
   * server whose tools could not be checked since it (re)connected is refused with why, after one
   * more bounded attempt to list them.
   */
  async resolveTool(exposed: string): Promise<ToolRoute> {
    await this.settled(this.ownersOf(exposed));
    if (!this.view.routes.has(exposed) && this.stale.tools) {
      await this.listTools(true).catch(() => undefined);
    }
    const found = this.view.routes.get(exposed);
    if (found) return found;
    const blocked = this.ownersOf(exposed).filter((s) => this.unchecked.has(s));
    for (const server of blocked) await this.recheck(server, this.causes.get(server) ?? 'started');
    const again = this.view.routes.get(exposed);
    if (again) return again;
    const server = blocked.find((s) => this.unchecked.has(s));
    if (server === undefined) return null;
    return {
      server,
      refusal: `Gatehouse refused the call: server '${server}' is not usable yet: ${this.unchecked.get(server) as string}. Calls to it are refused until its tools can be checked; try again shortly.`,
    };
  }

  /**
   * A call routed before its server re-initialised is sent again only if the new session's
   * checked listing has the same definition and the lock still lets it through; otherwise why not.
   */
  async recheckedCall(server: string, tool: string, before: unknown): Promise<string | null> {
    await this.settled([server]);
    const why = this.unchecked.get(server);
    if (why) return `Gatehouse refused the call: server '${server}' re-initialised and ${why}`;
    const def = this.toolDefinition(server, tool);
    const gate = def ? this.toolGate(server, tool) : null;
    if (!def || gate || !sameJson(def, before))
      return `Gatehouse refused the call: server '${server}' re-initialised and its tool '${tool}' is not the one the call was checked against; call it again`;
    return null;
  }

  /** The definition a call is checked against: the one in the checked listing. */
  toolDefinition(server: string, tool: string): Record<string, unknown> | null {
    return this.listed.get(server)?.find((t) => t.name === tool) ?? null;
  }

  /**
   * The annotations the policy classifies a tool by: the checked listing's, and when the lock has
   * the tool, the stricter of the locked and the live ones (the lock is the trust anchor; a live
   * definition may only make a tool look more dangerous, never less).
   */
  toolAnnotations(server: string, tool: string): ToolAnnotations | null {
    const live = this.toolDefinition(server, tool);
    const locked = this.options.guard?.lockedDefinition(server, tool) ?? null;
    if (!locked) return live ? annotationsOf(live) : null;
    return stricterAnnotations(annotationsOf(locked), live ? annotationsOf(live) : null);
  }

  /** A tool's declared `outputSchema` (masking keeps structuredContent valid against it). */
  toolOutputSchema(server: string, tool: string): unknown {
    return this.toolDefinition(server, tool)?.outputSchema;
  }

  /** The schema lock's verdict on a routed call, from the checked definition. */
  toolGate(server: string, tool: string): ToolGate | null {
    const guard = this.options.guard;
    if (!guard) return null;
    const def = this.toolDefinition(server, tool);
    if (!def)
      return {
        action: 'refuse',
        rule: 'schema_lock',
        message: `Gatehouse blocked ${server}/${tool}: it is not in the server's checked tool list`,
      };
    return guard.gate(server, def);
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
        if (typeof r.uri === 'string') {
          const owners = this.resources.get(r.uri) ?? [];
          if (!owners.includes(u.config.name)) owners.push(u.config.name);
          this.resources.set(r.uri, owners);
        }
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

  /**
   * The servers a listed prompt, resource, template or task came from (by the names and URIs of the
   * last listing); none when unknown. The policy hides items of servers out of a caller's scope.
   */
  async serversOfListed(method: string, item: unknown): Promise<string[]> {
    const i = (item ?? {}) as {
      name?: unknown;
      uri?: unknown;
      uriTemplate?: unknown;
      taskId?: unknown;
    };
    if (method === 'tasks/list' && typeof i.taskId === 'string') {
      const server = this.taskServer(i.taskId);
      return server ? [server] : [];
    }
    if (method === 'prompts/list' && typeof i.name === 'string') {
      const ref = this.prompts.get(i.name);
      return ref ? [ref.server] : [];
    }
    if (method === 'resources/list' && typeof i.uri === 'string')
      return this.resources.get(i.uri) ?? [];
    if (method === 'resources/templates/list' && typeof i.uriTemplate === 'string') {
      const t = i.uriTemplate;
      return [
        ...new Set(this.templates.filter((x) => x.template.toString() === t).map((x) => x.server)),
      ];
    }
    return [];
  }

  async resolvePrompt(exposed: string): Promise<ToolRef | null> {
    if (!this.prompts.has(exposed) && this.stale.prompts) await this.listPrompts();
    return this.prompts.get(exposed) ?? null;
  }

  /**
   * Which server a resource URI belongs to. Strict: every server that lists the URI, or has a
   * template matching it, is a candidate; exactly one candidate routes, several are an
   * ambiguity (refused, never first come first served: one server must not answer for another's
   * resource), none is not found.
   */
  async serverForUri(uri: string): Promise<UriRoute> {
    if (!this.resources.has(uri) && this.stale.resources) await this.listResources();
    if (this.stale.templates) await this.listResourceTemplates();
    const owners = new Set(this.resources.get(uri) ?? []);
    for (const t of this.templates) if (t.template.match(uri) !== null) owners.add(t.server);
    if (owners.size === 0) return null;
    if (owners.size > 1) return { ambiguous: [...owners].sort() };
    return { server: [...owners][0] as string };
  }
}
