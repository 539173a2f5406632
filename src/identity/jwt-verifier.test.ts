import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { JWK } from 'jose';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, describe, expect, test } from 'vitest';
import type { ClaimExpectation } from './claims.js';
import { jwtVerifier } from './jwt-verifier.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A JWKS endpoint on 127.0.0.1 whose key list the test changes (a key rotation), counting fetches. */
async function jwksServer() {
  const state = { keys: [] as JWK[], fetches: 0 };
  const server = createServer((_req, res) => {
    state.fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { state, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/jwks` };
}

async function key(kid: string) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } };
}

const ISSUER = 'https://idp.example.com';
const EXPECT: ClaimExpectation = {
  issuer: ISSUER,
  audience: 'https://gw.example.com/mcp',
  requiredScopes: [],
  clockSkewSeconds: 5,
  groupsClaim: 'groups',
};

async function token(k: Awaited<ReturnType<typeof key>>) {
  return new SignJWT({ sub: 'alice', scope: 'mcp:tools' })
    .setProtectedHeader({ alg: 'ES256', kid: k.jwk.kid })
    .setIssuer(ISSUER)
    .setAudience(EXPECT.audience)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(k.privateKey);
}

describe('jwtVerifier: the JWKS is cached and fetched again for an unknown kid', () => {
  test('a rotated-in key is found by fetching again; a known key does not refetch', async () => {
    const jwks = await jwksServer();
    const k1 = await key('k1');
    const k2 = await key('k2');
    jwks.state.keys = [k1.jwk];
    const verify = jwtVerifier({
      issuer: ISSUER,
      jwksUrl: jwks.url,
      algorithms: ['ES256'],
      cooldownSeconds: 0,
    });
    expect((await verify(await token(k1), EXPECT)).ok).toBe(true);
    expect((await verify(await token(k1), EXPECT)).ok).toBe(true);
    expect(jwks.state.fetches).toBe(1); // cached
    jwks.state.keys = [k1.jwk, k2.jwk]; // the issuer rotates a key in
    expect(await verify(await token(k2), EXPECT)).toMatchObject({
      ok: true,
      identity: { subject: 'alice' },
    });
    expect(jwks.state.fetches).toBe(2);
  });

  test('a kid the issuer never published is refused after one refetch', async () => {
    const jwks = await jwksServer();
    const k1 = await key('k1');
    const stranger = await key('k9');
    jwks.state.keys = [k1.jwk];
    const verify = jwtVerifier({
      issuer: ISSUER,
      jwksUrl: jwks.url,
      algorithms: ['ES256'],
      cooldownSeconds: 0,
    });
    const out = await verify(await token(stranger), EXPECT);
    expect(out).toMatchObject({ ok: false, refusal: { status: 401, error: 'invalid_token' } });
    if (!out.ok) expect(out.refusal.description).toMatch(/kid/);
  });

  test('an algorithm outside the allow-list is refused even with a valid signature', async () => {
    const jwks = await jwksServer();
    const k1 = await key('k1');
    jwks.state.keys = [k1.jwk];
    const verify = jwtVerifier({
      issuer: ISSUER,
      jwksUrl: jwks.url,
      algorithms: ['RS256'],
      cooldownSeconds: 0,
    });
    const out = await verify(await token(k1), EXPECT);
    expect(out.ok).toBe(false);
    if (!out.ok) expect(out.refusal.description).toMatch(/algorithm/);
  });

  test('discovery: the JWKS URL comes from the issuer document only when it names the same issuer', async () => {
    const jwks = await jwksServer();
    const k1 = await key('k1');
    jwks.state.keys = [k1.jwk];
    let named = '';
    const disc = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: named, jwks_uri: jwks.url }));
    });
    servers.push(disc);
    await new Promise<void>((resolve) => disc.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(disc.address() as { port: number }).port}`;
    const expect2 = { ...EXPECT, issuer };
    const signed = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience(EXPECT.audience)
      .setExpirationTime('5m')
      .sign(k1.privateKey);
    named = 'https://someone-else.example';
    const verify = jwtVerifier({
      issuer,
      jwksUrl: null,
      algorithms: ['ES256'],
      cooldownSeconds: 0,
    });
    const refused = await verify(signed, expect2);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.refusal.description).toMatch(/names another issuer/);
    named = issuer; // discovery is retried after a failure
    expect((await verify(signed, expect2)).ok).toBe(true);
  });
});
