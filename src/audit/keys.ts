import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyId } from './checkpoint.js';
import { checkPrivateDir, checkPrivateFile, UnsafePermissionsError } from './file-permissions.js';

/** Where the audit keys live: `$GATEHOUSE_HOME/audit/`. */
export function auditKeyDir(home: string): string {
  return join(home, 'audit');
}

export interface AuditKeys {
  signing: KeyObject;
  publicKey: KeyObject;
  keyId: string;
  /** Key for the HMACs of raw arguments and results. */
  hmac: Buffer;
}

/** A key file is unusable: names the file and how to fix it. */
export class AuditKeyError extends Error {}

function writeSecret(file: string, data: string): void {
  writeFileSync(file, data, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
}

/** The key directory and the secret key files must be the owner's alone (see file-permissions). */
function checkKeyFiles(dir: string, files: readonly string[]): void {
  try {
    checkPrivateDir(dir, 'the audit key directory');
    for (const f of files) checkPrivateFile(f, 'the audit key');
  } catch (err) {
    if (err instanceof UnsafePermissionsError) throw new AuditKeyError(err.message);
    throw err;
  }
}

/**
 * Loads the signing and HMAC keys, generating them on first use (mode 0600). The public key is
 * written beside them so it can be handed to an auditor (`gatehouse audit key`).
 */
export function loadOrCreateAuditKeys(home: string): AuditKeys {
  const dir = auditKeyDir(home);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const signingFile = join(dir, 'signing-key.pem');
  const hmacFile = join(dir, 'hmac.key');
  checkKeyFiles(
    dir,
    [signingFile, hmacFile].filter((f) => existsSync(f)),
  );
  if (!existsSync(signingFile)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    try {
      writeSecret(signingFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process won
    }
  }
  if (!existsSync(hmacFile)) {
    try {
      writeSecret(hmacFile, `${randomBytes(32).toString('base64')}\n`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  checkKeyFiles(dir, [signingFile, hmacFile]);
  let signing: KeyObject;
  try {
    signing = createPrivateKey(readFileSync(signingFile));
    if (signing.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
  } catch (err) {
    throw new AuditKeyError(
      `${signingFile}: not a usable Ed25519 private key (${(err as Error).message}); restore it from a backup, or move it away to start a new key (checkpoints signed by the old key then need its public key: --public-key)`,
    );
  }
  const hmac = Buffer.from(readFileSync(hmacFile, 'utf8').trim(), 'base64');
  if (hmac.length < 32) {
    throw new AuditKeyError(
      `${hmacFile}: expected a base64 key of 32 bytes; restore it from a backup (argument hashes made with another key cannot be compared)`,
    );
  }
  const publicKey = createPublicKey(signing);
  const publicFile = join(dir, 'signing-key.pub.pem');
  if (!existsSync(publicFile)) {
    writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }).toString());
  }
  return { signing, publicKey, keyId: keyId(publicKey), hmac };
}

/** This machine's public key, if it has one (verification never creates keys). */
export function readOwnPublicKey(home: string): KeyObject | null {
  const file = join(auditKeyDir(home), 'signing-key.pem');
  if (!existsSync(file)) return null;
  try {
    return createPublicKey(createPrivateKey(readFileSync(file)));
  } catch {
    return null;
  }
}

/** Reads a public key an auditor was given (PEM, SPKI). */
export function readPublicKeyFile(file: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(readFileSync(file));
  } catch (err) {
    throw new AuditKeyError(
      `${file}: not a PEM public key (${(err as Error).message}); export one with \`gatehouse audit key\``,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new AuditKeyError(
      `${file}: an ${key.asymmetricKeyType} key; audit checkpoints are Ed25519`,
    );
  return key;
}
