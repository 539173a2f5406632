import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
} from '@modelcontextprotocol/server';
import { ERROR_TABLE } from '../../pipeline/error-table.js';

/**
 * The two protocol eras one Gatehouse endpoint serves: `legacy` (2025-11-25 family: initialize,
 * sessions) and `modern` (2026-07-28: a `_meta` envelope on every request, no session). Pure
 * decisions only; the transports act on them (stdio: session.ts, HTTP: http-modern.ts).
 */
export type Era = 'legacy' | 'modern';

/** What a modern request's `_meta` envelope says about the client (each request carries it). */
export interface Envelope {
  protocolVersion: string | null;
  clientCapabilities: Record<string, unknown> | null;
  clientInfo: { name: string; version: string } | null;
  logLevel: string | null;
}

function record(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** The envelope keys a message carries, or null when it carries no envelope claim at all. */
export function envelopeOf(message: unknown): Envelope | null {
  const meta = record(record(record(message)?.params)?._meta);
  if (!meta || !(PROTOCOL_VERSION_META_KEY in meta)) return null;
  const info = record(meta[CLIENT_INFO_META_KEY]);
  const version = meta[PROTOCOL_VERSION_META_KEY];
  const level = meta[LOG_LEVEL_META_KEY];
  return {
    protocolVersion: typeof version === 'string' ? version : null,
    clientCapabilities: record(meta[CLIENT_CAPABILITIES_META_KEY]),
    clientInfo:
      typeof info?.name === 'string' && typeof info.version === 'string'
        ? { name: info.name, version: info.version }
        : null,
    logLevel: typeof level === 'string' ? level : null,
  };
}

/**
 * The era a stdio connection opens in, from its first message (spec: the opening exchange picks
 * the era). `initialize` without an envelope claim is the 2025 handshake; `server/discover` or
 * any message carrying the `_meta` protocol-version claim opens a modern connection (the SDK's
 * `serveStdio` then validates the envelope and answers -32022 for a revision it does not serve);
 * anything else is legacy, as before (the legacy server answers it).
 */
export function openingEra(message: unknown): Era {
  const m = record(message);
  if (envelopeOf(m) !== null) return 'modern';
  return m?.method === 'server/discover' ? 'modern' : 'legacy';
}

/**
 * What the upstream side is opened with for a modern client: the capabilities and identity
 * its first request's envelope declares (a legacy client's come from `initialize`).
 */
export function initFromEnvelope(envelope: Envelope | null): {
  capabilities: Record<string, unknown>;
  clientInfo: { name: string; version: string } | null;
} {
  return {
    capabilities: envelope?.clientCapabilities ?? {},
    clientInfo: envelope?.clientInfo ?? null,
  };
}

/** The SDK's HeaderMismatch code (2026-07-28 reserves -32020…-32099; SEP-2243). */
export const HEADER_MISMATCH = ERROR_TABLE.header_mismatch.code;

/** Methods whose `Mcp-Name` header mirrors a body field (SEP-2243, as the SDK's table). */
const NAME_SOURCE: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

/** `=?base64?…?=` carries a value that is not a plain header token (SEP-2243). */
function decodeHeaderValue(value: string): string | null {
  const v = value.trim();
  if (!(v.startsWith('=?base64?') && v.endsWith('?='))) return v;
  const b64 = v.slice(9, -2);
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(b64)) return null;
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** The standard headers of a modern HTTP request, as sent (absent: undefined). */
export interface ModernHeaders {
  protocolVersion?: string;
  method?: string;
  name?: string;
}

/**
 * Why a modern request's standard headers disagree with its body, or null when they agree.
 * The rules are the SDK's (and the spec's): `MCP-Protocol-Version` and `Mcp-Method` are
 * required on a modern request, `Mcp-Name` whenever the body names a tool/prompt/resource/task;
 * each must equal the body. Checked before any upstream or pipeline work, because a proxy in
 * front of Gatehouse may have routed or authorised the request by its headers: a request whose
 * headers say one thing and body another is refused, never served by the body alone.
 */
export function modernHeaderProblem(
  headers: ModernHeaders,
  body: { method: string; params?: Record<string, unknown> | undefined; id?: unknown },
): { code: typeof HEADER_MISMATCH; message: string } | null {
  const refuse = (why: string) => ({
    code: HEADER_MISMATCH as typeof HEADER_MISMATCH,
    message: `Bad Request: the request headers and body disagree: ${why}`,
  });
  const isRequest = 'id' in body;
  if (headers.method !== undefined && headers.method.trim() !== body.method)
    return refuse(
      `the body names method ${body.method} but the Mcp-Method header names ${headers.method.trim()}`,
    );
  if (!isRequest) return null;
  if (headers.protocolVersion === undefined)
    return refuse(
      'the body carries a modern envelope but the MCP-Protocol-Version header is absent',
    );
  const claimed = envelopeOf(body)?.protocolVersion;
  if (claimed && headers.protocolVersion.trim() !== claimed)
    return refuse(
      `the body envelope names protocol version ${claimed} but the MCP-Protocol-Version header names ${headers.protocolVersion.trim()}`,
    );
  if (headers.method === undefined)
    return refuse(`the body names method ${body.method} but the Mcp-Method header is absent`);
  const field = Object.hasOwn(NAME_SOURCE, body.method) ? NAME_SOURCE[body.method] : undefined;
  if (field === undefined) return null;
  const value = body.params?.[field];
  const bodyValue = typeof value === 'string' ? value : undefined;
  if (headers.name === undefined)
    return bodyValue === undefined
      ? null
      : refuse(`the body carries params.${field}="${bodyValue}" but the Mcp-Name header is absent`);
  const decoded = decodeHeaderValue(headers.name);
  if (decoded === null) return refuse('the Mcp-Name header carries an invalid Base64 value');
  if (bodyValue !== undefined && decoded !== bodyValue)
    return refuse(
      `the body carries params.${field}="${bodyValue}" but the Mcp-Name header names "${decoded}"`,
    );
  return null;
}

/** RFC 5424 severities as MCP names them, least to most severe. */
const LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/**
 * Whether a log notification at `level` reaches a modern client that asked for `wanted` (its
 * request's `_meta` log level; 2026-07-28 has no `logging/setLevel`). No request level: all do.
 */
export function logLevelAdmits(wanted: string | null, level: unknown): boolean {
  if (wanted === null) return true;
  const w = LEVELS.indexOf(wanted);
  const l = typeof level === 'string' ? LEVELS.indexOf(level) : -1;
  return w === -1 || l === -1 || l >= w;
}
