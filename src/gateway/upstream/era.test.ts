import { describe, expect, test } from 'vitest';
import type { AttemptFailure, AttemptMode, EraSetting } from './era.js';
import { afterFailure, firstAttempt, stdioProbeTimeoutMs } from './era.js';

describe('firstAttempt', () => {
  test.each<[EraSetting, 'legacy' | 'modern' | null, AttemptMode]>([
    ['auto', null, 'auto'],
    ['auto', 'legacy', 'legacy'],
    ['auto', 'modern', 'modern'],
    ['legacy', 'modern', 'legacy'],
    ['modern', 'legacy', 'modern'],
    ['legacy', null, 'legacy'],
    ['modern', null, 'modern'],
  ])('setting %s, remembered %s → %s', (setting, remembered, mode) => {
    expect(firstAttempt(setting, remembered)).toBe(mode);
  });
});

describe('afterFailure: the decision table', () => {
  type Row = [EraSetting, 'stdio' | 'http', AttemptMode, AttemptFailure, number, string];
  test.each<Row>([
    // A legacy stdio server that exits on the probe: one respawn, straight to legacy.
    ['auto', 'stdio', 'auto', 'process_exited', 1, 'retry legacy'],
    // …but never a third process, and never when no probe was sent.
    ['auto', 'stdio', 'auto', 'process_exited', 2, 'fail'],
    ['auto', 'stdio', 'legacy', 'process_exited', 1, 'fail'],
    ['legacy', 'stdio', 'legacy', 'process_exited', 1, 'fail'],
    ['modern', 'stdio', 'modern', 'process_exited', 1, 'fail'],
    // A modern-only server refused a legacy initialize (slow start, probe timed out; or a stale verdict).
    ['auto', 'stdio', 'auto', 'legacy_refused', 1, 'retry modern'],
    ['auto', 'stdio', 'legacy', 'legacy_refused', 1, 'retry modern'],
    ['auto', 'http', 'auto', 'legacy_refused', 1, 'retry modern'],
    ['legacy', 'stdio', 'legacy', 'legacy_refused', 1, 'fail with hint'],
    ['legacy', 'http', 'legacy', 'legacy_refused', 1, 'fail with hint'],
    // HTTP 400/404/405 to a streamable POST: the 2024-11-05 HTTP+SSE fallback.
    ['auto', 'http', 'auto', 'http_rejected', 1, 'retry sse'],
    ['legacy', 'http', 'legacy', 'http_rejected', 1, 'retry sse'],
    ['auto', 'http', 'legacy', 'http_rejected', 1, 'retry sse'],
    ['modern', 'http', 'modern', 'http_rejected', 1, 'fail'],
    ['auto', 'http', 'sse', 'http_rejected', 2, 'fail'],
    ['auto', 'http', 'modern', 'http_rejected', 2, 'fail'],
    // Not an era matter: auth, network, timeouts.
    ['auto', 'http', 'auto', 'other', 1, 'fail'],
    ['auto', 'stdio', 'auto', 'other', 1, 'fail'],
  ])('%s over %s, attempt %s failed with %s (attempt %i) → %s', (s, t, mode, f, n, expected) => {
    const step = afterFailure(s, t, mode, f, n);
    const shown =
      step.kind === 'retry' ? `retry ${step.mode}` : step.hint ? 'fail with hint' : 'fail';
    expect(shown).toBe(expected);
  });
});

describe('stdioProbeTimeoutMs', () => {
  test('half the startup budget, at most 5 s, at least 250 ms', () => {
    expect(stdioProbeTimeoutMs(10_000)).toBe(5000);
    expect(stdioProbeTimeoutMs(60_000)).toBe(5000);
    expect(stdioProbeTimeoutMs(2000)).toBe(1000);
    expect(stdioProbeTimeoutMs(100)).toBe(250);
  });
});
