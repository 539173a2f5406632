import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';

/** The Prometheus text exposition format (prometheus-text.ts writes it). */
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Answers a scrape: GET/HEAD only, the current metrics as Prometheus text. */
export async function answerMetrics(
  method: string | undefined,
  res: ServerResponse,
  text: () => Promise<string>,
): Promise<void> {
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const body = await text();
  res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
  res.end(method === 'HEAD' ? undefined : body);
}

/**
 * `--metrics-listen`: a small loopback HTTP server with only `/metrics`, for stdio mode (no
 * HTTP endpoint to add the route to) or a scrape port apart from `/mcp`. No authentication,
 * which is why settings.ts refuses any address but loopback.
 */
export async function startMetricsListener(
  listen: { host: string; port: number },
  text: () => Promise<string>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://gatehouse').pathname;
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    answerMetrics(req.method, res, text).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  server.unref();
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
