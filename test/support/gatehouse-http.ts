import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { tempDir, writeFiles } from './fixtures.js';

/** A `gatehouse … --http` process under test, reached by real clients. */
export const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');

export interface Running {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
  code?: number | null;
}

/** Starts gatehouse with `args`; resolves once it listens (or exits). `launch`: e.g. in a namespace. */
export function startGatehouse(
  children: ChildProcess[],
  config: string,
  args: string[],
  env: Record<string, string> = {},
  launch: (command: string, args: string[], options: SpawnOptions) => ChildProcess = spawn,
): Promise<Running> {
  const dir = writeFiles({ 'c.toml': config });
  const child = launch(process.execPath, [BIN, '--config', join(dir, 'c.toml'), ...args], {
    env: { ...process.env, GATEHOUSE_HOME: tempDir(), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return new Promise((resolve) => {
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"event":"listening","url":"([^"]+)"/.exec(err);
      if (m?.[1]) resolve({ url: m[1], child, stderr: () => err, exited });
    });
    void exited.then((code) => resolve({ url: '', child, stderr: () => err, exited, code }));
  });
}

/**
 * Spawns `gatehouse ARGV` (a `--http 127.0.0.1:0` command) with `GATEHOUSE_HOME=home`; resolves
 * once it prints its listening line, rejects with everything it said if it exits first.
 */
export function listeningGatehouse(
  children: ChildProcess[],
  argv: string[],
  home: string,
  env: Record<string, string> = {},
): Promise<{ url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, ...argv], {
    env: { ...process.env, GATEHOUSE_HOME: home, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"event":"listening","url":"([^"]+)"/.exec(err);
      if (m?.[1]) resolve({ url: m[1], stderr: () => err });
    });
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${err}`)));
  });
}

export interface RawAnswer {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
  /** The server certificate's SHA-256 fingerprint (HTTPS). */
  fingerprint?: string;
}

/** Resolves the names in `names` to their address (a private DNS for the test). */
export function lookupFrom(names: Record<string, string>): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...a: unknown[]) => void) => {
    const address = names[hostname] ?? hostname;
    const family = address.includes(':') ? 6 : 4;
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as LookupFunction;
}

/**
 * One raw HTTP(S) request, with any Host header (fetch cannot set it). `connectTo` is the real
 * address when the URL names a host only the test resolves.
 */
export function rawRequest(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    ca?: string;
    names?: Record<string, string>;
  } = {},
): Promise<RawAnswer> {
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port,
        path: u.pathname,
        method: options.method ?? 'POST',
        headers: options.headers ?? {},
        agent: false,
        ...(options.names ? { lookup: lookupFrom(options.names) } : {}),
        ...(u.protocol === 'https:'
          ? options.ca
            ? { ca: options.ca, servername: u.hostname }
            : { rejectUnauthorized: false }
          : {}),
      },
      (res) => {
        let text = '';
        const socket = res.socket as TLSSocket;
        const fingerprint =
          typeof socket.getPeerCertificate === 'function'
            ? socket.getPeerCertificate().fingerprint256
            : undefined;
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            headers: res.headers,
            ...(fingerprint ? { fingerprint } : {}),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A JSON POST as an MCP client sends it. */
export function mcpPost(
  url: string,
  body: string,
  headers: Record<string, string> = {},
  extra: { ca?: string; names?: Record<string, string> } = {},
): Promise<RawAnswer> {
  return rawRequest(url, {
    body,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    ...extra,
  });
}

/**
 * A `fetch` for the MCP SDK client that resolves names from `names` and trusts `ca`: a real
 * client reaching the gateway by a DNS name, without touching the machine's resolver.
 */
export function resolvingFetch(names: Record<string, string>, ca?: string): typeof fetch {
  return ((input: string | URL | Request, init?: RequestInit) => {
    const u = new URL(input instanceof Request ? input.url : String(input));
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
    return new Promise<Response>((resolve, reject) => {
      const req = send(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname + u.search,
          method: init?.method ?? 'GET',
          headers,
          lookup: lookupFrom(names),
          ...(ca ? { ca } : {}),
        },
        (res) => {
          const out = new Headers();
          for (const [k, v] of Object.entries(res.headers))
            if (typeof v === 'string') out.set(k, v);
          const body = [204, 202, 304].includes(res.statusCode ?? 0)
            ? null
            : (Readable.toWeb(res) as ReadableStream);
          resolve(new Response(body, { status: res.statusCode ?? 0, headers: out }));
        },
      );
      init?.signal?.addEventListener('abort', () => req.destroy(new Error('aborted')));
      req.on('error', reject);
      req.end(typeof init?.body === 'string' ? init.body : undefined);
    });
  }) as typeof fetch;
}

export const INIT = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-11-25',
    capabilities: {},
    clientInfo: { name: 'raw', version: '1' },
  },
});
