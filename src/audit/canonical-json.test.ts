import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { canonicalJson } from './canonical-json.js';

describe('canonicalJson (RFC 8785)', () => {
  test.each([
    // RFC 8785 §3.2.2 / appendix examples and edge cases.
    [{ b: 1, a: 2 }, '{"a":2,"b":1}'],
    [
      {
        '\u20ac': 'Euro Sign',
        '\r': 'Carriage Return',
        '\ufb33': 'Hebrew',
        '1': 'One',
        '\ud83d\ude00': 'Emoji',
        '\u0080': 'Control',
        '\u00f6': 'Latin',
      },
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin","€":"Euro Sign","😀":"Emoji","\ufb33":"Hebrew"}',
    ],
    [
      [1e21, 1e-7, -0, 0.1 + 0.2, 333333333.3333333],
      '[1e+21,1e-7,0,0.30000000000000004,333333333.3333333]',
    ],
    ['\u2028 "quoted" \\', '"\u2028 \\"quoted\\" \\\\"'],
    [{ nested: { z: [true, false, null], a: {} } }, '{"nested":{"a":{},"z":[true,false,null]}}'],
    [{ skipped: undefined, kept: 1 }, '{"kept":1}'],
  ])('%j → %s', (value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  test('refuses what JSON cannot carry instead of dropping it', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/not a JSON number/);
    expect(() => canonicalJson({ n: Infinity })).toThrow(/not a JSON number/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function is not JSON/);
    expect(() => canonicalJson({ b: 10n })).toThrow(/bigint is not JSON/);
  });

  test('property: parses back to the same value, and key order never matters', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        const reversed = JSON.parse(text, (_k, v: unknown) =>
          v && typeof v === 'object' && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v).reverse())
            : v,
        ) as unknown;
        expect(canonicalJson(reversed)).toBe(text);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});

describe('canonicalJson: keys JavaScript orders by itself', () => {
  test('array-index keys still sort by UTF-16 code units, not numerically', () => {
    expect(canonicalJson({ '10': 'a', '9': 'b', x: { '2': 1, '11': 2 } })).toBe(
      '{"10":"a","9":"b","x":{"11":2,"2":1}}',
    );
  });
});
