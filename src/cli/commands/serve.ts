import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../world.js';
import { startAudit } from '../audit-runtime.js';
import { schemaGuards } from '../schema-runtime.js';
import type { HttpOptions, RunStreams } from './run.js';
import {
  httpCredentialCaller,
  loadForGateway,
  serveHttp,
  sessionContext,
  stdioProcesses,
  TELEMETRY_REFUSAL,
} from './run.js';
import { startGatewayTelemetry } from '../telemetry-runtime.js';

/** `gatehouse serve`: every allowed server behind one stdio endpoint, `server__tool` names. */
export async function runServe(
  global: GlobalOptions,
  io: CliIo,
  streams: RunStreams,
  opts: HttpOptions = {},
): Promise<ExitCodeValue> {
  const loaded = await loadForGateway(global, io, streams, 'nothing was started');
  if ('exit' in loaded) return loaded.exit;
  const { world, stdin, stdout } = loaded;
  const gateway = await import('../../gateway/serve-gateway.js');
  const telemetry = await startGatewayTelemetry(
    io,
    opts,
    world.requirements.requirements.telemetry,
  );
  if ('exit' in telemetry) {
    if (opts.http === undefined)
      await (
        await import('../../gateway/run-gateway.js')
      ).refuseSession(stdin, stdout, TELEMETRY_REFUSAL);
    return telemetry.exit;
  }
  const audit = await startAudit(
    world,
    io,
    global.audit,
    {
      mode: 'serve',
      transport: opts.http !== undefined ? 'http' : 'stdio',
      servers: world.decisions.filter((d) => d.enabled).map((d) => d.server.name),
    },
    telemetry.telemetry,
  );
  const ctx = {
    ...sessionContext(io, streams, audit, telemetry.telemetry),
    schema: schemaGuards(world, io, global, audit),
  };
  if (opts.http !== undefined) {
    const open: Parameters<typeof serveHttp>[2] = (init, _connection, caller) =>
      gateway.openAggregateSession(world.decisions, init, {
        ...ctx,
        credentials: httpCredentialCaller(caller),
      });
    return serveHttp(opts, io, open, {
      requirements: world.requirements.requirements.http,
      identity: world.requirements.requirements.identity,
      audit,
      processesPerSession: stdioProcesses(world.decisions),
      decisions: world.decisions,
      world,
      telemetry,
    });
  }
  const outcome = await gateway.serveGateway({ decisions: world.decisions, stdin, stdout, ...ctx });
  await audit.close('client disconnected');
  await telemetry.close();
  return outcome === 'served' ? ExitCode.ok : ExitCode.serverUnavailable;
}
