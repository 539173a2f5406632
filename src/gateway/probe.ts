import { statSync } from 'node:fs';
import type { McpServerConfig } from '../config/mcp-server.js';
import { DEFAULT_STARTUP_TIMEOUT_SEC } from '../config/mcp-server.js';
import { maskTokens, maskUrl } from '../masking/mask-text.js';
import { findExecutable } from '../requirements/executable.js';
import type { ExecutablePin } from '../requirements/executable-pin.js';
import type { Upstream } from './upstream/connect.js';
import {
  connectUpstream,
  describeStartFailure,
  httpStatus,
  startFailureState,
  UpstreamStartError,
  UpstreamTimeout,
} from './upstream/connect.js';
import { networkErrorText } from './upstream/network-errors.js';
import { CredentialUnavailable } from '../credentials/token-endpoint.js';
import { gatehouseVersion } from '../version.js';

/** What starting a server showed, kept apart rather than collapsed into "failed". */
export type RuntimeState = 'ready' | 'no_tools' | 'auth_required' | 'missing' | 'failed';

export interface ProbeResult {
  state: RuntimeState;
  toolCount: number | null;
  /** The tools the server listed (all pages), for what a caller would see of them. */
  tools?: Record<string, unknown>[];
  /** How many of them a caller would see, and why the others are hidden (mcp list --probe). */
  exposed?: { count: number; hidden: { tool: string; reason: string }[] };
  /** One line, secrets masked. */
  detail: string;
  serverInfo: { name: string; version: string } | null;
  /** The protocol era the server was spoken to in, once it answered (`modern` = 2026-07-28). */
  era?: 'legacy' | 'modern';
  /** For auth_required: the server published OAuth protected-resource metadata. */
  oauth: boolean;
  elapsedMs: number;
}

export interface ProbeOptions {
  env: NodeJS.ProcessEnv;
  /** Overrides the server's `startup_timeout_sec` (tests). */
  timeoutMs?: number;
  /**
   * Runs on a server that started, while it is still connected (`schema snapshot` reads its
   * whole contract here); a failure makes the probe `failed` with that reason.
   */
  inspect?(server: McpServerConfig, upstream: Upstream, remainingMs: number): Promise<void>;
  /** sha256 pins by server name: a pinned server is started only as the gateway would. */
  pins?: ReadonlyMap<string, ExecutablePin>;
}

const CLIENT_INFO = { name: 'gatehouse-probe', version: gatehouseVersion() };

class ProbeTimeout extends Error {}

function result(
  state: RuntimeState,
  detail: string,
  started: number,
  extra: Partial<ProbeResult> = {},
): ProbeResult {
  return {
    state,
    detail: maskTokens(detail),
    toolCount: null,
    serverInfo: null,
    oauth: false,
    elapsedMs: Math.round(performance.now() - started),
    ...extra,
  };
}

/**
 * Starts one server exactly as the gateway does (`connectUpstream`), runs `tools/list`, and
 * always cleans up what it started.
 */
export async function probeServer(
  server: McpServerConfig,
  options: ProbeOptions,
): Promise<ProbeResult> {
  const started = performance.now();
  const timeoutMs =
    options.timeoutMs ?? (server.startupTimeoutSec ?? DEFAULT_STARTUP_TIMEOUT_SEC) * 1000;
  const t = server.transport;
  if (t.type === 'stdio') {
    if (t.cwd !== null && !isDirectory(t.cwd))
      return result('missing', `cwd ${t.cwd} does not exist or is not a directory`, started);
    if (!findExecutable(t, options.env)) {
      return result(
        'missing',
        `executable \`${t.command}\` not found${t.command.includes('/') ? '' : ' on PATH'}`,
        started,
      );
    }
  }
  let upstream: Upstream;
  try {
    upstream = await connectUpstream(
      { ...server, startupTimeoutSec: timeoutMs / 1000 },
      {
        env: options.env,
        capabilities: {},
        clientInfo: CLIENT_INFO,
        pin: options.pins?.get(server.name) ?? null,
      },
    );
  } catch (err) {
    return startFailure(err, server, options, timeoutMs, started);
  }
  try {
    const serverInfo = { name: upstream.serverInfo.name, version: upstream.serverInfo.version };
    const era = upstream.era;
    const inspect = async () => {
      if (!options.inspect) return;
      const remaining = Math.max(1, timeoutMs - (performance.now() - started));
      await withTimeout(options.inspect(server, upstream, remaining), remaining);
    };
    if (!upstream.capabilities.tools) {
      await inspect();
      return result('no_tools', 'the server does not offer tools', started, {
        serverInfo,
        era,
        toolCount: 0,
      });
    }
    const tools: Record<string, unknown>[] = [];
    let cursor: string | undefined;
    do {
      const remaining = Math.max(1, timeoutMs - (performance.now() - started));
      const page = await withTimeout(
        upstream.client.listTools(cursor ? { cursor } : undefined),
        remaining,
      );
      tools.push(...(page.tools as Record<string, unknown>[]));
      cursor = page.nextCursor;
    } while (cursor);
    await inspect();
    const count = tools.length;
    return count === 0
      ? result('no_tools', 'tools/list returned no tools', started, {
          serverInfo,
          era,
          toolCount: 0,
        })
      : result('ready', `${count} tool${count === 1 ? '' : 's'}`, started, {
          serverInfo,
          era,
          toolCount: count,
          tools,
        });
  } catch (err) {
    if (err instanceof ProbeTimeout)
      return result(
        'failed',
        `timed out after ${timeoutMs / 1000}s waiting for tools/list`,
        started,
      );
    return result(
      'failed',
      `${options.inspect ? 'listing' : 'tools/list'} failed: ${errorText(err)}`,
      started,
    );
  } finally {
    await upstream.close();
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ProbeTimeout()), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (
    message
      .replace(/^MCP error -?\d+: /, '')
      .split('\n')[0]
      ?.slice(0, 300) ?? ''
  );
}

async function startFailure(
  err: unknown,
  server: McpServerConfig,
  options: ProbeOptions,
  timeoutMs: number,
  started: number,
): Promise<ProbeResult> {
  const t = server.transport;
  if (err instanceof UpstreamTimeout)
    return result('failed', `timed out after ${timeoutMs / 1000}s waiting for initialize`, started);
  const state = startFailureState(err);
  // An upstream credential Gatehouse could not produce: nothing was sent; say why and what to do.
  if (err instanceof CredentialUnavailable)
    return result(
      state,
      maskTokens(err.message),
      started,
      err.reason === 'login_required' ? { oauth: true } : {},
    );
  if (state === 'missing')
    return result(
      'missing',
      `executable \`${t.type === 'stdio' ? t.command : ''}\` not found`,
      started,
    );
  if (state === 'auth_required' && t.type === 'streamable_http') {
    const status = httpStatus(err instanceof UpstreamStartError ? err.cause : err) ?? 401;
    const tokenNote =
      t.bearerTokenEnvVar && !options.env[t.bearerTokenEnvVar]
        ? ` (${t.bearerTokenEnvVar} is not set)`
        : '';
    const header = err instanceof UpstreamStartError ? err.wwwAuthenticate : null;
    return authRequired(
      new URL(t.url),
      { status, wwwAuthenticate: header },
      started,
      tokenNote,
      Math.max(1000, timeoutMs - (performance.now() - started)),
    );
  }
  if (t.type === 'streamable_http') {
    const cause = err instanceof UpstreamStartError ? err.cause : err;
    return result(
      'failed',
      `cannot reach ${maskUrl(t.url)}: ${networkErrorText(cause) ?? errorText(cause)}`,
      started,
    );
  }
  return result(
    'failed',
    describeStartFailure(err).replace(/^the server /, 'the server '),
    started,
  );
}

/** 401/403: look for RFC 9728 protected-resource metadata, header first, then well-known paths. */
async function authRequired(
  url: URL,
  last: { status: number; wwwAuthenticate: string | null },
  started: number,
  tokenNote: string,
  budgetMs: number,
): Promise<ProbeResult> {
  const candidates: string[] = [];
  const fromHeader = /resource_metadata="([^"]+)"/.exec(last.wwwAuthenticate ?? '')?.[1];
  // Only follow a metadata URL on the server's own origin: the probe must not be steered to
  // fetch arbitrary (e.g. internal) URLs by whatever a server puts in its header.
  if (fromHeader && sameOrigin(fromHeader, url)) candidates.push(fromHeader);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  candidates.push(
    `${url.origin}/.well-known/oauth-protected-resource${path}`,
    `${url.origin}/.well-known/oauth-protected-resource`,
  );
  for (const candidate of candidates) {
    try {
      const response = await fetch(candidate, {
        signal: AbortSignal.timeout(Math.min(budgetMs, 3000)),
      });
      if (!response.ok) continue;
      const body = (await response.json()) as { authorization_servers?: string[] };
      if (Array.isArray(body.authorization_servers) && body.authorization_servers.length > 0) {
        return result(
          'auth_required',
          `HTTP ${last.status}: OAuth required (authorization server ${body.authorization_servers.join(', ')})${tokenNote}`,
          started,
          { oauth: true },
        );
      }
    } catch {
      // try the next location
    }
  }
  return result(
    'auth_required',
    `HTTP ${last.status} without OAuth metadata: the server wants a token${tokenNote}`,
    started,
  );
}

function sameOrigin(candidate: string, url: URL): boolean {
  try {
    return new URL(candidate).origin === url.origin;
  } catch {
    return false;
  }
}

/** Probes servers in parallel; each is bounded by its own startup timeout. */
export async function probeServers(
  servers: readonly McpServerConfig[],
  options: ProbeOptions & {
    onSettled?: (server: McpServerConfig, result: ProbeResult, done: number) => void;
  },
): Promise<Map<string, ProbeResult>> {
  const results = new Map<string, ProbeResult>();
  let done = 0;
  await Promise.all(
    servers.map(async (server) => {
      const r = await probeServer(server, options).catch((err: unknown) =>
        result('failed', `probe error: ${errorText(err)}`, performance.now()),
      );
      results.set(server.name, r);
      options.onSettled?.(server, r, ++done);
    }),
  );
  return results;
}
