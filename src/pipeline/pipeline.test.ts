import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import type {
  ConnectionInfo,
  GatewayRequest,
  GatewayResponse,
  PipelineContext,
} from './context.js';
import { createPipeline, INTERNAL_ERROR } from './pipeline.js';
import type { PipelineStages } from './pipeline.js';
import { STAGE_NAMES } from './stage.js';
import type { Stage, StageName } from './stage.js';
import { defaultStages } from './stages/index.js';
import type { Forwarder, Router } from './stages/index.js';
import { INVALID_PARAMS } from './stages/resolve-target.js';
import { isToolExposed } from './tool-filter.js';
import type { ToolFilter } from './tool-filter.js';

const STDIO: ConnectionInfo = {
  transport: 'stdio',
  headers: {},
  authSubject: null,
  clientInfo: { name: 'codex-mcp-client', version: '0.169.0' },
};
const TOOLS = [
  { name: 'echo', inputSchema: { type: 'object' } },
  {
    name: 'delete_repo',
    inputSchema: { type: 'object', oneOf: [{ required: ['a'] }] },
    'x-extra': 1,
  },
];

/** `gatehouse run` routing for one server named `docs` with a tool filter. */
function routerFor(filter: ToolFilter): Router {
  return {
    defaultServer: () => 'docs',
    resolveTool: (name) => (isToolExposed(name, filter) ? { server: 'docs', tool: name } : null),
    toolAnnotations: async () => null,
    toolOutputSchema: async () => undefined,
    exposeTools: (tools) => ({
      tools: tools.filter((t) => isToolExposed((t as { name: string }).name, filter)),
      hidden: tools
        .map((t) => (t as { name: string }).name)
        .filter((name) => !isToolExposed(name, filter))
        .map((tool) => ({ server: 'docs', tool, reason: 'filtered' })),
    }),
  };
}

/** An upstream stand-in that answers like an MCP server and counts what reached it. */
function upstream(): Forwarder & { calls: GatewayRequest[] } {
  const calls: GatewayRequest[] = [];
  return {
    calls,
    async forward(ctx): Promise<GatewayResponse> {
      calls.push(ctx.request);
      if (ctx.request.method === 'tools/list') return { result: { tools: TOOLS } };
      return {
        result: {
          content: [
            { type: 'text', text: `secret-value from ${String(ctx.request.params?.name)}` },
          ],
        },
      };
    },
  };
}

const call = (name: string, meta?: Record<string, unknown>): GatewayRequest => ({
  id: 1,
  method: 'tools/call',
  params: { name, arguments: {}, ...(meta ? { _meta: meta } : {}) },
});

function recorder(log: string[]): Partial<PipelineStages> {
  const out: Partial<Record<StageName, Stage>> = {};
  for (const name of STAGE_NAMES) {
    if (name === 'forward' || name === 'resolve-target' || name === 'identify-caller') continue;
    const afterForward = STAGE_NAMES.indexOf(name) > STAGE_NAMES.indexOf('forward');
    const after = () => void log.push(`after ${name}`);
    out[name] = afterForward
      ? { name, after }
      : { name, before: () => void log.push(`before ${name}`), after };
  }
  return out as Partial<PipelineStages>;
}

describe('the interception pipeline', () => {
  test('stages run in the documented order: every before, forward, then every after', async () => {
    const log: string[] = [];
    const pipeline = createPipeline(
      defaultStages(
        routerFor({ enabledTools: null, disabledTools: null }),
        upstream(),
        recorder(log),
      ),
    );
    await pipeline.handle(call('echo'), STDIO);
    expect(log).toEqual([
      'before policy',
      'before approval',
      'before audit-intent',
      'after policy',
      'after approval',
      'after audit-intent',
      'after schema-check',
      'after masking',
      'after audit-result',
    ]);
  });

  test('DENY: a stage that answers stops the way to the upstream, but masking and audit still run', async () => {
    const up = upstream();
    const seen: PipelineContext[] = [];
    const pipeline = createPipeline(
      defaultStages(routerFor({ enabledTools: null, disabledTools: null }), up, {
        policy: {
          name: 'policy',
          before: (ctx) =>
            void (ctx.response = { error: { code: -32001, message: 'denied by test policy' } }),
        },
        approval: {
          name: 'approval',
          before: () => {
            throw new Error('approval must not run after a deny');
          },
        },
        'audit-result': { name: 'audit-result', after: (ctx) => void seen.push(ctx) },
      }),
    );
    const ctx = await pipeline.handle(call('delete_repo'), STDIO);
    expect(ctx.response).toEqual({ error: { code: -32001, message: 'denied by test policy' } });
    expect(ctx.answeredBy).toBe('policy');
    expect(up.calls).toEqual([]);
    expect(seen).toHaveLength(1);
  });

  test('OBSERVE: audit-result sees who called, what, the outcome and the upstream time', async () => {
    let observed: PipelineContext | null = null;
    const pipeline = createPipeline(
      defaultStages(routerFor({ enabledTools: null, disabledTools: null }), upstream(), {
        'audit-result': { name: 'audit-result', after: (ctx) => void (observed = ctx) },
      }),
    );
    await pipeline.handle(
      call('echo', {
        'x-codex-turn-metadata': { thread_id: 't-1', parent_thread_id: 't-0', session_id: 's' },
      }),
      STDIO,
    );
    expect(observed).toMatchObject({
      caller: { client: { name: 'codex-mcp-client' }, threadId: 't-1', parentThreadId: 't-0' },
      target: { server: 'docs', tool: 'echo' },
      response: { result: { content: [{ text: 'secret-value from echo' }] } },
    });
    expect((observed as unknown as PipelineContext).upstreamMs).toBeGreaterThanOrEqual(0);
  });

  test('REWRITE: masking rewrites the result before audit-result records it', async () => {
    let recorded: unknown = null;
    const pipeline = createPipeline(
      defaultStages(routerFor({ enabledTools: null, disabledTools: null }), upstream(), {
        masking: {
          name: 'masking',
          after: (ctx) => {
            if (ctx.response && 'result' in ctx.response)
              ctx.response = {
                result: JSON.parse(
                  JSON.stringify(ctx.response.result).replace('secret-value', '[REDACTED]'),
                ),
              };
          },
        },
        'audit-result': { name: 'audit-result', after: (ctx) => void (recorded = ctx.response) },
      }),
    );
    const ctx = await pipeline.handle(call('echo'), STDIO);
    expect(ctx.response).toEqual({
      result: { content: [{ type: 'text', text: '[REDACTED] from echo' }] },
    });
    expect(recorded).toEqual(ctx.response);
  });

  test('an unexpected failure becomes a JSON-RPC internal error, and audit-result still runs', async () => {
    let audited = false;
    const pipeline = createPipeline(
      defaultStages(
        routerFor({ enabledTools: null, disabledTools: null }),
        { forward: () => Promise.reject(new Error('upstream pipe closed')) },
        { 'audit-result': { name: 'audit-result', after: () => void (audited = true) } },
      ),
    );
    const ctx = await pipeline.handle(call('echo'), STDIO);
    expect(ctx.response).toEqual({
      error: { code: INTERNAL_ERROR, message: 'Gatehouse internal error: upstream pipe closed' },
    });
    expect(audited).toBe(true);
  });

  test('a stage after forward with a before hook is refused at construction', () => {
    const stages = defaultStages(
      routerFor({ enabledTools: null, disabledTools: null }),
      upstream(),
    );
    expect(() =>
      createPipeline({ ...stages, masking: { name: 'masking', before: () => {} } }),
    ).toThrow("pipeline stage 'masking' runs after forward");
  });

  test('a stage wired under the wrong name is refused at construction', () => {
    const stages = defaultStages(
      routerFor({ enabledTools: null, disabledTools: null }),
      upstream(),
    );
    expect(() => createPipeline({ ...stages, policy: { name: 'masking' } })).toThrow(
      "pipeline stage 'policy' is wired with a stage named 'masking'",
    );
  });
});

describe('tool allowlists apply to tools/list AND tools/call', () => {
  const filter = { enabledTools: ['echo', 'delete_repo'], disabledTools: ['delete_repo'] };

  test('a hidden tool is not listed and is refused by name exactly like an unknown tool', async () => {
    const up = upstream();
    const pipeline = createPipeline(defaultStages(routerFor(filter), up));
    const listed = await pipeline.handle({ id: 1, method: 'tools/list', params: {} }, STDIO);
    expect(listed.response).toEqual({ result: { tools: [TOOLS[0]] } });
    const hidden = await pipeline.handle(call('delete_repo'), STDIO);
    const unknown = await pipeline.handle(call('no_such_tool'), STDIO);
    expect(hidden.response).toEqual({
      error: { code: INVALID_PARAMS, message: 'Unknown tool: delete_repo' },
    });
    expect(unknown.response).toEqual({
      error: { code: INVALID_PARAMS, message: 'Unknown tool: no_such_tool' },
    });
    expect(up.calls.map((r) => r.method)).toEqual(['tools/list']);
  });

  test('listed tools keep every field byte for byte (schemas, unknown keys)', async () => {
    const pipeline = createPipeline(
      defaultStages(routerFor({ enabledTools: null, disabledTools: null }), upstream()),
    );
    const ctx = await pipeline.handle({ id: 1, method: 'tools/list', params: {} }, STDIO);
    expect(JSON.stringify(ctx.response)).toBe(JSON.stringify({ result: { tools: TOOLS } }));
  });

  test('property: a tool is callable if and only if it is listed', async () => {
    const names = fc.constantFrom('a', 'b', 'c', 'd');
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.uniqueArray(names)),
        fc.option(fc.uniqueArray(names)),
        names,
        async (enabled, disabled, tool) => {
          const f = { enabledTools: enabled, disabledTools: disabled };
          const tools = ['a', 'b', 'c', 'd'].map((name) => ({ name }));
          const pipeline = createPipeline(
            defaultStages(routerFor(f), {
              forward: async (ctx) =>
                ctx.request.method === 'tools/list'
                  ? { result: { tools } }
                  : { result: { content: [] } },
            }),
          );
          const list = await pipeline.handle({ id: 1, method: 'tools/list', params: {} }, STDIO);
          const listed = (
            list.response as { result: { tools: { name: string }[] } }
          ).result.tools.some((t) => t.name === tool);
          const called = await pipeline.handle(call(tool), STDIO);
          expect('result' in (called.response ?? {})).toBe(listed);
        },
      ),
      { numRuns: 200 },
    );
  });
});

test('identify-caller reads HTTP headers and the token subject; no OS user over HTTP', async () => {
  let caller: unknown = null;
  const http: ConnectionInfo = {
    transport: 'http',
    headers: { 'x-thread-id': 'h-1', 'x-parent-thread-id': 'h-0' },
    authSubject: 'alice@example.com',
    clientInfo: null,
  };
  const pipeline = createPipeline(
    defaultStages(routerFor({ enabledTools: null, disabledTools: null }), upstream(), {
      'audit-result': { name: 'audit-result', after: (ctx) => void (caller = ctx.caller) },
    }),
  );
  await pipeline.handle(call('echo'), http);
  expect(caller).toEqual({
    osUser: null,
    tokenSubject: 'alice@example.com',
    client: null,
    threadId: 'h-1',
    parentThreadId: 'h-0',
  });
});
