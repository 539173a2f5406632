import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { detectFindings, maskSecrets } from './detect.js';
import { Masker } from './engine.js';
import { normalizeCompact, normalizeForDetection, originalOffset } from './normalize.js';
import { DEFAULT_MASKING_POLICY } from './policy.js';

// Values assembled at run time: this file holds no literal secrets.
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const token = (seed: number) =>
  `ghp_${Array.from({ length: 36 }, (_, i) => ALNUM[(i * 7 + seed * 13) % ALNUM.length]).join('')}`;

/** A character written the ways an evader would. */
const ENCODINGS: Record<string, (ch: string) => string> = {
  unicodeEscape: (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  hexEscape: (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`,
  percent: (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  characterReference: (ch) => `&#${ch.charCodeAt(0)};`,
  zeroWidthAfter: (ch) => `${ch}\u200b`,
  softHyphenAfter: (ch) => `${ch}\u00ad`,
  wordJoinerAfter: (ch) => `${ch}\u2060`,
};

/** `secret` with the characters at `positions` encoded by `encode`. */
function encodeSome(secret: string, positions: number[], encode: (ch: string) => string): string {
  const at = new Set(positions.map((p) => p % secret.length));
  return [...secret].map((ch, i) => (at.has(i) ? encode(ch) : ch)).join('');
}

describe('normalisation (issue 15, item 13)', () => {
  test('property: offsets map back — the original cut at a mapped offset normalises to the normalised prefix', () => {
    const pieces = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom('\\u0041', '\\x42', '%43', '&#68;', '&#x45;', '\\/', '\\\\u0041', '\u200b'),
      fc.constantFrom('\u00ad', '\ufeff', '\\u200b', '%2', '\\u12', '&#;', '\\', '%'),
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 30 }), (parts) => {
        const original = parts.join('');
        const norm = normalizeForDetection(original);
        if (!norm) return;
        const { text, starts } = norm;
        expect(starts.length).toBe(text.length + 1);
        expect(starts[text.length]).toBe(original.length);
        for (let i = 0; i <= text.length; i += 1) {
          if (i < text.length) expect(starts[i + 1]).toBeGreaterThan(starts[i] as number);
          // Cut at a mapped offset, the original normalises to exactly the normalised prefix.
          const prefix = original.slice(0, starts[i]);
          const again = normalizeForDetection(prefix);
          expect(again ? again.text : prefix).toBe(text.slice(0, i));
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('property: the escape-visiting form maps every offset as the per-character form does', () => {
    const pieces = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('\\u0041', '\\x42', '%43', '&#68;', '&#x45;', '\\/', '\\\\u0041', '\u200b'),
      fc.constantFrom('\u00ad', '\ufeff', '\\u200b', '%2', '\\u12', '&#;', '\\', '%'),
    );
    // Up to 400 pieces: sparse escapes take the escape-visiting path, dense ones fall back.
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 400 }), (parts) => {
        const original = parts.join('');
        const full = normalizeForDetection(original);
        const compact = normalizeCompact(original);
        if (!compact) {
          // Nothing decoded: the per-character form, if any, is the text itself.
          if (full) expect(full.text).toBe(original);
          return;
        }
        expect(full).not.toBeNull();
        expect(compact.text).toBe(full?.text);
        for (let i = 0; i <= compact.text.length; i += 1)
          expect(originalOffset(compact, i)).toBe(full?.starts[i]);
      }),
      { numRuns: 1000 },
    );
  });

  test('property: a token hidden by any cheap encoding is masked, and no encoded form survives', () => {
    const masker = new Masker(DEFAULT_MASKING_POLICY);
    fc.assert(
      fc.property(
        fc.nat(1000),
        fc.constantFrom(...Object.keys(ENCODINGS)),
        fc.array(fc.nat(39), { minLength: 1, maxLength: 6 }),
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 40 }),
        (seed, how, positions, before, after) => {
          const secret = token(seed);
          const hidden = encodeSome(secret, positions, ENCODINGS[how] as (ch: string) => string);
          const text = `${before} ${hidden} ${after}`;
          const masked = masker.maskText(text, {});
          expect(masked).not.toContain(hidden);
          expect(masked).not.toContain(secret);
          expect(masked).toContain('[REDACTED:github_token]');
          // Idempotent: masking the masked text changes nothing.
          expect(masker.maskText(masked, {})).toBe(masked);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('property: base64 of a secret (standard and URL-safe, also inside JSON) is masked', () => {
    fc.assert(
      fc.property(
        fc.nat(1000),
        fc.constantFrom('base64', 'base64url'),
        fc.constantFrom('', 'GITHUB_TOKEN=', 'my token is '),
        (seed, encoding, prefix) => {
          const secret = token(seed);
          const encoded = Buffer.from(`${prefix}${secret}`).toString(encoding as BufferEncoding);
          const text = `{"blob": "${encoded}", "n": 1}`;
          const { text: masked } = maskSecrets(text);
          expect(masked).not.toContain(encoded);
          expect(JSON.parse(masked)).toEqual({ blob: '[REDACTED:github_token]', n: 1 });
        },
      ),
      { numRuns: 300 },
    );
  });

  test('offsets are reported in the original text, covering the encoded characters', () => {
    const secret = token(3);
    const hidden = `${secret.slice(0, 10)}\\u00${secret.charCodeAt(10).toString(16)}${secret.slice(11)}`;
    const text = `x ${hidden} y`;
    const [f] = detectFindings(text);
    expect(f && text.slice(f.start, f.end)).toBe(hidden);
  });

  test('nothing to undo: no copy, findings as before', () => {
    expect(normalizeForDetection('plain text, 100% sure \\n done')).toBeNull();
  });
});

describe('maskAdjacent: a token split across pieces of one message', () => {
  const masker = new Masker(DEFAULT_MASKING_POLICY);

  test('the split token is masked in the piece where it starts and removed from the next', () => {
    const secret = token(9);
    const counts = {};
    const out = masker.maskAdjacent(
      [`token ${secret.slice(0, 17)}`, `${secret.slice(17)} done`, 'mail ann@example.com'],
      counts,
    );
    expect(out).toEqual(['token [REDACTED:github_token]', ' done', 'mail [REDACTED:email]']);
    expect(counts).toEqual({ github_token: 1, email: 1 });
  });

  test('property: wherever the cuts fall, no piece keeps the token and the piece count holds', () => {
    fc.assert(
      fc.property(
        fc.nat(1000),
        fc.array(fc.nat(80), { maxLength: 4 }),
        fc.string({ maxLength: 20 }),
        (seed, cuts, tail) => {
          const secret = token(seed);
          const text = `key ${secret} ${tail}`;
          const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const pieces = [0, ...at].map((from, i) => text.slice(from, at[i] ?? text.length));
          const out = masker.maskAdjacent(pieces, {});
          expect(out.length).toBe(pieces.length);
          expect(out.join('')).not.toContain(secret);
          for (const [i, p] of out.entries()) {
            const piece = pieces[i] as string;
            if (piece.length >= 8 && secret.includes(piece)) expect(p).not.toContain(piece);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
