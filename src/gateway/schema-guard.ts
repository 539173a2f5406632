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

/** Builds one session's guard. */
export type SchemaGuardFactory = () => SchemaGuard;

/**
 * One session's lock enforcement. It does not list tools: the catalog hands it every listing it
 * takes (the checked listing), so the definitions checked are the ones routed and classified.
 */
export class SchemaGuard implements ToolGuard {
  private readonly facts = new Map<string, ServerFacts>();
  private readonly reported = new Set<string>();

  constructor(private readonly settings: SchemaGuardSettings) {}

  /** A server (re)started: its facts are taken now (its tools are checked as the catalog lists them). */
  connected(config: McpServerConfig, upstream: Upstream): void {
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
    const v = this.verdict(server, tool);
    return v.action === 'block' ? `schema: ${v.reason}` : null;
  }

  gate(server: string, definition: Record<string, unknown>): ToolGate | null {
    const v = this.verdict(server, definition);
    if (v.action === 'allow' || v.action === 'warn') return null;
    const message = refusalMessage(server, String(definition.name), v);
    return v.action === 'block'
      ? { action: 'refuse', rule: 'schema_lock', message }
      : { action: 'needs_approval', rule: 'schema_lock', message };
  }

  lockedDefinition(server: string, tool: string): Record<string, unknown> | null {
    const lock = this.settings.lock();
    if (lock.status !== 'loaded') return null;
    const servers = lock.lock.servers;
    const tools = Object.hasOwn(servers, server) ? servers[server]?.tools : undefined;
    return tools && Object.hasOwn(tools, tool) ? (tools[tool]?.definition ?? null) : null;
  }
}
