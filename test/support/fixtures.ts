import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { McpServerConfig, McpTransport } from '../../src/config/mcp-server.js';
import { serverWithDefaults } from '../../src/config/mcp-server.js';

export const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'servers');
export const EVERYTHING = join(
  import.meta.dirname,
  '..',
  '..',
  'node_modules',
  '@modelcontextprotocol',
  'server-everything',
  'dist',
  'index.js',
);

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
}

export function writeFiles(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** A server definition with every field spelled out, as tests build them. */
export function server(
  name: string,
  transport: McpTransport,
  extra: Partial<McpServerConfig> = {},
): McpServerConfig {
  return { ...serverWithDefaults(name, transport, []), ...extra };
}

export function stdio(
  command: string,
  args: string[] = [],
  extra: Partial<Extract<McpTransport, { type: 'stdio' }>> = {},
): McpTransport {
  return { type: 'stdio', command, args, env: null, envVars: [], cwd: null, ...extra };
}

export function http(
  url: string,
  extra: Partial<Extract<McpTransport, { type: 'streamable_http' }>> = {},
): McpTransport {
  return {
    type: 'streamable_http',
    url,
    bearerTokenEnvVar: null,
    httpHeaders: null,
    envHttpHeaders: null,
    httpHeadersHelper: null,
    ...extra,
  };
}

/** Starts the local HTTP fixture; resolves with its base URL. */
export async function startHttpFixture(): Promise<{ base: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(FIXTURES, 'http-server.mjs')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', () => reject(new Error('http fixture exited')));
  });
  return { base: `http://127.0.0.1:${port}`, child };
}

/** Starts the SDK v2 HTTP fixtures (modern-only and dual-era endpoints); resolves with the base URL. */
export async function startEraHttpFixture(): Promise<{ base: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(FIXTURES, 'modern-http.mjs')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', () => reject(new Error('era http fixture exited')));
  });
  return { base: `http://127.0.0.1:${port}`, child };
}
