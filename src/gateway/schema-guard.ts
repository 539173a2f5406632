/**
 * The schema lock, enforced in a gateway session: on connect and on every tools/list_changed the
 * live tools are compared with the lock; a blocked tool is hidden from tools/list and a call to
 * it is refused with what changed and the command that accepts it. Every drift is reported once
 * per live version (audit record + stderr line). Schemas themselves are never touched.
 */
import type { McpServerConfig } from '../config/mcp-server.js';
import type { ToolGate, ToolGuard } from '../pipeline/tool-filter.js';
import type { LockState, SchemaPolicy, ToolVerdict } from '../schema/enforce.js';
import { refusalMessage, toolVerdict } from '../schema/enforce.js';
import type { ServerFacts } from '../schema/lockfile.js';
import { serverFactsOf } from '../schema/server-facts.js';
import type { Upstream } from './upstream/connect.js';
import { listAllTools } from './upstream/connect.js';

/** One drift, as the audit trail records it (`schema.drift`). */
export interface DriftReport {
  server: string;
  tool: string;
  verdict: ToolVerdict;
  lockFile: string;
}

export interface SchemaGuardSettings {
  /** The lock as it is now (re-read when the file changes). */
  lock(): LockState;
  policy: SchemaPolicy;
  /** `gatehouse [--lock FILE] schema approve`. */
  approvePrefix: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  onDrift(report: DriftReport): void;
}

/** Builds one session's guard; `listTools` lists a server's tools now (for a call not listed yet). */
export type SchemaGuardFactory = (
  listTools: (server: string) => Promise<readonly unknown[]>,
) => SchemaGuard;

export class SchemaGuard implements ToolGuard {
  private readonly facts = new Map<string, ServerFacts>();
  private readonly live = new Map<string, Map<string, Record<string, unknown>>>();
  private readonly stale = new Set<string>();
  private readonly reported = new Set<string>();

  constructor(
    private readonly settings: SchemaGuardSettings,
    private readonly listTools: (server: string) => Promise<readonly unknown[]>,
  ) {}

  /** A server (re)started: its facts are taken now, and its tools checked. */
  async connected(config: McpServerConfig, upstream: Upstream): Promise<void> {
    const lock = this.settings.lock();
    const locked = lock.status === 'loaded' ? lock.lock.servers[config.name] : undefined;
    this.facts.set(
      config.name,
      serverFactsOf(
        config,
        this.settings.env,
        this.settings.cwd,
        {
          serverInfo: { name: upstream.serverInfo.name, version: upstream.serverInfo.version },
          // Negotiated with the client, not a property of the server: never compared here.
          protocolVersion: null,
        },
        // Hashing a 100 MB interpreter costs ~0.3 s: only when the lock can compare the result.
        (path) => locked?.executable?.path === path,
      ),
    );
    this.stale.add(config.name);
    await this.ensureListed(config.name, () => listAllTools(upstream));
  }

  /** The server said tools/list_changed (or restarted): check its tools again. */
  async refresh(server: string): Promise<void> {
    this.stale.add(server);
    await this.ensureListed(server);
  }

  private async ensureListed(
    server: string,
    list: () => Promise<readonly unknown[]> = () => this.listTools(server),
  ): Promise<void> {
    if (!this.stale.has(server) && this.live.has(server)) return;
    this.stale.delete(server);
    let tools: readonly unknown[] = [];
    try {
      tools = await list();
    } catch {
      // The call itself will report the upstream's failure; nothing to check against.
      return;
    }
    const byName = new Map<string, Record<string, unknown>>();
    for (const t of tools) {
      const tool = t as Record<string, unknown> | null;
      if (tool && typeof tool.name === 'string') {
        byName.set(tool.name, tool);
        this.verdict(server, tool);
      }
    }
    this.live.set(server, byName);
  }

  private verdict(server: string, tool: Record<string, unknown>): ToolVerdict {
    const lock = this.settings.lock();
    const verdict = toolVerdict({
      lock,
      policy: this.settings.policy,
      server,
      facts: this.facts.get(server) ?? null,
      tool,
      approvePrefix: this.settings.approvePrefix,
    });
    if (verdict.reason !== '') {
      const key = `${server}\u0000${String(tool.name)}\u0000${verdict.liveSha256}\u0000${verdict.action}\u0000${verdict.reason}`;
      if (!this.reported.has(key)) {
        this.reported.add(key);
        this.settings.onDrift({ server, tool: String(tool.name), verdict, lockFile: lock.file });
      }
    }
    return verdict;
  }

  hiddenReason(server: string, tool: Record<string, unknown>): string | null {
    if (typeof tool.name !== 'string') return null;
    const known = this.live.get(server) ?? new Map<string, Record<string, unknown>>();
    known.set(tool.name, tool);
    this.live.set(server, known);
    const v = this.verdict(server, tool);
    return v.action === 'block' ? `schema: ${v.reason}` : null;
  }

  async gate(server: string, tool: string): Promise<ToolGate | null> {
    if (!this.live.get(server)?.has(tool)) this.stale.add(server);
    await this.ensureListed(server);
    const def = this.live.get(server)?.get(tool);
    // Not listed by the server: the upstream answers "unknown tool" itself.
    const v = def ? this.verdict(server, def) : null;
    if (!v || v.action === 'allow' || v.action === 'warn') return null;
    const message = refusalMessage(server, tool, v);
    return v.action === 'block'
      ? { action: 'refuse', rule: 'schema_lock', message }
      : { action: 'needs_approval', rule: 'schema_lock', message };
  }
}
