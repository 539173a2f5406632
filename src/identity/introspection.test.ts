import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TestProvider } from '../../test/support/oidc.js';
import { GATEWAY_CLIENT, startTestProvider } from '../../test/support/oidc.js';
import type { ClaimExpectation } from './claims.js';
import { introspector } from './introspection.js';

/** The real `oidc-provider` introspection and revocation endpoints; only the gateway's clock is moved. */
let provider: TestProvider;
beforeAll(async () => {
  provider = await startTestProvider({});
});
afterAll(() => provider.close());

const RESOURCE = 'https://gatehouse.team.test/mcp';
const expectation: ClaimExpectation = {
  issuer: null,
  audience: RESOURCE,
  requiredScopes: ['mcp:tools'],
  clockSkewSeconds: 30,
  groupsClaim: 'groups',
};

function gateway(cacheSeconds: number, clock: { ms: number }) {
  return introspector({
    endpoint: `${provider.issuer}/token/introspection`,
    clientId: GATEWAY_CLIENT.id,
    clientSecret: GATEWAY_CLIENT.secret,
    fallbackIssuer: provider.issuer,
    cacheSeconds,
    now: () => clock.ms,
  });
}
const opaqueToken = () => provider.token('opaque', { resource: RESOURCE, scope: 'mcp:tools' });
const verdict = (c: Awaited<ReturnType<ReturnType<typeof gateway>>>) =>
  c.ok ? 'accepted' : c.refusal.description;

describe('introspection answers are cached for a short, bounded time', () => {
  test('a revoked token is accepted from the cache for at most cache_seconds, then refused', async () => {
    const clock = { ms: Date.now() };
    const introspect = gateway(20, clock);
    const token = await opaqueToken();
    expect(verdict(await introspect(token, expectation))).toBe('accepted');
    await provider.revoke('opaque', token);
    // Without a cache the endpoint would now say "not active": the answer came from the cache.
    clock.ms += 19_000;
    expect(verdict(await introspect(token, expectation))).toBe('accepted');
    clock.ms += 1_000;
    expect(verdict(await introspect(token, expectation))).toBe('the token is not active');
  });

  test('an entry never outlives the token exp, even where the clock skew would still accept it', async () => {
    const token = await opaqueToken();
    const expiry = (await (
      await fetch(`${provider.issuer}/token/introspection`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${GATEWAY_CLIENT.id}:${GATEWAY_CLIENT.secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token }),
      })
    ).json()) as { exp: number };
    const clock = { ms: expiry.exp * 1000 - 5_000 };
    const introspect = gateway(300, clock);
    expect(verdict(await introspect(token, expectation))).toBe('accepted');
    await provider.revoke('opaque', token);
    clock.ms += 4_000; // 1 s before exp: still the cached answer
    expect(verdict(await introspect(token, expectation))).toBe('accepted');
    clock.ms += 2_000; // 1 s past exp: within the 30 s skew, but the entry is gone; the endpoint says no
    expect(verdict(await introspect(token, expectation))).toBe('the token is not active');
  });

  test('cache_seconds = 0 asks the endpoint every time; other audiences and unknown tokens stay refused', async () => {
    const clock = { ms: Date.now() };
    const uncached = gateway(0, clock);
    const token = await opaqueToken();
    expect(verdict(await uncached(token, expectation))).toBe('accepted');
    await provider.revoke('opaque', token);
    expect(verdict(await uncached(token, expectation))).toBe('the token is not active');

    const cached = gateway(60, clock);
    const wrongAudience = await provider.token('opaque', {
      resource: 'https://elsewhere.test/mcp',
      scope: 'mcp:tools',
    });
    for (let i = 0; i < 2; i++)
      expect(verdict(await cached(wrongAudience, expectation))).toContain('not for this gateway');
    expect(verdict(await cached('made-up-token', expectation))).toBe('the token is not active');
  });
});
