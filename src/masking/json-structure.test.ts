import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Masker } from './engine.js';
import { maskTextContent } from './mask-mcp.js';
import { DEFAULT_MASKING_POLICY } from './policy.js';

// Values assembled at run time: this file holds no literal secrets.
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const pick = (n: number, len: number) =>
  Array.from({ length: len }, (_, i) => ALNUM[(n * 31 + i * 17 + i * i) % ALNUM.length]).join('');

/** The shape of a JSON value: keys and array lengths, leaves reduced to their type. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return v === null ? 'null' : 'leaf';
}

const masker = new Masker(DEFAULT_MASKING_POLICY);

/** Secret-looking leaves under secret-looking keys, and benign ones, as strings and numbers. */
const leaf = fc.oneof(
  fc.nat(10_000).map((n) => `ghp_${pick(n, 36)}`),
  fc.nat(10_000).map((n) => `${pick(n, 6)}!${pick(n + 1, 8)}`),
  fc.constantFrom('4111 1111 1111 1111', 'ann@example.com', 'hunter2', '/home/ann', 'ok'),
  fc.integer(),
  fc.constantFrom(4111111111111111, 1234567890123, 12345678),
  fc.boolean(),
  fc.constant(null),
);
const key = fc.constantFrom(
  'password',
  'db_password',
  'token',
  'api_key',
  'auth',
  'secret',
  'pwd',
  'max_tokens',
  'tokenizer',
  'name',
  'card',
  'n',
);
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, leaf, tie('object'), tie('array')),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  array: fc.array(tie('value'), { maxLength: 4 }),
})).object;

describe('masking keeps JSON structure (issue 15, item 12)', () => {
  test('property: valid JSON in, valid JSON of the same shape out (pretty, compact, JSON Lines)', () => {
    fc.assert(
      fc.property(json, json, fc.constantFrom(0, 2), (a, b, indent) => {
        for (const [text, lines] of [
          [JSON.stringify(a, null, indent), false],
          [`${JSON.stringify(a)}\n${JSON.stringify(b)}\n`, true],
        ] as const) {
          const out = maskTextContent(masker, text, {});
          const inLines = lines ? text.split('\n').filter(Boolean) : [text];
          const outLines = lines ? out.split('\n').filter(Boolean) : [out];
          expect(outLines.length).toBe(inLines.length);
          for (const [i, line] of outLines.entries()) {
            expect(shape(JSON.parse(line))).toEqual(shape(JSON.parse(inLines[i] as string)));
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  test('property: any valid JSON with nothing to mask comes back byte for byte', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        if (masker.findings(text).length > 0) return;
        expect(maskTextContent(masker, text, {})).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });

  test('a secret number under a secret key is masked as a quoted string, braces kept', () => {
    const text = '{"pin_password": 12345678}\n{"api_key": 1234567890123}\n';
    const out = maskTextContent(masker, text, {});
    expect(out).toBe('{"pin_password": "[REDACTED:generic_secret]"}\n{"api_key": 1234567890123}\n');
  });
});
