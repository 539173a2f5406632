import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import type {
  ConnectionInfo,
  GatewayRequest,
  GatewayResponse,
  PipelineContext,
} from './context.js';
import { createPipeline } from './pipeline.js';
import { ERROR_TABLE } from './error-table.js';
import { maskingStage } from './stages/masking.js';
import { DEFAULT_MASKING_POLICY } from '../masking/policy.js';
import type { PipelineStages } from './pipeline.js';
import { STAGE_NAMES } from './stage.js';
import type { Stage, StageName } from './stage.js';
import { defaultStages } from './stages/index.js';
import type { Forwarder, Router } from './stages/index.js';
const INVALID_PARAMS = ERROR_TABLE.unknown_target.code;
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
    out[name] = {
      name,
      handle: async (_ctx, next) => {
        log.push(`in ${name}`);
        await next();
        log.push(`out ${name}`);
      },
    };
  }
  return out as Partial<PipelineStages>;
}

/** A stage that only looks at the response on the way out. */
function onTheWayOut(name: StageName, look: (ctx: PipelineContext) => void): Stage {
  return {
    name,
    handle: async (ctx, next) => {
      await next();
      look(ctx);
    },
  };
}

const OPEN = { enabledTools: null, disabledTools: null };
const GITHUB_TOKEN = `ghp_${'A1b2C3d4E5f6G7h8I9j0'.repeat(2).slice(0, 36)}`;

describe('the interception pipeline', () => {
  test('stages wrap each other in the documented order: the way in, forward, the way back', async () => {
    const log: string[] = [];
    const pipeline = createPipeline(defaultStages(routerFor(OPEN), upstream(), recorder(log)));
    await pipeline.handle(call('echo'), STDIO);
    expect(log).toEqual([
      'in audit-result',
      'in masking',
      'in schema-pin',
      'in policy',
      'in approval',
      'in audit-intent',
      'in detokenize',
      'out detokenize',
      'out audit-intent',
      'out approval',
      'out policy',
      'out schema-pin',
      'out masking',
      'out audit-result',
    ]);
  });

  test('DENY: a stage that answers stops the way in, but masking and audit still see the answer', async () => {
    const up = upstream();
    const seen: PipelineContext[] = [];
    const pipeline = createPipeline(
      defaultStages(routerFor(OPEN), up, {
        policy: {
          name: 'policy',
          handle: async (ctx) =>
            void (ctx.response = { error: { code: -1, message: 'denied by test policy' } }),
        },
        approval: {
          name: 'approval',
          handle: () => {
            throw new Error('approval must not run after a deny');
          },
        },
        'audit-result': onTheWayOut('audit-result', (ctx) => void seen.push(ctx)),
      }),
    );
    const ctx = await pipeline.handle(call('delete_repo'), STDIO);
    expect(ctx.response).toEqual({ error: { code: -1, message: 'denied by test policy' } });
    expect(ctx.answeredBy).toBe('policy');
    expect(up.calls).toEqual([]);
    expect(seen).toHaveLength(1);
  });

  test('OBSERVE: audit-result sees who called, what, the outcome and the upstream time', async () => {
    let observed: PipelineContext | null = null;
    const pipeline = createPipeline(
      defaultStages(routerFor(OPEN), upstream(), {
        'audit-result': onTheWayOut('audit-result', (ctx) => void (observed = ctx)),
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
      defaultStages(routerFor(OPEN), upstream(), {
        masking: onTheWayOut('masking', (ctx) => {
          if (ctx.response && 'result' in ctx.response)
            ctx.response = {
              result: JSON.parse(
                JSON.stringify(ctx.response.result).replace('secret-value', '[REDACTED]'),
              ),
            };
        }),
        'audit-result': onTheWayOut('audit-result', (ctx) => void (recorded = ctx.response)),
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
        routerFor(OPEN),
        { forward: () => Promise.reject(new Error('upstream pipe closed')) },
        { 'audit-result': onTheWayOut('audit-result', () => void (audited = true)) },
      ),
    );
    const ctx = await pipeline.handle(call('echo'), STDIO);
    expect(ctx.response).toEqual({
      error: {
        code: ERROR_TABLE.internal_error.code,
        message: 'Gatehouse internal error: upstream pipe closed',
      },
    });
    expect(audited).toBe(true);
  });

  test('a stage that throws on the way back is still masked and audited (defect 2)', async () => {
    let audited: unknown = null;
    const masking = maskingStage({ policy: DEFAULT_MASKING_POLICY, router: routerFor(OPEN) });
    const pipeline = createPipeline(
      defaultStages(routerFor(OPEN), upstream(), {
        ...masking,
        approval: {
          name: 'approval',
          handle: async (_ctx, next) => {
            await next();
            throw new Error(`hook failed while reading token=${GITHUB_TOKEN}`);
          },
        },
        'audit-result': onTheWayOut('audit-result', (ctx) => void (audited = ctx.response)),
      }),
    );
    const ctx = await pipeline.handle(call('echo'), STDIO);
    const text = JSON.stringify(ctx.response);
    expect(ctx.response).toMatchObject({ error: { code: ERROR_TABLE.internal_error.code } });
    expect(text).toContain('hook failed');
    expect(text).not.toContain(GITHUB_TOKEN);
    expect(audited).toEqual(ctx.response);
  });

  test('a stage wired under the wrong name, or passing a request on twice, is a bug caught loudly', async () => {
    const stages = defaultStages(routerFor(OPEN), upstream());
    expect(() =>
      createPipeline({ ...stages, policy: { name: 'masking', handle: (_c, n) => n() } }),
    ).toThrow("pipeline stage 'policy' is wired with a stage named 'masking'");
    const twice = createPipeline({
      ...stages,
      approval: {
        name: 'approval',
        handle: async (_ctx, next) => {
          await next();
          await next();
        },
      },
    });
    const ctx = await twice.handle(call('echo'), STDIO);
    expect(JSON.stringify(ctx.response)).toContain(
      "pipeline stage 'approval' passed a request on twice",
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
      'audit-result': onTheWayOut('audit-result', (ctx) => void (caller = ctx.caller)),
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
