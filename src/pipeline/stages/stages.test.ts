/**
 * Each stage in-process, with a fake upstream (a Forwarder) and nothing spawned: the table of
 * what a stage does to a request and a response. The audit stages have their own file
 * (audit.test.ts, with an in-memory sink).
 */
import { describe, expect, test } from 'vitest';
import { DEFAULT_MASKING_POLICY } from '../../masking/policy.js';
import type { ToolRule } from '../../policy/model.js';
import { NO_TOOL_POLICY } from '../../policy/model.js';
import type {
  ConnectionInfo,
  GatewayRequest,
  GatewayResponse,
  PipelineContext,
} from '../context.js';
import { ERROR_TABLE } from '../error-table.js';
import { createPipeline } from '../pipeline.js';
import type { PipelineStages } from '../pipeline.js';
import type { ToolGate } from '../tool-filter.js';
import { upstreamParams } from './forward.js';
import { defaultStages } from './index.js';
import { maskingStage } from './masking.js';
import type { PolicySettings } from './policy.js';
import { policyStage, visibleTools } from './policy.js';
import type { RequestRoute, Router, ToolRoute } from './resolve-target.js';

const STDIO: ConnectionInfo = {
  transport: 'stdio',
  headers: {},
  authSubject: null,
  clientInfo: null,
};
const TOOLS = [
  { name: 'read_notes', annotations: { readOnlyHint: true } },
  { name: 'refund', annotations: { destructiveHint: true } },
  { name: 'hidden_one' },
];

function router(
  options: {
    route?: (name: string) => ToolRoute;
    request?: (method: string) => RequestRoute;
    gate?: ToolGate | null;
  } = {},
): Router {
  return {
    defaultServer: () => 'pay',
    ...(options.request ? { resolveRequest: async (m) => options.request?.(m) ?? null } : {}),
    resolveTool: (name) =>
      options.route
        ? options.route(name)
        : name === 'hidden_one' || name === 'nope'
          ? null
          : { server: 'pay', tool: name },
    toolAnnotations: async (_s, tool) =>
      (TOOLS.find((t) => t.name === tool)?.annotations as unknown as Record<string, boolean>) ??
      null,
    toolOutputSchema: async () => undefined,
    exposeTools: (tools) => ({
      tools: tools.filter((t) => (t as { name: string }).name !== 'hidden_one'),
      hidden: [{ server: 'pay', tool: 'hidden_one', reason: 'in disabled_tools' }],
    }),
    ...(options.gate !== undefined ? { toolGate: async () => options.gate ?? null } : {}),
  };
}

const call = (name: string, args: Record<string, unknown> = {}): GatewayRequest => ({
  id: 1,
  method: 'tools/call',
  params: { name, arguments: args },
});
const LIST: GatewayRequest = { id: 2, method: 'tools/list', params: {} };

function run(
  r: Router,
  request: GatewayRequest,
  stages: Partial<PipelineStages> = {},
  answer: (ctx: PipelineContext) => GatewayResponse = (ctx) =>
    ctx.request.method === 'tools/list'
      ? { result: { tools: TOOLS } }
      : { result: { content: [{ type: 'text', text: 'done' }] } },
) {
  const sent: GatewayRequest[] = [];
  const pipeline = createPipeline(
    defaultStages(
      r,
      {
        forward: async (ctx) => {
          sent.push(ctx.request);
          return answer(ctx);
        },
      },
      stages,
    ),
  );
  return pipeline.handle(request, STDIO).then((ctx) => ({ ctx, sent }));
}

describe('resolve-target', () => {
  test.each([
    [
      'an unknown tool',
      router(),
      call('nope'),
      ERROR_TABLE.unknown_target.code,
      'unknown_or_hidden_tool',
    ],
    [
      'a hidden tool, exactly like an unknown one',
      router(),
      call('hidden_one'),
      ERROR_TABLE.unknown_target.code,
      'unknown_or_hidden_tool',
    ],
    [
      'a server whose tools are not checked yet',
      router({ route: () => ({ server: 'pay', refusal: 'not usable yet' }) }),
      call('refund'),
      ERROR_TABLE.server_unavailable.code,
      'tools_not_checked',
    ],
    [
      'a resource several servers offer (serve)',
      router({
        request: () => ({
          refusal: { kind: 'unknown_target', rule: 'ambiguous_resource', message: 'ambiguous' },
        }),
      }),
      { id: 3, method: 'resources/read', params: { uri: 'file:///x' } },
      ERROR_TABLE.unknown_target.code,
      'ambiguous_resource',
    ],
  ] as const)('%s is refused before anything is sent', async (_what, r, request, code, rule) => {
    const { ctx, sent } = await run(r, request);
    expect(ctx.response).toMatchObject({ error: { code } });
    expect(ctx.decision).toMatchObject({ kind: 'deny', rule });
    expect(ctx.answeredBy).toBe('resolve-target');
    expect(sent).toEqual([]);
  });

  test('a request routed to one server names it; the upstream gets the raw names', async () => {
    const r = router({
      route: (name) => (name === 'pay__refund' ? { server: 'pay', tool: 'refund' } : null),
      request: () => ({ target: { server: 'docs', tool: null, prompt: 'summarise' } }),
    });
    const tool = await run(r, call('pay__refund'));
    expect(tool.ctx.target).toEqual({ server: 'pay', tool: 'refund' });
    expect(tool.sent[0]?.params?.name).toBe('refund');
    const prompt = await run(r, {
      id: 4,
      method: 'prompts/get',
      params: { name: 'docs__summarise' },
    });
    expect(prompt.ctx.target?.server).toBe('docs');
    expect(prompt.sent[0]?.params?.name).toBe('summarise');
  });
});

describe('schema-pin', () => {
  test('a changed tool the lock blocks is refused; one needing approval goes on needing it', async () => {
    const blocked = await run(
      router({ gate: { action: 'refuse', rule: 'schema_lock', message: 'changed' } }),
      call('refund'),
    );
    expect(blocked.ctx.response).toEqual({
      error: { code: ERROR_TABLE.schema_blocked.code, message: 'changed' },
    });
    expect(blocked.ctx.answeredBy).toBe('schema-pin');
    expect(blocked.sent).toEqual([]);
    const approve = await run(
      router({ gate: { action: 'needs_approval', rule: 'schema_lock', message: 'changed' } }),
      call('refund'),
      {
        approval: {
          name: 'approval',
          handle: async (ctx) =>
            void (ctx.response = { error: { code: 0, message: String(ctx.decision.kind) } }),
        },
      },
    );
    expect(approve.ctx.response).toMatchObject({ error: { message: 'needs_approval' } });
    const unchanged = await run(router({ gate: null }), call('refund'));
    expect(unchanged.sent).toHaveLength(1);
  });
});

const SETTINGS = (rules: Partial<ToolRule>[] = []): PolicySettings => ({
  policy: {
    ...NO_TOOL_POLICY,
    rules: rules.map((r) => ({
      key: `${r.server}/${r.tool}`,
      server: r.server ?? '*',
      tool: r.tool ?? '*',
      allow: r.allow ?? null,
      effect: null,
      category: null,
      approval: null,
      source: { kind: 'cli', path: '/r.toml' },
      ...r,
    })) as ToolRule[],
  },
  revision: 'rev-1',
  userModes: () => null,
});

describe('policy: what a caller may see and call (visibleTools, decideFor)', () => {
  test('a tools/list shows neither allowlist-hidden nor policy-refused tools, and says why', async () => {
    const r = router();
    const seen = await visibleTools(
      TOOLS,
      r,
      SETTINGS([{ server: 'pay', tool: 'refund', allow: false }]),
    );
    expect(seen.tools.map((t) => (t as { name: string }).name)).toEqual(['read_notes']);
    expect(seen.hidden).toEqual([
      { server: 'pay', tool: 'hidden_one', reason: 'in disabled_tools' },
      expect.objectContaining({
        server: 'pay',
        tool: 'refund',
        reason: expect.stringMatching(/^policy: /),
      }),
    ]);
    expect([...seen.routes.keys()]).toEqual(['read_notes']);
  });

  test('the stage refuses the call the listing hid, with the rule, and records the listing', async () => {
    const r = router();
    const settings = SETTINGS([{ server: 'pay', tool: 'refund', allow: false }]);
    const stages = { policy: policyStage(r, settings) };
    const refused = await run(r, call('refund'), stages);
    expect(refused.ctx.response).toMatchObject({ error: { code: ERROR_TABLE.policy_denied.code } });
    expect(refused.sent).toEqual([]);
    const listed = await run(r, LIST, stages);
    expect(listed.ctx.hiddenTools.map((h) => h.tool)).toEqual(['hidden_one', 'refund']);
    expect(listed.ctx.listedRoutes.get('read_notes')).toEqual({
      server: 'pay',
      tool: 'read_notes',
    });
  });
});

describe('masking and forward', () => {
  test('an upstream error is masked, data included; reversible tokens are not needed for that', async () => {
    const token = `ghp_${'Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa98'.slice(0, 36)}`;
    const { masking } = maskingStage({ policy: DEFAULT_MASKING_POLICY, router: router() });
    const { ctx } = await run(router(), call('read_notes'), { masking }, () => ({
      error: { code: -1, message: `failed with ${token}`, data: { token } },
    }));
    expect(JSON.stringify(ctx.response)).not.toContain(token);
    expect(ctx.response).toMatchObject({ error: { code: -1 } });
  });

  test('upstreamParams puts back the raw tool, prompt and completion names', () => {
    const ctx = (
      method: string,
      params: Record<string, unknown>,
      target: PipelineContext['target'],
    ) =>
      ({
        request: { id: 1, method, params },
        target,
        forwardParams: null,
      }) as unknown as PipelineContext;
    expect(upstreamParams(ctx('tools/call', { name: 'a__b' }, { server: 'a', tool: 'b' }))).toEqual(
      { name: 'b' },
    );
    expect(
      upstreamParams(
        ctx('prompts/get', { name: 'a__p' }, { server: 'a', tool: null, prompt: 'p' }),
      ),
    ).toEqual({ name: 'p' });
    expect(
      upstreamParams(
        ctx(
          'completion/complete',
          { ref: { type: 'ref/prompt', name: 'a__p' } },
          { server: 'a', tool: null, prompt: 'p' },
        ),
      ),
    ).toEqual({ ref: { type: 'ref/prompt', name: 'p' } });
    const same = { name: 'b' };
    expect(upstreamParams(ctx('tools/call', same, { server: 'a', tool: 'b' }))).toBe(same);
  });
});
