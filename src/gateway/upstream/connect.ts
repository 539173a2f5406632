import {
  Client,
  ProtocolErrorCode,
  SSEClientTransport,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client';
import type {
  ClientCapabilities,
  Implementation,
  McpSubscription,
  PriorDiscovery,
  ServerCapabilities,
  Transport,
} from '@modelcontextprotocol/client';
import type { McpServerConfig } from '../../config/mcp-server.js';
import { DEFAULT_STARTUP_TIMEOUT_SEC } from '../../config/mcp-server.js';
import { defaultGatehouseHome } from '../../config/load-config.js';
import { GrantVault } from '../../credentials/grant-vault.js';
import { localPrincipal } from '../../credentials/server-model.js';
import { CredentialUnavailable, resolveUpstreamAuth } from '../../credentials/upstream-auth.js';
import { passThroughSchema } from '../wire.js';
import { networkErrorText } from './network-errors.js';
import { PinRefusal, ProcessGroupStdioTransport } from './stdio-process-transport.js';
import type { ExecutablePin } from '../../requirements/executable-pin.js';
import type { AttemptFailure, AttemptMode, Era, EraSetting } from './era.js';
import { afterFailure, firstAttempt, stdioProbeTimeoutMs } from './era.js';
import { ResourceSubscriptions } from './resource-subscriptions.js';

/** A connected upstream MCP server, with what it declared at `initialize`. */
export interface Upstream {
  client: Client;
  serverInfo: Implementation;
  capabilities: ServerCapabilities;
  instructions: string | undefined;
  /**
   * The era the connection negotiated: `modern` (2026-07-28, `server/discover`, stateless
   * requests) or `legacy` (`initialize` and a session).
   */
  era: 'legacy' | 'modern';
  /**
   * A modern server only: the `subscriptions/listen` streams that stand in for a legacy client's
   * `resources/subscribe` (closed with the connection). Absent on a legacy connection, where
   * `resources/subscribe` is forwarded as it is.
   */
  resourceSubscriptions?: ResourceSubscriptions;
  /** Ends the session; for stdio, kills the whole process tree. */
  close(): Promise<void>;
  /** The last stderr lines of a stdio server (for failure messages). */
  stderr(): string;
}

export interface ConnectOptions {
  env: NodeJS.ProcessEnv;
  /** Advertised upstream: the downstream client's own capabilities, so upstream features match. */
  capabilities: ClientCapabilities;
  clientInfo: Implementation;
  /** Wires handlers before the handshake, so nothing the server sends early is lost. */
  prepare?(client: Client): void;
  /** A stdio server's sha256 pin (from the rule that allowed it): re-checked at every start. */
  pin?: ExecutablePin | null;
  /**
   * Whose upstream credential to use (`user` / `exchange` servers): the session's caller. Absent:
   * the local OS user (`os:NAME`, stdio and probes); `caller: null`: nobody (an HTTP caller
   * without a verified identity) — never the gateway's own user.
   */
  credentials?: { caller: string | null; subjectToken?: string | null };
}

export class UpstreamTimeout extends Error {}

/** A failed start, with what the server showed (stdio: exit status, last stderr; HTTP: auth header). */
export class UpstreamStartError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly exit: { code: number | null; signal: NodeJS.Signals | null } | null,
    readonly stderrTail: string,
    readonly wwwAuthenticate: string | null,
    /** What to change so it starts (e.g. the era setting), when Gatehouse knows. */
    public hint: string | null = null,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** HTTP status of a failed streamable-HTTP attempt, when the SDK reports one. */
export function httpStatus(err: unknown): number | undefined {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Era verdicts for the life of the process, by server identity (and, for HTTP, the caller whose
 * credential is used: a discover result is valid within one authorization context). A restart
 * adopts the verdict (`connect({prior})`): a modern one with zero round trips, a legacy one
 * without the probe. Forgotten when an attempt that used it fails, so the next start probes.
 */
const eraVerdicts = new Map<string, PriorDiscovery>();

function verdictKey(server: McpServerConfig, caller: string | null): string {
  const t = server.transport;
  return JSON.stringify(
    t.type === 'stdio'
      ? [server.name, 'stdio', t.command, t.args, t.cwd ?? null]
      : [server.name, 'http', t.url, caller],
  );
}

/** Test seam: forget every remembered era verdict (a fresh process). */
export function forgetEraVerdicts(): void {
  eraVerdicts.clear();
}

/** UnsupportedProtocolVersion: the answer of a modern-only server to a legacy `initialize`. */
const UNSUPPORTED_PROTOCOL_VERSION: number = ProtocolErrorCode.UnsupportedProtocolVersion;

/**
 * Starts (stdio) or connects to (HTTP) a server within its startup budget, in the era its
 * `gatehouse_protocol_era` says (default `auto`: probe with `server/discover`, fall back to
 * `initialize`). Recovery steps (a respawn after a probe exit, the HTTP+SSE fallback, a modern
 * retry) are decided by era.ts; there are at most two attempts.
 */
export async function connectUpstream(
  server: McpServerConfig,
  options: ConnectOptions,
): Promise<Upstream> {
  const budgetMs = (server.startupTimeoutSec ?? DEFAULT_STARTUP_TIMEOUT_SEC) * 1000;
  const started = performance.now();
  const setting: EraSetting = server.protocolEra ?? 'auto';
  const t = server.transport;
  const caller = options.credentials ? options.credentials.caller : localPrincipal();
  const key = verdictKey(server, t.type === 'stdio' ? null : caller);
  const remembered = eraVerdicts.get(key) ?? null;
  let mode = firstAttempt(setting, remembered?.kind ?? null);
  let transportFor: (mode: AttemptMode) => Transport;
  if (t.type === 'stdio') {
    transportFor = () => new ProcessGroupStdioTransport(t, options.env, options.pin ?? null);
  } else {
    const url = new URL(t.url);
    // The upstream's credential comes from Gatehouse's config and vault only (MCP forbids token
    // passthrough): the client's own token is never a header here; for `exchange` it goes to the
    // IdP's token endpoint alone, which answers with a token for this upstream.
    const auth = await resolveUpstreamAuth(server, t, {
      env: options.env,
      caller,
      subjectToken: options.credentials?.subjectToken ?? null,
      vault: new GrantVault(defaultGatehouseHome(options.env)),
    });
    const requestInit = { headers: auth.headers };
    const token = auth.token;
    const authProvider = token ? { token: () => token() } : undefined;
    transportFor = (m) =>
      m === 'sse'
        ? new SSEClientTransport(url, { requestInit, ...(authProvider ? { authProvider } : {}) })
        : new StreamableHTTPClientTransport(url, {
            requestInit,
            ...(authProvider ? { authProvider } : {}),
          });
  }
  for (let attempts = 1; ; attempts++) {
    const left = Math.max(1000, budgetMs - (performance.now() - started));
    // A remembered verdict is used only for the era this attempt speaks: never over a pin.
    const prior = remembered?.kind === mode ? remembered : undefined;
    const transport = transportFor(mode);
    try {
      const upstream = await handshake(server, options, transport, left, mode, prior);
      if (upstream.era === 'modern') {
        const discover = upstream.client.getDiscoverResult();
        if (discover) eraVerdicts.set(key, { kind: 'modern', discover });
      } else if (setting === 'auto') eraVerdicts.set(key, { kind: 'legacy' });
      return upstream;
    } catch (err) {
      if (prior) eraVerdicts.delete(key);
      const step = afterFailure(
        setting,
        t.type === 'stdio' ? 'stdio' : 'http',
        mode,
        attemptFailure(err, transport),
        attempts,
      );
      if (step.kind === 'fail') {
        if (step.hint && err instanceof UpstreamStartError) err.hint = step.hint;
        else if (step.hint) throw new UpstreamStartError(err, null, '', null, step.hint);
        throw err;
      }
      mode = step.mode;
    }
  }
}

/** What a failed attempt showed, for era.ts. */
function attemptFailure(err: unknown, transport: Transport): AttemptFailure {
  const cause = err instanceof UpstreamStartError ? err.cause : err;
  if ((cause as { code?: unknown } | null)?.code === UNSUPPORTED_PROTOCOL_VERSION)
    return 'legacy_refused';
  if (transport instanceof ProcessGroupStdioTransport)
    return err instanceof UpstreamStartError && err.exit ? 'process_exited' : 'other';
  const status = httpStatus(cause);
  if (status === 400 || status === 404 || status === 405) return 'http_rejected';
  return 'other';
}

/**
 * The SDK's Protocol runs notification handlers a microtask late but settles a request the moment
 * its response arrives, so a progress notification that comes just before the result (same read)
 * found its handler already gone and was lost. Deferring responses by one microtask keeps the
 * order the server sent: progress first, then the result.
 */
function deliverResponsesAfterNotifications(transport: Transport): void {
  const deliver = transport.onmessage;
  if (!deliver) return;
  transport.onmessage = (message, extra) => {
    if ('method' in message || !('id' in message)) deliver(message, extra);
    else queueMicrotask(() => deliver(message, extra));
  };
}

/** The SDK's negotiation for one attempt (`sse` is 2024-11-05, always legacy). */
function negotiationFor(mode: AttemptMode, transport: Transport, budgetMs: number) {
  if (mode === 'auto')
    return {
      mode: 'auto' as const,
      probe: {
        timeoutMs:
          transport instanceof ProcessGroupStdioTransport
            ? stdioProbeTimeoutMs(budgetMs)
            : budgetMs,
      },
    };
  if (mode === 'modern') return { mode: { pin: MODERN_PROTOCOL_VERSION } };
  return { mode: 'legacy' as const };
}

/** The one 2026-07-28-era revision this SDK speaks (what `modern` pins). */
const MODERN_PROTOCOL_VERSION = '2026-07-28';

async function handshake(
  server: McpServerConfig,
  options: ConnectOptions,
  transport: Transport,
  budgetMs: number,
  mode: AttemptMode,
  prior: PriorDiscovery | undefined,
): Promise<Upstream> {
  const client = new Client(options.clientInfo, {
    capabilities: options.capabilities,
    versionNegotiation: negotiationFor(mode, transport, budgetMs),
    // A modern server's input requests are the forwarder's to answer (the downstream client is
    // asked, through the same masking as a legacy server's elicitation), never the SDK's.
    inputRequired: { autoFulfill: false },
  });
  options.prepare?.(client);
  const stdio = transport instanceof ProcessGroupStdioTransport ? transport : null;
  // During the server/discover probe the SDK holds the transport without the client's handlers:
  // what the server says that is not JSON-RPC (a stray log line) is still reported, once.
  let connected = false;
  transport.onerror = (error) => {
    if (!connected) client.onerror?.(error);
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(transport, prior ? { prior } : undefined),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new UpstreamTimeout(
                `no answer to ${mode === 'modern' ? 'server/discover' : mode === 'auto' ? 'server/discover or initialize' : 'initialize'} within ${budgetMs / 1000}s`,
              ),
            ),
          budgetMs,
        );
      }),
    ]);
  } catch (err) {
    // Whether the server had exited by itself, before our close below ends it anyway.
    const exited = stdio?.exitedByItself ?? null;
    await client.close().catch(() => undefined);
    await stdio?.close();
    if (stdio && !(err instanceof UpstreamTimeout))
      throw new UpstreamStartError(err, exited, stdio.stderr, null);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  connected = true;
  deliverResponsesAfterNotifications(transport);
  const era: Era = client.getProtocolEra() === 'modern' ? 'modern' : 'legacy';
  const listening = era === 'modern' ? listenForListChanges(client) : null;
  const resourceSubscriptions =
    era === 'modern' ? new ResourceSubscriptions(client, server.name) : null;
  return {
    client,
    serverInfo: client.getServerVersion() ?? { name: server.name, version: '0' },
    // A modern server's `resources.subscribe` (from server/discover) is offered as it is: a
    // legacy client's resources/subscribe is bridged onto subscriptions/listen (resource-subscriptions.ts).
    capabilities: client.getServerCapabilities() ?? {},
    instructions: client.getInstructions(),
    era,
    ...(resourceSubscriptions ? { resourceSubscriptions } : {}),
    close: async () => {
      await resourceSubscriptions?.closeAll();
      await (await listening)?.close().catch(() => undefined);
      await client.close().catch(() => undefined);
      await stdio?.close();
    },
    stderr: () => stdio?.stderr ?? '',
  };
}

/**
 * A modern server announces list changes only on a `subscriptions/listen` stream (no
 * unsolicited notifications): open one for every list it says can change, so the catalog
 * rechecks and the client hears of it as it does from a legacy server. The notifications reach
 * the same handlers (`prepare`'s fallbackNotificationHandler). Not part of starting: a server
 * that refuses it still serves, its failure is reported through `client.onerror`.
 */
function listenForListChanges(client: Client): Promise<McpSubscription | null> {
  const caps = client.getServerCapabilities() ?? {};
  const filter = {
    ...(caps.tools?.listChanged ? { toolsListChanged: true } : {}),
    ...(caps.prompts?.listChanged ? { promptsListChanged: true } : {}),
    ...(caps.resources?.listChanged ? { resourcesListChanged: true } : {}),
  };
  if (Object.keys(filter).length === 0) return Promise.resolve(null);
  return client.listen(filter).catch((err: unknown) => {
    client.onerror?.(
      new Error(
        `subscriptions/listen failed, list changes will not be seen: ${err instanceof Error ? err.message : String(err)}`,
      ),
    );
    return null;
  });
}

/**
 * Whether a start failed only because this caller has no grant of their own yet (a `user`-model
 * server): a login fixes it, so `serve` keeps the server named instead of making it unknown.
 */
export function needsCallerLogin(err: unknown): boolean {
  const cause = err instanceof UpstreamStartError ? err.cause : err;
  return cause instanceof CredentialUnavailable && cause.reason === 'login_required';
}

/** The runtime state a start failure means (the same names `mcp list --probe` uses). */
export function startFailureState(err: unknown): 'missing' | 'auth_required' | 'failed' {
  if (err instanceof UpstreamStartError) return startFailureState(err.cause);
  if (err instanceof CredentialUnavailable)
    return err.reason === 'login_required' ? 'auth_required' : 'failed';
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
  const status = httpStatus(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (
    status === 401 ||
    status === 403 ||
    code === 'CLIENT_HTTP_AUTHENTICATION' ||
    code === 'CLIENT_HTTP_FORBIDDEN'
  )
    return 'auth_required';
  return 'failed';
}

/** One line saying why a server did not start. */
export function describeStartFailure(err: unknown): string {
  // A pin refusal is the admin's answer, whole: it says what to fix (never cut, no stderr).
  if (err instanceof UpstreamStartError && err.cause instanceof PinRefusal)
    return err.cause.message;
  if (err instanceof PinRefusal) return err.message;
  if (err instanceof UpstreamStartError && err.hint) {
    const plain = describeStartFailure(new UpstreamStartError(err.cause, err.exit, '', null));
    return `${plain}; ${err.hint}`;
  }
  if (err instanceof UpstreamStartError) {
    const exit = err.exit;
    const tail = (
      err.stderrTail
        .trim()
        .split('\n')
        .filter((l) => l.trim())
        .pop() ?? ''
    ).slice(0, 300);
    if (exit)
      return `the server ${exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`} during startup${tail ? `: ${tail}` : ''}`;
    return describeStartFailure(err.cause) + (tail ? ` (stderr: ${tail})` : '');
  }
  if (err instanceof UpstreamTimeout || err instanceof CredentialUnavailable) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'executable not found';
  const network = networkErrorText(err);
  if (network) return network;
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]?.slice(0, 300) ?? 'unknown error';
}

/**
 * `ready` with the tool count, or `no_tools`: the first `tools/list` is part of starting, as in
 * Codex (startup_timeout_sec covers initialize + the first tools/list). A listing error is not
 * a start failure: the server answered initialize.
 */
export async function readiness(
  upstream: Upstream,
): Promise<{ state: 'ready' | 'no_tools'; detail: string | null }> {
  if (!upstream.capabilities.tools)
    return { state: 'no_tools', detail: 'the server does not offer tools' };
  try {
    const page = (await upstream.client.request(
      { method: 'tools/list', params: {} } as never,
      passThroughSchema,
      { timeout: 10_000 },
    )) as { tools?: unknown[]; nextCursor?: unknown };
    const count = page.tools?.length ?? 0;
    if (count === 0 && !page.nextCursor)
      return { state: 'no_tools', detail: 'tools/list returned no tools' };
    return {
      state: 'ready',
      detail: `${count}${page.nextCursor ? '+' : ''} tool${count === 1 ? '' : 's'}`,
    };
  } catch (err) {
    return {
      state: 'ready',
      detail: `tools/list failed: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

/** Every tool an upstream lists, following cursors (bounded: 100 pages). */
export async function listAllTools(upstream: Upstream): Promise<unknown[]> {
  const tools: unknown[] = [];
  let cursor: unknown;
  for (let page = 0; page < 100; page++) {
    const result = (await upstream.client.request(
      { method: 'tools/list', params: cursor === undefined ? {} : { cursor } } as never,
      passThroughSchema,
      { timeout: 30_000 },
    )) as { tools?: unknown[]; nextCursor?: unknown };
    tools.push(...(result.tools ?? []));
    cursor = result.nextCursor;
    if (typeof cursor !== 'string' || cursor === '') break;
  }
  return tools;
}
