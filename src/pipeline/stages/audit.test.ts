import { describe, expect, test } from 'vitest';
import type { StoredRecord } from '../../audit/chain.js';
import type { AuditEventBody } from '../../audit/event.js';
import type { AuditSink } from '../../audit/writer.js';
import { Masker } from '../../masking/engine.js';
import { DEFAULT_MASKING_POLICY } from '../../masking/policy.js';
import type { ConnectionInfo, GatewayRequest, GatewayResponse } from '../context.js';
import { ERROR_TABLE, gatehouseError } from '../error-table.js';
import type { PipelineStages } from '../pipeline.js';
import { createPipeline } from '../pipeline.js';
import { auditStages } from './audit.js';
import { defaultStages } from './index.js';
import type { Router } from './resolve-target.js';
import { upstreamForwarder } from '../../gateway/upstream-forwarder.js';

const STDIO: ConnectionInfo = {
  transport: 'stdio',
  headers: {},
  authSubject: null,
  clientInfo: null,
};

/** An audit sink in memory: what the stages recorded, or a failure on demand. */
function memorySink(fail: (event: AuditEventBody) => boolean = () => false) {
  const events: AuditEventBody[] = [];
  const sink: AuditSink = {
    gateway: { instance: 'test', pid: 1, host: 'test' },
    record: async (event) => {
      if (fail(event)) throw new Error('disk full');
      events.push(event);
      return {} as StoredRecord;
    },
  };
  return { sink, events };
}

const router = (refusal?: string): Router => ({
  defaultServer: () => 'docs',
  resolveTool: (name) => (refusal ? { server: 'docs', refusal } : { server: 'docs', tool: name }),
  toolAnnotations: async () => null,
  toolOutputSchema: async () => undefined,
  exposeTools: (tools) => ({ tools: [...tools], hidden: [] }),
});

const call = (name = 'read'): GatewayRequest => ({
  id: 1,
  method: 'tools/call',
  params: { name, arguments: { path: '/tmp/x', api_key: 'sk-live-abcdefabcdefabcdefabcdef' } },
});

function pipelineWith(
  response: () => Promise<GatewayResponse>,
  options: {
    fail?: (e: AuditEventBody) => boolean;
    refusal?: string;
    stages?: Partial<PipelineStages>;
  } = {},
) {
  const { sink, events } = memorySink(options.fail);
  const audit = auditStages({
    sink,
    hmacKey: Buffer.alloc(32, 7),
    failOpen: false,
    serverRef: (name) => ({ name, identity: null }),
    onProblem: () => undefined,
    masker: new Masker(DEFAULT_MASKING_POLICY),
  });
  const pipeline = createPipeline(
    defaultStages(
      router(options.refusal),
      { forward: response },
      {
        'audit-intent': audit.intent,
        'audit-result': audit.result,
        ...options.stages,
      },
    ),
  );
  const result = (): Record<string, unknown> | undefined =>
    events.find((e) => e.type === 'call.result') as Record<string, unknown> | undefined;
  return { pipeline, events, result };
}

describe('audit stages: the outcome each ending is recorded with', () => {
  const cases: [string, () => Promise<GatewayResponse>, string][] = [
    ['a result', async () => ({ result: { content: [] } }), 'ok'],
    ['a tool error', async () => ({ result: { content: [], isError: true } }), 'is_error'],
    [
      'a server being restarted (nothing was sent: not a timeout)',
      async () => ({
        error: gatehouseError('server_unavailable', "server 'docs' is being restarted"),
      }),
      'unavailable',
    ],
    [
      'the tool timeout',
      async () => ({ error: gatehouseError('request_timeout', 'did not answer within 1s') }),
      'timeout',
    ],
    [
      "an upstream's own error",
      async () => ({ error: { code: -32602, message: 'bad args' } }),
      'protocol_error',
    ],
    [
      'a failure inside Gatehouse',
      () => Promise.reject(new Error('pipe closed')),
      'protocol_error',
    ],
    // A malicious server picks Gatehouse's own codes: its errors must not read as ours.
    ...(
      ['request_timeout', 'server_unavailable', 'policy_denied', 'approval_required'] as const
    ).map((kind): [string, () => Promise<GatewayResponse>, string] => [
      `an upstream sending ${kind}'s code ${ERROR_TABLE[kind].code} as its own error`,
      async () => JSON.parse(`{"error":{"code":${ERROR_TABLE[kind].code},"message":"x"}}`),
      'protocol_error',
    ]),
  ];
  test.each(cases)('%s', async (_what, response, outcome) => {
    const { pipeline, result } = pipelineWith(response);
    await pipeline.handle(call(), STDIO);
    expect(result()).toMatchObject({ outcome });
  });

  test('the record says who made an error: Gatehouse or the upstream', async () => {
    const ours = pipelineWith(async () => ({
      error: gatehouseError('request_timeout', 'did not answer within 1s'),
    }));
    await ours.pipeline.handle(call(), STDIO);
    expect(ours.result()).toMatchObject({ error: { code: -32001, by: 'gatehouse' } });
    const theirs = pipelineWith(async () => ({ error: { code: -32001, message: 'timed out' } }));
    await theirs.pipeline.handle(call(), STDIO);
    expect(theirs.result()).toMatchObject({
      outcome: 'protocol_error',
      error: { code: -32001, by: 'upstream' },
    });
  });

  test('a call refused before forward is denied; a server whose tools are not checked is unavailable', async () => {
    const denied = pipelineWith(async () => ({ result: {} }), {
      stages: {
        policy: {
          name: 'policy',
          handle: async (ctx) => {
            ctx.decision = { kind: 'deny', rule: 'r', reason: 'no' };
            ctx.response = { error: gatehouseError('policy_denied', 'no') };
          },
        },
      },
    });
    await denied.pipeline.handle(call(), STDIO);
    expect(denied.result()).toMatchObject({ outcome: 'denied' });
    const unchecked = pipelineWith(async () => ({ result: {} }), { refusal: 'not checked yet' });
    const ctx = await unchecked.pipeline.handle(call(), STDIO);
    expect(ctx.response).toEqual({
      error: { code: ERROR_TABLE.server_unavailable.code, message: 'not checked yet' },
    });
    expect(unchecked.result()).toMatchObject({ outcome: 'unavailable' });
  });

  test('an intent that cannot be written refuses the call, and nothing reaches the upstream', async () => {
    let forwarded = 0;
    const { pipeline, events } = pipelineWith(
      async () => {
        forwarded += 1;
        return { result: {} };
      },
      { fail: (e) => e.type === 'call.intent' },
    );
    const ctx = await pipeline.handle(call(), STDIO);
    expect(forwarded).toBe(0);
    expect(ctx.response).toMatchObject({ error: { code: ERROR_TABLE.audit_unavailable.code } });
    expect(events).toEqual([]);
  });

  test('a result that cannot be recorded is withheld', async () => {
    const { pipeline } = pipelineWith(
      async () => ({ result: { content: [{ type: 'text', text: 'x' }] } }),
      {
        fail: (e) => e.type === 'call.result',
      },
    );
    const ctx = await pipeline.handle(call(), STDIO);
    expect(ctx.response).toMatchObject({ error: { code: ERROR_TABLE.audit_unavailable.code } });
  });

  test('the stored arguments and result never hold a secret-named value in clear', async () => {
    const { pipeline, events } = pipelineWith(async () => ({
      result: { structuredContent: { password: 'hunter2-hunter2', rows: 1 }, content: [] },
    }));
    await pipeline.handle(call(), STDIO);
    const text = JSON.stringify(events);
    expect(text).not.toContain('sk-live-abcdefabcdefabcdefabcdef');
    expect(text).not.toContain('hunter2-hunter2');
    expect(text).toContain('/tmp/x');
  });
});

describe('upstream forwarder', () => {
  test('a server that is being restarted is answered as unavailable, not as a timeout (defect 3)', async () => {
    const forwarder = upstreamForwarder(() => null, new Map(), 1000, 'docs');
    const response = await forwarder.forward({
      request: call(),
    } as Parameters<typeof forwarder.forward>[0]);
    expect(response).toEqual({
      error: {
        code: ERROR_TABLE.server_unavailable.code,
        message: "server 'docs' stopped and is being restarted; try again shortly",
      },
    });
    expect(ERROR_TABLE.server_unavailable.code).not.toBe(ERROR_TABLE.request_timeout.code);
  });
});
