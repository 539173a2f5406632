import type { StdioTransport } from './mcp-server.js';

/** Environment variables a stdio server inherits by default, as Codex passes them. */
export const DEFAULT_ENV_VARS: readonly string[] = [
  'HOME',
  'LOGNAME',
  'PATH',
  'SHELL',
  'USER',
  'LANG',
  'LC_ALL',
  'TERM',
  'TMPDIR',
  'TZ',
];

/**
 * The child's environment: the safe defaults, then forwarded `env_vars`, then literal `env`.
 * One function for both the spawn and the pin check, so both see the PATH the child will see.
 */
export function childEnvironment(
  t: StdioTransport,
  parent: NodeJS.ProcessEnv,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of DEFAULT_ENV_VARS) {
    const v = parent[name];
    if (v !== undefined) env[name] = v;
  }
  for (const ref of t.envVars) {
    const name = typeof ref === 'string' ? ref : ref.name;
    const v = parent[name];
    if (v !== undefined) env[name] = v;
  }
  return { ...env, ...(t.env ?? {}) };
}
