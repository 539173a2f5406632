import { describe, expect, test } from 'vitest';
import type { StoredRecord } from '../../audit/chain.js';
import type { AuditEventBody } from '../../audit/event.js';
import type { AuditSink } from '../../audit/writer.js';
import { Masker } from '../../masking/engine.js';
import { DEFAULT_MASKING_POLICY } from '../../masking/policy.js';
import type { RequestScope } from '../../gateway/upstream-forwarder.js';
import type { StateClaims } from '../../approval/request-state.js';
import { deriveRequestStateKey, memoryStateClaims } from '../../approval/request-state.js';
import type {
  ConnectionInfo,
  GatewayRequest,
  GatewayResponse,
  PipelineContext,
} from '../context.js';
import { ERROR_TABLE } from '../error-table.js';
import { createPipeline } from '../pipeline.js';
import type { Stage } from '../stage.js';
import { approvalStage } from './approval.js';
import { auditStages } from './audit.js';
import { defaultStages } from './index.js';
import { APPROVAL_INPUT_KEY, sealedResult } from './input-required.js';
import { maskingStage } from './masking.js';
import type { Router } from './resolve-target.js';

/**
 * Approvals and upstream input for MCP 2026-07-28 clients, through the real approval, audit and
 * masking stages: the question is an `input_required` result, the retry carries the answer and
 * Gatehouse's sealed requestState, which is bound to the caller and the exact call and is used once.
 */

const ROOT_KEY = Buffer.alloc(32, 5);
const GITHUB_TOKEN = `ghp_${'A1b2C3d4E5f6G7h8I9j0'.repeat(2).slice(0, 36)}`;

const identity = (subject: string) => ({
  issuer: 'https://idp.example.com',
  subject,
  email: null,
  groups: [],
  via: 'oidc' as const,
});
const modern = (subject = 'alice'): ConnectionInfo => ({
  transport: 'http',
  headers: {},
  authSubject: `user:${subject}`,
  identity: identity(subject),
  clientInfo: { name: 'modern-client', version: '1.0.0' },
  era: 'modern',
  clientCapabilities: { elicitation: { form: {} } },
});

const router: Router = {
  defaultServer: () => 'pay',
  resolveTool: (name) => ({ server: 'pay', tool: name }),
  toolAnnotations: async () => null,
  toolOutputSchema: async () => undefined,
  exposeTools: (tools) => ({ tools: [...tools], hidden: [] }),
};

/** The tools that need the user's approval (a test may change it between rounds). */
const NEEDS_APPROVAL = new Set(['refund', 'paid_survey']);

/** The policy's verdict without its settings: the tools in `needsApproval` need the user's approval. */
const policyFor = (needsApproval: ReadonlySet<string>): Stage => ({
  name: 'policy',
  handle: async (ctx, next) => {
    if (ctx.request.method === 'tools/call') {
      ctx.policy = { effect: 'side_effect', category: null, level: 'prompt', policyRevision: 'r1' };
      if (needsApproval.has(ctx.target?.tool ?? ''))
        ctx.decision = { kind: 'needs_approval', rule: 'pay/refund', approver: 'user' };
    }
    await next();
  },
});

interface Sent {
  name: unknown;
  params: Record<string, unknown> | undefined;
}

/**
 * An upstream that asks for input on `survey` (its own keys and state, one of them shaped like
 * Gatehouse's) and answers when the retry brings its state and its answer; everything else is done.
 */
function upstream(sent: Sent[]) {
  return {
    async forward(ctx: PipelineContext): Promise<GatewayResponse> {
      const params = ctx.request.params;
      sent.push({ name: params?.name, params });
      if (params?.name === 'survey' || params?.name === 'paid_survey') {
        const answers = params.inputResponses as Record<string, { action?: string }> | undefined;
        if (params.requestState === 'upstream-state-1' && answers?.color?.action === 'accept')
          return { result: { content: [{ type: 'text', text: 'thanks' }] } };
        return {
          result: {
            resultType: 'input_required',
            inputRequests: {
              color: {
                method: 'elicitation/create',
                params: {
                  message: `Pick a color; your token is ${GITHUB_TOKEN}`,
                  requestedSchema: { type: 'object', properties: {} },
                },
              },
              'gatehouse.approval': { method: 'roots/list', params: {} },
            },
            requestState: 'upstream-state-1',
          },
        };
      }
      return { result: { content: [{ type: 'text', text: `done ${String(params?.name)}` }] } };
    },
  };
}

function harness(
  options: { claims?: StateClaims; key?: Buffer | null; needsApproval?: Set<string> } = {},
) {
  const events: AuditEventBody[] = [];
  const sink: AuditSink = {
    gateway: { instance: 'test', pid: 1, host: 'test' },
    record: async (event) => {
      events.push(event);
      return {} as StoredRecord;
    },
  };
  const scopes = new Map<string | number, RequestScope>();
  const audit = auditStages({
    sink,
    hmacKey: ROOT_KEY,
    failOpen: false,
    serverRef: (name) => ({ name, identity: null }),
    onProblem: () => undefined,
    masker: new Masker(DEFAULT_MASKING_POLICY),
  });
  const claims = options.claims ?? memoryStateClaims();
  const approval = approvalStage({
    scopes,
    hmacKey: ROOT_KEY,
    queue: null,
    waitMs: 0,
    ttlMs: 60_000,
    evidence: (event) => void events.push(event),
    serverIdentity: () => null,
    approveHint: (id) => `approve ${id}`,
    rounds: {
      key: options.key === null ? null : deriveRequestStateKey(options.key ?? ROOT_KEY),
      claims,
      ttlMs: 60_000,
    },
  });
  const sent: Sent[] = [];
  const { masking, detokenize } = maskingStage({ policy: DEFAULT_MASKING_POLICY, router });
  const pipeline = createPipeline(
    defaultStages(router, upstream(sent), {
      'audit-result': audit.result,
      'audit-intent': audit.intent,
      masking,
      detokenize,
      policy: policyFor(options.needsApproval ?? NEEDS_APPROVAL),
      approval,
    }),
  );
  let nextId = 1;
  /** One request from a modern client; `mrtr` is what its transport lifted off it. */
  const send = async (
    name: string,
    args: Record<string, unknown>,
    mrtr: RequestScope['mrtr'] = null,
    connection = modern(),
  ) => {
    const id = nextId++;
    scopes.set(id, {
      signal: new AbortController().signal,
      notify: async () => undefined,
      elicit: null,
      ask: null,
      mrtr,
    });
    const request: GatewayRequest = {
      id,
      method: 'tools/call',
      params: { name, arguments: args },
    };
    const ctx = await pipeline.handle(request, connection);
    scopes.delete(id);
    return ctx;
  };
  const types = () => events.map((e) => e.type);
  const results = () =>
    events.filter((e) => e.type === 'call.result') as Extract<
      AuditEventBody,
      { type: 'call.result' }
    >[];
  const approvals = () =>
    events.filter((e) => e.type.startsWith('approval.')) as Extract<
      AuditEventBody,
      { approval_id: string; channel: string }
    >[];
  return { send, sent, events, types, results, approvals };
}

const resultOf = (ctx: PipelineContext) => {
  const r = ctx.response;
  if (!r || !('result' in r)) throw new Error(`expected a result, got ${JSON.stringify(r)}`);
  return r.result as {
    resultType?: string;
    inputRequests?: Record<string, { method: string; params: Record<string, unknown> }>;
    requestState?: string;
    content?: { text: string }[];
  };
};
const errorOf = (ctx: PipelineContext) => {
  const r = ctx.response;
  if (!r || !('error' in r)) throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return r.error;
};
const answer = (action: string) => ({ [APPROVAL_INPUT_KEY]: { action, content: {} } });

describe('approval for a modern client: input_required and a sealed requestState', () => {
  test('a request whose own envelope declares no elicitation is never asked in-band', async () => {
    const h = harness();
    // The same caller, who declared elicitation before: only THIS request's capabilities count.
    const { clientCapabilities: _declared, ...undeclared } = modern();
    for (const connection of [{ ...modern(), clientCapabilities: {} }, undeclared]) {
      const ctx = await h.send('refund', { amount: 5 }, null, connection);
      expect(ctx.response && 'result' in ctx.response ? ctx.response.result : null).toBeNull();
      expect(errorOf(ctx).message).toContain('refund');
    }
    expect(h.sent).toEqual([]);
    expect(h.approvals().filter((e) => e.channel === 'input_required')).toEqual([]);
  });

  test('round 1 asks with input_required (audited as such); round 2 accepted is forwarded exactly once', async () => {
    const h = harness();
    const round1 = await h.send('refund', { amount: 5 });
    const asked = resultOf(round1);
    expect(asked.resultType).toBe('input_required');
    expect(Object.keys(asked.inputRequests ?? {})).toEqual([APPROVAL_INPUT_KEY]);
    const question = asked.inputRequests?.[APPROVAL_INPUT_KEY];
    expect(question?.method).toBe('elicitation/create');
    expect(question?.params).toMatchObject({
      mode: 'form',
      message: expect.stringContaining('"refund"'),
      _meta: { codex_approval_kind: 'mcp_tool_call', tool_name: 'refund' },
    });
    expect(asked.requestState).toMatch(/^ghrs1\./);
    expect(h.sent).toEqual([]);
    expect(h.approvals()).toEqual([
      expect.objectContaining({ type: 'approval.requested', channel: 'input_required' }),
    ]);
    expect(h.results()).toEqual([expect.objectContaining({ outcome: 'input_required' })]);

    const round2 = await h.send(
      'refund',
      { amount: 5 },
      {
        inputResponses: answer('accept'),
        requestState: asked.requestState ?? null,
      },
    );
    expect(resultOf(round2).content?.[0]?.text).toBe('done refund');
    expect(h.sent).toHaveLength(1);
    // Neither the client's state nor Gatehouse's answer went upstream.
    expect(h.sent[0]?.params).not.toHaveProperty('requestState');
    expect(h.sent[0]?.params).not.toHaveProperty('inputResponses');
    const id = h.approvals()[0]?.approval_id;
    expect(h.approvals().map((e) => [e.type, e.channel, e.approval_id])).toEqual([
      ['approval.requested', 'input_required', id],
      ['approval.granted', 'input_required', id],
      ['approval.used', 'input_required', id],
    ]);
    expect(round2.approval).toMatchObject({ id, channel: 'input_required', scope: 'call' });
    expect(h.results().map((r) => r.outcome)).toEqual(['input_required', 'ok']);

    // The same state again: refused, audited, and nothing more reaches the server.
    const replay = await h.send(
      'refund',
      { amount: 5 },
      {
        inputResponses: answer('accept'),
        requestState: asked.requestState ?? null,
      },
    );
    expect(errorOf(replay)).toMatchObject({
      code: ERROR_TABLE.unknown_target.code,
      message: expect.stringContaining('already used'),
      data: { reason: 'replayed' },
    });
    expect(h.sent).toHaveLength(1);
    expect(h.approvals().at(-1)).toMatchObject({
      type: 'approval.refused',
      approval_id: id,
      channel: 'input_required',
    });
    expect(h.results().at(-1)).toMatchObject({ outcome: 'denied' });
  });

  test('the state does not move: other arguments, another caller, a changed byte are refused', async () => {
    const h = harness();
    const asked = resultOf(await h.send('refund', { amount: 5 }));
    const state = asked.requestState ?? '';
    const other = await h.send(
      'refund',
      { amount: 5000 },
      {
        inputResponses: answer('accept'),
        requestState: state,
      },
    );
    expect(errorOf(other)).toMatchObject({ data: { reason: 'other_call' } });
    const mallory = await h.send(
      'refund',
      { amount: 5 },
      { inputResponses: answer('accept'), requestState: state },
      modern('mallory'),
    );
    expect(errorOf(mallory)).toMatchObject({ data: { reason: 'other_caller' } });
    const flipped = state.slice(0, -3) + (state.at(-3) === 'A' ? 'B' : 'A') + state.slice(-2);
    const tampered = await h.send(
      'refund',
      { amount: 5 },
      {
        inputResponses: answer('accept'),
        requestState: flipped,
      },
    );
    expect(errorOf(tampered)).toMatchObject({ data: { reason: 'tampered' } });
    const forged = await h.send(
      'refund',
      { amount: 5 },
      {
        inputResponses: answer('accept'),
        requestState: 'upstream-looking-state',
      },
    );
    expect(errorOf(forged)).toMatchObject({ data: { reason: 'malformed' } });
    expect(h.sent).toEqual([]);
    // Refusals before a check passes do not burn the state: the real caller can still answer.
    const real = await h.send(
      'refund',
      { amount: 5 },
      {
        inputResponses: answer('accept'),
        requestState: state,
      },
    );
    expect(resultOf(real).content?.[0]?.text).toBe('done refund');
    expect(h.results().map((r) => r.outcome)).toEqual([
      'input_required',
      'denied',
      'denied',
      'denied',
      'denied',
      'ok',
    ]);
  });

  test('decline is a denial by the user, cancel a withdrawal; neither is forwarded', async () => {
    const h = harness();
    for (const [action, type, outcome] of [
      ['decline', 'approval.denied', 'denied'],
      ['cancel', 'approval.withdrawn', 'approval_withdrawn'],
    ] as const) {
      const asked = resultOf(await h.send('refund', { amount: 1 }));
      const ctx = await h.send(
        'refund',
        { amount: 1 },
        {
          inputResponses: answer(action),
          requestState: asked.requestState ?? null,
        },
      );
      expect(errorOf(ctx)).toMatchObject({ code: ERROR_TABLE.approval_required.code });
      expect(h.approvals().at(-1)).toMatchObject({ type, channel: 'input_required' });
      expect(h.results().at(-1)).toMatchObject({ outcome });
    }
    expect(h.sent).toEqual([]);
  });

  test('single use holds across replicas that share the claims (the store)', async () => {
    const shared = memoryStateClaims();
    const one = harness({ claims: shared });
    const two = harness({ claims: shared });
    const asked = resultOf(await one.send('refund', { amount: 2 }));
    const material = { inputResponses: answer('accept'), requestState: asked.requestState ?? null };
    expect(resultOf(await two.send('refund', { amount: 2 }, material)).content).toBeDefined();
    expect(errorOf(await one.send('refund', { amount: 2 }, material))).toMatchObject({
      data: { reason: 'replayed' },
    });
    expect(one.sent.length + two.sent.length).toBe(1);
  });

  test('without a state key a modern client is not asked in-band and no state is accepted', async () => {
    const h = harness({ key: null });
    const ctx = await h.send('refund', { amount: 3 });
    expect(errorOf(ctx)).toMatchObject({ code: ERROR_TABLE.approval_required.code });
    const withState = await h.send(
      'refund',
      { amount: 3 },
      {
        inputResponses: answer('accept'),
        requestState: 'ghrs1.AAAA',
      },
    );
    expect(errorOf(withState).code).toBe(ERROR_TABLE.unknown_target.code);
    expect(h.sent).toEqual([]);
  });
});

describe("an upstream's input_required for a modern client", () => {
  test('its state is wrapped and unwrapped; only its own keys go back to it; its text is masked', async () => {
    const h = harness();
    const round1 = resultOf(await h.send('survey', {}));
    expect(round1.resultType).toBe('input_required');
    // The upstream's state never reaches the client, only Gatehouse's sealed one.
    expect(round1.requestState).toMatch(/^ghrs1\./);
    expect(JSON.stringify(round1)).not.toContain('upstream-state-1');
    // A key shaped like Gatehouse's own is renamed, so the two never mix.
    expect(Object.keys(round1.inputRequests ?? {}).sort()).toEqual([
      'color',
      'upstream.gatehouse.approval',
    ]);
    // Server-authored text in an input request is masked like any result.
    const message = String(round1.inputRequests?.color?.params.message);
    expect(message).not.toContain(GITHUB_TOKEN);
    expect(message).toContain('REDACTED');
    expect(h.results().at(-1)).toMatchObject({ outcome: 'input_required' });

    const round2 = await h.send(
      'survey',
      {},
      {
        inputResponses: {
          color: { action: 'accept', content: { color: 'blue' } },
          'upstream.gatehouse.approval': { roots: [] },
          [APPROVAL_INPUT_KEY]: { action: 'accept' },
          extra: { action: 'accept' },
        },
        requestState: round1.requestState ?? null,
      },
    );
    expect(resultOf(round2).content?.[0]?.text).toBe('thanks');
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]?.params).toMatchObject({
      requestState: 'upstream-state-1',
      inputResponses: {
        color: { action: 'accept', content: { color: 'blue' } },
        'gatehouse.approval': { roots: [] },
      },
    });
    // Gatehouse's own key and keys nobody asked for never go upstream.
    expect(Object.keys(h.sent[1]?.params?.inputResponses as object).sort()).toEqual([
      'color',
      'gatehouse.approval',
    ]);
    expect(h.results().map((r) => r.outcome)).toEqual(['input_required', 'ok']);
  });

  test('the wrapped state cannot be moved to another tool, caller or replayed', async () => {
    const h = harness();
    const state = resultOf(await h.send('survey', {})).requestState ?? null;
    const material = { inputResponses: { color: { action: 'accept' } }, requestState: state };
    expect(errorOf(await h.send('refund', {}, material))).toMatchObject({
      data: { reason: 'other_call' },
    });
    expect(errorOf(await h.send('survey', {}, material, modern('bob')))).toMatchObject({
      data: { reason: 'other_caller' },
    });
    expect(resultOf(await h.send('survey', {}, material)).content?.[0]?.text).toBe('thanks');
    expect(errorOf(await h.send('survey', {}, material))).toMatchObject({
      data: { reason: 'replayed' },
    });
    expect(h.sent).toHaveLength(2);
  });

  test("without a state key the upstream's question is withheld, never passed on unsealed", async () => {
    const h = harness({ key: null });
    const ctx = await h.send('survey', {});
    expect(errorOf(ctx)).toMatchObject({
      code: ERROR_TABLE.internal_error.code,
      message: expect.stringContaining('no key to seal'),
    });
    expect(JSON.stringify(ctx.response)).not.toContain('upstream-state-1');
  });

  test('answers a client volunteers up front go to the upstream as sent, minus Gatehouse keys', async () => {
    const h = harness();
    await h.send(
      'survey',
      {},
      {
        inputResponses: {
          color: { action: 'accept', content: { color: 'blue' } },
          'gatehouse.approval': { action: 'accept' },
        },
        requestState: null,
      },
    );
    const forwarded = h.sent.at(-1)?.params;
    expect(forwarded?.inputResponses).toEqual({
      color: { action: 'accept', content: { color: 'blue' } },
    });
    expect(JSON.stringify(h.sent)).not.toContain('gatehouse.approval');
  });

  test('a client cannot hand an upstream a state of its own making', async () => {
    const h = harness();
    const ctx = await h.send(
      'survey',
      {},
      {
        inputResponses: { color: { action: 'accept' } },
        requestState: 'upstream-state-1',
      },
    );
    expect(errorOf(ctx)).toMatchObject({ data: { reason: 'malformed' } });
    expect(h.sent).toEqual([]);
  });

  test('an approval granted in round 2 rides along while the upstream asks; nobody is asked twice', async () => {
    const h = harness();
    const question = resultOf(await h.send('paid_survey', { n: 1 }));
    expect(Object.keys(question.inputRequests ?? {})).toEqual([APPROVAL_INPUT_KEY]);
    const upstreamAsks = resultOf(
      await h.send(
        'paid_survey',
        { n: 1 },
        {
          inputResponses: answer('accept'),
          requestState: question.requestState ?? null,
        },
      ),
    );
    expect(Object.keys(upstreamAsks.inputRequests ?? {}).sort()).toEqual([
      'color',
      'upstream.gatehouse.approval',
    ]);
    const done = await h.send(
      'paid_survey',
      { n: 1 },
      {
        inputResponses: { color: { action: 'accept' } },
        requestState: upstreamAsks.requestState ?? null,
      },
    );
    expect(resultOf(done).content?.[0]?.text).toBe('thanks');
    expect(h.approvals().map((e) => [e.type, e.reason])).toEqual([
      ['approval.requested', null],
      ['approval.granted', null],
      ['approval.used', null],
      ['approval.used', 'granted in an earlier round of this call'],
    ]);
    expect(h.results().map((r) => r.outcome)).toEqual(['input_required', 'input_required', 'ok']);
    // The carried grant is for these arguments only.
    const other = await h.send(
      'paid_survey',
      { n: 2 },
      {
        inputResponses: { color: { action: 'accept' } },
        requestState: upstreamAsks.requestState ?? null,
      },
    );
    expect(errorOf(other)).toMatchObject({ data: { reason: 'other_call' } });
  });

  test("both pending: Gatehouse's question and the upstream's answers are kept apart by key", async () => {
    const needsApproval = new Set<string>();
    const h = harness({ needsApproval });
    const upstreamAsks = resultOf(await h.send('survey', {}));
    needsApproval.add('survey'); // the policy changes between rounds
    const question = resultOf(
      await h.send(
        'survey',
        {},
        {
          inputResponses: { color: { action: 'accept' } },
          requestState: upstreamAsks.requestState ?? null,
        },
      ),
    );
    // Only Gatehouse's own question: the upstream's answer waits inside the sealed state.
    expect(Object.keys(question.inputRequests ?? {})).toEqual([APPROVAL_INPUT_KEY]);
    expect(h.sent).toHaveLength(1);
    const done = await h.send(
      'survey',
      {},
      {
        inputResponses: answer('accept'),
        requestState: question.requestState ?? null,
      },
    );
    expect(resultOf(done).content?.[0]?.text).toBe('thanks');
    expect(h.sent[1]?.params).toMatchObject({
      requestState: 'upstream-state-1',
      inputResponses: { color: { action: 'accept' } },
    });
    expect(h.sent[1]?.params?.inputResponses).not.toHaveProperty(APPROVAL_INPUT_KEY);
  });
});

describe('masking and the sealed requestState', () => {
  // A real sealed state in which a detector (beamer_key, `b_…`) matches a run of characters by
  // chance: about 1 state in 10 000 looks like this.
  const UNLUCKY =
    'ghrs1.BHubqMKc1S7cmo8KowqW9nDW10amMki0iJOWCjCPgALEnXOWUw-4wsz0H9vwlCUkJsHG84PT2VJboCYuGT3e4U0UgEdmTSS_bkjcs5zX2ONXq-b_NtiGYoiJeHu3Bix28YLRjccYWtypcm6bdOjQNTUluGPNwMTHfvpGmNcyJXqgxPNkk-g9ezQKkpxubF0_FacxfARVrEvMrov3HfTu0NxHHC7W2IwwUSoEsy5J8DXr6rJC4AEACiF5YiWmQkcSXMgq9E5R0njhp8k65HNRnySEpXti2MdhTSInA-9mg1N7h7ChWdJI-hMri3IQAHb9mGHNStj8gCIDj_dpoH6Slw6dtmUvrkXx3Mi8SloYdBmN1vR44XcHw9F-m4JHKjvAHAkhxpLC3ckfiiTy-qEjq2kkKGvdiwhQSNwoynmB-b_5mNF1u1epjS2wifF61II75-60gs8lsCj-I4ZCrvXP_88';

  async function through(result: () => Record<string, unknown>) {
    const { masking } = maskingStage({ policy: DEFAULT_MASKING_POLICY, router });
    const answer: Stage = {
      name: 'approval',
      handle: async (ctx) => {
        ctx.response = { result: result() };
      },
    };
    const pipeline = createPipeline(
      defaultStages(
        router,
        { forward: async () => ({ result: {} }) },
        { masking, approval: answer },
      ),
    );
    const ctx = await pipeline.handle(
      { id: 1, method: 'tools/call', params: { name: 'x', arguments: {} } },
      modern(),
    );
    return resultOf(ctx);
  }
  const question = (requestState: string) => ({
    resultType: 'input_required',
    inputRequests: {
      ask: {
        method: 'elicitation/create',
        params: { message: `token ${GITHUB_TOKEN}`, requestedSchema: { type: 'object' } },
      },
    },
    requestState,
  });

  test("Gatehouse's own state passes masking untouched; the rest of the result is masked", async () => {
    const out = await through(() => sealedResult(question(UNLUCKY)));
    expect(out.requestState).toBe(UNLUCKY);
    expect(JSON.stringify(out.inputRequests)).not.toContain(GITHUB_TOKEN);
  });

  test('the same string in a result Gatehouse did not seal (an upstream forging it) is masked', async () => {
    const out = await through(() => question(UNLUCKY));
    expect(out.requestState).not.toBe(UNLUCKY);
    expect(out.requestState).toContain('REDACTED');
  });
});
