import { statSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type {
  McpServerConfig,
  StdioTransport,
  StreamableHttpTransport,
} from '../config/mcp-server.js';
import { DEFAULT_STARTUP_TIMEOUT_SEC } from '../config/mcp-server.js';
import { maskTokens, maskUrl } from '../masking/mask-text.js';
import { findExecutable } from '../requirements/executable.js';
import { ProcessGroupStdioTransport } from './upstream/stdio-process-transport.js';
import { upstreamHeaders } from './upstream/http-headers.js';
import { networkErrorText } from './upstream/network-errors.js';

/** What starting a server showed, kept apart rather than collapsed into "failed". */
export type RuntimeState = 'ready' | 'no_tools' | 'auth_required' | 'missing' | 'failed';

export interface ProbeResult {
  state: RuntimeState;
  toolCount: number | null;
  /** One line, secrets masked. */
  detail: string;
  serverInfo: { name: string; version: string } | null;
  /** For auth_required: the server published OAuth protected-resource metadata. */
  oauth: boolean;
  elapsedMs: number;
}

export interface ProbeOptions {
  env: NodeJS.ProcessEnv;
  /** Overrides the server's `startup_timeout_sec` (tests). */
  timeoutMs?: number;
}

const CLIENT_INFO = { name: 'gatehouse-probe', version: '0.1.0' };

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

/** Starts one server, runs `initialize` + `tools/list`, and always cleans up what it started. */
export async function probeServer(
  server: McpServerConfig,
  options: ProbeOptions,
): Promise<ProbeResult> {
  const started = performance.now();
  const timeoutMs =
    options.timeoutMs ?? (server.startupTimeoutSec ?? DEFAULT_STARTUP_TIMEOUT_SEC) * 1000;
  return server.transport.type === 'stdio'
    ? probeStdio(server.transport, timeoutMs, options, started)
    : probeHttp(server.transport, timeoutMs, options, started);
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeout()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function handshake(
  transport: Transport,
  timeoutMs: number,
  started: number,
): Promise<ProbeResult> {
  const client = new Client(CLIENT_INFO, { capabilities: {} });
  try {
    await withTimeout(client.connect(transport), timeoutMs);
    const info = client.getServerVersion();
    const serverInfo = info ? { name: info.name, version: info.version } : null;
    if (!client.getServerCapabilities()?.tools) {
      return result('no_tools', 'the server does not offer tools', started, {
        serverInfo,
        toolCount: 0,
      });
    }
    let count = 0;
    let cursor: string | undefined;
    const remaining = () => Math.max(1, timeoutMs - (performance.now() - started));
    do {
      const page = await withTimeout(
        client.listTools(cursor ? { cursor } : undefined),
        remaining(),
      );
      count += page.tools.length;
      cursor = page.nextCursor;
    } while (cursor);
    return count === 0
      ? result('no_tools', 'tools/list returned no tools', started, { serverInfo, toolCount: 0 })
      : result('ready', `${count} tool${count === 1 ? '' : 's'}`, started, {
          serverInfo,
          toolCount: count,
        });
  } finally {
    await client.close().catch(() => undefined);
  }
}

async function probeStdio(
  t: StdioTransport,
  timeoutMs: number,
  options: ProbeOptions,
  started: number,
): Promise<ProbeResult> {
  if (t.cwd !== null) {
    let isDir = false;
    try {
      isDir = statSync(t.cwd).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir)
      return result('missing', `cwd ${t.cwd} does not exist or is not a directory`, started);
  }
  if (!findExecutable(t, options.env)) {
    return result(
      'missing',
      `executable \`${t.command}\` not found${t.command.includes('/') ? '' : ' on PATH'}`,
      started,
    );
  }
  const transport = new ProcessGroupStdioTransport(t, options.env);
  try {
    return await handshake(transport, timeoutMs, started);
  } catch (err) {
    const exit = transport.exitStatus;
    const stderr = lastLine(transport.stderr);
    if (err instanceof ProbeTimeout) {
      return result(
        'failed',
        `timed out after ${timeoutMs / 1000}s waiting for initialize/tools/list${stderr ? ` (stderr: ${stderr})` : ''}`,
        started,
      );
    }
    if (exit) {
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      return result(
        'failed',
        `the server ${how} during startup${stderr ? `: ${stderr}` : ''}`,
        started,
      );
    }
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      return result('missing', `executable \`${t.command}\` not found`, started);
    return result(
      'failed',
      `handshake failed: ${errorText(err)}${stderr ? ` (stderr: ${stderr})` : ''}`,
      started,
    );
  } finally {
    await transport.close();
  }
}

function lastLine(text: string): string {
  const lines = text
    .trim()
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  return (lines[lines.length - 1] ?? '').slice(0, 300);
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

interface LastResponse {
  status: number;
  wwwAuthenticate: string | null;
}

async function probeHttp(
  t: StreamableHttpTransport,
  timeoutMs: number,
  options: ProbeOptions,
  started: number,
): Promise<ProbeResult> {
  const url = new URL(t.url);
  const headers = upstreamHeaders(t, options.env);
  const last: LastResponse = { status: 0, wwwAuthenticate: null };
  const recordingFetch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    last.status = response.status;
    last.wwwAuthenticate = response.headers.get('www-authenticate');
    return response;
  };
  const tokenNote =
    t.bearerTokenEnvVar && !options.env[t.bearerTokenEnvVar]
      ? ` (${t.bearerTokenEnvVar} is not set)`
      : '';
  try {
    return await handshake(
      new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: recordingFetch }),
      timeoutMs,
      started,
    );
  } catch (err) {
    if (last.status === 401 || last.status === 403)
      return authRequired(
        url,
        last,
        started,
        tokenNote,
        Math.max(1000, timeoutMs - (performance.now() - started)),
      );
    const status = err instanceof StreamableHTTPError ? err.code : last.status;
    if (status === 404 || status === 405 || status === 400) {
      // Legacy HTTP+SSE servers (2024-11-05) reject a streamable POST: try the old transport.
      try {
        return await handshake(
          new SSEClientTransport(url, {
            requestInit: { headers },
            eventSourceInit: { fetch: recordingFetch },
            fetch: recordingFetch,
          }),
          timeoutMs,
          started,
        );
      } catch (sseErr) {
        if (last.status === 401 || last.status === 403)
          return authRequired(url, last, started, tokenNote, 2000);
        return result(
          'failed',
          `HTTP ${status} from ${maskUrl(t.url)}; legacy SSE fallback also failed: ${errorText(sseErr)}`,
          started,
        );
      }
    }
    if (err instanceof ProbeTimeout)
      return result(
        'failed',
        `timed out after ${timeoutMs / 1000}s waiting for initialize/tools/list`,
        started,
      );
    const code = networkErrorText(err);
    const reason = code ?? errorText(err);
    return result('failed', `cannot reach ${maskUrl(t.url)}: ${reason}`, started);
  }
}

/** 401/403: look for RFC 9728 protected-resource metadata, header first, then well-known paths. */
async function authRequired(
  url: URL,
  last: LastResponse,
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
