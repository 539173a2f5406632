import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { ClaimExpectation } from './claims.js';
import { checkClaims } from './claims.js';
import {
  bearerChallenge,
  bearerToken,
  parseScopes,
  quoteParam,
  resourceMetadataUrl,
} from './challenge.js';

const NOW = 1_800_000_000;
const EXPECT: ClaimExpectation = {
  issuer: 'https://idp.example.com',
  audience: 'https://gw.example.com/mcp',
  requiredScopes: ['mcp:tools'],
  clockSkewSeconds: 30,
  groupsClaim: 'groups',
};
const GOOD = {
  iss: 'https://idp.example.com',
  aud: 'https://gw.example.com/mcp',
  sub: 'alice',
  exp: NOW + 300,
  iat: NOW - 10,
  scope: 'openid mcp:tools',
  email: 'alice@example.com',
  groups: ['eng'],
};

describe('checkClaims', () => {
  test('a good token: the identity, from sub, email and the groups claim', () => {
    expect(checkClaims(GOOD, EXPECT, NOW, 'oidc')).toEqual({
      ok: true,
      scopes: ['openid', 'mcp:tools'],
      identity: {
        issuer: 'https://idp.example.com',
        subject: 'alice',
        email: 'alice@example.com',
        groups: ['eng'],
        via: 'oidc',
      },
    });
  });

  test.each([
    ['wrong issuer', { iss: 'https://evil.example' }, /issuer/],
    ['no issuer', { iss: undefined }, /issuer is missing/],
    ['wrong audience', { aud: 'https://other.example/mcp' }, /audience/],
    ['audience list without us', { aud: ['a', 'b'] }, /audience/],
    ['no exp', { exp: undefined }, /no expiry/],
    ['exp as a string', { exp: String(NOW + 300) }, /no expiry/],
    ['expired beyond the skew', { exp: NOW - 31 }, /expired/],
    ['exactly at exp minus skew', { exp: NOW - 30 }, /expired/],
    ['nbf beyond the skew', { nbf: NOW + 31 }, /not valid yet/],
    ['malformed nbf', { nbf: 'soon' }, /malformed nbf/],
    ['issued in the future', { iat: NOW + 120 }, /future/],
    ['no subject', { sub: undefined }, /no subject/],
    ['empty subject', { sub: '' }, /no subject/],
  ])('%s → 401 invalid_token', (_what, change, why) => {
    const out = checkClaims({ ...GOOD, ...change }, EXPECT, NOW, 'oidc');
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.refusal.status).toBe(401);
    expect(out.refusal.error).toBe('invalid_token');
    expect(out.refusal.description).toMatch(why);
  });

  test('within the skew: a just-expired or not-quite-valid token is accepted', () => {
    expect(checkClaims({ ...GOOD, exp: NOW - 29 }, EXPECT, NOW, 'oidc').ok).toBe(true);
    expect(checkClaims({ ...GOOD, nbf: NOW + 29 }, EXPECT, NOW, 'oidc').ok).toBe(true);
    expect(checkClaims({ ...GOOD, aud: ['x', EXPECT.audience] }, EXPECT, NOW, 'oidc').ok).toBe(
      true,
    );
  });

  test('a missing scope is 403 insufficient_scope (step-up), not 401', () => {
    const out = checkClaims({ ...GOOD, scope: 'openid' }, EXPECT, NOW, 'oidc');
    expect(out).toMatchObject({ ok: false, refusal: { status: 403, error: 'insufficient_scope' } });
    expect(
      checkClaims({ ...GOOD, scope: undefined, scp: ['mcp:tools'] }, EXPECT, NOW, 'oidc').ok,
    ).toBe(true);
  });

  test('introspection answers without sub use client_id; without a configured issuer iss is not required', () => {
    const out = checkClaims(
      { ...GOOD, sub: undefined, client_id: 'ci', iss: undefined },
      { ...EXPECT, issuer: null },
      NOW,
      'introspection',
    );
    expect(out).toMatchObject({ ok: true, identity: { subject: 'ci', via: 'introspection' } });
  });

  test('property: any time outside [nbf - skew, exp + skew) is refused; inside, accepted', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -10_000, max: 10_000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 300 }),
        (offset, life, skew) => {
          const nbf = NOW;
          const exp = NOW + life;
          const now = NOW + offset;
          const out = checkClaims(
            { ...GOOD, nbf, exp, iat: nbf },
            { ...EXPECT, clockSkewSeconds: skew },
            now,
            'oidc',
          );
          const inside = now + skew >= nbf && now - skew < exp;
          expect(out.ok).toBe(inside);
        },
      ),
    );
  });

  test('property: only a token naming exactly our audience and issuer passes', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (iss, aud) => {
        const out = checkClaims({ ...GOOD, iss, aud }, EXPECT, NOW, 'oidc');
        expect(out.ok).toBe(iss === EXPECT.issuer && aud === EXPECT.audience);
      }),
    );
  });
});

describe('WWW-Authenticate and bearer parsing', () => {
  const META = 'https://gw.example.com/.well-known/oauth-protected-resource/mcp';

  test.each([
    [
      { status: 401, description: 'a bearer token is required' },
      [],
      `Bearer resource_metadata="${META}"`,
    ],
    [
      { status: 401, error: 'invalid_token', description: 'the token has expired' },
      ['mcp:tools'],
      `Bearer resource_metadata="${META}", error="invalid_token", error_description="the token has expired", scope="mcp:tools"`,
    ],
    [
      { status: 403, error: 'insufficient_scope', description: 'lacks "x"' },
      ['a', 'b'],
      `Bearer resource_metadata="${META}", error="insufficient_scope", error_description="lacks \\"x\\"", scope="a b"`,
    ],
    [
      { status: 401, error: 'invalid_request', description: 'bad header' },
      ['a'],
      `Bearer resource_metadata="${META}", error="invalid_request", error_description="bad header"`,
    ],
  ] as const)('%o', (refusal, scopes, header) => {
    expect(bearerChallenge(refusal, META, scopes)).toBe(header);
  });

  test('without identity configured: a realm, no metadata', () => {
    expect(
      bearerChallenge({ status: 401, error: 'invalid_token', description: 'x' }, null, []),
    ).toBe('Bearer realm="gatehouse", error="invalid_token", error_description="x"');
  });

  test('property: a quoted parameter never ends early and holds no control characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (v) => {
        const q = quoteParam(v);
        expect(q.startsWith('"') && q.endsWith('"')).toBe(true);
        const inner = q.slice(1, -1);
        // every quote inside is escaped: removing escaped pairs leaves no bare quote
        expect(inner.replace(/\\./g, '')).not.toMatch(/["\\]/);
        expect(q).not.toMatch(/[\x00-\x1f\x7f]/); // eslint-disable-line no-control-regex
      }),
    );
  });

  test('property: an error_description is always within RFC 6750 characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (d) => {
        const h = bearerChallenge(
          { status: 401, error: 'invalid_token', description: d },
          META,
          [],
        );
        expect(h).toMatch(/^[\x20-\x7e]+$/);
      }),
    );
  });

  test.each([
    [undefined, null],
    ['', null],
    ['Bearer abc.def-ghi_~+/=', 'abc.def-ghi_~+/='],
    ['bearer tok', 'tok'],
    ['Basic dXNlcjpwYXNz', 'malformed'],
    ['Bearer', 'malformed'],
    ['Bearer two tokens', 'malformed'],
    ['Bearer tok"en', 'malformed'],
    [['Bearer a', 'Bearer b'], 'malformed'],
  ])('bearerToken(%j) = %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  test('scope parsing: space-separated or a list; empties dropped', () => {
    expect(parseScopes('a  b c ')).toEqual(['a', 'b', 'c']);
    expect(parseScopes(['a', 1, '', 'b'])).toEqual(['a', 'b']);
    expect(parseScopes(undefined)).toEqual([]);
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[!#-[\]-~]+$/)), (scopes) => {
        expect(parseScopes(scopes.join(' '))).toEqual(scopes);
      }),
    );
  });

  test('RFC 9728 well-known URL: path form, root form', () => {
    expect(resourceMetadataUrl('https://gw.example.com/mcp')).toBe(META);
    expect(resourceMetadataUrl('https://gw.example.com/')).toBe(
      'https://gw.example.com/.well-known/oauth-protected-resource',
    );
    expect(resourceMetadataUrl('http://127.0.0.1:8080/team/mcp/')).toBe(
      'http://127.0.0.1:8080/.well-known/oauth-protected-resource/team/mcp',
    );
  });
});
