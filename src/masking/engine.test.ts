import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { compileCustomPattern } from './custom-patterns.js';
import type { MaskCounts } from './engine.js';
import { Masker, MaskingError } from './engine.js';
import { matchesFieldPath, parseFieldPattern } from './field-paths.js';
import type { FieldPattern } from './field-paths.js';
import { findFieldValues } from './json-spans.js';
import { maskResult, maskStructured, maskTextContent } from './mask-mcp.js';
import type { MaskingPolicy } from './policy.js';
import { DEFAULT_MASKING_POLICY, maskingExemption, mayReceive } from './policy.js';
import { TokenVault } from './tokens.js';

// Values assembled at run time: this file holds no literal secrets.
const GH = `ghp_${'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5'}`;
const CARD = ['4111', '1111', '1111', '1111'].join(' ');

function pattern(source: string): FieldPattern {
  const p = parseFieldPattern(source);
  if ('error' in p) throw new Error(p.error);
  return p;
}

function policy(over: Partial<MaskingPolicy> = {}): MaskingPolicy {
  return { ...DEFAULT_MASKING_POLICY, ...over };
}

function fields(...sources: string[]): MaskingPolicy['fields'] {
  return sources.map((s) => ({ pattern: pattern(s), kind: 'customer_data' }));
}

describe('field paths', () => {
  test.each([
    ['customer.email', ['customer', 'email'], true],
    ['customer.email', ['order', 'customer', 'email'], false],
    ['ssn', ['a', 'b', 'ssn'], true],
    ['ssn', ['ssn'], true],
    ['*.ssn', ['person', 'ssn'], true],
    ['*.ssn', ['ssn'], false],
    ['billing.*', ['billing', 'card'], true],
    ['billing.*', ['billing'], false],
    ['**.email', ['email'], true],
    ['a.**.z', ['a', 'b', 'c', 'z'], true],
    ['a.**.z', ['a', 'z'], true],
    ['a.**.z', ['a', 'b', 'y'], false],
  ])('%s on %j → %s', (source, path, expected) => {
    expect(matchesFieldPath(path, pattern(source))).toBe(expected);
  });

  test.each([
    ['', 'is empty'],
    ['a..b', 'empty segment'],
    ['cust*.email', "mixes '*'"],
    ['*.**', 'every value'],
  ])('rejects %j with a reason', (source, reason) => {
    const p = parseFieldPattern(source);
    expect('error' in p && p.error).toContain(reason);
  });
});

describe('findFieldValues: spans of values under matched paths', () => {
  test('strings, numbers and whole subtrees, formatting untouched', () => {
    const text =
      '{"customer": {"email": "a@b.co", "id": 7}, "billing": {"card": {"n": 42}}, "x": 1}';
    const scan = findFieldValues(text, (path) =>
      path.join('.') === 'customer.email' || path.join('.') === 'billing' ? 'f' : null,
    );
    expect(scan.kind).toBe('ok');
    if (scan.kind !== 'ok') return;
    expect(scan.leaves.map((l) => text.slice(l.start, l.end))).toEqual(['"a@b.co"', '42']);
  });

  test('not JSON, trailing garbage, and too deep are told apart', () => {
    expect(findFieldValues('hello {', () => null).kind).toBe('not_json');
    expect(findFieldValues('{"a":1} x', () => null).kind).toBe('not_json');
    expect(findFieldValues('['.repeat(200) + ']'.repeat(200), () => null, 128).kind).toBe(
      'too_deep',
    );
  });

  test('property: never throws, and agrees with JSON.parse on validity', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.string()), (text) => {
        const scan = findFieldValues(text, () => 'k');
        let valid = false;
        try {
          const v: unknown = JSON.parse(text);
          valid = typeof v === 'object' && v !== null;
        } catch {
          valid = false;
        }
        if (valid) expect(scan.kind).toBe('ok');
        else expect(scan.kind).not.toBe('ok');
      }),
    );
  });
});

describe('Masker: text', () => {
  test('masks secrets and personal data with [REDACTED:kind] and counts them', () => {
    const counts: MaskCounts = {};
    const out = new Masker(policy()).maskText(`token ${GH} card ${CARD}`, counts);
    expect(out).toBe('token [REDACTED:github_token] card [REDACTED:card]');
    expect(counts).toEqual({ github_token: 1, card: 1 });
  });

  test('partial forms: last4 for cards, domain for emails', () => {
    const m = new Masker(policy({ forms: { card: 'last4', email: 'domain' } }));
    expect(m.maskText(`card ${CARD}, mail jane.doe@example.com`, {})).toBe(
      'card ****1111, mail ****@example.com',
    );
  });

  test('admin fields in JSON text mask values in place; a number becomes a quoted mask', () => {
    const m = new Masker(policy({ fields: fields('customer.email', '*.ssn', 'billing.*') }));
    const text =
      '{\n  "customer": {"email": "x", "ssn": 123456789, "name": "Ann"},\n  "billing": {"plan": "pro"}\n}';
    const counts: MaskCounts = {};
    const out = m.maskText(text, counts);
    expect(JSON.parse(out)).toEqual({
      customer: {
        email: '[REDACTED:customer_data]',
        ssn: '[REDACTED:customer_data]',
        name: 'Ann',
      },
      billing: { plan: '[REDACTED:customer_data]' },
    });
    expect(out.startsWith('{\n  "customer"')).toBe(true);
    expect(counts).toEqual({ customer_data: 3 });
  });

  test('custom patterns run on the linear engine; catastrophic ones are refused at load', () => {
    const ok = compileCustomPattern('employee_id', 'EMP-[0-9]{6}');
    if ('error' in ok) throw new Error(ok.error);
    const m = new Masker(policy({ patterns: [ok] }));
    expect(m.maskText('owner EMP-123456 on call', {})).toBe('owner [REDACTED:employee_id] on call');
    for (const bad of ['(a+)\\1', '(?<=x)y', 'a{1,5000}']) {
      const r = compileCustomPattern('bad', bad);
      expect('error' in r && r.error).toContain('linear time');
    }
    const invalid = compileCustomPattern('bad', '([a-z]');
    expect('error' in invalid && invalid.error).toContain('not a valid regular expression');
    expect('error' in compileCustomPattern('Bad Name', 'x+')).toBe(true);
    expect('error' in compileCustomPattern('empty', 'x*')).toBe(true);
  });

  test('exempt detectors (by id or kind) are left alone', () => {
    const m = new Masker(policy({ exemptDetectors: ['email', 'payment-card'] }));
    const text = `mail a@example.com card ${CARD}`;
    expect(m.maskText(text, {})).toBe(text);
  });

  test('a finding never cuts a JSON escape in two', () => {
    const m = new Masker(policy());
    const text = JSON.stringify({ log: `password="${'Zq9!xT4#mW2$'}\\" rest` });
    const out = maskTextContent(m, text, {});
    expect(() => JSON.parse(out) as unknown).not.toThrow();
    expect(out).not.toContain('Zq9!xT4#mW2$');
  });

  test('a card sent as a JSON number: the JSON stays valid and the number is gone', () => {
    const m = new Masker(policy());
    const text = `{"card": ${CARD.replace(/ /g, '')}, "n": 3}`;
    const counts: MaskCounts = {};
    const out = maskTextContent(m, text, counts);
    expect(JSON.parse(out)).toEqual({ card: '[REDACTED:card]', n: 3 });
    expect(counts).toEqual({ card: 1 });
  });

  test('millions of keyword hits or matched fields do not overflow anything', () => {
    const m = new Masker(policy({ fields: fields('ssn') }));
    const hits = 'ghp_ '.repeat(400_000);
    expect(m.maskText(hits, {})).toBe(hits);
    const rows = `[${Array.from({ length: 200_000 }, () => '{"ssn":"1"}').join(',')}]`;
    const counts: MaskCounts = {};
    expect(() => JSON.parse(m.maskText(rows, counts)) as unknown).not.toThrow();
    expect(counts.customer_data).toBe(200_000);
  });

  test('JSON nested past the limit is refused when field rules must see it', () => {
    const m = new Masker(policy({ fields: fields('ssn') }));
    expect(() => m.maskText('['.repeat(300) + ']'.repeat(300), {})).toThrow(MaskingError);
  });
});

describe('reversible tokens', () => {
  test('the same value gets the same token in a session, and only allowed servers get it back', () => {
    const p = policy({ tokens: [{ kind: 'email', servers: ['crm'] }] });
    const vault = new TokenVault();
    const m = new Masker(p, vault);
    const a = m.maskText('to ann@example.com and ann@example.com', {});
    const tokens = a.match(/⟦email:[0-9a-f]+⟧/g) ?? [];
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toBe(tokens[1]);
    expect(vault.valueOf(tokens[0] as string)).toEqual({
      kind: 'email',
      value: 'ann@example.com',
      scope: '',
    });
    expect(mayReceive(p, 'email', 'crm')).toBe(true);
    expect(mayReceive(p, 'email', 'web')).toBe(false);
    expect(new TokenVault().valueOf(tokens[0] as string)).toBeNull();
  });

  test('tokens are not re-masked (idempotent)', () => {
    const m = new Masker(policy({ tokens: [{ kind: 'email', servers: ['*'] }] }), new TokenVault());
    const once = m.maskText('ann@example.com', {});
    expect(m.maskText(once, {})).toBe(once);
  });
});

describe('maskResult: MCP shapes', () => {
  const m = new Masker(policy({ fields: fields('customer.email') }));

  test('tools/call: text, embedded resources, text blobs; images pass', () => {
    const blob = Buffer.from(`key: ${GH}\n`).toString('base64');
    const image = Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64');
    const counts: MaskCounts = {};
    const out = maskResult(
      m,
      {
        content: [
          { type: 'text', text: `GITHUB_TOKEN=${GH}` },
          { type: 'resource', resource: { uri: 'file:///a.env', mimeType: 'text/plain', blob } },
          { type: 'image', data: image, mimeType: 'image/png' },
        ],
        isError: false,
        _meta: { keep: GH },
      },
      undefined,
      counts,
    );
    const content = out.content as Record<string, unknown>[];
    expect(content[0]).toEqual({ type: 'text', text: 'GITHUB_TOKEN=[REDACTED:github_token]' });
    const res = (content[1] as { resource: { blob: string } }).resource;
    expect(Buffer.from(res.blob, 'base64').toString()).toBe('key: [REDACTED:github_token]\n');
    expect(content[2]).toEqual({ type: 'image', data: image, mimeType: 'image/png' });
    // The server's own _meta reaches the model too: masked like content.
    expect(out._meta).toEqual({ keep: '[REDACTED:github_token]' });
    expect(counts).toEqual({ github_token: 3 });
  });

  test('a blob that is not UTF-8 keeps every byte it does not mask', () => {
    const bytes = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(` ${GH} `),
      Buffer.from([0xc3]),
    ]);
    const out = maskResult(
      m,
      { contents: [{ uri: 'x', mimeType: 'text/plain', blob: bytes.toString('base64') }] },
      undefined,
      {},
    );
    const back = Buffer.from((out.contents as { blob: string }[])[0]?.blob ?? '', 'base64');
    expect([...back.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(back.toString('latin1')).toContain('[REDACTED:github_token]');
  });

  test('structuredContent keeps its types where the outputSchema needs them', () => {
    const schema = {
      type: 'object',
      properties: {
        customer: {
          type: 'object',
          properties: {
            email: { type: 'string', format: 'email' },
            age: { type: 'integer', minimum: 18 },
            vip: { type: 'boolean' },
            ref: { type: ['integer', 'null'] },
          },
        },
      },
    };
    const mm = new Masker(policy({ fields: fields('customer.*') }));
    const counts: MaskCounts = {};
    const out = maskStructured(
      mm,
      { customer: { email: 'ann@example.com', age: 41, vip: true, ref: 9 } },
      schema,
      counts,
    );
    expect(out).toEqual({
      customer: { email: '[REDACTED:customer_data]', age: 18, vip: false, ref: null },
    });
    expect(counts).toEqual({ customer_data: 4 });
  });
});

describe('policy exemptions', () => {
  test('server and tool globs; null when masking applies', () => {
    const p = policy({ exemptServers: ['internal-*'], exemptTools: ['docs/search_*'] });
    expect(maskingExemption(p, 'internal-wiki', 'x')).toContain('exempt_servers');
    expect(maskingExemption(p, 'docs', 'search_pages')).toContain('exempt_tools');
    expect(maskingExemption(p, 'docs', 'read_page')).toBeNull();
  });
});

describe('properties', () => {
  const planted = fc.constantFrom(GH, CARD, 'jane.doe@example.com', 'GB82 WEST 1234 5698 7654 32');
  const text = fc
    .array(fc.oneof(fc.string({ maxLength: 20 }), planted), { maxLength: 8 })
    .map((parts) => parts.join(' '));
  const m = new Masker(policy());

  test('never throws, idempotent, leaves no detected value, grows boundedly', () => {
    fc.assert(
      fc.property(text, (t) => {
        const once = m.maskText(t, {});
        expect(m.maskText(once, {})).toBe(once);
        expect(m.findings(once)).toEqual([]);
        expect(once.length).toBeLessThanOrEqual(t.length * 12 + 64);
      }),
    );
  });

  test('JSON stays valid JSON whatever it holds', () => {
    const json = fc
      .jsonValue()
      .chain((v) =>
        fc.tuple(fc.constant(v), planted).map(([value, secret]) => ({ value, secret })),
      );
    const mf = new Masker(policy({ fields: fields('**.a', 'b.*') }));
    fc.assert(
      fc.property(json, ({ value, secret }) => {
        const text = JSON.stringify({ a: value, note: secret, list: [value, secret] }, null, 1);
        const out = maskTextContent(mf, text, {});
        expect(() => JSON.parse(out) as unknown).not.toThrow();
        expect(out).not.toContain(secret);
      }),
    );
  });

  test('structuredContent: a string stays a string; nothing throws on any JSON', () => {
    const mf = new Masker(policy({ fields: fields('a') }));
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const out = maskStructured(
          mf,
          { a: value, s: 'x', t: `mail ann@example.com` },
          undefined,
          {},
        );
        const o = out as Record<string, unknown>;
        expect(typeof o.s).toBe('string');
        expect(o.t).toBe('mail [REDACTED:email]');
      }),
    );
  });
});

describe('structuredContent stays valid against its outputSchema (property)', () => {
  /** A schema the value satisfies, as strict as JSON Schema can say: types, required, minimums. */
  function schemaOf(value: unknown): Record<string, unknown> {
    if (value === null) return { type: 'null' };
    if (Array.isArray(value))
      return { type: 'array', items: value.length > 0 ? schemaOf(value[0]) : {} };
    if (typeof value === 'object') {
      const props = Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, schemaOf(v)]),
      );
      return {
        type: 'object',
        properties: props,
        required: Object.keys(props),
        additionalProperties: false,
      };
    }
    if (typeof value === 'number')
      return Number.isInteger(value)
        ? { type: 'integer', minimum: Math.min(value, 7) }
        : { type: 'number', maximum: Math.max(value, -3) };
    return { type: typeof value };
  }

  test('any record, any customer-field rule: the masked value still validates', async () => {
    const { Ajv } = await import('ajv');
    const ajv = new Ajv({ strict: false });
    // Arrays of one shape (a schema's `items` covers every element), planted secrets in strings.
    const leaf = fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.string({ maxLength: 12 }),
      fc.constantFrom(`key ${GH}`, `card ${CARD}`, 'ann@example.com'),
    );
    const record = fc.dictionary(
      fc.constantFrom('a', 'b', 'email', 'ssn', 'n'),
      fc.oneof(leaf, fc.dictionary(fc.constantFrom('a', 'ssn', 'x'), leaf, { maxKeys: 3 })),
      { maxKeys: 5 },
    );
    const rule = fc.constantFrom('a', 'ssn', '*.a', 'b.*', 'n', 'email');
    fc.assert(
      fc.property(record, rule, (value, field) => {
        const schema = schemaOf(value);
        const validate = ajv.compile(schema);
        expect(validate(value)).toBe(true);
        const m = new Masker(policy({ fields: fields(field) }));
        const masked = maskStructured(m, value, schema, {});
        expect(validate(masked)).toBe(true);
        expect(JSON.stringify(masked)).not.toContain(GH);
      }),
      { numRuns: 300 },
    );
  });
});
