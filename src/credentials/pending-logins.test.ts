import { describe, expect, it } from 'vitest';
import type { PendingLogin } from './login.js';
import { PENDING_LOGIN_TTL_MS, PENDING_PER_PRINCIPAL, PendingLogins } from './pending-logins.js';

function login(principal: string, state: string): PendingLogin {
  return {
    server: 'crm',
    principal,
    state,
    codeVerifier: `verifier-${state}`,
    redirectUrl: 'https://gw.example.com/oauth/callback',
    resource: 'https://crm.example.com/mcp',
    clientId: 'gatehouse',
    discovered: {} as PendingLogin['discovered'],
  };
}

describe('pending upstream logins', () => {
  it('gives a state back once: a replayed redirect finds nothing', () => {
    const pending = new PendingLogins();
    pending.add(login('user:alice', 's1'));
    expect(pending.take('s1')?.principal).toBe('user:alice');
    expect(pending.take('s1')).toBeNull();
    expect(pending.take('forged')).toBeNull();
  });

  it('forgets a login after ten minutes', () => {
    let now = 1_000_000;
    const pending = new PendingLogins(() => now);
    expect(pending.add(login('user:alice', 's1'))).toBe(now + PENDING_LOGIN_TTL_MS);
    now += PENDING_LOGIN_TTL_MS;
    expect(pending.take('s1')).toBeNull();
  });

  it('holds a few per principal, pushing out the oldest; other principals are untouched', () => {
    const pending = new PendingLogins();
    pending.add(login('user:bob', 'b1'));
    for (let i = 0; i < PENDING_PER_PRINCIPAL + 3; i++) pending.add(login('user:alice', `a${i}`));
    expect(pending.size).toBe(PENDING_PER_PRINCIPAL + 1);
    expect(pending.take('a0')).toBeNull();
    expect(pending.take(`a${PENDING_PER_PRINCIPAL + 2}`)).not.toBeNull();
    expect(pending.take('b1')?.principal).toBe('user:bob');
  });
});
