import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { keyFingerprint, publicKeyText } from './signed-grant.js';

/** An approver key file cannot be written or used: says which file, why, and the fix. */
export class ApproverKeyError extends Error {}

/** Where `approvals keygen` writes by default: `$GATEHOUSE_HOME/approver/approver-key.pem`. */
export function defaultApproverKeyFile(home: string): string {
  return join(home, 'approver', 'approver-key.pem');
}

function ownerUid(): number | null {
  return typeof process.getuid === 'function' ? process.getuid() : null;
}

/**
 * Creates an Ed25519 approver key: the private key in `file` (mode 0600, never overwritten) in
 * a directory of mode 0700 (created, or refused when it exists and others can enter it).
 * Returns the public key line an admin pastes into `[gatehouse_approvals] approvers`.
 */
export function writeApproverKey(file: string): { publicKey: string; fingerprint: string } {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const d = statSync(dir);
  if ((d.mode & 0o077) !== 0)
    throw new ApproverKeyError(
      `${dir}: the directory for an approver key must be private (mode 0700, it is ${(d.mode & 0o777).toString(8)}); run \`chmod 700 ${dir}\` or choose another --out`,
    );
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new ApproverKeyError(
        `${file} already exists; an approver key is never overwritten (move it away first, or choose another --out)`,
      );
    throw new ApproverKeyError(`${file}: cannot create it (${(err as Error).message})`);
  }
  try {
    writeSync(fd, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  } finally {
    closeSync(fd);
  }
  return { publicKey: publicKeyText(publicKey), fingerprint: keyFingerprint(publicKey) };
}

/**
 * Loads an approver's private key, refusing a file (or directory) anyone else can read or
 * write, or that belongs to another user: a key others can read proves nothing about who signed.
 */
export function readApproverKey(file: string): {
  privateKey: KeyObject;
  publicKey: KeyObject;
  fingerprint: string;
} {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new ApproverKeyError(
      `${file}: cannot read the approver key (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); create one with \`gatehouse approvals keygen\``,
    );
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ApproverKeyError(`${file}: not a regular file`);
    const uid = ownerUid();
    if (uid !== null && st.uid !== uid)
      throw new ApproverKeyError(
        `${file} belongs to uid ${st.uid}, not to you (uid ${uid}): an approver signs only with their own key`,
      );
    if ((st.mode & 0o077) !== 0)
      throw new ApproverKeyError(
        `${file} is readable or writable by others (mode ${(st.mode & 0o777).toString(8)}); run \`chmod 600 ${file}\`, and since others may have copied it, make a new key and have the admin replace the listed one`,
      );
    const d = statSync(dirname(file));
    if ((d.mode & 0o022) !== 0)
      throw new ApproverKeyError(
        `${dirname(file)} is writable by others (mode ${(d.mode & 0o777).toString(8)}), so the key in it could be swapped; run \`chmod 700 ${dirname(file)}\``,
      );
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(text);
  } catch (err) {
    throw new ApproverKeyError(
      `${file}: not a PEM private key (${(err as Error).message}); use the file \`gatehouse approvals keygen\` wrote`,
    );
  }
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new ApproverKeyError(
      `${file}: a ${privateKey.asymmetricKeyType ?? 'unknown'} key; approver keys are Ed25519 (\`gatehouse approvals keygen\`)`,
    );
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, fingerprint: keyFingerprint(publicKey) };
}
