import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { shipAudit } from '../../audit/feed/shipper.js';
import { ShipStateError } from '../../audit/feed/position.js';
import type { SinkKind } from '../../audit/feed/sinks.js';
import { openSink, SinkError, sinkAddressProblem } from '../../audit/feed/sinks.js';
import { defaultGatehouseHome } from '../../config/load-config.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { onSignal } from '../shutdown.js';
import type { GlobalOptions } from '../world.js';
import { withStore } from './audit.js';

export interface ShipCliOptions {
  sink: SinkKind;
  to: string;
  state?: string;
  follow?: boolean;
  batchSize?: string;
  tokenEnv?: string;
  ca?: string;
  json?: boolean;
}

/** The default state file: one per sink address, so two sinks never share a position. */
function defaultStateFile(env: NodeJS.ProcessEnv, sinkId: string): string {
  const digest = createHash('sha256').update(sinkId).digest('hex').slice(0, 16);
  return join(defaultGatehouseHome(env), 'audit-ship', `${digest}.json`);
}

/**
 * `gatehouse audit ship`: delivers the records after the remembered position to a sink, in
 * batches that carry their chain hashes; the position advances only once the sink took a batch.
 * Exit 24 when the sink cannot be reached or refuses a batch (rerun: it continues there).
 */
export function runAuditShip(
  global: GlobalOptions,
  opts: ShipCliOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const fail = (message: string, code: ExitCodeValue = ExitCode.usage) => {
    io.stderr(`error: ${message}\n`);
    return Promise.resolve(code);
  };
  const problem = sinkAddressProblem(opts.sink, opts.to);
  if (problem) return fail(problem);
  const batchSize = Number(opts.batchSize ?? 500);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
    return fail(`--batch-size ${opts.batchSize}: expected a whole number from 1 to 10000`);
  let token: string | null = null;
  if (opts.tokenEnv) {
    token = io.env[opts.tokenEnv] ?? '';
    if (token === '')
      return fail(`--token-env ${opts.tokenEnv}: that environment variable is not set or empty`);
  }
  let sink;
  try {
    sink = openSink({
      kind: opts.sink,
      to: opts.to,
      token,
      caFile: opts.ca ? resolve(io.cwd, opts.ca) : null,
      serviceName: io.env.OTEL_SERVICE_NAME?.trim() || 'gatehouse',
    });
  } catch (err) {
    return fail(`--ca ${opts.ca}: cannot read (${(err as Error).message})`);
  }
  const opened = sink;
  const stateFile = opts.state ? resolve(io.cwd, opts.state) : defaultStateFile(io.env, sink.id);
  let stopSignal: () => void = () => undefined;
  const stop = new Promise<void>((r) => (stopSignal = r));
  const unsubscribe = [
    onSignal('SIGTERM', () => stopSignal(), true),
    onSignal('SIGINT', () => stopSignal(), true),
  ];
  return withStore(
    global,
    io,
    async (store) => {
      try {
        const result = await shipAudit({
          store,
          sink: opened,
          stateFile,
          batchSize,
          follow: opts.follow ?? false,
          stop,
        });
        const summary = { shipped: result.shipped, through_seq: result.seq, state: stateFile };
        if (opts.json) io.stdout(`${JSON.stringify(summary)}\n`);
        else
          io.stderr(
            `shipped ${result.shipped} records to ${opened.id} (through #${result.seq}; position in ${stateFile})\n`,
          );
        return ExitCode.ok;
      } finally {
        for (const u of unsubscribe) u();
        await opened.close().catch(() => undefined);
      }
    },
    (err) => {
      if (err instanceof SinkError) return ExitCode.shipFailed;
      if (err instanceof ShipStateError) return ExitCode.usage;
      return null;
    },
  );
}
