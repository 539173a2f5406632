import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../world.js';
import type { HttpOptions, RunStreams } from './run.js';
import { loadForGateway, serveHttp, sessionContext } from './run.js';

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
