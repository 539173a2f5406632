import { createServer } from 'node:http';
import { isIP } from 'node:net';
import { checkHttpRequest, policyFor } from '../gateway/downstream/http-checks.js';
import type { ConsoleData } from './data.js';
import { consoleHandler } from './handler.js';
import { ConsoleLogin } from './login.js';
import { loadConsoleAssets } from './page.js';

export interface ConsoleServer {
  /** The console's address (no credentials). */
  url: string;
  port: number;
  /** A new one-time login link. */
  loginLink(): string;
  close(): Promise<void>;
}

/** Whether `host` is a loopback address (only those are served without `--allow-remote`). */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Serves the console on `host:port` (port 0: any free port) until closed. */
export async function startConsoleServer(options: {
  host: string;
  port: number;
  data: ConsoleData;
  allowedHosts?: readonly string[];
}): Promise<ConsoleServer> {
  const login = new ConsoleLogin();
  let port = options.port;
  let access = policyFor(options.host, options.port, null, {
    allowedHosts: options.allowedHosts ?? [],
  });
  const handler = consoleHandler({
    data: () => options.data,
    login,
    assets: loadConsoleAssets(),
    cookieName: () => `gatehouse_console_${port}`,
  });
  const server = createServer((req, res) => {
    const request = { check: checkHttpRequest(req.headers, access), secure: false };
    void handler.handle(req, res, request).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : options.port;
  access = policyFor(options.host, port, null, { allowedHosts: options.allowedHosts ?? [] });
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/`;
  return {
    url,
    port,
    loginLink: () => `${url}login?token=${login.issueLink()}`,
    close: () =>
      new Promise((resolve) => {
        handler.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
