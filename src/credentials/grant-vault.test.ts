import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
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

describe('grant vault shared by several processes', () => {
  it('keeps every grant when processes store at the same time, all under one key', async () => {
    // Each process stores its own principal's grants repeatedly; without a lock the later
    // rename dropped the others' grants, and two processes creating the key wrote two keys.
    const home = tempDir();
    const vaultModule = pathToFileURL(join(process.cwd(), 'dist/credentials/grant-vault.js')).href;
    const script = `
      const { GrantVault } = await import(${JSON.stringify(vaultModule)});
      const [home, who] = process.argv.slice(1);
      const vault = new GrantVault(home);
      for (let i = 0; i < 25; i++)
        vault.put({ ...${JSON.stringify(META)}, principal: 'user:' + who, resource: 'https://r' + i + '.example.com/mcp' },
          { ...${JSON.stringify(TOKENS)}, access_token: 'at-' + who + '-' + i });
    `;
    const workers = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5'];
    const exits = await Promise.all(
      workers.map(
        (who) =>
          new Promise<number | null>((resolve) => {
            const child = spawn(
              process.execPath,
              ['--input-type=module', '-e', script, home, who],
              {
                stdio: ['ignore', 'ignore', 'inherit'],
              },
            );
            child.on('exit', (code) => resolve(code));
          }),
      ),
    );
    expect(exits).toEqual(workers.map(() => 0));
    const vault = new GrantVault(home);
    expect(vault.list()).toHaveLength(workers.length * 25);
    for (const who of workers)
      expect(
        vault.tokens({ ...META, principal: `user:${who}`, resource: 'https://r7.example.com/mcp' })
          ?.access_token,
      ).toBe(`at-${who}-7`);
    expect(existsSync(`${vault.paths.store}.lock`)).toBe(false);
  }, 60_000);
});
