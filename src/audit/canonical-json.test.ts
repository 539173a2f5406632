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

/**
 * The reference: Gatehouse's first canonicalJson, kept verbatim (a sorted copy, then
 * JSON.stringify; by hand when array-index keys are present). The fast one must match it byte
 * for byte on everything JSON, and fail where it fails, with the same message.
 */
function referenceCanonicalJson(value: unknown): string {
  const state = { indexKeys: false };
  const sorted = sortedCopy(value, state, 0);
  return state.indexKeys ? serialise(value) : JSON.stringify(sorted);
}

const INDEX_KEY = /^(?:0|[1-9]\d{0,9})$/;

function sortedCopy(value: unknown, state: { indexKeys: boolean }, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonical JSON: ${value} is not a JSON number`);
      return value;
    case 'object': {
      if (value === null) return null;
      if (depth > 512) throw new TypeError('canonical JSON: nested more than 512 levels');
      if (Array.isArray(value)) {
        const out = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          out[i] = item === undefined ? null : sortedCopy(item, state, depth + 1);
        }
        return out;
      }
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record).sort();
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        const item = record[key];
        if (item === undefined) continue;
        if (INDEX_KEY.test(key)) state.indexKeys = true;
        out[key] = sortedCopy(item, state, depth + 1);
      }
      return out;
    }
    default:
      throw new TypeError(`canonical JSON: a ${typeof value} is not JSON`);
  }
}

function serialise(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    return `[${value.map((item: unknown) => (item === undefined ? 'null' : serialise(item))).join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    if (record[key] !== undefined) parts.push(`${JSON.stringify(key)}:${serialise(record[key])}`);
  }
  return `{${parts.join(',')}}`;
}

/** What canonicalJson does with `value`: its text, or the error it throws. */
function outcome(f: (value: unknown) => string, value: unknown): string {
  try {
    return `ok ${f(value)}`;
  } catch (err) {
    return `${(err as Error).constructor.name} ${(err as Error).message}`;
  }
}

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnits = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 8,
});

/** Keys JavaScript orders by itself ("9" before "10"), near-misses that it does not ("01", "-1", 2³²−1), and any. */
const keys = fc.oneof(
  fc.constantFrom('0', '1', '2', '9', '10', '11', '01', '-1', '4294967294', '4294967295', '1e3'),
  fc.constantFrom('a', 'b', 'B', 'é', '€', '\u{1F600}', '\ufb33', '', 'toJSON'),
  codeUnits,
);

const leaves = fc.oneof(
  codeUnits,
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
  fc.constantFrom(0, -0, 1e21, 1e-7, 0.1 + 0.2, Number.MAX_SAFE_INTEGER, 5e-324),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);

/** JSON-ish values: unsorted and index-like keys, undefined members and items, nested arrays. */
const values = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaves,
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 6 }),
  object: fc
    .array(fc.tuple(keys, tie('value')), { maxLength: 6 })
    .map((entries) => Object.fromEntries(entries) as Record<string, unknown>),
})).value;

/** Something JSON cannot carry. */
const poison = fc.constantFrom<unknown>(Number.NaN, Infinity, -Infinity, 10n, () => 1, Symbol('s'));

/** `value` with `bad` put somewhere inside it (or in place of it). */
function plant(value: unknown, bad: unknown, path: number[]): unknown {
  if (path.length === 0 || value === null || typeof value !== 'object') return bad;
  const [step = 0, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...(value as unknown[])];
    const at = step % (copy.length + 1);
    copy[at] = plant(copy[at], bad, rest);
    return copy;
  }
  const record = { ...(value as Record<string, unknown>) };
  const names = Object.keys(record);
  const key = names.length ? (names[step % names.length] as string) : 'x';
  record[key] = plant(record[key], bad, rest);
  return record;
}

describe('canonicalJson matches the reference serialiser byte for byte', () => {
  test('property: any JSON value (fast-check jsonValue, keys in any order)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        fc.pre(!JSON.stringify(value).includes('"__proto__"')); // the reference lost those: below
        expect(canonicalJson(value)).toBe(referenceCanonicalJson(value));
      }),
      { numRuns: 1000 },
    );
  });

  test('property: index-like keys, undefined members, nested arrays, lone surrogates', () => {
    fc.assert(
      fc.property(values, (value) => {
        expect(outcome(canonicalJson, value)).toBe(outcome(referenceCanonicalJson, value));
      }),
      { numRuns: 2000 },
    );
  });

  test('property: already-sorted values (the fast path) come out as the reference writes them', () => {
    fc.assert(
      fc.property(values, (value) => {
        const sorted: unknown = JSON.parse(referenceCanonicalJson(value ?? null));
        expect(canonicalJson(sorted)).toBe(referenceCanonicalJson(sorted));
      }),
      { numRuns: 1000 },
    );
  });

  test('property: something JSON cannot carry, anywhere, throws the same TypeError', () => {
    fc.assert(
      fc.property(values, poison, fc.array(fc.nat(), { maxLength: 4 }), (value, bad, path) => {
        const planted = plant(value, bad, path);
        const expected = outcome(referenceCanonicalJson, planted);
        expect(expected).toMatch(/^TypeError canonical JSON: /);
        expect(outcome(canonicalJson, planted)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  test('objects in order that hold objects out of order; index keys; a polluted Object.prototype', () => {
    const cases: unknown[] = [
      { a: 1, b: { d: 1, c: 2 }, c: 3 },
      { a: [{ y: 1, x: 2 }, 5], b: null },
      { '1': { b: 1, a: 2 }, '2': 3, x: [{ b: 1, a: 1 }] },
      { '10': 1, '9': { b: 1, a: 2 } },
      { b: 1, '2': 2, a: { '10': 0, '9': 0 } },
      [[{ b: [{ d: 1, c: 2 }], a: 1 }], new Date(0)],
      Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${(i * 37) % 100}`, i])),
    ];
    for (const value of cases) {
      expect(canonicalJson(value)).toBe(referenceCanonicalJson(value));
    }
    Object.defineProperty(Object.prototype, 'zz', {
      value: 1,
      enumerable: true,
      configurable: true,
      writable: true,
    });
    try {
      for (const value of cases) {
        expect(canonicalJson(value)).toBe(referenceCanonicalJson(value));
      }
    } finally {
      delete (Object.prototype as { zz?: unknown }).zz;
    }
  });

  test('an own "__proto__" member (JSON.parse makes them) is written like any other key', () => {
    // The reference's sorted copy assigned it, which set the copy's prototype instead: the
    // member vanished from the output (unless array-index keys sent it down the other path).
    const sorted: unknown = JSON.parse('{"__proto__":{"x":1},"a":2}');
    const unsorted: unknown = JSON.parse('{"b":[1],"__proto__":{"y":[2,1]},"a":2}');
    const inner: unknown = JSON.parse('{"__proto__":{"y":2,"x":1},"a":2}');
    expect(canonicalJson(sorted)).toBe('{"__proto__":{"x":1},"a":2}');
    expect(canonicalJson(unsorted)).toBe('{"__proto__":{"y":[2,1]},"a":2,"b":[1]}');
    expect(canonicalJson(inner)).toBe('{"__proto__":{"x":1,"y":2},"a":2}');
    expect(referenceCanonicalJson(unsorted)).toBe('{"a":2,"b":[1]}');
  });

  test('nesting: 512 levels are fine, 513 are refused, and so is a cycle', () => {
    const nest = (levels: number, inner: unknown) => {
      let v = inner;
      for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { k: v };
      return v;
    };
    for (const value of [nest(512, 1), nest(513, 1), nest(512, {}), nest(513, {}), nest(513, [])]) {
      expect(outcome(canonicalJson, value)).toBe(outcome(referenceCanonicalJson, value));
    }
    expect(() => canonicalJson(nest(513, {}))).toThrow(TypeError);
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    expect(outcome(canonicalJson, cycle)).toBe(outcome(referenceCanonicalJson, cycle));
    expect(() => canonicalJson(cycle)).toThrow(/nested more than 512 levels/);
  });

  test('objects JSON.stringify would treat differently (toJSON, boxed values, class instances) are written as the reference writes them', () => {
    class Point {
      constructor(
        readonly y: number,
        readonly x: number,
      ) {}
      toJSON() {
        return 'not used';
      }
    }
    const withToJson = Object.assign([1, 2], { toJSON: () => 'not used' });
    const nullPrototype = Object.assign(Object.create(null) as object, { b: 1, a: 2 });
    for (const value of [
      new Date(0),
      { at: new Date(0) },
      new Point(1, 2),
      [new Point(1, 2)],
      withToJson,
      Object('text') as unknown,
      { n: Object(5) as unknown },
      new Map([['a', 1]]),
      nullPrototype,
      { z: nullPrototype },
      [undefined, , 3], // eslint-disable-line no-sparse-arrays
    ]) {
      expect(outcome(canonicalJson, value)).toBe(outcome(referenceCanonicalJson, value));
    }
  });
});
