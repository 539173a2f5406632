import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { compileRustRegex, RustRegexError } from './rust-regex.js';

const URL = 'https://a.example/mcp';

/**
 * Each row was run through codex-cli 0.169 as a `url = { match = "regex" }` requirement
 * against a server at https://a.example/mcp: `match` = enabled, `nomatch` = disabled, other
 * strings = the error Codex printed.
 */
const CODEX_OBSERVED: [string, string][] = [
  ['https://a\\.example/\\pL+', 'Unicode character classes are not supported'],
  ['https://a\\.example/\\p{Greek}*mcp', 'Unicode character classes are not supported'],
  ['https://a\\.example/\\d+', 'nomatch'],
  ['https://a\\.example/mcp\\b', 'match'],
  ['(?<n>https)://a\\.example/mcp', 'match'],
  ['(?P<n>https)://a\\.example/mcp', 'match'],
  ['https://a\\.example/mcp\\Z', 'unrecognized escape sequence'],
  ['\\Ahttps://a\\.example/mcp', 'match'],
  ['https://a\\.example/mc\\x70', 'match'],
  ['https://a\\.example/mc\\x{70}', 'match'],
  ['https://a\\.example/mc\\u0070', 'match'],
  ['https://a\\.example/mcp{2,1}', 'found counted repetition with a min bigger than its max'],
  ['https://a\\.example/(mcp)\\1', 'backreferences are not supported'],
  ['https://a\\.example/(?<!x)mcp', 'look-around is not supported'],
  ['https://a\\.example/(?=mcp).*', 'look-around is not supported'],
  ['(?i)HTTPS://A\\.EXAMPLE/MCP', 'match'],
  ['(?u)https://a\\.example/mcp', 'match'],
  ['(?R)https://a\\.example/mcp', 'match'],
  ['(?s)https://a\\.example/m.p', 'match'],
  ['https://a\\.example/m\\cp', 'unrecognized escape sequence'],
  ['https://a\\.example/mc[p', 'non-empty character class has no closing bracket'],
  ['https://a\\.example/mcp)', "found closing ')' without matching '('"],
  ['https://a\\.example/\\Kmcp', 'unrecognized escape sequence'],
  ['https://a\\.example/m\\.?+cp', 'match'],
  ['https://a\\.example/mcp*+', 'match'],
  ['https://a\\.example/m(?:c)p', 'match'],
  ['https://a\\.example/mcp|x', 'match'],
  ['x|https://a\\.example/mcp', 'match'],
  ['https://a\\.example/m\\Qc\\Ep', 'unrecognized escape sequence'],
  ['https://a\\.example/m[c-c]p', 'match'],
  ['https://a\\.example/m[[:^digit:]]p', 'match'],
  ['https://a\\.example/m\\-cp', 'nomatch'],
  ['https://a\\.example/m\\_cp', 'nomatch'],
  ['https://a\\.example/m\\!cp', 'nomatch'],
  ['https://a\\.example/m\\ecp', 'unrecognized escape sequence'],
  ['https://a\\.example/\\w+', 'match'],
  ['https://a\\.example/.{0,1000}', 'match'],
  ['(?x) https :// a\\.example / mcp', 'match'],
  ['(?x) https :// a\\.example / mcp  # c', "found open group without closing ')'"],
  ['(?i:HTTPS)://a\\.example/mcp', 'match'],
  ['https://a\\.example/(?x: m c p )', 'match'],
  ['', 'nomatch'],
  ['https://a\\.example/m[a[bc]]p', 'nested character classes are not supported'],
  ['https://a\\.example/m[a--b]p', 'character class difference is not supported'],
  ['https://a\\.example/m[a~~b]p', 'character class symmetric difference is not supported'],
  ['https://a\\.example/[a-z&&[^x]]+', 'character class intersection is not supported'],
  ['(?z)https://a\\.example/mcp', 'unrecognized inline flag'],
  ['(?i-)https://a\\.example/mcp', 'inline flags cannot end with negation directive'],
  ['(?)https://a\\.example/mcp', "empty flag directive '(?)' is not allowed"],
  ['https://a\\.example/mcp{3', 'found incomplete and unclosed counted repetition operator'],
  ['*https://a\\.example/mcp', 'uncounted repetition operator must be applied to a sub-expression'],
  ['https://a\\.example/mcp{,3}', 'expected decimal number, but found no digits'],
  ['https://a\\.example/m\\x{110000}p', 'got invalid hexadecimal number in braces'],
  [
    'https://a\\.example/m[\\d-z]p',
    'character class ranges must start and end with a single character',
  ],
  ['https://a\\.example/m[z-a]p', 'invalid range in character class'],
  ['https://a\\.example/m[]p', 'non-empty character class has no closing bracket'],
  ['https://a\\.example/m[]c]p', 'match'],
  ['https://a\\.example/m[^]c]p', 'nomatch'],
  ['(?i)https://a\\.example/MC[P]', 'match'],
  ['https://a\\.example/m\\ cp', 'nomatch'],
  ['https://a\\.example/m\\0cp', 'backreferences are not supported'],
  ['https://a\\.example/m\\vcp', 'nomatch'],
  ['https://a\\.example/mcp{2}{3}', 'nomatch'],
  ['https://a\\.example/mcp??', 'match'],
  ['https://a\\.example/(?i)MCP', 'match'],
  ['https://a\\.example/(?i)M(?-i)cp', 'match'],
  ['https://a\\.example/m[[:word:]]p', 'match'],
  ['https://a\\.example/m[[:foo:]]p', 'nested character classes are not supported'],
  ['https://a\\.example/m[:alpha:]p', 'nomatch'],
  ['(?<1a>x)', 'invalid group name'],
  ['(?P<a>x)(?P<a>y)', 'duplicate capture group name'],
  ['a{1000}', 'nomatch'],
];

function outcome(expression: string, value = URL): string {
  try {
    return compileRustRegex(expression).matchesWhole(value) ? 'match' : 'nomatch';
  } catch (err) {
    if (err instanceof RustRegexError) return err.message;
    throw err;
  }
}

describe('Rust regex-lite semantics, as Codex 0.169 applies them', () => {
  test.each(CODEX_OBSERVED)('%s → %s', (expression, expected) => {
    expect(outcome(expression)).toBe(expected);
  });

  test('matching is anchored to the whole value', () => {
    expect(outcome('@modelcontextprotocol/.*', '@modelcontextprotocol/server-everything')).toBe(
      'match',
    );
    expect(outcome('@modelcontextprotocol/.*', 'evil-package')).toBe('nomatch');
    expect(outcome('server', 'my-server-x')).toBe('nomatch');
  });

  test('case-insensitivity is ASCII-only, as in regex-lite', () => {
    expect(outcome('(?i)k', 'K')).toBe('match');
    expect(outcome('(?i)k', '\u212A')).toBe('nomatch'); // Kelvin sign: RE2 alone would fold it
    expect(outcome('(?i)[a-c]x', 'BX')).toBe('match');
  });

  test('. excludes newline unless (?s)', () => {
    expect(outcome('a.b', 'a\nb')).toBe('nomatch');
    expect(outcome('(?s)a.b', 'a\nb')).toBe('match');
  });

  test('constructs RE2 cannot express are refused, not silently changed', () => {
    expect(() => compileRustRegex('\\<mcp\\>')).toThrow(/not supported by Gatehouse/);
    expect(() => compileRustRegex('a{1001}')).toThrow(
      /not supported by Gatehouse's linear-time engine/,
    );
  });

  test('a hostile pattern and input finish in linear time (no catastrophic backtracking)', () => {
    const re = compileRustRegex('(a+)+$');
    expect(re.matchesWhole('a'.repeat(50_000) + '!')).toBe(false);
    const cred = compileRustRegex('(?:token|key)[:=](?:[\\w.-]+\\s?)+;');
    expect(cred.matchesWhole('token=' + 'aaaa'.repeat(20_000))).toBe(false);
  });

  test('property: an escaped literal string matches exactly itself', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (a, b) => {
        const escaped = Array.from(a)
          .map((c) => `\\x{${(c.codePointAt(0) ?? 0).toString(16)}}`)
          .join('');
        const re = compileRustRegex(escaped);
        expect(re.matchesWhole(a)).toBe(true);
        if (b !== a) expect(re.matchesWhole(b)).toBe(false);
      }),
    );
  });

  test('property: compiling never throws anything but RustRegexError', () => {
    fc.assert(
      fc.property(
        fc.string({
          maxLength: 30,
          unit: fc.constantFrom(...'ab()[]{}|*+?.\\^$-,:#<>=!PpdDwWsSxiU0123 \n'.split('')),
        }),
        (src) => {
          try {
            compileRustRegex(src).matchesWhole('ab');
          } catch (err) {
            expect(err).toBeInstanceOf(RustRegexError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
