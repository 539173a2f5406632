import type { Readable, Writable } from 'node:stream';
import type { JSONRPCMessage, Transport } from '@modelcontextprotocol/server';
import { ERROR_TABLE } from '../../pipeline/error-table.js';

/** Default longest line a client may send (issue 3: configurable, 16 MiB). */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

export const PARSE_ERROR = ERROR_TABLE.parse_error.code;
export const INVALID_REQUEST = ERROR_TABLE.invalid_request.code;

/** Something wrong with what the client sent; reported on stderr as well as answered. */
export interface EdgeProblem {
  code: typeof PARSE_ERROR | typeof INVALID_REQUEST;
  message: string;
  id: string | number | null;
}

/**
 * Why a parsed value is not one JSON-RPC 2.0 message, or null when it is. Pure: the edge's
 * rules in one place (batches are not part of MCP since 2025-06-18).
 */
export function jsonRpcShapeProblem(value: unknown): string | null {
  if (Array.isArray(value)) return 'batches are not supported: send one JSON-RPC message per line';
  if (typeof value !== 'object' || value === null) return 'a JSON-RPC message must be an object';
  const m = value as Record<string, unknown>;
  if (m.jsonrpc !== '2.0') return 'missing or wrong "jsonrpc": expected "2.0"';
  const hasId = 'id' in m;
  if (hasId && typeof m.id !== 'string' && typeof m.id !== 'number' && m.id !== null)
    return '"id" must be a string or a number';
  if ('method' in m) {
    if (typeof m.method !== 'string' || m.method === '')
      return '"method" must be a non-empty string';
    if (
      'params' in m &&
      m.params !== undefined &&
      (typeof m.params !== 'object' || m.params === null || Array.isArray(m.params))
    ) {
      return '"params" must be an object';
    }
    return null;
  }
  if (!hasId) return 'a message needs "method" (request or notification) or "id" (response)';
  if (!('result' in m) && !('error' in m)) return 'a response needs "result" or "error"';
  return null;
}

function idOf(value: unknown): string | number | null {
  const id = (value as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/**
 * The MCP server side of stdio, owned by Gatehouse so that the JSON-RPC edge never drops
 * anything silently: an unparseable line gets -32700, a wrong shape -32600 (with the id when
 * one can be read), an over-long line is discarded up to its newline and answered, and the
 * gateway keeps serving. stdin closing ends the session.
 */
export class StdioLineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private chunks: Buffer[] = [];
  private pendingBytes = 0;
  private discarding = false;
  private closed = false;

  constructor(
    private readonly stdin: Readable,
    private readonly stdout: Writable,
    private readonly options: {
      maxLineBytes?: number;
      onProblem?: (problem: EdgeProblem) => void;
    } = {},
  ) {}

  private get maxLineBytes(): number {
    return this.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  }

  async start(): Promise<void> {
    this.stdin.on('data', this.onData);
    this.stdin.once('end', this.onEnd);
    this.stdin.once('close', this.onEnd);
    this.stdin.on('error', (err: Error) => this.onerror?.(err));
  }

  private readonly onEnd = (): void => {
    void this.close();
  };

  private readonly onData = (chunk: Buffer): void => {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.take(chunk.subarray(start, nl), true);
      start = nl + 1;
    }
    if (start < chunk.length) this.take(chunk.subarray(start), false);
  };

  /** Accumulates a piece of a line; `complete` when the piece ended at a newline. */
  private take(piece: Buffer, complete: boolean): void {
    if (!this.discarding) {
      this.chunks.push(piece);
      this.pendingBytes += piece.length;
      if (this.pendingBytes > this.maxLineBytes) {
        this.chunks = [];
        this.pendingBytes = 0;
        this.discarding = true;
      }
    }
    if (!complete) return;
    if (this.discarding) {
      this.discarding = false;
      this.problem({
        code: INVALID_REQUEST,
        id: null,
        message: `message too large: a line longer than ${this.maxLineBytes} bytes was discarded`,
      });
      return;
    }
    const line = Buffer.concat(this.chunks).toString('utf8').replace(/\r$/, '');
    this.chunks = [];
    this.pendingBytes = 0;
    if (line.trim() !== '') this.handleLine(line);
  }

  private handleLine(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      this.problem({
        code: PARSE_ERROR,
        id: null,
        message: `Parse error: ${(err as Error).message}`,
      });
      return;
    }
    const shape = jsonRpcShapeProblem(value);
    if (shape) {
      this.problem({
        code: INVALID_REQUEST,
        id: idOf(value),
        message: `Invalid Request: ${shape}`,
      });
      return;
    }
    this.onmessage?.(value as JSONRPCMessage);
  }

  private problem(problem: EdgeProblem): void {
    this.options.onProblem?.(problem);
    void this.send({
      jsonrpc: '2.0',
      id: problem.id,
      error: { code: problem.code, message: problem.message },
    } as unknown as JSONRPCMessage).catch(() => undefined);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new Error('the client has disconnected'));
        return;
      }
      const ok = this.stdout.write(`${JSON.stringify(message)}\n`, (err) =>
        err ? reject(err) : undefined,
      );
      if (ok) resolve();
      else this.stdout.once('drain', () => resolve());
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stdin.off('data', this.onData);
    this.stdin.pause();
    this.onclose?.();
  }
}
