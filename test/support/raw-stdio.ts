import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';

/**
 * A JSON-RPC client that writes lines and records every line it reads, in order: for checking
 * what is on the wire (message order, exact bytes), which SDK clients hide.
 */
export class RawStdioClient {
  readonly received: Record<string, unknown>[] = [];
  /** Every line as it arrived, byte for byte (for checking what the gateway re-serialised). */
  readonly lines: string[] = [];
  stderr = '';
  private readonly child: ChildProcess;
  private buffer = '';
  /** Results for requests the gateway sends this client (server→client requests such as roots/list). */
  private readonly answers = new Map<string, Record<string, unknown>>();
  private waiters: {
    match: (m: Record<string, unknown>) => boolean;
    resolve: (m: Record<string, unknown>) => void;
  }[] = [];

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    // A decoder, not chunk.toString(): a character split across two chunks must stay whole.
    const decoder = new StringDecoder('utf8');
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.buffer += decoder.write(chunk);
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.trim() === '') continue;
        this.lines.push(line);
        const message = JSON.parse(line) as Record<string, unknown>;
        this.received.push(message);
        const asked = typeof message.method === 'string' ? this.answers.get(message.method) : null;
        if (asked && 'id' in message) this.send({ id: message.id, result: asked });
        this.waiters = this.waiters.filter((w) =>
          w.match(message) ? (w.resolve(message), false) : true,
        );
      }
    });
  }

  /** Writes a line as is (for malformed input). */
  sendRaw(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  send(message: Record<string, unknown>): void {
    this.child.stdin?.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
  }

  /** Sends a request and resolves with its response. */
  request(
    id: number,
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>> {
    const done = new Promise<Record<string, unknown>>((resolve) =>
      this.waiters.push({ match: (m) => m.id === id && !('method' in m), resolve }),
    );
    this.send({ id, method, params });
    return done;
  }

  /** Answers every request the gateway sends with `method` (e.g. roots/list) with `result`. */
  answer(method: string, result: Record<string, unknown>): void {
    this.answers.set(method, result);
  }

  async initialize(capabilities: Record<string, unknown> = {}): Promise<void> {
    await this.request(0, 'initialize', {
      protocolVersion: '2025-11-25',
      capabilities,
      clientInfo: { name: 'raw', version: '1' },
    });
    this.send({ method: 'notifications/initialized' });
  }

  close(): void {
    this.child.stdin?.end();
  }
}
