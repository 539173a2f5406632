import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { Masker } from '../src/masking/engine.js';
import { DEFAULT_MASKING_POLICY } from '../src/masking/policy.js';
import { generateCorpus, score } from './support/masking-corpus.mjs';

const DIST = join(import.meta.dirname, '..', 'dist', 'masking', 'detect.js');

// The corpus generator samples provider formats from the built rules (dist/), so it needs a build.
describe.skipIf(!existsSync(DIST))('masking accuracy on the labelled corpus', () => {
  test('recall and precision ≥ 0.98 overall, no kind below 0.95 (every rule on)', () => {
    const corpus = generateCorpus({ seed: 424242, bytes: 1 << 20 });
    const masker = new Masker({ ...DEFAULT_MASKING_POLICY, ipAddresses: true });
    const findings: { kind: string; start: number; end: number }[] = [];
    // Tool-result-sized pieces, cut at line ends, as the gateway sees them.
    for (let at = 0; at < corpus.text.length;) {
      let end = Math.min(corpus.text.length, at + 16 * 1024);
      if (end < corpus.text.length) end = corpus.text.lastIndexOf('\n', end) + 1 || end;
      for (const f of masker.findings(corpus.text.slice(at, end)))
        findings.push({ kind: f.kind, start: f.start + at, end: f.end + at });
      at = end;
    }
    const result = score(corpus, findings);
    expect(result.recall).toBeGreaterThanOrEqual(0.98);
    expect(result.precision).toBeGreaterThanOrEqual(0.98);
    const weak = result.kinds.filter(
      (k) =>
        (k.planted >= 10 && (k.recall ?? 1) < 0.95) ||
        (k.reported >= 10 && (k.precision ?? 1) < 0.95),
    );
    expect(weak).toEqual([]);
    // Every kind the corpus plants is there: a generator that silently stopped would pass above.
    expect(result.kinds.filter((k) => k.planted > 0).length).toBeGreaterThanOrEqual(80);
    // The formats of issue 15 item 11 are planted and held to the same line.
    for (const kind of ['basic_auth', 'session_cookie', 'google_oauth_token', 'private_key']) {
      const row = result.kinds.find((k) => k.kind === kind);
      expect(row?.planted ?? 0, kind).toBeGreaterThan(0);
      expect(row?.recall ?? 0, kind).toBeGreaterThanOrEqual(0.95);
    }
  });

  test('the masked corpus holds none of the planted values', () => {
    const corpus = generateCorpus({ seed: 99, bytes: 256 * 1024 });
    const masker = new Masker({ ...DEFAULT_MASKING_POLICY, ipAddresses: true });
    const masked = masker.maskText(corpus.text, {});
    const visible = corpus.planted
      .filter((p) => !p.negative)
      .map((p) => corpus.text.slice(p.start, p.end))
      .filter((v) => v.length >= 8 && masked.includes(v));
    expect(visible).toEqual([]);
    // Idempotent: what was masked once has nothing left to mask.
    expect(masker.maskText(masked, {})).toBe(masked);
  });
});
