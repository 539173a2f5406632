import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/canonical-json.js';
import type { McpServerConfig } from '../config/mcp-server.js';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * What an approval binding says about a server: its name and its full transport identity —
 * command or URL, args, cwd, env and header KEYS, and a hash of their values (including
 * forwarded `env_vars` as this process sees them). Two servers that differ only in a secret
 * (an env value, a masked arg) therefore get different bindings. The result only ever goes
 * into the approval binding's keyed hash; it is never stored or printed. Pure but for `env`.
 */
export function bindingIdentity(server: McpServerConfig, env: NodeJS.ProcessEnv): unknown {
  const t = server.transport;
  if (t.type === 'stdio') {
    const literal = t.env ?? {};
    const forwarded = Object.fromEntries(
      t.envVars.map((v) => {
        const name = typeof v === 'string' ? v : v.name;
        return [name, env[name] ?? null];
      }),
    );
    return {
      name: server.name,
      transport: 'stdio',
      command: t.command,
      args_sha256: sha256(canonicalJson(t.args)),
      args_count: t.args.length,
      cwd: t.cwd,
      env_keys: Object.keys(literal).sort(),
      env_values_sha256: sha256(canonicalJson(literal)),
      env_vars: Object.keys(forwarded).sort(),
      env_vars_values_sha256: sha256(canonicalJson(forwarded)),
    };
  }
  const headers = { ...(t.httpHeaders ?? {}) };
  return {
    name: server.name,
    transport: 'streamable_http',
    url_sha256: sha256(t.url),
    header_keys: Object.keys(headers).sort(),
    header_values_sha256: sha256(canonicalJson(headers)),
    env_headers: t.envHttpHeaders ?? {},
    bearer_token_env_var: t.bearerTokenEnvVar,
    bearer_token_sha256: t.bearerTokenEnvVar ? sha256(env[t.bearerTokenEnvVar] ?? '') : null,
  };
}

/** Every configured server's binding identity, by name. */
export function bindingIdentities(
  servers: readonly McpServerConfig[],
  env: NodeJS.ProcessEnv,
): Map<string, unknown> {
  return new Map(servers.map((s) => [s.name, bindingIdentity(s, env)]));
}
