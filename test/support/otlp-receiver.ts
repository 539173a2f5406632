import { createServer } from 'node:http';
import type { Server } from 'node:http';

/** A span as OTLP/HTTP JSON carries it (the fields the tests read). */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
  status?: { code?: number };
}

/**
 * A collector-side OTLP/HTTP receiver for tests: accepts the JSON protocol on /v1/traces,
 * /v1/metrics and /v1/logs, keeps every decoded export, answers 200 like a collector.
 */
export async function startOtlpReceiver(): Promise<{
  url: string;
  spans(): OtlpSpan[];
  bodies(path: string): unknown[];
  close(): Promise<void>;
}> {
  const received = new Map<string, unknown[]>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const path = req.url ?? '/';
      try {
        const decoded = JSON.parse(body) as unknown;
        received.set(path, [...(received.get(path) ?? []), decoded]);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400).end('not JSON');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies: (path) => received.get(path) ?? [],
    spans: () =>
      (received.get('/v1/traces') ?? []).flatMap((b) =>
        (b as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] }).resourceSpans.flatMap(
          (r) => r.scopeSpans.flatMap((s) => s.spans),
        ),
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One attribute's value from an OTLP JSON attribute list. */
export function attr(span: OtlpSpan, key: string): unknown {
  const v = span.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  return v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue ?? v.arrayValue;
}
