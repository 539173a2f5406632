import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { MaskCounts } from './engine.js';
import { Masker } from './engine.js';
import { parseFieldPattern } from './field-paths.js';
import type { FieldPattern } from './field-paths.js';
import {
  applyResultBudget,
  BINARY_WITHHELD,
  maskBinary,
  maskListing,
  maskNode,
  maskOutgoingMessage,
  maskResult,
  maskStructured,
  maskTextContent,
} from './mask-mcp.js';
import type { MaskingPolicy } from './policy.js';
import { DEFAULT_MASKING_POLICY, resultBudgetFor } from './policy.js';
import { TokenVault } from './tokens.js';

// Assembled at run time so no file holds a token literally.
const GH = `ghp_${'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5'}`;
const EMAIL = 'jane.doe@example.com';
const CARD = ['4111', '1111', '1111', '1111'].join(' ');

function policy(over: Partial<MaskingPolicy> = {}): MaskingPolicy {
  return { ...DEFAULT_MASKING_POLICY, ...over };
}

function fields(...sources: string[]): MaskingPolicy['fields'] {
  return sources.map((s) => ({
    pattern: parseFieldPattern(s) as FieldPattern,
    kind: 'customer_data',
  }));
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48]);
const ZIP = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0, 0xff, 0xfe, 0x01, 0x02]);

/** Every string and key in a JSON value, joined (to look for a raw value anywhere). */
function everything(v: unknown): string {
  return JSON.stringify(v);
}

describe('side fields of results (issue 15 item 1)', () => {
  const m = new Masker(policy());
  test.each([
    ['result _meta', { content: [], _meta: { note: GH } }],
    [
      'content item annotations',
      { content: [{ type: 'text', text: 'ok', annotations: { x: GH } }] },
    ],
    ['content item _meta', { content: [{ type: 'text', text: 'ok', _meta: { y: GH } }] }],
    ['a type key', { content: [{ type: GH, text: 'ok' }] }],
    ['a result-level type', { type: GH, content: [] }],
    ['a mimeType', { contents: [{ uri: 'x', mimeType: `text/${GH}`, text: 'a' }] }],
    ['a resource _meta', { contents: [{ uri: 'x', text: 'a', _meta: { z: [GH] } }] }],
    ['a progressToken key inside a result', { content: [], _meta: { progressToken: GH } }],
    ['a requestId key inside content', { content: [{ type: 'text', text: 'a', requestId: GH }] }],
  ])('%s is masked', (_name, result) => {
    const counts: MaskCounts = {};
    const out = maskResult(m, result, undefined, counts);
    expect(everything(out)).not.toContain(GH);
    expect(counts.github_token).toBeGreaterThan(0);
  });

  test('error data: every string and key', () => {
    const out = maskNode(m, { detail: GH, [EMAIL]: { _meta: { t: GH } } }, {}, 0);
    expect(everything(out)).not.toContain(GH);
    expect(everything(out)).not.toContain(EMAIL);
  });

  test('isError and plain structure stay exactly as sent', () => {
    const result = { content: [{ type: 'text', text: 'fine' }], isError: true };
    expect(maskResult(m, result, undefined, {})).toEqual(result);
  });

  test('redaction counts: a value sent as text and as structuredContent counts once (issue 23 item 6)', () => {
    const counts: MaskCounts = {};
    const data = { token: GH, owner: EMAIL };
    maskResult(
      m,
      { content: [{ type: 'text', text: JSON.stringify(data) }], structuredContent: data },
      undefined,
      counts,
    );
    expect(counts).toEqual({ github_token: 1, email: 1 });
  });
});

describe('object keys (issue 15 item 5)', () => {
  const m = new Masker(policy());
  test('structuredContent keys that are e-mails, cards or tokens are masked; values too', () => {
    const counts: MaskCounts = {};
    const out = maskStructured(
      m,
      { byEmail: { [EMAIL]: 3, 'john.roe@example.org': 4 }, [CARD]: 'card', [GH]: true },
      undefined,
      counts,
    ) as Record<string, Record<string, unknown>>;
    const text = everything(out);
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain(CARD);
    expect(text).not.toContain(GH);
    // Two keys that mask alike are both kept.
    expect(Object.keys(out.byEmail ?? {})).toHaveLength(2);
    expect(Object.values(out.byEmail ?? {})).toEqual([3, 4]);
  });

  test('property: a masked object has as many keys as the original, and no raw planted value', () => {
    const planted = fc.constantFrom(GH, EMAIL, CARD, 'plain', 'name');
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(planted, fc.string({ maxLength: 8 })), planted), (obj) => {
        const out = maskStructured(m, obj, undefined, {}) as Record<string, unknown>;
        expect(Object.keys(out)).toHaveLength(Object.keys(obj).length);
        const text = everything(out);
        for (const raw of [GH, EMAIL, CARD]) expect(text).not.toContain(raw);
      }),
      { numRuns: 200 },
    );
  });
});

describe('blobs decided by content (issue 15 item 4)', () => {
  const m = new Masker(policy());
  const env = `AWS_REGION=eu-west-1\nGITHUB_TOKEN=${GH}\n`;
  test.each([
    ['application/octet-stream', env],
    ['', env],
    ['application/x-pem-file', `-----BEGIN NOTE-----\n${GH}\n-----END NOTE-----\n`],
    ['message/rfc822', `From: a@b.example\nSubject: creds\n\n${GH}\n`],
    ['application/x-www-form-urlencoded', `user=jane&token=${GH}`],
    ['image/svg+xml', `<svg xmlns="http://www.w3.org/2000/svg"><text>${GH}</text></svg>`],
    ['image/png', env], // a text file sent as an image
  ])('a %s blob holding text is decoded, masked and re-encoded', (mime, text) => {
    const counts: MaskCounts = {};
    const out = maskBinary(m, b64(text), mime, counts);
    expect(out.kind).toBe('masked');
    if (out.kind !== 'masked') return;
    const back = Buffer.from(out.base64, 'base64').toString();
    expect(back).not.toContain(GH);
    expect(back).toContain('[REDACTED:github_token]');
  });

  test('binary: real media passes by default, other binary is withheld, the admin decides', () => {
    expect(maskBinary(m, b64(PNG), 'image/png', {}).kind).toBe('same');
    const counts: MaskCounts = {};
    expect(maskBinary(m, b64(ZIP), 'application/zip', counts).kind).toBe('withheld');
    expect(counts[BINARY_WITHHELD]).toBe(1);
    // A declared image whose bytes are not an image is not media.
    expect(maskBinary(m, b64(ZIP), 'image/png', {}).kind).toBe('withheld');
    expect(maskBinary(m, b64(ZIP), 'application/zip', {}, 'pass').kind).toBe('same');
    expect(maskBinary(m, b64(PNG), 'image/png', {}, 'withhold').kind).toBe('withheld');
    expect(maskBinary(m, 'not base64 at all!', 'image/png', {}).kind).toBe('withheld');
  });

  test('in content: a withheld image becomes a text notice; a withheld resource blob becomes text', () => {
    const out = maskResult(
      m,
      {
        content: [
          { type: 'image', data: b64(ZIP), mimeType: 'image/png' },
          {
            type: 'resource',
            resource: { uri: 'file:///a.bin', mimeType: 'application/zip', blob: b64(ZIP) },
          },
        ],
      },
      undefined,
      {},
    );
    const [img, res] = out.content as Record<string, unknown>[];
    expect(img).toMatchObject({ type: 'text' });
    expect(String(img?.text)).toContain('withheld by Gatehouse');
    expect(res).toMatchObject({
      type: 'resource',
      resource: { uri: 'file:///a.bin', mimeType: 'text/plain' },
    });
  });

  test('in structuredContent: the shape stays (base64 notice), so an outputSchema still holds', () => {
    const item = {
      type: 'resource',
      resource: { uri: 'file:///x/.env', mimeType: 'application/octet-stream', blob: b64(env) },
    };
    const out = maskStructured(m, { content: [item] }, undefined, {}) as {
      content: { resource: { blob: string } }[];
    };
    const blob = out.content[0]?.resource.blob ?? '';
    expect(Buffer.from(blob, 'base64').toString()).toContain('[REDACTED:github_token]');
  });
});

describe('listings and initialize (issue 15 item 2, issue 14 item 14)', () => {
  const m = new Masker(policy({ fields: fields('ssn') }));
  test('tools/list: descriptions, titles, schema defaults, examples and enums are masked; structure is not', () => {
    const tools = [
      {
        name: 'search',
        title: `Search (key ${GH})`,
        description: `Use token ${GH} for ${EMAIL}`,
        inputSchema: {
          type: 'object',
          properties: {
            q: { type: 'string', default: GH, examples: [EMAIL], enum: ['a', GH] },
            ssn: { type: 'string', description: 'a field named like a customer field' },
          },
          required: ['q'],
        },
        annotations: { readOnlyHint: true, title: EMAIL },
      },
    ];
    const counts: MaskCounts = {};
    const { result, withheld } = maskListing(m, 'tools/list', { tools }, counts);
    expect(withheld).toEqual([]);
    const text = everything(result);
    expect(text).not.toContain(GH);
    expect(text).not.toContain(EMAIL);
    const tool = (result.tools as Record<string, unknown>[])[0] as {
      inputSchema: {
        type: string;
        properties: Record<string, Record<string, unknown>>;
        required: string[];
      };
      annotations: Record<string, unknown>;
    };
    // Admin field rules never apply to schemas: `ssn` keeps its schema.
    expect(tool.inputSchema.properties.ssn).toEqual({
      type: 'string',
      description: 'a field named like a customer field',
    });
    expect(tool.inputSchema.type).toBe('object');
    expect(tool.inputSchema.required).toEqual(['q']);
    expect(tool.annotations.readOnlyHint).toBe(true);
  });

  test('a tool or prompt named after a secret is withheld from the listing, not renamed', () => {
    const { result, withheld } = maskListing(
      m,
      'prompts/list',
      { prompts: [{ name: `p_${EMAIL}` }, { name: 'ok', description: 'fine' }] },
      {},
    );
    expect(result.prompts).toEqual([{ name: 'ok', description: 'fine' }]);
    expect(withheld).toEqual([`p_${EMAIL}`]);
  });

  test.each([
    [
      'resources/list',
      { resources: [{ uri: `file:///x?token=${GH}`, name: EMAIL, description: GH }] },
    ],
    [
      'resources/templates/list',
      { resourceTemplates: [{ uriTemplate: 'db://{id}', name: 't', description: GH }] },
    ],
    ['completion/complete', { completion: { values: [EMAIL, GH], total: 2 } }],
    ['tasks/get', { taskId: 't1', status: 'failed', statusMessage: `bad token ${GH}` }],
    ['tasks/list', { tasks: [{ taskId: 't1', status: 'working', statusMessage: EMAIL }] }],
    ['tasks/cancel', { taskId: 't1', status: 'cancelled', statusMessage: GH }],
    ['some/future_method', { anything: { deep: [GH, { [EMAIL]: 1 }] } }],
  ])('%s is masked everywhere', (method, result) => {
    const out = maskListing(m, method, result, {});
    const text = everything(out.result);
    expect(text).not.toContain(GH);
    expect(text).not.toContain(EMAIL);
  });

  test('initialize: serverInfo, instructions and capabilities', () => {
    const out = maskOutgoingMessage(m, {
      method: 'initialize',
      params: {
        serverInfo: { name: 'srv', version: '1', title: EMAIL, description: GH },
        instructions: `Authenticate with ${GH}`,
        capabilities: { tools: { listChanged: true }, experimental: { note: GH } },
      },
    });
    const text = everything(out);
    expect(text).not.toContain(GH);
    expect(text).not.toContain(EMAIL);
    expect(out.params).toMatchObject({
      serverInfo: { name: 'srv', version: '1' },
      capabilities: { tools: { listChanged: true } },
    });
  });
});

describe('server→client messages (issue 15 item 3)', () => {
  const m = new Masker(policy({ fields: fields('customer.name') }));
  test.each([
    [
      'log logger and non-string data',
      'notifications/message',
      { level: 'info', logger: GH, data: { [EMAIL]: 4111111111111111, n: [GH] } },
    ],
    [
      'progress _meta and message',
      'notifications/progress',
      { progressToken: 7, progress: 1, message: GH, _meta: { x: EMAIL } },
    ],
    [
      'task status',
      'notifications/tasks/status',
      { taskId: 't', status: 'failed', statusMessage: GH },
    ],
    ['resource updated', 'notifications/resources/updated', { uri: `file:///x?key=${GH}` }],
    [
      'an unknown notification',
      'notifications/vendor/leak',
      { secret: GH, nested: [{ [EMAIL]: true }] },
    ],
    [
      'sampling metadata, hints, stop sequences',
      'sampling/createMessage',
      {
        messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }],
        metadata: { k: GH },
        modelPreferences: { hints: [{ name: EMAIL }] },
        stopSequences: [GH],
        systemPrompt: GH,
        maxTokens: 10,
      },
    ],
    [
      'elicitation schema titles, defaults, descriptions',
      'elicitation/create',
      {
        message: 'Fill in',
        requestedSchema: {
          type: 'object',
          properties: { a: { type: 'string', title: GH, default: EMAIL, description: GH } },
        },
      },
    ],
    [
      'URL elicitation',
      'elicitation/create',
      {
        mode: 'url',
        elicitationId: 'e1',
        url: `https://x.example/cb?access_token=${GH}`,
        message: EMAIL,
      },
    ],
  ])('%s', (_name, method, params) => {
    const out = maskOutgoingMessage(m, { method, params });
    const text = everything(out);
    expect(text).not.toContain(GH);
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain('4111111111111111');
    expect(out.method).toBe(method);
  });

  test('the client’s progress token and a cancelled request id pass verbatim', () => {
    expect(
      maskOutgoingMessage(m, {
        method: 'notifications/progress',
        params: { progressToken: 'tok-1', progress: 1 },
      }).params,
    ).toEqual({ progressToken: 'tok-1', progress: 1 });
    expect(
      maskOutgoingMessage(m, {
        method: 'notifications/cancelled',
        params: { requestId: 3, reason: GH },
      }).params,
    ).toEqual({ requestId: 3, reason: '[REDACTED:github_token]' });
  });

  test('plumbing keys pass only where the protocol puts them', () => {
    const out = maskOutgoingMessage(m, {
      method: 'sampling/createMessage',
      params: {
        _meta: { progressToken: 'srv-7', note: GH },
        messages: [{ role: 'user', content: { type: 'text', text: 'x', progressToken: GH } }],
        nested: { requestId: GH },
      },
    });
    const text = everything(out);
    expect(text).not.toContain(GH);
    expect((out.params as { _meta: Record<string, unknown> })._meta.progressToken).toBe('srv-7');
  });

  test('property: no message shape lets a planted value through', () => {
    const planted = fc.constantFrom(GH, EMAIL);
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        planted,
        fc.string({ maxLength: 6 }),
        fc.integer(),
        fc.boolean(),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.oneof(planted, fc.string({ maxLength: 6 })), tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), json, (method, params) => {
        const out = maskOutgoingMessage(m, { method, params });
        const text = everything(out);
        expect(text).not.toContain(GH);
        expect(text).not.toContain(EMAIL);
      }),
      { numRuns: 300 },
    );
  });
});

describe('customer fields in carried JSON (issue 15 item 6)', () => {
  const m = new Masker(policy({ fields: fields('customer.name') }));
  const rec = (name: string) => JSON.stringify({ customer: { name, id: 1 } });
  test.each([
    ['JSON Lines', `${rec('Jane Roe')}\n${rec('John Poe')}\n`],
    ['JSON after a text prefix', `result: ${rec('Jane Roe')}`],
    [
      'JSON after a multi-line prefix',
      `HTTP/1.1 200 OK\ncontent-type: application/json\n\n${JSON.stringify({ customer: { name: 'Jane Roe' } }, null, 2)}`,
    ],
    [
      'log lines ending in JSON',
      `2026-11-21 INFO got ${rec('Jane Roe')}\n2026-11-21 INFO got ${rec('John Poe')}`,
    ],
    ['JSON inside a JSON string', JSON.stringify({ payload: rec('Jane Roe'), other: 1 })],
    [
      'JSON inside JSON inside a JSON string',
      JSON.stringify({ outer: JSON.stringify({ inner: rec('Jane Roe') }) }),
    ],
  ])('%s', (_name, text) => {
    const counts: MaskCounts = {};
    const out = maskTextContent(m, text, counts);
    expect(out).not.toContain('Jane Roe');
    expect(out).not.toContain('John Poe');
    expect(counts.customer_data).toBeGreaterThan(0);
  });

  test('a log notification’s data object', () => {
    const out = maskOutgoingMessage(m, {
      method: 'notifications/message',
      params: { level: 'info', data: { customer: { name: 'Jane Roe', id: 1 } } },
    });
    expect(everything(out)).not.toContain('Jane Roe');
  });

  test('JSON text without customer data keeps its exact formatting', () => {
    const text = JSON.stringify({ payload: JSON.stringify({ order: 1 }) }, null, 4);
    expect(maskTextContent(m, text, {})).toBe(text);
  });
});

describe('reversible tokens are scoped per server (issue 15 item 14)', () => {
  test('the same value from two servers gets unrelated tokens; the same server keeps its token', () => {
    const vault = new TokenVault();
    const m = new Masker(policy({ tokens: [{ kind: 'email', servers: [] }] }), vault);
    const a1 = m.scoped('crm').maskText(EMAIL, {});
    const a2 = m.scoped('crm').maskText(`to ${EMAIL}`, {});
    const b = m.scoped('web').maskText(EMAIL, {});
    expect(a1).toMatch(/^⟦email:[0-9a-f]+⟧$/);
    expect(a2).toBe(`to ${a1}`);
    expect(b).toMatch(/^⟦email:[0-9a-f]+⟧$/);
    expect(b).not.toBe(a1);
    expect(vault.valueOf(a1)).toEqual({ kind: 'email', value: EMAIL, scope: 'crm' });
    expect(vault.valueOf(b)).toEqual({ kind: 'email', value: EMAIL, scope: 'web' });
  });
});

describe('result budget (issue 15 item 19)', () => {
  test('a result within budget is untouched', () => {
    expect(applyResultBudget({ content: [{ type: 'text', text: 'x' }] }, 4096, 's/t')).toBeNull();
  });

  test('structuredContent is preferred when the server sent both', () => {
    const data = { rows: Array.from({ length: 50 }, (_, i) => ({ i })) };
    const out = applyResultBudget(
      {
        content: [{ type: 'text', text: JSON.stringify(data, null, 8).repeat(10) }],
        structuredContent: data,
      },
      4096,
      's/t',
    );
    expect(out?.result.structuredContent).toEqual(data);
    const content = out?.result.content as { type: string; text: string }[];
    expect(content).toHaveLength(1);
    expect(content[0]?.text).toContain('the full result is in structuredContent');
    expect(out?.report.cut[0]).toContain('in favour of structuredContent');
    expect(out?.report.delivered_bytes).toBeLessThanOrEqual(4096);
  });

  test('a long text is cut at the budget with a notice the model reads; sizes go to the report', () => {
    const text = 'é'.repeat(10_000);
    const out = applyResultBudget(
      {
        content: [
          { type: 'text', text },
          { type: 'text', text: 'tail' },
        ],
      },
      4096,
      'docs/read',
    );
    expect(out).not.toBeNull();
    const content = out?.result.content as { text: string }[];
    expect(content[0]?.text.length).toBeGreaterThan(100);
    expect(text.startsWith(content[0]?.text ?? 'x')).toBe(true);
    expect(content.at(-1)?.text).toContain('over the budget of 4096 bytes for docs/read');
    expect(out?.report).toMatchObject({ limit_bytes: 4096 });
    expect(out?.report.original_bytes).toBeGreaterThan(20_000);
    expect(out?.report.delivered_bytes).toBeLessThanOrEqual(4096);
  });

  test('structuredContent alone over budget: the result is withheld as a tool error', () => {
    const out = applyResultBudget(
      { content: [], structuredContent: { blob: 'x'.repeat(10_000) } },
      4096,
      's/t',
    );
    expect(out?.result.isError).toBe(true);
    expect(out?.result.structuredContent).toBeUndefined();
  });

  test('property: whatever the result, what is delivered fits the budget', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.string({ maxLength: 3000 }), fc.string({ maxLength: 800, unit: 'grapheme' })),
          { maxLength: 8 },
        ),
        fc.integer({ min: 4096, max: 9000 }),
        (texts, limit) => {
          const out = applyResultBudget(
            { content: texts.map((text) => ({ type: 'text', text })) },
            limit,
            's/t',
          );
          if (out) expect(out.report.delivered_bytes).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('budgets per server and tool: the last matching glob wins, else the default', () => {
    const p = policy({
      resultBudgets: [
        { pattern: 'docs/*', bytes: 8192 },
        { pattern: 'docs/read', bytes: 5000 },
      ],
    });
    expect(resultBudgetFor(p, 'docs', 'read')).toBe(5000);
    expect(resultBudgetFor(p, 'docs', 'list')).toBe(8192);
    expect(resultBudgetFor(p, 'docs', null)).toBe(8192);
    expect(resultBudgetFor(p, 'web', 'x')).toBe(1024 * 1024);
  });
});

describe('a value split across adjacent text items of one message (issue 15 item 13)', () => {
  const masker = new Masker(policy());
  const split = (cut: number, pad = '') => [
    { type: 'text', text: `${pad}clone with ${GH.slice(0, cut)}` },
    { type: 'text', text: `${GH.slice(cut)} then push${pad}` },
  ];

  test('tools/call content: masked where it starts, the rest removed, counted once', () => {
    const counts: MaskCounts = {};
    const out = maskResult(masker, { content: split(20) }, undefined, counts);
    expect(out.content).toEqual([
      { type: 'text', text: 'clone with [REDACTED:github_token]' },
      { type: 'text', text: ' then push' },
    ]);
    expect(counts).toEqual({ github_token: 1 });
  });

  test('large items: the split is still found', () => {
    const pad = 'lorem ipsum dolor sit amet '.repeat(2000); // 54 KB per item
    const out = maskNode(masker, split(9, pad), {}, 0) as { text: string }[];
    const text = out.map((i) => i.text).join('');
    expect(text).not.toContain(GH.slice(0, 9));
    expect(text).not.toContain(GH.slice(9));
    expect(out[0]?.text.endsWith('[REDACTED:github_token]')).toBe(true);
  });

  test('a split value of 17 KB, far from its keyword, is masked on both sides', () => {
    const value = Array.from({ length: 400 }, (_, i) =>
      createHash('sha256').update(String(i)).digest('base64url'),
    ).join(''); // ~17 KB
    const long = `Authorization: Bearer ${value}`;
    const pad = 'x '.repeat(20_000);
    const items = [
      { type: 'text', text: pad + long.slice(0, 12_000) },
      { type: 'text', text: `${long.slice(12_000)} ${pad}` },
    ];
    const out = maskNode(masker, items, {}, 0) as { text: string }[];
    const text = out.map((i) => i.text).join('');
    expect(text).not.toContain(value.slice(0, 40));
    expect(text).not.toContain(long.slice(12_000, 12_040));
  });

  test('the audit walk (maskStructured) joins them too; other items and separated items are left alone', () => {
    const items = [...split(20), { type: 'image', data: 'AAAA', mimeType: 'image/png' }];
    const audit = maskStructured(masker, { content: items }, undefined, {}) as {
      content: { text?: string }[];
    };
    expect(audit.content.map((i) => i.text ?? '').join('')).not.toContain(GH.slice(20));
    // Separated by a non-text item: not one text, so the halves are not joined.
    const apart = [split(20)[0], { type: 'image', data: 'AAAA', mimeType: 'image/png' }];
    const kept = maskNode(masker, apart, {}, 0) as { text?: string }[];
    expect(kept[0]?.text).toBe(`clone with ${GH.slice(0, 20)}`);
  });

  test('property: wherever the token is cut, neither half reaches the client', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: GH.length - 1 }), (cut) => {
        const out = maskResult(masker, { content: split(cut) }, undefined, {});
        const text = JSON.stringify(out);
        expect(text).not.toContain(GH);
        if (cut >= 8) expect(text).not.toContain(GH.slice(0, cut));
        if (GH.length - cut >= 8) expect(text).not.toContain(GH.slice(cut));
      }),
      { numRuns: 60 },
    );
  });
});
