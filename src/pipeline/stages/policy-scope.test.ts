import { userInfo } from 'node:os';
import { describe, expect, test } from 'vitest';
import { parseLayer } from '../../../test/support/requirements-layer.js';
import { composeRequirementLayers } from '../../requirements/load-requirements.js';
import { policyRevision } from '../../policy/revision.js';
import type {
  ConnectionInfo,
  GatewayRequest,
  GatewayResponse,
  PipelineContext,
} from '../context.js';
import { createPipeline } from '../pipeline.js';
import type { Stage } from '../stage.js';
import { defaultStages } from './index.js';
import type { Forwarder, Router } from './index.js';
import type { PolicySettings } from './policy.js';
import { policyStage } from './policy.js';

const TOOLS = [{ name: 'search' }, { name: 'refund' }];

/** One server, `pay`, offering two tools (as `gatehouse run` routes them). */
const router: Router = {
  defaultServer: () => 'pay',
  resolveTool: (name) =>
    TOOLS.some((t) => t.name === name) ? { server: 'pay', tool: name } : null,
  toolAnnotations: async () => ({ readOnlyHint: true }),
  toolOutputSchema: async () => undefined,
  exposeTools: (tools) => ({ tools: [...tools], hidden: [] }),
};

function upstream(): Forwarder & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async forward(ctx): Promise<GatewayResponse> {
      calls.push(ctx.request.method);
      if (ctx.request.method === 'tools/list') return { result: { tools: TOOLS } };
      if (ctx.request.method === 'prompts/list') return { result: { prompts: [{ name: 'p' }] } };
      return { result: { content: [{ type: 'text', text: 'done' }] } };
    },
  };
}

function settingsFor(requirements: string): PolicySettings {
  const r = composeRequirementLayers([
    parseLayer(requirements, { kind: 'system_file', path: '/etc/gatehouse/requirements.toml' })
      .layer,
  ]);
  return { policy: r.policy, revision: policyRevision(r.policy), userModes: () => null };
}

const http = (subject: string | null, groups: string[]): ConnectionInfo => ({
  transport: 'http',
  headers: {},
  authSubject: subject ? `service:${subject}` : null,
  identity: subject
    ? { issuer: 'gatehouse:service-tokens', subject, email: null, groups, via: 'service-token' }
    : null,
  clientInfo: null,
});
const STDIO: ConnectionInfo = {
  transport: 'stdio',
  headers: {},
  authSubject: null,
  clientInfo: null,
};

async function run(settings: PolicySettings, connection: ConnectionInfo, request: GatewayRequest) {
  const up = upstream();
  let seen: PipelineContext | null = null;
  const look: Stage = {
    name: 'audit-result',
    handle: async (ctx, next) => {
      await next();
      seen = ctx;
    },
  };
  const pipeline = createPipeline(
    defaultStages(router, up, { policy: policyStage(router, settings), 'audit-result': look }),
  );
  await pipeline.handle(request, connection);
  return { ctx: seen as unknown as PipelineContext, upstream: up.calls };
}

const list: GatewayRequest = { id: 1, method: 'tools/list', params: {} };
const call = (name: string): GatewayRequest => ({
  id: 2,
  method: 'tools/call',
  params: { name, arguments: {} },
});
const names = (ctx: PipelineContext) =>
  ctx.response && 'result' in ctx.response
    ? (ctx.response.result.tools as { name: string }[]).map((t) => t.name)
    : null;

describe('scope in the pipeline (one path: visibleTools and decideCall)', () => {
  const settings = settingsFor(`
[gatehouse_scopes]
enabled = true
[gatehouse_scopes.servers."pay"]
groups = ["finance", "eng"]
subjects = ["os:${userInfo().username}"]
[gatehouse_policy.tools."pay/refund"]
groups = ["finance"]
`);

  test('callers in different groups get different lists and calls', async () => {
    expect(names((await run(settings, http('fin', ['finance']), list)).ctx)).toEqual([
      'search',
      'refund',
    ]);
    const dev = await run(settings, http('dev', ['eng']), list);
    expect(names(dev.ctx)).toEqual(['search']);
    expect(dev.ctx.hiddenTools).toEqual([
      expect.objectContaining({ tool: 'refund', reason: expect.stringMatching(/^scope: /) }),
    ]);
    const refused = await run(settings, http('dev', ['eng']), call('refund'));
    expect(refused.upstream).toEqual([]);
    expect(refused.ctx.response).toMatchObject({ error: { message: 'Unknown tool: refund' } });
    expect(refused.ctx.decision).toMatchObject({
      kind: 'deny',
      reason: expect.stringMatching(/^scope: /),
    });
    expect((await run(settings, http('fin', ['finance']), call('refund'))).upstream).toEqual([
      'tools/call',
    ]);
  });

  test('fail closed: no identity, or a server out of scope, shows nothing and forwards nothing', async () => {
    const none = await run(settings, http(null, []), list);
    expect(names(none.ctx)).toEqual([]);
    const outsider = await run(settings, http('x', ['sales']), call('search'));
    expect(outsider.upstream).toEqual([]);
    const prompts = await run(settings, http('x', ['sales']), {
      id: 3,
      method: 'prompts/list',
      params: {},
    });
    expect(prompts.ctx.response).toEqual({ result: { prompts: [] } });
    const get = await run(settings, http('x', ['sales']), {
      id: 4,
      method: 'prompts/get',
      params: { name: 'p' },
    });
    expect(get.upstream).toEqual([]);
    expect(get.ctx.response).toMatchObject({
      error: { message: 'Unknown prompt: p' },
    });
  });

  test('a stdio caller is its OS user (os:NAME) and has no groups', async () => {
    expect(names((await run(settings, STDIO, list)).ctx)).toEqual(['search']);
    const other = settingsFor(
      '[gatehouse_scopes.servers."pay"]\nsubjects = ["os:somebody-else"]\ngroups = ["finance"]\n',
    );
    expect(names((await run(other, STDIO, list)).ctx)).toEqual([]);
  });
});
