import { Client, InMemoryTransport } from '@modelcontextprotocol/client';
import { createMcpHandler } from '@modelcontextprotocol/server';
import { describe, expect, test } from 'vitest';
import type { ConnectionInfo } from '../../pipeline/context.js';
import { createPipeline } from '../../pipeline/pipeline.js';
import { defaultStages } from '../../pipeline/stages/index.js';
import type { Router } from '../../pipeline/stages/index.js';
import type { RequestScope } from '../upstream-forwarder.js';
import { buildServer, Relay, serveOn } from './session.js';
import type { ServeSessionOptions } from './session.js';

/**
 * What the pipeline's forwarder is given for each request, per era: the real SDK server (the one
 * builder), the real pipeline, an upstream stand-in at the forward seam that records its scope.
 */
interface Seen {
  scope: RequestScope | undefined;
  connection: ConnectionInfo;
  params: Record<string, unknown> | undefined;
  asked?: unknown;
}

const ROUTER: Router = {
  defaultServer: () => 'docs',
  resolveTool: (name) => ({ server: 'docs', tool: name }),
  toolAnnotations: async () => null,
  toolOutputSchema: async () => undefined,
  exposeTools: (tools) => ({ tools: [...tools], hidden: [] }),
};

function options(seen: Seen[], askRoots = false): ServeSessionOptions {
  return {
    info: { name: 'docs', version: '1' },
    capabilities: { tools: {} },
    relay: new Relay(),
    onNotification: async () => undefined,
    pipeline: (scopes) =>
      createPipeline(
        defaultStages(ROUTER, {
          async forward(ctx) {
            const scope = scopes.get(ctx.request.id);
            const entry: Seen = {
              scope,
              connection: ctx.connection,
              params: ctx.request.params,
            };
            if (askRoots && scope?.ask) entry.asked = await scope.ask({ method: 'roots/list' });
            seen.push(entry);
            return { result: { content: [{ type: 'text', text: 'ok' }] } };
          },
        }),
      ),
  };
}

const HTTP: ConnectionInfo = {
  transport: 'http',
  headers: {},
  authSubject: null,
  clientInfo: null,
  era: 'modern',
};

function modernPost(params: Record<string, unknown>): Request {
  return new Request('http://gatehouse/mcp', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': 'tools/call',
      'mcp-name': 'search',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 5,
      method: 'tools/call',
      params: {
        name: 'search',
        arguments: { q: 'x' },
        ...params,
        _meta: {
          'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
          'io.modelcontextprotocol/clientInfo': { name: 'agent', version: '2' },
          'io.modelcontextprotocol/logLevel': 'warning',
        },
      },
    }),
  });
}

describe('the pipeline’s view of each era', () => {
  test('modern: raw inputResponses and requestState reach the pipeline; no in-band asking; the envelope names the client', async () => {
    const seen: Seen[] = [];
    const handler = createMcpHandler(() => buildServer(HTTP, options(seen), false), {
      legacy: 'reject',
    });
    const sealed = 'gh1.c2VhbGVk.not-verified-by-the-sdk';
    const response = await handler.fetch(
      modernPost({
        inputResponses: { approve: { action: 'accept', content: { ok: true } } },
        requestState: sealed,
      }),
    );
    const body = JSON.parse(await response.text()) as { result: Record<string, unknown> };
    expect(body.result).toMatchObject({ resultType: 'complete', content: [{ text: 'ok' }] });
    const [first] = seen;
    expect(first?.scope?.mrtr).toEqual({
      inputResponses: { approve: { action: 'accept', content: { ok: true } } },
      requestState: sealed,
    });
    expect(first?.scope?.elicit).toBeNull();
    expect(first?.scope?.ask).toBeNull();
    expect(first?.connection).toMatchObject({ era: 'modern', clientInfo: { name: 'agent' } });
    // The request's log level is forwarded; the lifted MRTR fields are not sent upstream as params.
    expect(first?.params?._meta).toEqual({ 'io.modelcontextprotocol/logLevel': 'warning' });
    expect(first?.params).not.toHaveProperty('requestState');
    await handler.close();
  });

  test('modern without MRTR material: mrtr is present with nulls', async () => {
    const seen: Seen[] = [];
    const handler = createMcpHandler(() => buildServer(HTTP, options(seen), false), {
      legacy: 'reject',
    });
    await (await handler.fetch(modernPost({}))).text();
    expect(seen[0]?.scope?.mrtr).toEqual({ inputResponses: null, requestState: null });
    await handler.close();
  });

  test('legacy: `ask` sends a server→client request tied to the call; mrtr is null', async () => {
    const seen: Seen[] = [];
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    const connection: ConnectionInfo = { ...HTTP, transport: 'stdio', era: 'legacy' };
    const server = await serveOn(serverSide, connection, options(seen, true));
    const client = new Client(
      { name: 'legacy', version: '1' },
      { capabilities: { roots: { listChanged: true } } },
    );
    client.setRequestHandler('roots/list', () => ({ roots: [{ uri: 'file:///work' }] }));
    await client.connect(clientSide);
    await client.callTool({ name: 'search', arguments: {} });
    expect(seen[0]?.scope?.mrtr).toBeNull();
    expect(seen[0]?.scope?.elicit).toBeNull(); // this client declared no elicitation
    expect(seen[0]?.asked).toEqual({ roots: [{ uri: 'file:///work' }] });
    expect(seen[0]?.connection.era).toBe('legacy');
    await client.close();
    await server.close();
  });
});
