import type { StandardSchemaV1 } from '@modelcontextprotocol/server';
import type { WireError } from '../pipeline/context.js';
import { codeOf, gatehouseError } from '../pipeline/error-table.js';

/**
 * A result "schema" that accepts anything and returns it untouched. The SDK's typed schemas
 * strip unknown fields (tool `x-*` keys, unknown annotations, content-block extensions); a
 * gateway must forward every byte, so requests it relays are validated by nothing.
 */
export const passThroughSchema: StandardSchemaV1<unknown, Record<string, unknown>> = {
  '~standard': {
    version: 1,
    vendor: 'gatehouse',
    validate: (value) => ({ value: value as Record<string, unknown> }),
  },
};

/** JSON-RPC "request timed out": what the SDK uses when a request outlives its budget. */
export const REQUEST_TIMEOUT = codeOf('request_timeout');

/**
 * Turns an upstream failure into the wire error the client gets: JSON-RPC errors keep their
 * code, message and data (without the SDK's "MCP error N:" prefix); timeouts and transport
 * failures become clear errors of their own.
 */
export function toWireError(err: unknown): WireError {
  const e = err as { code?: unknown; message?: unknown; data?: unknown };
  const message =
    typeof e.message === 'string' ? e.message.replace(/^(MCP error -?\d+: )+/, '') : String(err);
  if (typeof e.code === 'number')
    return { code: e.code, message, ...(e.data !== undefined ? { data: e.data } : {}) };
  if (e.code === 'REQUEST_TIMEOUT' || /timed out/i.test(message))
    return gatehouseError('request_timeout', `Request timed out: ${message}`);
  return gatehouseError('internal_error', `upstream error: ${message}`);
}

/** The SDK gave up waiting (its own timeout), as opposed to an error the upstream returned. */
export function isUpstreamTimeout(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /timeout/i.test(code);
}
