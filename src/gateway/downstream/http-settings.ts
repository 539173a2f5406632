import { resolve } from 'node:path';
import { describeSource } from '../../requirements/model.js';
import type { HttpRequirements } from '../../requirements/parse-http-table.js';
import { hostEntryProblem, originEntryProblem } from '../../requirements/parse-http-table.js';
import { DEFAULT_LIMITS } from './session-registry.js';
import type { TlsFiles } from './tls-listener.js';
import { cidrProblem } from './trusted-proxy.js';

/** The deployment settings of the HTTP server (flags over `[gatehouse_http]`, composed). */
export interface HttpServerSettings {
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
  trustedProxies: readonly string[];
  tls: TlsFiles | null;
  idleSessionSeconds: number;
  maxSessionsPerUser: number;
  maxProcessesPerUser: number;
  /** Longest wait for requests in flight when draining (SIGTERM). */
  drainSeconds: number;
}

export const DEFAULT_HTTP_SETTINGS: HttpServerSettings = {
  allowedHosts: [],
  allowedOrigins: [],
  trustedProxies: [],
  tls: null,
  idleSessionSeconds: DEFAULT_LIMITS.idleMs / 1000,
  maxSessionsPerUser: DEFAULT_LIMITS.maxSessionsPerUser,
  maxProcessesPerUser: DEFAULT_LIMITS.maxProcessesPerUser,
  drainSeconds: 10,
};

/** The `serve --http` / `run --http` deployment flags, as commander gives them. */
export interface HttpFlags {
  allowedHost?: string[];
  allowedOrigin?: string[];
  trustedProxy?: string[];
  tlsCert?: string;
  tlsKey?: string;
  idleSessionSeconds?: string;
  maxSessionsPerUser?: string;
  maxProcessesPerUser?: string;
  drainSeconds?: string;
}

const LISTS = [
  ['allowedHost', 'allowed_hosts', '--allowed-host', hostEntryProblem],
  ['allowedOrigin', 'allowed_origins', '--allowed-origin', originEntryProblem],
  ['trustedProxy', 'trusted_proxies', '--trusted-proxy', cidrProblem],
] as const;

const NUMBERS = [
  ['idleSessionSeconds', 'idle_session_seconds', '--idle-session-seconds'],
  ['maxSessionsPerUser', 'max_sessions_per_user', '--max-sessions-per-user'],
  ['maxProcessesPerUser', 'max_processes_per_user', '--max-processes-per-user'],
  ['drainSeconds', 'drain_seconds', '--drain-seconds'],
] as const;

const normal = (entry: string) => entry.trim().toLowerCase().replace(/\/$/, '');

/**
 * Flags over requirements. Requirements are the ceiling: a flag may narrow a list the
 * requirements set (a name outside it is an error, never silently widened), may not replace
 * their TLS files, and a number is the smaller of the two. Pure: returns the error to print.
 */
export function resolveHttpSettings(
  flags: HttpFlags,
  req: HttpRequirements,
  cwd: string,
): { settings: HttpServerSettings } | { error: string } {
  const out: HttpServerSettings = { ...DEFAULT_HTTP_SETTINGS };
  const lists: Record<string, string[]> = {};
  for (const [flag, key, option, problemOf] of LISTS) {
    const given = (flags[flag] ?? []).map(normal);
    const bad = given.map(problemOf).find((p) => p !== null);
    if (bad) return { error: `${option}: ${bad}` };
    const ceiling = req[key];
    if (ceiling) {
      const outside = given.filter((e) => !ceiling.value.includes(e));
      if (outside.length > 0)
        return {
          error: `${option} ${outside.join(', ')}: not in [gatehouse_http] ${key} (${describeSource(ceiling.source)}), which only an admin can widen`,
        };
    }
    lists[key] = given.length > 0 ? given : (ceiling?.value ?? []);
  }
  out.allowedHosts = lists.allowed_hosts ?? [];
  out.allowedOrigins = lists.allowed_origins ?? [];
  out.trustedProxies = lists.trusted_proxies ?? [];

  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined))
    return { error: '--tls-cert and --tls-key go together: give both or neither' };
  const reqCert = req.tls_cert;
  const reqKey = req.tls_key;
  if (flags.tlsCert !== undefined && flags.tlsKey !== undefined) {
    const cert = resolve(cwd, flags.tlsCert);
    const key = resolve(cwd, flags.tlsKey);
    if ((reqCert && reqCert.value !== cert) || (reqKey && reqKey.value !== key))
      return {
        error: `--tls-cert/--tls-key: [gatehouse_http] tls_cert and tls_key (${describeSource((reqCert ?? reqKey)!.source)}) fix the TLS files; leave the flags out`,
      };
    out.tls = { cert, key };
  } else if (reqCert && reqKey) out.tls = { cert: reqCert.value, key: reqKey.value };

  for (const [flag, key, option] of NUMBERS) {
    const text = flags[flag];
    let value = req[key]?.value ?? DEFAULT_HTTP_SETTINGS[flag];
    if (text !== undefined) {
      if (!/^\d+$/.test(text) || Number(text) <= 0)
        return { error: `${option} ${text}: expected a whole number > 0` };
      value = Math.min(Number(text), req[key]?.value ?? Infinity);
    }
    out[flag] = value;
  }
  return { settings: out };
}
