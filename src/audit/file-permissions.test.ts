import { chmodSync, existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { AuditKeyError, loadOrCreateAuditKeys } from './keys.js';
import { SqliteAuditStore } from './sqlite-store.js';
import { AuditStoreError } from './store.js';
import { cli } from '../../test/support/run-cli.js';

const mode = (f: string) => statSync(f).mode & 0o777;
let umask = 0;
// A permissive umask, as on many desktops: what Gatehouse creates must not depend on it.
beforeEach(() => {
  umask = process.umask(0o002);
});
afterEach(() => {
  process.umask(umask);
});

describe('audit store and keys are the owner\u2019s alone', () => {
  test('a new store is 0600 (with its -wal and -shm) in a 0700 directory it creates', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gh-perm-'));
    const file = join(root, 'nested', 'audit.db');
    const store = SqliteAuditStore.open(file);
    await store.append([]);
    expect(mode(join(root, 'nested'))).toBe(0o700);
    expect(mode(file)).toBe(0o600);
    for (const side of [`${file}-wal`, `${file}-shm`])
      if (existsSync(side)) expect(mode(side)).toBe(0o600);
    store.close();
  });

  test('keys are 0600 in a 0700 directory', () => {
    const home = mkdtempSync(join(tmpdir(), 'gh-perm-'));
    loadOrCreateAuditKeys(home);
    expect(mode(join(home, 'audit'))).toBe(0o700);
    expect(mode(join(home, 'audit', 'signing-key.pem'))).toBe(0o600);
    expect(mode(join(home, 'audit', 'hmac.key'))).toBe(0o600);
  });

  test('a store others can read, or a store in a directory others can write, is refused with the fix', () => {
    const root = mkdtempSync(join(tmpdir(), 'gh-perm-'));
    const file = join(root, 'audit.db');
    SqliteAuditStore.open(file).close();
    chmodSync(file, 0o644);
    expect(() => SqliteAuditStore.open(file)).toThrow(AuditStoreError);
    expect(() => SqliteAuditStore.open(file, { mustExist: true })).toThrow(
      `can be read by other users (mode 0644); Gatehouse refuses to use it. Fix: chmod 600 '${file}'`,
    );
    chmodSync(file, 0o600);
    chmodSync(root, 0o777);
    expect(() => SqliteAuditStore.open(file)).toThrow(`Fix: chmod go-w '${root}'`);
    chmodSync(root, 0o775);
    expect(() => SqliteAuditStore.open(file)).toThrow('can be written by other users (mode 0775)');
    // A directory others may only list (a `~/.gatehouse` made by hand) holds a 0600 store fine.
    chmodSync(root, 0o755);
    SqliteAuditStore.open(file).close();
    chmodSync(root, 0o700);
    SqliteAuditStore.open(file).close();
  });

  test('a key file or key directory others can reach is refused with the fix', () => {
    const home = mkdtempSync(join(tmpdir(), 'gh-perm-'));
    loadOrCreateAuditKeys(home);
    const hmac = join(home, 'audit', 'hmac.key');
    chmodSync(hmac, 0o664);
    expect(() => loadOrCreateAuditKeys(home)).toThrow(AuditKeyError);
    expect(() => loadOrCreateAuditKeys(home)).toThrow(`can be written by other users (mode 0664)`);
    expect(() => loadOrCreateAuditKeys(home)).toThrow(`Fix: chmod 600 '${hmac}'`);
    chmodSync(hmac, 0o600);
    chmodSync(join(home, 'audit'), 0o755);
    expect(() => loadOrCreateAuditKeys(home)).toThrow(`Fix: chmod 700 '${join(home, 'audit')}'`);
  });

  test('the CLI refuses a world-readable store and says how to fix it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'gh-perm-'));
    mkdirSync(join(root, 'home'), { mode: 0o700 });
    const file = join(root, 'audit.db');
    SqliteAuditStore.open(file).close();
    chmodSync(file, 0o644);
    const r = await cli(['--audit', file, 'audit', 'verify']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`chmod 600 '${file}'`);
  });
});
