import type { IncomingMessage, ServerResponse } from 'node:http';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import { SERVER_UNAVAILABLE } from './session.js';
import type {
  JSONRPCMessage,
  RequestId,
  Transport,
  TransportSendOptions,
} from '@modelcontextprotocol/server';

/** How long a POST answer may stay silent before it becomes an SSE stream with keep-alives. */
export const SSE_KEEP_ALIVE_MS = 15_000;

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

/** One POST that carried requests: its response, chosen lazily (JSON or SSE). */
interface PostStream {
  res: ServerResponse;
  ids: RequestId[];
  batch: boolean;
  answers: Map<RequestId, JSONRPCMessage>;
  /** The response became an SSE stream (something other than the lone answer was sent). */
  sse: boolean;
  timer: NodeJS.Timeout | null;
  ended: boolean;
  onAnswered?: (answers: JSONRPCMessage[]) => void;
}

const isResponse = (m: JSONRPCMessage): m is JSONRPCMessage & { id: RequestId } =>
  !('method' in m) && 'id' in m;

const isRequest = (m: JSONRPCMessage): m is JSONRPCMessage & { id: RequestId; method: string } =>
  'method' in m && 'id' in m;

function sseEvent(message: JSONRPCMessage): string {
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}

/**
 * The server side of one streamable HTTP session, written against node's `res` directly (the
 * SDK's adapter converts every request to web streams, which cost more than the rest of the
 * gateway's hop). A POST's answer is chosen lazily: one JSON body when the response is all
 * there is to say (one write, the common case), an SSE stream as soon as the server sends
 * anything else for that request (progress, logs, a server→client request) or stays silent
 * past the keep-alive interval. Messages not tied to a request go to the GET stream.
 * Resumability (Last-Event-ID) is not offered: no event ids are issued.
 */
export class HttpSessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  sessionId?: string;

  private readonly streams = new Map<RequestId, PostStream>();
  private standalone: { res: ServerResponse; timer: NodeJS.Timeout } | null = null;
  private supported: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS;
  private closed = false;

  constructor(
    sessionId: string,
    private readonly keepAliveMs = SSE_KEEP_ALIVE_MS,
  ) {
    this.sessionId = sessionId;
  }

  async start(): Promise<void> {}

  setSupportedProtocolVersions(versions: string[]): void {
    this.supported = versions;
  }

  /** An unsupported `MCP-Protocol-Version` header, as the client must be told (null when fine). */
  protocolVersionProblem(req: IncomingMessage): string | null {
    const version = req.headers['mcp-protocol-version'];
    if (typeof version !== 'string' || this.supported.includes(version)) return null;
    return `Bad Request: Unsupported protocol version: ${version} (supported versions: ${this.supported.join(', ')})`;
  }

  /** Delivers a POST's messages (already parsed and shape-checked by the endpoint). */
  handlePost(
    res: ServerResponse,
    messages: JSONRPCMessage[],
    batch: boolean,
    onAnswered?: (answers: JSONRPCMessage[]) => void,
  ): void {
    const ids = messages.filter(isRequest).map((m) => m.id);
    if (ids.length === 0) {
      res.writeHead(202).end();
    } else {
      const stream: PostStream = {
        res,
        ids,
        batch,
        answers: new Map(),
        sse: false,
        timer: null,
        ended: false,
        ...(onAnswered ? { onAnswered } : {}),
      };
      stream.timer = setTimeout(() => this.keepAlive(stream), this.keepAliveMs);
      for (const id of ids) this.streams.set(id, stream);
      res.once('close', () => this.endStream(stream));
    }
    for (const message of messages) this.onmessage?.(message);
  }

  /** Opens the session's GET stream: where messages not tied to a request are sent. */
  handleGet(res: ServerResponse): { status: number; message: string } | null {
    if (this.standalone) {
      return { status: 409, message: 'Conflict: Only one SSE stream is allowed per session' };
    }
    res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.sessionId ?? '' });
    res.flushHeaders();
    const timer = setInterval(() => res.write(': keepalive\n\n'), this.keepAliveMs);
    const entry = { res, timer };
    this.standalone = entry;
    res.once('close', () => {
      clearInterval(timer);
      if (this.standalone === entry) this.standalone = null;
    });
    return null;
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const related = isResponse(message) ? message.id : options?.relatedRequestId;
    const stream = related === undefined ? undefined : this.streams.get(related);
    if (!stream) {
      // Its POST was closed by the client: nowhere to deliver (and no other request's stream).
      if (related !== undefined) return;
      if (this.standalone && !this.standalone.res.writableEnded)
        this.standalone.res.write(sseEvent(message));
      return;
    }
    if (!isResponse(message)) {
      this.toSse(stream);
      stream.res.write(sseEvent(message));
      return;
    }
    stream.answers.set(message.id, message);
    if (stream.sse) stream.res.write(sseEvent(message));
    if (stream.answers.size < stream.ids.length) return;
    const answers = stream.ids.map((id) => stream.answers.get(id) as JSONRPCMessage);
    if (!stream.sse) {
      const body = JSON.stringify(stream.batch ? answers : answers[0]);
      stream.res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'mcp-session-id': this.sessionId ?? '',
      });
      stream.res.end(body);
    } else {
      stream.res.end();
    }
    this.endStream(stream);
    stream.onAnswered?.(answers);
  }

  private toSse(stream: PostStream): void {
    if (stream.sse) return;
    stream.sse = true;
    stream.res.writeHead(200, { ...SSE_HEADERS, 'mcp-session-id': this.sessionId ?? '' });
    // Answers that came before (a batch answered in part) go first.
    for (const answer of stream.answers.values()) stream.res.write(sseEvent(answer));
  }

  private keepAlive(stream: PostStream): void {
    if (stream.ended) return;
    this.toSse(stream);
    stream.res.write(': keepalive\n\n');
    stream.timer = setTimeout(() => this.keepAlive(stream), this.keepAliveMs);
  }

  private endStream(stream: PostStream): void {
    if (stream.ended) return;
    stream.ended = true;
    if (stream.timer) clearTimeout(stream.timer);
    for (const id of stream.ids) if (this.streams.get(id) === stream) this.streams.delete(id);
    if (!stream.res.writableEnded) stream.res.end();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Requests still waiting are answered, so no client is left with an empty body.
    for (const stream of new Set(this.streams.values())) {
      for (const id of stream.ids) {
        if (stream.answers.has(id)) continue;
        await this.send({
          jsonrpc: '2.0',
          id,
          error: {
            code: SERVER_UNAVAILABLE,
            message: 'the session ended before this request was answered',
          },
        } as JSONRPCMessage);
      }
    }
    if (this.standalone) {
      clearInterval(this.standalone.timer);
      this.standalone.res.end();
      this.standalone = null;
    }
    this.onclose?.();
  }
}
