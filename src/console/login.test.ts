import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ConsoleLogin, cookieValue, LOGIN_LINK_TTL_MS, SESSION_TTL_MS } from './login.js';

describe('console login links and sessions', () => {
  test('a link signs in once; a reused, expired or unknown link is refused and says why', () => {
    let now = 1_000_000;
    const login = new ConsoleLogin(() => now);
    const token = login.issueLink();
    const first = login.exchange(token);
    expect(first.ok).toBe(true);
    const reused = login.exchange(token);
    expect(reused).toMatchObject({ ok: false, message: expect.stringContaining('already used') });
    const late = login.issueLink();
    now += LOGIN_LINK_TTL_MS;
    expect(login.exchange(late)).toMatchObject({
      ok: false,
      message: expect.stringContaining('expired'),
    });
    expect(login.exchange('forged')).toMatchObject({
      ok: false,
      message: expect.stringContaining('not one this console issued'),
    });
  });

  test('a session lasts its lifetime and ends when signed out; CSRF tokens differ per session', () => {
    let now = 0;
    const login = new ConsoleLogin(() => now);
    const a = login.exchange(login.issueLink());
    const b = login.exchange(login.issueLink());
    if (!a.ok || !b.ok) throw new Error('sign-in failed');
    expect(a.session.csrf).not.toBe(b.session.csrf);
    expect(login.session(a.sessionId)).toBe(a.session);
    expect(login.session('made-up')).toBeNull();
    login.end(b.sessionId);
    expect(login.session(b.sessionId)).toBeNull();
    now += SESSION_TTL_MS;
    expect(login.session(a.sessionId)).toBeNull();
  });

  test('cookieValue finds exactly the named cookie among any others', () => {
    const name = fc.stringMatching(/^[a-z_]{1,12}$/);
    const value = fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/);
    fc.assert(
      fc.property(name, value, fc.array(fc.tuple(name, value)), (n, v, others) => {
        const rest = others.filter(([o]) => o !== n);
        const header = [...rest.slice(0, 1), [n, v], ...rest.slice(1)]
          .map(([k, x]) => `${k}=${x}`)
          .join('; ');
        expect(cookieValue(header, n)).toBe(v);
        expect(cookieValue(rest.map(([k, x]) => `${k}=${x}`).join('; '), n)).toBeNull();
      }),
    );
  });
});
