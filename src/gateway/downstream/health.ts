import type { ServerResponse } from 'node:http';

/**
 * `/healthz` (the process is up and serving HTTP) and `/readyz` (it should get new sessions: the
 * audit store answers and it is not draining). For load balancers and orchestrators: no auth,
 * no Host check (probes use the pod address), and nothing in the answer but a status word.
 */
export const HEALTH_PATHS = ['/healthz', '/readyz'] as const;

export interface ReadinessSource {
  draining(): boolean;
  /** Null when the store answers; a short reason (never a location or credential) otherwise. */
  storeProblem(): Promise<string | null>;
}

function send(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

export async function answerHealth(
  path: string,
  method: string | undefined,
  res: ServerResponse,
  source: ReadinessSource,
): Promise<void> {
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (path === '/healthz') return send(res, 200, { status: 'ok' });
  if (source.draining()) return send(res, 503, { status: 'draining' });
  const problem = await source.storeProblem();
  if (problem) return send(res, 503, { status: 'not_ready', reason: problem });
  send(res, 200, { status: 'ready' });
}
