import { describe, expect, test } from 'vitest';
import { SessionRegistry } from './session-registry.js';

const limits = { maxSessionsPerUser: 2, maxProcessesPerUser: 5, idleMs: 1000 };

describe('SessionRegistry', () => {
  test('sessions per user: the limit counts sessions still starting; other users are separate', () => {
    const r = new SessionRegistry<string>(limits);
    expect(r.admit('alice', 1)).toEqual({ ok: true });
    r.register('a1', 'x', 'alice', 1);
    expect(r.admit('alice', 1)).toEqual({ ok: true }); // pending, not yet registered
    const refused = r.admit('alice', 1);
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.message).toContain('alice already holds 2');
      expect(refused.message).toContain('max_sessions_per_user = 2');
    }
    expect(r.admit('bob', 1)).toEqual({ ok: true });
    r.release('alice', 1); // the pending one failed to start
    expect(r.admit('alice', 1)).toEqual({ ok: true });
  });

  test('processes per user: a session that would go over is refused, naming the setting', () => {
    const r = new SessionRegistry<string>(limits);
    expect(r.admit('alice', 3)).toEqual({ ok: true });
    r.register('a1', 'x', 'alice', 3);
    const refused = r.admit('alice', 3);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.message).toContain('max_processes_per_user = 5');
    r.remove('a1');
    expect(r.admit('alice', 3)).toEqual({ ok: true });
  });

  test('idle: only sessions unused past the limit with nothing in flight', () => {
    let now = 0;
    const r = new SessionRegistry<string>(limits, () => now);
    r.register('a', 'x', 'u', 0);
    r.register('b', 'y', 'u', 0);
    const done = r.use('b'); // a long call in flight on b
    now = 5000;
    expect(r.idle()).toEqual(['a']);
    done();
    expect(r.idle()).toEqual(['a']); // b was just used
    now = 6001;
    expect(r.idle()).toEqual(['a', 'b']);
  });
});
