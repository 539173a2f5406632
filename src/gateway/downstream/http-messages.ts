import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONRPCMessage } from '@modelcontextprotocol/server';
import { INVALID_REQUEST, jsonRpcShapeProblem, PARSE_ERROR } from './stdio-line-transport.js';

/** The HTTP endpoint's writing and reading helpers: JSON answers, JSON-RPC errors, bodies. */

/** Most messages one POST may batch (clients before 2025-06-18 may batch). */
export const MAX_BATCH = 100;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function rpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  id: unknown = null,
  headers: Record<string, string> = {},
): void {
  sendJson(
    res,
    status,
    {
      jsonrpc: '2.0',
      id: typeof id === 'string' || typeof id === 'number' ? id : null,
      error: { code, message },
    },
    headers,
  );
}

export function idOf(value: unknown): string | number | null {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

export class BodyTooLarge extends Error {}

export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The request's headers for the pipeline: never credentials; forwarded ones only when believed. */
export function lowerHeaders(req: IncomingMessage, keepForwarded: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v !== 'string' || k === 'authorization' || k === 'cookie') continue;
    if (!keepForwarded && (k.startsWith('x-forwarded-') || k === 'forwarded')) continue;
    out[k] = v;
  }
  return out;
}

/** Whether any message is a request (a method and an id): work to answer, not a reply. */
export function carriesRequest(messages: readonly JSONRPCMessage[]): boolean {
  return messages.some((m) => 'method' in m && 'id' in m);
}

/** The POST body as JSON-RPC messages, or a rejection already written. */
export function parseBody(
  text: string,
  res: ServerResponse,
): { messages: JSONRPCMessage[]; batch: boolean } | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    rpcError(res, 400, PARSE_ERROR, `Parse error: ${(err as Error).message}`);
    return null;
  }
  const batch = Array.isArray(value);
  const items: unknown[] = batch ? (value as unknown[]) : [value];
  if (items.length === 0 || items.length > MAX_BATCH) {
    rpcError(
      res,
      400,
      INVALID_REQUEST,
      `Invalid Request: a batch holds 1 to ${MAX_BATCH} messages`,
    );
    return null;
  }
  for (const item of items) {
    const problem = jsonRpcShapeProblem(item);
    if (problem) {
      rpcError(res, 400, INVALID_REQUEST, `Invalid Request: ${problem}`, batch ? null : idOf(item));
      return null;
    }
  }
  return { messages: items as JSONRPCMessage[], batch };
}
