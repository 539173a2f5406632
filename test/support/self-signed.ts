import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** Whether the openssl command line is there (TLS tests are skipped without it). */
export const HAS_OPENSSL = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * A self-signed certificate for `name` (and its key), made by the openssl command line, in
 * DIR/BASE.crt and DIR/BASE.key; `extraNames` are more subjectAltName entries (`IP:127.0.0.1`).
 */
export function selfSigned(
  dir: string,
  base: string,
  name: string,
  extraNames: string[] = [],
): { cert: string; key: string } {
  const cert = join(dir, `${base}.crt`);
  const key = join(dir, `${base}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-addext',
      `subjectAltName=${[`DNS:${name}`, ...extraNames].join(',')}`,
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
