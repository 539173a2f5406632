import type { Readable, Writable } from 'node:stream';
import { ExitCode } from '../exit-codes.js';
import { parseHttpListen } from '../../config/listen-address.js';
import type { HttpEndpointOptions } from '../../gateway/downstream/http-endpoint.js';
import type { HttpCaller } from '../../gateway/downstream/http-session-open.js';
import type { UpstreamLoginRoutes } from '../../gateway/downstream/upstream-login-routes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { describeInjections, runtimeInjections } from '../runtime-guard.js';
import { configFailure, reportLoadProblems } from '../report.js';
import type { GlobalOptions, World } from '../world.js';
import { loadWorld } from '../world.js';
import type { AuditEventBody } from '../../audit/event.js';
import type { AuditRuntime } from '../audit-runtime.js';
import type { GatewayApprovalsHandler } from '../gateway-approvals.js';
import { startAudit } from '../audit-runtime.js';
import { schemaGuards } from '../schema-runtime.js';
import { onSignal } from '../shutdown.js';
import { resolveHttpSettings } from '../../gateway/downstream/http-settings.js';
import type { HttpFlags } from '../../gateway/downstream/http-settings.js';
import type { HttpRequirements } from '../../requirements/parse-http-table.js';
import type { ServerDecision } from '../../requirements/apply-requirements.js';
import { createAuthenticator } from '../../identity/authenticate.js';
import type { IdentitySettings } from '../../identity/settings.js';
import { identityConfigured } from '../../identity/settings.js';
import type { StateLine } from '../../gateway/state-line.js';
import type { Telemetry } from '../../telemetry/telemetry.js';
import type { GatewayTelemetry } from '../telemetry-runtime.js';
import { startGatewayTelemetry } from '../telemetry-runtime.js';

/** Where `run` speaks MCP: the process's own stdin/stdout (tests pass pipes). */
export interface RunStreams {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  selfPath?: string;
}

/**
 * `gatehouse run NAME`: serve one governed server over stdio. Diagnostics and one JSON line per
 * state change go to stderr; stdout carries only the protocol.
 */
export interface HttpOptions extends HttpFlags {
  http?: string;
  httpTokenEnv?: string;
  /** The team gateway's approver key: serves `/approvals` for signed-in people. */
  approvalsKey?: string;
  /** This replica's name: the prefix of its session ids (routing behind a proxy). */
  replicaId?: string;
  /** `--metrics-listen HOST:PORT`: Prometheus metrics on a loopback listener. */
  metricsListen?: string;
}

/** A replica name: short, and safe in a session id and an nginx map. */
const REPLICA_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

type OpenSession = HttpEndpointOptions['open'];

/**
 * Whose upstream credentials an HTTP session uses: its verified caller (never the gateway's own
 * OS user; an unauthenticated caller is nobody, so `user` servers refuse it).
 */
export function httpCredentialCaller(caller: HttpCaller | undefined): {
  caller: string | null;
  subjectToken: string | null;
  loginUrl: string | null;
} {
  return {
    caller: caller?.authenticated ? caller.principal : null,
    subjectToken: caller?.subjectToken ?? null,
    loginUrl: caller?.authenticated ? (caller.upstreamLoginUrl ?? null) : null,
  };
}

/** What the HTTP server needs besides the session factory. */
export interface HttpServing {
  requirements: HttpRequirements;
  /** `[gatehouse_identity]`: who vouches for callers (none: the shared token, or loopback). */
  identity: IdentitySettings;
  audit: AuditRuntime;
  /** Upstream processes one session starts (counted against the per-user limit). */
  processesPerSession: number;
  /** The requirements (approver keys, masking) for `--approvals-key`. */
  world: World;
  telemetry: GatewayTelemetry;
  /** The servers this gateway serves (`/login/SERVER` takes only their enabled `user`-model ones). */
  decisions: readonly ServerDecision[];
}

/** The stdio servers among `decisions` that a session would start (one process tree each). */
export function stdioProcesses(decisions: readonly ServerDecision[]): number {
  return decisions.filter((d) => d.enabled && d.server.transport.type === 'stdio').length;
}

/**
 * Starts the HTTP downstream and keeps serving until the process is stopped. SIGTERM drains
 * (new work 503, requests in flight finish, bounded) and exits 0; SIGHUP reloads the TLS files;
 * SIGINT stops at once (see main.ts). Reports the URL as a JSON line on stderr.
 */
export async function serveHttp(
  opts: HttpOptions,
  io: CliIo,
  open: OpenSession,
  serving: HttpServing,
): Promise<ExitCodeValue> {
  const listen = parseHttpListen(opts.http ?? '');
  if (!listen) {
    io.stderr(
      `error: --http ${opts.http}: expected HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free one)\n`,
    );
    return ExitCode.usage;
  }
  const token = sharedToken(opts, io);
  if (token === undefined) return ExitCode.usage;
  if (!replicaIdOk(opts, io)) return ExitCode.usage;
  const auth = httpAuthentication(serving.identity, token, io);
  if ('exit' in auth) return auth.exit;
  const resolved = resolveHttpSettings(opts, serving.requirements, io.cwd);
  if ('error' in resolved) {
    io.stderr(`error: ${resolved.error}\n`);
    return ExitCode.httpSettingsRefused;
  }
  const { settings } = resolved;
  const approvals = await approvalsFor(opts, serving, io);
  if ('exit' in approvals) return approvals.exit;
  const line = (l: object) => io.stderr(`${JSON.stringify(l)}\n`);
  let listening = '';
  // Logins are decisions about whose account an upstream sees: on stderr and in the audit.
  const loginEvent = (l: Record<string, unknown>) => {
    line(l);
    serving.audit.evidence({
      type: 'credential.login',
      server: typeof l.server === 'string' ? l.server : null,
      principal: typeof l.principal === 'string' ? l.principal : null,
      outcome: l.outcome as Extract<AuditEventBody, { type: 'credential.login' }>['outcome'],
      detail: typeof l.detail === 'string' ? l.detail : null,
    });
  };
  const routes = await upstreamLoginFor(
    !!auth.authenticator,
    serving,
    () => listening,
    loginEvent,
    open,
  );
  const { startHttpEndpoint } = await import('../../gateway/downstream/http-endpoint.js');
  const { TlsFileError } = await import('../../gateway/downstream/tls-listener.js');
  let endpoint;
  try {
    endpoint = await startHttpEndpoint({
      ...listen,
      token: auth.authenticator ? null : token,
      ...(auth.authenticator ? { authenticator: auth.authenticator } : {}),
      ...routes,
      settings,
      processesPerSession: serving.processesPerSession,
      storeProblem: () => serving.audit.storeProblem(),
      ...metricsRoute(serving.telemetry),
      onEvent: line,
      ...(approvals.handler ? { approvals: approvals.handler } : {}),
      ...(approvals.console ? { console: approvals.console } : {}),
      ...(opts.replicaId ? { replicaId: opts.replicaId } : {}),
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`error: cannot serve HTTP on ${opts.http}: ${message}\n`);
    return err instanceof TlsFileError ? ExitCode.httpSettingsRefused : ExitCode.usage;
  }
  const started = endpoint;
  listening = started.url;
  const approvalsUrl = approvals.handler ? publicApprovalsUrl(started.url, serving) : null;
  if (approvalsUrl) serving.audit.approvalsServedAt(approvalsUrl);
  line({ event: 'listening', url: started.url, auth: auth.mode, approvals: approvalsUrl });
  warnUnlistedHosts(listen.host, settings.allowedHosts, line);
  // Without TLS there is nothing to reload: SIGHUP stops the process as usual.
  const stopReload = !settings.tls
    ? () => undefined
    : onSignal('SIGHUP', () => {
        try {
          started.reloadTls();
          line({ event: 'tls_reloaded' });
        } catch (err) {
          // The old certificate stays in use: a bad file never takes the server down.
          line({
            event: 'tls_reload_failed',
            detail: err instanceof Error ? err.message : String(err),
          });
        }
      });
  await new Promise<void>((resolve) => onSignal('SIGTERM', resolve, true));
  line({ event: 'draining', drain_seconds: settings.drainSeconds });
  const { unfinished } = await started.drain();
  stopReload();
  line({ event: 'drained', unfinished });
  await Promise.all([serving.audit.close('drained'), serving.telemetry.close()]);
  return ExitCode.ok;
}

/** Listening on every address with no configured name refuses everyone: say so at start. */
function warnUnlistedHosts(host: string, allowed: readonly string[], line: (l: object) => void) {
  if ((host === '0.0.0.0' || host === '::') && allowed.length === 0)
    line({
      event: 'http_warning',
      detail: `listening on ${host} with no --allowed-host: every request is refused (403, DNS-rebinding protection) until the names clients use are listed`,
    });
}

function replicaIdOk(opts: HttpOptions, io: CliIo): boolean {
  if (opts.replicaId === undefined || REPLICA_ID.test(opts.replicaId)) return true;
  io.stderr(
    `error: --replica-id ${JSON.stringify(opts.replicaId)}: use 1–32 lowercase letters, digits and -, starting with a letter or digit (e.g. gw-1)\n`,
  );
  return false;
}

/** `--http-token-env`'s value, null without it, undefined (reported) when it is unset. */
function sharedToken(opts: HttpOptions, io: CliIo): string | null | undefined {
  if (!opts.httpTokenEnv) return null;
  const token = io.env[opts.httpTokenEnv] ?? '';
  if (token !== '') return token;
  io.stderr(
    `error: --http-token-env ${opts.httpTokenEnv}: that environment variable is not set or empty\n`,
  );
  return undefined;
}

/** Where people reach `/approvals`: beside the resource URI clients use (behind a proxy), else the listener. */
function publicApprovalsUrl(listening: string, serving: HttpServing): string {
  return publicUrl('/approvals', listening, serving);
}

/** A gateway path as people and browsers reach it: beside the identity resource URI, else the listener. */
function publicUrl(path: string, listening: string, serving: HttpServing): string {
  return new URL(path, serving.identity.resource ?? listening).toString();
}

/**
 * A team gateway's upstream logins (identity on): the `/login/SERVER` and `/oauth/callback`
 * routes, and the session factory that tells each signed-in caller where to log in. Without
 * identity there is no one to bind a login to: no routes.
 */
async function upstreamLoginFor(
  identityOn: boolean,
  serving: HttpServing,
  listening: () => string,
  onEvent: (line: Record<string, unknown>) => void,
  open: OpenSession,
): Promise<{ upstreamLogin?: UpstreamLoginRoutes; open: OpenSession }> {
  if (!identityOn) return { open };
  const [{ upstreamLoginRoutes, CALLBACK_PATH, LOGIN_PREFIX }, { GrantVault }] = await Promise.all([
    import('../../gateway/downstream/upstream-login-routes.js'),
    import('../../credentials/grant-vault.js'),
  ]);
  const upstreamLogin = upstreamLoginRoutes({
    decisions: serving.decisions,
    vault: new GrantVault(serving.world.gatehouseHome),
    callbackUrl: () => publicUrl(CALLBACK_PATH, listening(), serving),
    onEvent,
  });
  return {
    upstreamLogin,
    open: (init, connection, caller) =>
      open(
        init,
        connection,
        caller && { ...caller, upstreamLoginUrl: publicUrl(LOGIN_PREFIX, listening(), serving) },
      ),
  };
}

/** The console under `/console/` of a team gateway (beside `/approvals`). */
type GatewayConsole = NonNullable<HttpEndpointOptions['console']>;

/** `--approvals-key`: the team gateway's approvals API, or the reason it cannot be served. */
async function approvalsFor(
  opts: HttpOptions,
  serving: HttpServing,
  io: CliIo,
): Promise<
  { exit: ExitCodeValue } | { handler?: GatewayApprovalsHandler; console?: GatewayConsole }
> {
  if (opts.approvalsKey === undefined) return {};
  const refuse = (why: string) => {
    io.stderr(`error: ${why}\n`);
    return { exit: ExitCode.httpSettingsRefused };
  };
  if (!identityConfigured(serving.identity))
    return refuse(
      '--approvals-key needs [gatehouse_identity] in requirements: approvers are the people the identity provider signs in',
    );
  const { gatewayApprovals } = await import('../gateway-approvals.js');
  const made = gatewayApprovals(opts.approvalsKey, serving.world, serving.audit, io.cwd);
  if ('error' in made) return refuse(made.error);
  const { console } = made;
  return {
    handler: made.handler,
    // The console under `/console/`: people sign in with their identity-provider token.
    console: async (req, res, request) => {
      if (!(await console.handle(req, res, request))) res.writeHead(404).end();
    },
  };
}

/** OTEL_METRICS_EXPORTER=prometheus: `/metrics` beside `/mcp`, behind the same authentication. */
function metricsRoute(t: GatewayTelemetry): Pick<HttpEndpointOptions, 'metrics'> {
  const telemetry = t.settings.prometheus ? t.telemetry : null;
  return telemetry ? { metrics: () => telemetry.prometheus() } : {};
}

/**
 * How the HTTP endpoint identifies callers: [gatehouse_identity] when the admin configured it
 * (then the shared `--http-token-env` token is refused: it names nobody), else the shared token,
 * else nothing (loopback only). A missing introspection secret stops the start (usage error).
 */
function httpAuthentication(
  identity: IdentitySettings,
  token: string | null,
  io: CliIo,
):
  | { exit: ExitCodeValue }
  | { mode: string; authenticator?: NonNullable<HttpEndpointOptions['authenticator']> } {
  const configured = identityConfigured(identity);
  if (configured && token !== null) {
    io.stderr(
      'error: --http-token-env cannot be used with [gatehouse_identity] in requirements: a shared token names nobody; create a service token (`gatehouse tokens create NAME --subject …`)\n',
    );
    return { exit: ExitCode.usage };
  }
  if (!configured && token === null) return { mode: 'none' };
  const env = io.env;
  const make = (endpointUrl: string) =>
    createAuthenticator({ settings: identity, sharedToken: token, endpointUrl, env });
  try {
    make('http://127.0.0.1/mcp'); // configuration problems surface before listening
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n`);
    return { exit: ExitCode.usage };
  }
  return { mode: configured ? 'identity' : 'bearer', authenticator: make };
}

/** What a stdio client is told when the telemetry settings stop the start (stderr says which). */
export const TELEMETRY_REFUSAL = 'Gatehouse telemetry settings are invalid (see its stderr)';

/**
 * What a gateway session needs from the CLI: environment, stderr lines (also audited and, with
 * telemetry on, counted), stages, and the telemetry observer.
 */
export function sessionContext(
  io: CliIo,
  streams: RunStreams,
  audit: AuditRuntime,
  telemetry: Telemetry | null = null,
) {
  return {
    env: io.env,
    stateLine: audit.stateLine((line: StateLine) => {
      telemetry?.upstreamState(line);
      io.stderr(`${JSON.stringify(line)}\n`);
    }),
    ...(telemetry ? { observer: telemetry.observer } : {}),
    governance: audit.governance,
    shapeOutgoing: audit.shapeOutgoing,
    ...(streams.selfPath ? { selfPath: streams.selfPath } : {}),
  };
}

/**
 * The common start of `run` and `serve`: load config and requirements; when the config is
 * broken, answer the client's `initialize` with that (it would otherwise see a dead pipe).
 */
export async function loadForGateway(
  global: GlobalOptions,
  io: CliIo,
  streams: RunStreams,
  what: string,
): Promise<{ world: World; stdin: Readable; stdout: Writable } | { exit: ExitCodeValue }> {
  const world = loadWorld(global, io);
  const stdin = streams.stdin as Readable;
  const stdout = streams.stdout as Writable;
  const injected = runtimeInjections(io.env, io.execArgv ?? [], world.requirements.adminFloor);
  if (injected.length > 0) {
    const message = describeInjections(injected);
    io.stderr(`error: ${message}\n`);
    const { refuseSession } = await import('../../gateway/run-gateway.js');
    await refuseSession(stdin, stdout, `Gatehouse is ${message}; ${what}`);
    return { exit: ExitCode.runtimeInjected };
  }
  const failed = configFailure(io, world);
  if (failed !== null) {
    const { refuseSession } = await import('../../gateway/run-gateway.js');
    await refuseSession(
      stdin,
      stdout,
      `Gatehouse configuration is invalid (see its stderr); ${what}`,
    );
    return { exit: failed };
  }
  reportLoadProblems(io, world);
  return { world, stdin, stdout };
}

export async function runRun(
  global: GlobalOptions,
  name: string,
  io: CliIo,
  streams: RunStreams,
  opts: HttpOptions = {},
): Promise<ExitCodeValue> {
  const loaded = await loadForGateway(global, io, streams, `server '${name}' was not started`);
  if ('exit' in loaded) return loaded.exit;
  const { world, stdin, stdout } = loaded;
  const gateway = await import('../../gateway/run-gateway.js');
  const decision = world.decisions.find((d) => d.server.name === name);
  if (!decision) {
    const known = world.decisions.map((d) => d.server.name).join(', ') || 'none';
    const message = `No MCP server named '${name}' in Gatehouse's configuration (configured: ${known})`;
    io.stderr(`Error: ${message}\n`);
    await gateway.refuseSession(stdin, stdout, message);
    return ExitCode.notFound;
  }
  const http = opts.http !== undefined;
  const refusal = http ? gateway.refusalFor(decision, io.env, streams.selfPath) : null;
  if (refusal) {
    io.stderr(`error: ${refusal}\n`);
    return ExitCode.serverUnavailable;
  }
  const telemetry = await startGatewayTelemetry(
    io,
    opts,
    world.requirements.requirements.telemetry,
  );
  if ('exit' in telemetry) {
    if (!http) await gateway.refuseSession(stdin, stdout, TELEMETRY_REFUSAL);
    return telemetry.exit;
  }
  const audit = await startAudit(
    world,
    io,
    global.audit,
    { mode: 'run', transport: http ? 'http' : 'stdio', servers: [name] },
    telemetry.telemetry,
  );
  if (http) {
    const ctx = {
      ...sessionContext(io, streams, audit, telemetry.telemetry),
      schema: schemaGuards(world, io, global, audit),
    };
    const open: OpenSession = (init, _connection, caller) =>
      gateway.openSingleServerSession(decision, init, {
        ...ctx,
        credentials: httpCredentialCaller(caller),
      });
    return serveHttp(opts, io, open, {
      requirements: world.requirements.requirements.http,
      identity: world.requirements.requirements.identity,
      audit,
      processesPerSession: stdioProcesses([decision]),
      decisions: [decision],
      world,
      telemetry,
    });
  }
  const outcome = await gateway.runGateway({
    decision,
    stdin,
    stdout,
    ...sessionContext(io, streams, audit, telemetry.telemetry),
    schema: schemaGuards(world, io, global, audit),
  });
  await audit.close('client disconnected');
  await telemetry.close();
  if (outcome === 'credential_unavailable') return ExitCode.credentialUnavailable;
  return outcome === 'served' ? ExitCode.ok : ExitCode.serverUnavailable;
}
