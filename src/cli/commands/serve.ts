import type { Readable, Writable } from 'node:stream';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { configFailure, reportLoadProblems } from '../report.js';
import type { GlobalOptions } from '../world.js';
import { loadWorld } from '../world.js';
import type { HttpOptions, RunStreams } from './run.js';
import { serveHttp, sessionContext } from './run.js';

/** `gatehouse serve`: every allowed server behind one stdio endpoint, `server__tool` names. */
export async function runServe(
  global: GlobalOptions,
  io: CliIo,
  streams: RunStreams,
  opts: HttpOptions = {},
): Promise<ExitCodeValue> {
  const world = loadWorld(global, io);
  const failed = configFailure(io, world);
  const stdin = streams.stdin as Readable;
  const stdout = streams.stdout as Writable;
  const gateway = await import('../../gateway/serve-gateway.js');
  if (failed !== null) {
    const { refuseSession } = await import('../../gateway/run-gateway.js');
    await refuseSession(
      stdin,
      stdout,
      'Gatehouse configuration is invalid (see its stderr); nothing was started',
    );
    return failed;
  }
  reportLoadProblems(io, world);
  if (opts.http !== undefined) {
    const ctx = sessionContext(io, streams);
    return serveHttp(opts, io, (init) => gateway.openAggregateSession(world.decisions, init, ctx));
  }
  const outcome = await gateway.serveGateway({
    decisions: world.decisions,
    env: io.env,
    stdin,
    stdout,
    stateLine: (line) => io.stderr(`${JSON.stringify(line)}\n`),
    ...(streams.selfPath ? { selfPath: streams.selfPath } : {}),
  });
  return outcome === 'served' ? ExitCode.ok : ExitCode.serverUnavailable;
}
