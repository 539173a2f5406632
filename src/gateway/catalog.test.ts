import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport, Server } from '@modelcontextprotocol/server';
import { expect, test } from 'vitest';
import { serverWithDefaults } from '../config/mcp-server.js';
import { Catalog } from './catalog.js';
import type { ServedUpstream } from './catalog.js';

/** A real SDK server and client on a linked in-memory pair; counts the tools/list it answers. */
async function upstream(): Promise<{ served: ServedUpstream; lists: () => number }> {
  let lists = 0;
  const server = new Server({ name: 'counted', version: '1' }, { capabilities: { tools: {} } });
  server.setRequestHandler('tools/list', async () => {
    lists++;
    return { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] };
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: 'c', version: '1' }, { capabilities: {} });
  await client.connect(b);
  const served: ServedUpstream = {
    config: serverWithDefaults(
      'docs',
      { type: 'stdio', command: 'x', args: [], env: null, envVars: [], cwd: null },
      [],
    ),
    upstream: {
      client,
      serverInfo: { name: 'counted', version: '1' },
      capabilities: { tools: {} },
      instructions: undefined,
      close: () => client.close(),
      stderr: () => '',
    },
  };
  return { served, lists: () => lists };
}

test('an unknown tool called in a loop does not re-list every server; a change upstream does', async () => {
  const { served, lists } = await upstream();
  const catalog = new Catalog(() => [served], {
    naming: 'namespaced',
    onListError: () => {},
    recheckTimeoutMs: () => 1000,
  });
  expect(await catalog.resolveTool('docs__echo')).toEqual({ server: 'docs', tool: 'echo' });
  expect(lists()).toBe(1);
  for (let i = 0; i < 5; i++) expect(await catalog.resolveTool('docs__nope')).toBeNull();
  expect(lists()).toBe(1);
  catalog.invalidate();
  expect(await catalog.resolveTool('docs__nope')).toBeNull();
  expect(lists()).toBe(2);
});
