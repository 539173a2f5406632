import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type {
  ClientCapabilities,
  Implementation,
  ServerCapabilities,
  Transport,
} from '@modelcontextprotocol/client';
import type { McpServerConfig } from '../../config/mcp-server.js';
import { DEFAULT_STARTUP_TIMEOUT_SEC } from '../../config/mcp-server.js';
import { upstreamHeaders } from './http-headers.js';
import { networkErrorText } from './network-errors.js';
import { ProcessGroupStdioTransport } from './stdio-process-transport.js';

/** A connected upstream MCP server, with what it declared at `initialize`. */
export interface Upstream {
  client: Client;
  serverInfo: Implementation;
  capabilities: ServerCapabilities;
  instructions: string | undefined;
  /** Ends the session; for stdio, kills the whole process tree. */
  close(): Promise<void>;
  /** The last stderr lines of a stdio server (for failure messages). */
  stderr(): string;
}

export interface ConnectOptions {
  env: NodeJS.ProcessEnv;
  /** Advertised upstream: the downstream client's own capabilities, so upstream features match. */
  capabilities: ClientCapabilities;
  clientInfo: Implementation;
  /** Wires handlers before the handshake, so nothing the server sends early is lost. */
  prepare?(client: Client): void;
}

export class UpstreamTimeout extends Error {}

/** Starts (stdio) or connects to (HTTP) a server and completes `initialize` within its startup budget. */
export async function connectUpstream(
  server: McpServerConfig,
  options: ConnectOptions,
): Promise<Upstream> {
  const client = new Client(options.clientInfo, { capabilities: options.capabilities });
  options.prepare?.(client);
  const stdio =
    server.transport.type === 'stdio'
      ? new ProcessGroupStdioTransport(server.transport, options.env)
      : null;
  const transport: Transport =
    stdio ??
    new StreamableHTTPClientTransport(new URL((server.transport as { url: string }).url), {
      requestInit: {
        headers:
          server.transport.type === 'streamable_http'
            ? upstreamHeaders(server.transport, options.env)
            : {},
      },
    });
  const budgetMs = (server.startupTimeoutSec ?? DEFAULT_STARTUP_TIMEOUT_SEC) * 1000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(transport),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new UpstreamTimeout(`no answer to initialize within ${budgetMs / 1000}s`)),
          budgetMs,
        );
      }),
    ]);
  } catch (err) {
    await client.close().catch(() => undefined);
    await stdio?.close();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    client,
    serverInfo: client.getServerVersion() ?? { name: server.name, version: '0' },
    capabilities: client.getServerCapabilities() ?? {},
    instructions: client.getInstructions(),
    close: async () => {
      await client.close().catch(() => undefined);
      await stdio?.close();
    },
    stderr: () => stdio?.stderr ?? '',
  };
}

/** One line saying why a server did not start. */
export function describeStartFailure(err: unknown): string {
  if (err instanceof UpstreamTimeout) return err.message;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'executable not found';
  const network = networkErrorText(err);
  if (network) return network;
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0]?.slice(0, 300) ?? 'unknown error';
}
