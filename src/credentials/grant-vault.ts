import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkPrivateFile,
  createPrivateFile,
  ensurePrivateDir,
} from '../audit/file-permissions.js';
import { withFileLock } from './file-lock.js';

/** What an authorization server granted one principal for one upstream (secret: encrypted at rest). */
export interface GrantTokens {
  access_token: string;
  refresh_token: string | null;
  token_type: string;
  /** Unix seconds; null when the AS did not say. */
  expires_at: number | null;
  scope: string | null;
}

/** Who a grant is for and where it is valid: the vault's key (user AND issuer AND resource). */
export interface GrantKey {
  principal: string;
  issuer: string;
  resource: string;
}

/** A stored grant as listed: everything but the tokens. */
export interface GrantSummary extends GrantKey {
  server: string;
  client_id: string;
  token_endpoint: string;
  created_at: string;
  updated_at: string;
  expires_at: number | null;
  has_refresh_token: boolean;
}

interface StoredGrant extends GrantSummary {
  /** AES-256-GCM over the tokens' JSON; the key triple is the additional data. */
  iv: string;
  tag: string;
  ciphertext: string;
}

interface VaultFile {
  format: 'gatehouse-grants/1';
  grants: StoredGrant[];
}

export class VaultError extends Error {}

const aad = (k: GrantKey) => Buffer.from(`${k.principal}\0${k.issuer}\0${k.resource}`, 'utf8');
const same = (a: GrantKey, b: GrantKey) =>
  a.principal === b.principal && a.issuer === b.issuer && a.resource === b.resource;

/**
 * Per-user upstream OAuth grants, encrypted at rest. The store (`credentials/grants.json`) and
 * its key (`keys/credentials.key`, 32 random bytes) are separate 0600 files in 0700 directories,
 * so a copied store is useless without the key; each record's ciphertext is bound to its
 * principal, issuer and resource (GCM additional data), so moving a record to another user's
 * key fails to decrypt instead of handing them the token.
 */
export class GrantVault {
  private readonly storeFile: string;
  private readonly keyFile: string;

  constructor(home: string) {
    this.storeFile = join(home, 'credentials', 'grants.json');
    this.keyFile = join(home, 'keys', 'credentials.key');
  }

  /** Where the vault and its key live (for messages and docs; no secret). */
  get paths(): { store: string; key: string } {
    return { store: this.storeFile, key: this.keyFile };
  }

  private key(create: boolean): Buffer | null {
    if (!existsSync(this.keyFile)) {
      if (!create) return null;
      ensurePrivateDir(join(this.keyFile, '..'), 'key directory');
      // Whole or not at all, and never replaced: a key written in place could be read half
      // written, or overwritten by a second process after the first encrypted a grant with it.
      const tmp = `${this.keyFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      createPrivateFile(tmp);
      writeFileSync(tmp, randomBytes(32), { mode: 0o600 });
      try {
        linkSync(tmp, this.keyFile);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        rmSync(tmp, { force: true });
      }
    }
    checkPrivateFile(this.keyFile, 'credentials key file');
    const key = readFileSync(this.keyFile);
    if (key.length !== 32)
      throw new VaultError(
        `credentials key file ${this.keyFile} is not a 32-byte key; restore it from backup (or remove it and the vault ${this.storeFile}, then log in again)`,
      );
    return key;
  }

  private read(): VaultFile {
    if (!existsSync(this.storeFile)) return { format: 'gatehouse-grants/1', grants: [] };
    checkPrivateFile(this.storeFile, 'credentials vault');
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.storeFile, 'utf8'));
    } catch {
      throw new VaultError(`credentials vault ${this.storeFile} is not valid JSON`);
    }
    const file = parsed as VaultFile;
    if (file?.format !== 'gatehouse-grants/1' || !Array.isArray(file.grants))
      throw new VaultError(
        `credentials vault ${this.storeFile} is not a Gatehouse grants file (format gatehouse-grants/1)`,
      );
    return file;
  }

  /**
   * One read-modify-write at a time across processes (`serve` refreshing a token while `login`
   * stores another): without it the later rename drops the other's grant.
   */
  private update<T>(change: (file: VaultFile) => T): T {
    ensurePrivateDir(join(this.storeFile, '..'), 'credentials directory');
    return withFileLock(`${this.storeFile}.lock`, () => change(this.read()));
  }

  private write(file: VaultFile): void {
    const tmp = `${this.storeFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, this.storeFile);
  }

  /** Every grant, without tokens. */
  list(): GrantSummary[] {
    return this.read().grants.map(({ iv: _iv, tag: _tag, ciphertext: _c, ...summary }) => summary);
  }

  /** Grants of one principal for one resource (any issuer), newest first. */
  find(principal: string, resource: string): GrantSummary[] {
    return this.list()
      .filter((g) => g.principal === principal && g.resource === resource)
      .sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
  }

  /** The tokens of one grant, or null when there is none. */
  tokens(key: GrantKey): GrantTokens | null {
    const grant = this.read().grants.find((g) => same(g, key));
    if (!grant) return null;
    const k = this.key(false);
    if (!k)
      throw new VaultError(
        `credentials key file ${this.keyFile} is missing, so stored grants cannot be read; log in again (gatehouse login ${grant.server})`,
      );
    try {
      const decipher = createDecipheriv('aes-256-gcm', k, Buffer.from(grant.iv, 'base64'));
      decipher.setAAD(aad(key));
      decipher.setAuthTag(Buffer.from(grant.tag, 'base64'));
      const plain = Buffer.concat([
        decipher.update(Buffer.from(grant.ciphertext, 'base64')),
        decipher.final(),
      ]);
      return JSON.parse(plain.toString('utf8')) as GrantTokens;
    } catch {
      throw new VaultError(
        `the stored grant of ${key.principal} for ${grant.server} does not decrypt with ${this.keyFile} (changed key or tampered record); revoke it and log in again`,
      );
    }
  }

  /** Stores (or replaces) a grant, encrypting its tokens. */
  put(
    meta: Omit<GrantSummary, 'created_at' | 'updated_at' | 'has_refresh_token' | 'expires_at'>,
    tokens: GrantTokens,
  ): void {
    const k = this.key(true) as Buffer;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', k, iv);
    cipher.setAAD(aad(meta));
    const ciphertext = Buffer.concat([
      cipher.update(JSON.stringify(tokens), 'utf8'),
      cipher.final(),
    ]);
    this.update((file) => {
      const now = new Date().toISOString();
      const old = file.grants.find((g) => same(g, meta));
      const stored: StoredGrant = {
        ...meta,
        created_at: old?.created_at ?? now,
        updated_at: now,
        expires_at: tokens.expires_at,
        has_refresh_token: tokens.refresh_token !== null,
        iv: iv.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
        ciphertext: ciphertext.toString('base64'),
      };
      file.grants = [...file.grants.filter((g) => !same(g, meta)), stored];
      this.write(file);
    });
  }

  /** Removes matching grants; returns what was removed. */
  remove(match: (g: GrantSummary) => boolean): GrantSummary[] {
    return this.update((file) => {
      const removed = file.grants.filter(match);
      if (removed.length === 0) return [];
      file.grants = file.grants.filter((g) => !match(g));
      this.write(file);
      return removed.map(({ iv: _iv, tag: _tag, ciphertext: _c, ...s }) => s);
    });
  }
}
