import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Socket } from 'node:net';
import type { ShipBatch } from './batch.js';
import { syslogFrames } from './syslog.js';

/** Where `audit ship` delivers: resolves once the sink has taken the batch, throws otherwise. */
export interface ShipSink {
  /** Kind and address, never a credential: what the position file is bound to. */
  readonly id: string;
  deliver(batch: ShipBatch): Promise<void>;
  close(): Promise<void>;
}

/** Delivery failed (unreachable, refused, a non-2xx answer): `audit ship` exits 24. */
export class SinkError extends Error {}

export type SinkKind = 'http' | 'otlp' | 'syslog';
export const SINK_KINDS: readonly SinkKind[] = ['http', 'otlp', 'syslog'];

export interface SinkOptions {
  kind: SinkKind;
  to: string;
  /** A bearer token (from the environment) for the HTTP and OTLP sinks. */
  token?: string | null;
  /** Extra CA certificates (PEM file) for the syslog TLS sink (HTTPS: NODE_EXTRA_CA_CERTS). */
  caFile?: string | null;
  serviceName?: string;
}

/** Why `to` does not fit the sink, or null. */
export function sinkAddressProblem(kind: SinkKind, to: string): string | null {
  let url: URL;
  try {
    url = new URL(to);
  } catch {
    return `--to ${to}: not a URL (${kind === 'syslog' ? 'tcp://HOST:PORT or tls://HOST:PORT' : 'http(s)://HOST:PORT/PATH'})`;
  }
  const schemes = kind === 'syslog' ? ['tcp:', 'tls:'] : ['http:', 'https:'];
  if (!schemes.includes(url.protocol))
    return `--to ${to}: the ${kind} sink takes ${schemes.map((s) => `${s}//`).join(' or ')} addresses`;
  if (kind === 'syslog' && !url.port)
    return `--to ${to}: give the port (syslog: 514, over TLS 6514)`;
  return null;
}

export function openSink(options: SinkOptions): ShipSink {
  const ca = options.caFile ? readFileSync(options.caFile, 'utf8') : undefined;
  if (options.kind === 'syslog') return syslogSink(options.to, ca);
  return httpSink(options);
}

async function post(url: string, body: string, token: string | null | undefined): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new SinkError(
      `cannot reach ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
    );
  }
  const text = await res.text().catch(() => '');
  if (!res.ok)
    throw new SinkError(`${url} answered ${res.status} ${res.statusText}: ${text.slice(0, 200)}`);
  return text;
}

/** OTLP/HTTP JSON logs (ExportLogsServiceRequest): one log record per audit record. */
export function otlpLogsBody(batch: ShipBatch, serviceName: string): string {
  const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const int = (key: string, value: number) => ({ key, value: { intValue: String(value) } });
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [str('service.name', serviceName)] },
        scopeLogs: [
          {
            scope: {
              name: 'gatehouse.audit',
              attributes: [
                str('gatehouse.audit.store_id', batch.store_id),
                int('gatehouse.audit.first_seq', batch.first_seq),
                int('gatehouse.audit.last_seq', batch.last_seq),
                str('gatehouse.audit.prev_hash', batch.prev_hash),
                str('gatehouse.audit.last_hash', batch.last_hash),
              ],
            },
            logRecords: batch.records.map((r) => {
              const nanos = `${BigInt(Date.parse(r.ts)) * 1_000_000n}`;
              const refused = r.columns.outcome === 'denied' || r.columns.decision === 'deny';
              return {
                timeUnixNano: nanos,
                observedTimeUnixNano: nanos,
                severityNumber: refused ? 13 : 9, // WARN : INFO
                severityText: refused ? 'WARN' : 'INFO',
                eventName: `gatehouse.${r.columns.type}`,
                body: { stringValue: JSON.stringify(r.event) },
                attributes: [
                  int('gatehouse.audit.seq', r.seq),
                  str('gatehouse.audit.hash', r.hash),
                  str('gatehouse.audit.prev', r.prev),
                  str('gatehouse.audit.type', r.columns.type),
                ],
              };
            }),
          },
        ],
      },
    ],
  });
}

function httpSink(options: SinkOptions): ShipSink {
  const serviceName = options.serviceName ?? 'gatehouse';
  return {
    id: `${options.kind} ${options.to}`,
    async deliver(batch) {
      if (options.kind === 'http') {
        await post(options.to, JSON.stringify(batch), options.token);
        return;
      }
      const answer = await post(options.to, otlpLogsBody(batch, serviceName), options.token);
      // A collector may accept part of a request: that is not a delivery.
      const rejected = (() => {
        try {
          const parsed = JSON.parse(answer || '{}') as {
            partialSuccess?: { rejectedLogRecords?: string | number };
          };
          return Number(parsed.partialSuccess?.rejectedLogRecords ?? 0);
        } catch {
          return 0;
        }
      })();
      if (rejected > 0)
        throw new SinkError(
          `${options.to} rejected ${rejected} of ${batch.records.length} records`,
        );
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Syslog over TCP or TLS. TCP has no application acknowledgement: a batch counts as delivered
 * once the socket has handed every byte to the kernel and the peer has not reset it; the
 * receiver drops replays by `seq` (structured data), so a kill costs duplicates, never a gap.
 */
function syslogSink(to: string, ca: string | undefined): ShipSink {
  const url = new URL(to);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port);
  const me = hostname();
  let socket: Socket | null = null;
  let failure: Error | null = null;
  const connect = async (): Promise<Socket> => {
    // Loaded here, not at start: every CLI command would otherwise pay for TLS.
    const [{ isIP, connect: netConnect }, { connect: tlsConnect }] = await Promise.all([
      import('node:net'),
      import('node:tls'),
    ]);
    return new Promise((resolve, reject) => {
      const s =
        url.protocol === 'tls:'
          ? tlsConnect(
              { host, port, ...(isIP(host) ? {} : { servername: host }), ...(ca ? { ca } : {}) },
              () => resolve(s),
            )
          : netConnect({ host, port }, () => resolve(s));
      s.on('error', (err) => {
        failure = err;
        socket = null;
        reject(new SinkError(`cannot deliver to ${to}: ${err.message}`));
      });
      s.once('close', () => {
        socket = null;
      });
      s.setTimeout(30_000, () => s.destroy(new Error('timed out')));
    });
  };
  return {
    id: `syslog ${to}`,
    async deliver(batch) {
      failure = null;
      const s = socket ?? (socket = await connect());
      await new Promise<void>((resolve, reject) => {
        s.write(syslogFrames(batch, me), (err) =>
          err || failure
            ? reject(new SinkError(`cannot deliver to ${to}: ${(err ?? failure)?.message}`))
            : resolve(),
        );
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!socket) return resolve();
        socket.end(() => resolve());
      }),
  };
}
