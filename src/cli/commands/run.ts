import type { Readable, Writable } from 'node:stream';
import { ExitCode } from '../exit-codes.js';
import { parseHttpListen } from '../http-option.js';
import type { HttpEndpointOptions } from '../../gateway/downstream/http-endpoint.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { describeInjections, runtimeInjections } from '../runtime-guard.js';
import { configFailure, reportLoadProblems } from '../report.js';
import type { GlobalOptions, World } from '../world.js';
import { loadWorld } from '../world.js';
import type { AuditRuntime } from '../audit-runtime.js';
import { startAudit } from '../audit-runtime.js';
import { schemaGuards } from '../schema-runtime.js';
import { createAuthenticator } from '../../identity/authenticate.js';
import type { IdentitySettings } from '../../identity/settings.js';
import { identityConfigured, NO_IDENTITY } from '../../identity/settings.js';

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
export interface HttpOptions {
  http?: string;
  httpTokenEnv?: string;
}

type OpenSession = HttpEndpointOptions['open'];

/**
 * Starts the HTTP downstream and keeps serving until the process is stopped (SIGINT/SIGTERM:
 * see main.ts). Reports the URL as a JSON line on stderr.
 */
export async function serveHttp(
  opts: HttpOptions,
  io: CliIo,
  open: OpenSession,
  identity: IdentitySettings = NO_IDENTITY,
): Promise<ExitCodeValue> {
  const listen = parseHttpListen(opts.http ?? '');
  if (!listen) {
    io.stderr(
      `error: --http ${opts.http}: expected HOST:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free one)\n`,
    );
    return ExitCode.usage;
  }
  let token: string | null = null;
  if (opts.httpTokenEnv) {
    token = io.env[opts.httpTokenEnv] ?? '';
    if (token === '') {
      io.stderr(
        `error: --http-token-env ${opts.httpTokenEnv}: that environment variable is not set or empty\n`,
      );
      return ExitCode.usage;
    }
  }
  const auth = httpAuthentication(identity, token, io);
  if ('exit' in auth) return auth.exit;
  const { startHttpEndpoint } = await import('../../gateway/downstream/http-endpoint.js');
  try {
    const endpoint = await startHttpEndpoint({ ...listen, token: null, open, ...auth });
    io.stderr(`${JSON.stringify({ event: 'listening', url: endpoint.url, auth: auth.mode })}\n`);
    return await new Promise<never>(() => undefined);
  } catch (err) {
    io.stderr(
      `error: cannot serve HTTP on ${opts.http}: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return ExitCode.usage;
  }
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

/** What a gateway session needs from the CLI: environment, stderr lines (also audited), stages. */
export function sessionContext(io: CliIo, streams: RunStreams, audit: AuditRuntime) {
  return {
    env: io.env,
    stateLine: audit.stateLine((line: object) => io.stderr(`${JSON.stringify(line)}\n`)),
    stages: audit.stages,
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
  if (opts.http !== undefined) {
    const refusal = gateway.refusalFor(decision, io.env, streams.selfPath);
    if (refusal) {
      io.stderr(`error: ${refusal}\n`);
      return ExitCode.serverUnavailable;
    }
    const audit = await startAudit(world, io, global.audit, {
      mode: 'run',
      transport: 'http',
      servers: [name],
    });
    const ctx = {
      ...sessionContext(io, streams, audit),
      schema: schemaGuards(world, io, global, audit),
    };
    return serveHttp(
      opts,
      io,
      (init) => gateway.openSingleServerSession(decision, init, ctx),
      world.requirements.requirements.identity,
    );
  }
  const audit = await startAudit(world, io, global.audit, {
    mode: 'run',
    transport: 'stdio',
    servers: [name],
  });
  const outcome = await gateway.runGateway({
    decision,
    stdin,
    stdout,
    ...sessionContext(io, streams, audit),
    schema: schemaGuards(world, io, global, audit),
  });
  await audit.close('client disconnected');
  return outcome === 'served' ? ExitCode.ok : ExitCode.serverUnavailable;
}
