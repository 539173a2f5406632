import { BlockList, isIP } from 'node:net';

/**
 * Trusted-proxy mode: `X-Forwarded-For/Proto/Host` say who the client is and which name it
 * used, but anyone can send those headers. They are believed only when the TCP peer is one of
 * the configured proxy addresses; from anyone else they are ignored (and not passed on).
 */
export interface TrustedProxies {
  /** The configured entries as written (`10.0.0.0/8`, `::1`, `127.0.0.1/32`). */
  readonly entries: readonly string[];
  trusts(peer: string | undefined): boolean;
}

/** `::ffff:10.1.2.3` (an IPv4 peer on a dual-stack socket) as the IPv4 address it is. */
export function plainAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m?.[1] ?? address;
}

/** Why a trusted-proxy entry is not an address or CIDR block, or null when it is one. */
export function cidrProblem(entry: string): string | null {
  const [address = '', prefix, extra] = entry.trim().split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined)
    return `'${entry}' is not an IP address or CIDR block (e.g. 10.0.0.0/8, 192.168.1.5, ::1)`;
  if (prefix === undefined) return null;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max)
    return `'${entry}': the prefix length must be 0 to ${max}`;
  return null;
}

/** The proxies a list of entries names; throws naming the first bad entry. */
export function trustedProxies(entries: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const entry of entries) {
    const problem = cidrProblem(entry);
    if (problem) throw new Error(problem);
    const [address = '', prefix] = entry.trim().split('/');
    const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return {
    entries,
    trusts(peer) {
      if (!peer || entries.length === 0) return false;
      const address = plainAddress(peer);
      const family = isIP(address);
      if (family === 0) return false;
      return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/** What a request says about where it came from, after deciding whether to believe the proxy. */
export interface RequestOrigin {
  /** The Host the client used (X-Forwarded-Host from a trusted proxy, else Host). */
  host: string;
  /** `http` or `https` as the client saw it. */
  proto: 'http' | 'https';
  /** The client's address (the first X-Forwarded-For from a trusted proxy, else the peer). */
  clientAddress: string;
  /** Whether the forwarded headers were believed. */
  viaProxy: boolean;
}

function first(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  const item = text?.split(',')[0]?.trim();
  return item ? item : undefined;
}

/** Where a request came from: forwarded headers count only when `peer` is a trusted proxy. */
export function requestOrigin(
  headers: Record<string, string | string[] | undefined>,
  peer: string | undefined,
  proxies: TrustedProxies,
  localProto: 'http' | 'https',
): RequestOrigin {
  const host = String(headers.host ?? '').toLowerCase();
  const peerAddress = plainAddress(peer ?? '');
  if (!proxies.trusts(peer))
    return { host, proto: localProto, clientAddress: peerAddress, viaProxy: false };
  const proto = first(headers['x-forwarded-proto'])?.toLowerCase();
  return {
    host: first(headers['x-forwarded-host'])?.toLowerCase() ?? host,
    proto: proto === 'https' || proto === 'http' ? proto : localProto,
    clientAddress: plainAddress(first(headers['x-forwarded-for']) ?? peerAddress),
    viaProxy: true,
  };
}
