import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/fixtures.js';
import { GrantVault } from './grant-vault.js';
import { checkAudience } from './login.js';
import { CredentialUnavailable } from './token-endpoint.js';

const META = {
  principal: 'user:alice',
  issuer: 'https://as.example.com',
  resource: 'https://crm.example.com/mcp',
  server: 'crm',
  client_id: 'gatehouse',
  token_endpoint: 'https://as.example.com/token',
};
const TOKENS = {
  access_token: 'at-alice-0123456789',
  refresh_token: 'rt-alice-0123456789',
  token_type: 'Bearer',
  expires_at: 2_000_000_000,
  scope: 'mcp:tools',
};

describe('grant vault', () => {
  it('stores tokens encrypted, the key in its own 0600 file, and lists without tokens', () => {
    const home = tempDir();
    const vault = new GrantVault(home);
    vault.put(META, TOKENS);
    const stored = readFileSync(vault.paths.store, 'utf8');
    expect(stored).not.toContain('at-alice');
    expect(stored).not.toContain('rt-alice');
    expect(statSync(vault.paths.store).mode & 0o777).toBe(0o600);
    expect(statSync(vault.paths.key).mode & 0o777).toBe(0o600);
    expect(vault.paths.key.startsWith(join(home, 'keys'))).toBe(true);
    expect(JSON.stringify(vault.list())).not.toContain('alice-0123');
    expect(vault.tokens(META)).toEqual(TOKENS);
    // Keyed by user AND issuer: another issuer is another grant.
    expect(vault.tokens({ ...META, issuer: 'https://other.example.com' })).toBeNull();
    expect(vault.find('user:bob', META.resource)).toEqual([]);
  });

  it('a record moved to another user, a tampered ciphertext or another key does not decrypt', () => {
    const vault = new GrantVault(tempDir());
    vault.put(META, TOKENS);
    const file = JSON.parse(readFileSync(vault.paths.store, 'utf8'));
    file.grants[0].principal = 'user:mallory';
    writeFileSync(vault.paths.store, JSON.stringify(file), { mode: 0o600 });
    expect(() => vault.tokens({ ...META, principal: 'user:mallory' })).toThrow(
      /does not decrypt .* tampered record/,
    );
    file.grants[0].principal = META.principal;
    const c = Buffer.from(file.grants[0].ciphertext, 'base64');
    c[0] = (c[0] ?? 0) ^ 1;
    file.grants[0].ciphertext = c.toString('base64');
    writeFileSync(vault.paths.store, JSON.stringify(file), { mode: 0o600 });
    expect(() => vault.tokens(META)).toThrow(/does not decrypt/);
  });

  it('refuses a key file others can read', () => {
    const vault = new GrantVault(tempDir());
    vault.put(META, TOKENS);
    chmodSync(vault.paths.key, 0o640);
    expect(() => vault.tokens(META)).toThrow(/chmod 600/);
  });

  it('revoke removes only the matching grants', () => {
    const vault = new GrantVault(tempDir());
    vault.put(META, TOKENS);
    vault.put({ ...META, principal: 'user:bob' }, { ...TOKENS, access_token: 'at-bob' });
    expect(vault.remove((g) => g.principal === 'user:alice')).toHaveLength(1);
    expect(vault.list().map((g) => g.principal)).toEqual(['user:bob']);
  });
});

describe('token audience', () => {
  const jwt = (payload: object) =>
    `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.`;

  it('refuses a JWT issued for another audience; accepts its own and opaque tokens', () => {
    expect(() =>
      checkAudience('crm', jwt({ aud: 'https://other.example.com/mcp' }), META.resource),
    ).toThrow(CredentialUnavailable);
    expect(() =>
      checkAudience('crm', jwt({ aud: 'https://other.example.com/mcp' }), META.resource),
    ).toThrow(
      'a token for another audience (https://other.example.com/mcp), not https://crm.example.com/mcp',
    );
    expect(() => checkAudience('crm', jwt({ aud: [META.resource] }), META.resource)).not.toThrow();
    expect(() => checkAudience('crm', 'opaque-token', META.resource)).not.toThrow();
  });
});
