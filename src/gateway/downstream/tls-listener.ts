import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';

/** PEM files of the certificate (chain) and its private key. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** A certificate or key that cannot be used, with the file (and setting) to fix. */
export class TlsFileError extends Error {}

function readPem(file: string, what: 'certificate' | 'private key', setting: string): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new TlsFileError(`TLS ${what} file ${file} (${setting}) cannot be read: ${code}`);
  }
  const marker =
    what === 'certificate' ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
  if (!marker.test(data.toString('latin1')))
    throw new TlsFileError(`TLS ${what} file ${file} (${setting}) holds no PEM ${what}`);
  return data;
}

/**
 * Reads and checks the pair: both readable PEM, and the key belongs to the certificate. Never
 * includes file contents in an error (a key is a secret).
 */
export function loadTls(files: TlsFiles): { cert: Buffer; key: Buffer } {
  const cert = readPem(files.cert, 'certificate', '--tls-cert / tls_cert');
  const key = readPem(files.key, 'private key', '--tls-key / tls_key');
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0] ?? 'unusable';
    throw new TlsFileError(
      `TLS private key ${files.key} does not match certificate ${files.cert}, or one of them is unusable (${reason})`,
    );
  }
  return { cert, key };
}

export interface Listener {
  server: Server;
  proto: 'http' | 'https';
  /** Reads the files again and serves the new pair to new connections; throws if unusable (the old one stays). */
  reload(): void;
}

/** A plain HTTP server, or HTTPS when TLS files are given (checked before anything listens). */
export function createListener(
  tls: TlsFiles | null,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Listener {
  if (!tls) return { server: createHttpServer(handler), proto: 'http', reload: () => undefined };
  const server = createHttpsServer(loadTls(tls), handler);
  return {
    server,
    proto: 'https',
    reload() {
      server.setSecureContext(loadTls(tls));
    },
  };
}
