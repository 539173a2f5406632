import { join } from 'node:path';
import { childEnvironment } from '../config/child-environment.js';
import type { StdioTransport } from '../config/mcp-server.js';
import { chooseAuditStore } from '../audit/store-choice.js';

/**
 * The environment a client gives the `gatehouse run NAME` it starts, and what of Gatehouse's
 * settings survive it. Codex passes only its fixed allow-list plus the entry's `env_vars` and
 * literal `env` (the same rule Gatehouse applies to its own upstreams, `childEnvironment`); the
 * JSON clients pass their whole environment plus `env`. Pure.
 */

export type ClientId = 'codex' | 'claude-code' | 'cursor' | 'vscode';

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

/** A client entry as the stdio transport the client will start (env filtering included). */
export function launchTransport(
  client: ClientId,
  entry: unknown,
  parent: NodeJS.ProcessEnv,
): StdioTransport {
  const e = obj(entry);
  const env = Object.fromEntries(
    Object.entries(obj(e.env)).filter((kv): kv is [string, string] => typeof kv[1] === 'string'),
  );
  const forwarded =
    client === 'codex'
      ? (Array.isArray(e.env_vars) ? e.env_vars : []).flatMap((v: unknown) =>
          typeof v === 'string'
            ? [v]
            : typeof obj(v).name === 'string'
              ? [obj(v).name as string]
              : [],
        )
      : Object.keys(parent);
  return {
    type: 'stdio',
    command: typeof e.command === 'string' ? e.command : '',
    args: Array.isArray(e.args) ? e.args.map(String) : [],
    env: Object.keys(env).length ? env : null,
    envVars: forwarded,
    cwd: typeof e.cwd === 'string' ? e.cwd : null,
  };
}

export interface SettingReach {
  name: string;
  /** `passed`: same value; `pinned`: the entry sets its own value; `dropped`: never arrives. */
  reach: 'passed' | 'pinned' | 'dropped';
}

/** Each GATEHOUSE_* variable set here, and whether the launched gateway gets it. */
export function gatehouseSettingsReach(
  transport: StdioTransport,
  parent: NodeJS.ProcessEnv,
): SettingReach[] {
  const child = childEnvironment(transport, parent);
  return Object.keys(parent)
    .filter((k) => k.startsWith('GATEHOUSE_') && parent[k] !== undefined && parent[k] !== '')
    .sort()
    .map((name) => ({
      name,
      reach:
        child[name] === undefined ? 'dropped' : child[name] === parent[name] ? 'passed' : 'pinned',
    }));
}

/**
 * The home and audit spec the launched gateway resolves: from its own environment, by the same
 * rule every command uses (the admin's store wins over GATEHOUSE_AUDIT).
 */
export function launchedSettings(
  transport: StdioTransport,
  parent: NodeJS.ProcessEnv,
  adminStore: string | undefined,
): { home: string; auditSpec: string | undefined } {
  const child = childEnvironment(transport, parent);
  const home =
    child.GATEHOUSE_HOME && child.GATEHOUSE_HOME !== ''
      ? child.GATEHOUSE_HOME
      : join(child.HOME ?? '/', '.gatehouse');
  const store = chooseAuditStore({
    admin: adminStore,
    flag: undefined,
    env: child.GATEHOUSE_AUDIT,
  });
  return { home, auditSpec: store.spec };
}
