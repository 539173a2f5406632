import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { tempDir } from '../../test/support/fixtures.js';
import { isPersonPrincipal } from '../pipeline/stages/approval.js';
import { principalOf } from './identity.js';
import type { ServiceTokenEntry } from './service-tokens.js';
import {
  cachedServiceTokens,
  hashServiceToken,
  matchServiceToken,
  mintServiceToken,
  readServiceTokens,
  serviceTokenFieldProblem,
  writeServiceTokens,
} from './service-tokens.js';

const entry = (name: string, token: string, revoked: string | null = null): ServiceTokenEntry => ({
  name,
  subject: `bot:${name}`,
  groups: ['ci'],
  sha256: hashServiceToken(token),
  created_at: '2026-01-01T00:00:00.000Z',
  revoked_at: revoked,
});

describe('service tokens', () => {
  test('minted tokens are distinct, prefixed, 256-bit', () => {
    const a = mintServiceToken();
    expect(a).toMatch(/^ghst_[A-Za-z0-9_-]{43}$/);
    expect(mintServiceToken()).not.toBe(a);
  });

  test('a token matches only its own active entry; a revoked one never', () => {
    const t1 = mintServiceToken();
    const t2 = mintServiceToken();
    const entries = [entry('one', t1), entry('two', t2, '2026-01-02T00:00:00.000Z')];
    expect(matchServiceToken(entries, t1)).toEqual({
      issuer: 'gatehouse:service-tokens',
      subject: 'bot:one',
      email: null,
      groups: ['ci'],
      via: 'service-token',
    });
    expect(matchServiceToken(entries, t2)).toBeNull();
    fc.assert(
      fc.property(fc.string(), (other) => {
        fc.pre(other !== t1);
        expect(matchServiceToken(entries, other)).toBeNull();
      }),
    );
  });

  test('the store holds hashes only, 0600; a file others may write is refused', () => {
    const path = join(tempDir(), 'store', 'tokens.json');
    const token = mintServiceToken();
    writeServiceTokens(path, [entry('ci', token)]);
    expect(readFileSync(path, 'utf8')).not.toContain(token);
    expect(readServiceTokens(path)[0]?.name).toBe('ci');
    chmodSync(path, 0o666);
    expect(() => readServiceTokens(path)).toThrow(/writable by other users.*chmod 600/);
    chmodSync(path, 0o600);
    writeFileSync(path, '{"version":1,"tokens":[{"name":"x"}]}', { mode: 0o600 });
    expect(() => readServiceTokens(path)).toThrow(/tokens\[0\] is malformed/);
    writeFileSync(path, 'nope', { mode: 0o600 });
    expect(() => readServiceTokens(path)).toThrow(/not valid JSON/);
  });

  test('the cached reader sees a revocation written after it first read', () => {
    const path = join(tempDir(), 'tokens.json');
    const token = mintServiceToken();
    writeServiceTokens(path, [entry('ci', token)]);
    const read = cachedServiceTokens(path);
    expect(matchServiceToken(read(), token)).not.toBeNull();
    writeServiceTokens(path, [entry('ci', token, '2026-01-02T00:00:00.000Z')]);
    expect(matchServiceToken(read(), token)).toBeNull();
  });

  test('field rules', () => {
    expect(serviceTokenFieldProblem('name', 'ci-bot.1')).toBeNull();
    expect(serviceTokenFieldProblem('name', 'has space')).toMatch(/letters/);
    expect(serviceTokenFieldProblem('subject', 'bot:ci')).toBeNull();
    expect(serviceTokenFieldProblem('group', '')).toMatch(/visible ASCII/);
  });

  test('principals: people from the identity provider are persons; bots and the shared token are not', () => {
    const base = { issuer: 'i', email: null, groups: [] };
    expect(principalOf({ ...base, subject: 'alice', via: 'oidc' })).toBe('user:alice');
    expect(principalOf({ ...base, subject: 'alice', via: 'introspection' })).toBe('user:alice');
    expect(principalOf({ ...base, subject: 'bot:ci', via: 'service-token' })).toBe(
      'service:bot:ci',
    );
    expect(principalOf({ ...base, subject: 'token:abc', via: 'shared-token' })).toBe('token:abc');
    expect(isPersonPrincipal('user:alice')).toBe(true);
    expect(isPersonPrincipal('os:alice')).toBe(true);
    expect(isPersonPrincipal('service:bot:ci')).toBe(false);
    expect(isPersonPrincipal('token:abc')).toBe(false);
  });
});
