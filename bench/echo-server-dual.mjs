// The modern-era benchmark upstream: the same `echo` tool on SDK v2, serving both protocol eras
// over stdio (`serveStdio` picks 2025-11-25 or 2026-07-28 from the client's opening exchange).
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod/v4';

serveStdio(() => {
  const server = new McpServer({ name: 'bench-echo-dual', version: '1.0.0' });
  server.registerTool(
    'echo',
    { description: 'echoes', inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
});
