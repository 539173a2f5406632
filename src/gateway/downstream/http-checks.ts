import { timingSafeEqual } from 'node:crypto';

/**
 * Who may talk to the HTTP endpoint. Checked before a request body is read, by a pure function
 * that returns a rejection rather than writing a response (only the endpoint writes).
 */
export interface HttpAccessPolicy {
  /** `host:port` values the Host header may carry (DNS-rebinding protection). */
  allowedHosts: readonly string[];
  /** Origins a browser may send from; requests without an Origin header are not browsers. */
  allowedOrigins: readonly string[];
  /** The bearer token clients must present, or null for none (loopback only). */
  token: string | null;
}

export type HttpCheck =
  { ok: true } | { ok: false; status: 401 | 403; message: string; challenge?: string };

/** The Host and Origin values a listener on `host:port` accepts. */
export function policyFor(host: string, port: number, token: string | null): HttpAccessPolicy {
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  const names = loopback
    ? ['127.0.0.1', 'localhost', '[::1]']
    : [host.includes(':') ? `[${host}]` : host];
  return {
    allowedHosts: names.map((n) => `${n}:${port}`),
    allowedOrigins: names.map((n) => `http://${n}:${port}`),
    token,
  };
}

function sameToken(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function checkHttpRequest(
  headers: Record<string, string | string[] | undefined>,
  policy: HttpAccessPolicy,
): HttpCheck {
  const host = String(headers.host ?? '').toLowerCase();
  if (!policy.allowedHosts.includes(host)) {
    return {
      ok: false,
      status: 403,
      message: `Forbidden: Host '${host || '(none)'}' is not this gateway (DNS-rebinding protection)`,
    };
  }
  const origin = headers.origin;
  if (typeof origin === 'string' && !policy.allowedOrigins.includes(origin.toLowerCase())) {
    return { ok: false, status: 403, message: `Forbidden: Origin '${origin}' is not allowed` };
  }
  if (policy.token !== null) {
    const auth = String(headers.authorization ?? '');
    const presented = /^Bearer (.+)$/i.exec(auth)?.[1] ?? '';
    if (!presented || !sameToken(presented, policy.token)) {
      return {
        ok: false,
        status: 401,
        message: 'Unauthorized: a valid bearer token is required',
        challenge: 'Bearer realm="gatehouse"',
      };
    }
  }
  return { ok: true };
}
