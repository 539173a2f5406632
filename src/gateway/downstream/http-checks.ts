import { timingSafeEqual } from 'node:crypto';

/**
 * Who may talk to the HTTP endpoint. Checked before a request body is read, by a pure function
 * that returns a rejection rather than writing a response (only the endpoint writes).
 */
export interface HttpAccessPolicy {
  /** `host:port` values the Host header may carry: the listener's own names. */
  listenerHosts: readonly string[];
  /**
   * Configured names (`--allowed-host`, `[gatehouse_http] allowed_hosts`): exact, lower case.
   * `gw.example.com` matches that name on any port; `gw.example.com:8443` only that port.
   */
  allowedHosts: readonly string[];
  /** Exact origins a browser may send from besides the gateway's own names. */
  allowedOrigins: readonly string[];
  /** The bearer token clients must present, or null for none (loopback only). */
  token: string | null;
  /** The scheme the listener serves (`https` with TLS). */
  proto: 'http' | 'https';
}

export type HttpCheck =
  { ok: true } | { ok: false; status: 401 | 403; message: string; challenge?: string };

/** Where to widen the checks: named in every 403, so the fix is obvious. */
const HOST_SETTING = '--allowed-host or [gatehouse_http] allowed_hosts';
const ORIGIN_SETTING = '--allowed-origin or [gatehouse_http] allowed_origins';

/** The Host and Origin values a listener on `host:port` accepts, plus the configured names. */
export function policyFor(
  host: string,
  port: number,
  token: string | null,
  extra: {
    allowedHosts?: readonly string[];
    allowedOrigins?: readonly string[];
    proto?: 'http' | 'https';
  } = {},
): HttpAccessPolicy {
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  const names = loopback
    ? ['127.0.0.1', 'localhost', '[::1]']
    : [host.includes(':') ? `[${host}]` : host];
  return {
    listenerHosts: names.map((n) => `${n}:${port}`),
    allowedHosts: (extra.allowedHosts ?? []).map((h) => h.toLowerCase()),
    allowedOrigins: (extra.allowedOrigins ?? []).map((o) => o.toLowerCase().replace(/\/$/, '')),
    token,
    proto: extra.proto ?? 'http',
  };
}

/** Whether a Host value (`name` or `name:port`) is one this gateway answers to. */
export function hostAllowed(host: string, policy: HttpAccessPolicy): boolean {
  if (host === '') return false;
  if (policy.listenerHosts.includes(host)) return true;
  if (policy.allowedHosts.includes(host)) return true;
  const name = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(host)?.[1];
  return name !== undefined && policy.allowedHosts.includes(name);
}

/** Whether a browser Origin may call: a listed origin, or one of the gateway's own names. */
function originAllowed(origin: string, proto: string, policy: HttpAccessPolicy): boolean {
  const o = origin.toLowerCase();
  if (policy.allowedOrigins.includes(o)) return true;
  let url: URL;
  try {
    url = new URL(o);
  } catch {
    return false;
  }
  // Same-origin pages of the gateway itself (the scheme the client sees).
  return url.protocol === `${proto}:` && url.origin === o && hostAllowed(url.host, policy);
}

function sameToken(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Host, Origin and bearer checks. `seen` is the Host and scheme the client used, as the
 * trusted-proxy rules decide (the raw Host header and the listener's scheme without a proxy).
 */
export function checkHttpRequest(
  headers: Record<string, string | string[] | undefined>,
  policy: HttpAccessPolicy,
  seen: { host: string; proto: 'http' | 'https' } = {
    host: String(headers.host ?? '').toLowerCase(),
    proto: policy.proto,
  },
): HttpCheck {
  if (!hostAllowed(seen.host, policy)) {
    return {
      ok: false,
      status: 403,
      message: `Forbidden: Host '${seen.host || '(none)'}' is not a name of this gateway (DNS-rebinding protection); to serve it, add the name with ${HOST_SETTING}`,
    };
  }
  const origin = headers.origin;
  if (typeof origin === 'string' && !originAllowed(origin, seen.proto, policy)) {
    return {
      ok: false,
      status: 403,
      message: `Forbidden: Origin '${origin}' is not allowed; to allow it, add it with ${ORIGIN_SETTING}`,
    };
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
