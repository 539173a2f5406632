import type { StreamableHttpTransport } from '../../config/mcp-server.js';

/**
 * The headers an HTTP upstream gets, with Codex's semantics: static `http_headers`, then each
 * `env_http_headers` value read from the environment, then `Authorization: Bearer` from
 * `bearer_token_env_var`. Unset variables are skipped (the server then answers 401).
 */
export function upstreamHeaders(
  t: StreamableHttpTransport,
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const headers: Record<string, string> = { ...(t.httpHeaders ?? {}) };
  for (const [name, envName] of Object.entries(t.envHttpHeaders ?? {})) {
    const v = env[envName];
    if (v !== undefined) headers[name] = v;
  }
  if (t.bearerTokenEnvVar) {
    const token = env[t.bearerTokenEnvVar];
    if (token) headers.Authorization = `Bearer ${token}`;
  }
  return headers;
}
