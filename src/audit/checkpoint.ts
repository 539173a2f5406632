import { createHash, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { ChainHead } from './chain.js';

/**
 * A signed statement "the chain of store S had N records and record N's hash was H at time T",
 * in the shape of a C2SP signed note: a text body and a signature line. Anyone holding the
 * public key can check it; anyone without the private key cannot forge one, so a rewrite of the
 * records it covers is detected even by a writer who recomputes every hash.
 */
export interface Checkpoint extends ChainHead {
  ts: string;
  /** First 16 hex digits of SHA-256 over the public key (SPKI DER). */
  key_id: string;
  /** Base64 Ed25519 signature over `checkpointNote(...)`. */
  signature: string;
}

export const CHECKPOINT_ORIGIN = 'gatehouse-audit';

/** The signed text: origin with the store's id, size, hash, time (one per line). */
export function checkpointNote(storeId: string, cp: ChainHead & { ts: string }): string {
  return `${CHECKPOINT_ORIGIN}/${storeId}\n${cp.seq}\n${cp.hash}\n${cp.ts}\n`;
}

export function keyId(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/** Signs the head of a store's chain. */
export function signCheckpoint(
  storeId: string,
  head: ChainHead,
  privateKey: KeyObject,
  ts: string = new Date().toISOString(),
): Checkpoint {
  const note = checkpointNote(storeId, { ...head, ts });
  return {
    ...head,
    ts,
    key_id: keyId(createPublicKey(privateKey)),
    signature: sign(null, Buffer.from(note), privateKey).toString('base64'),
  };
}

/** 'ok', or why the checkpoint cannot be trusted. */
export function checkCheckpointSignature(
  storeId: string,
  cp: Checkpoint,
  trusted: ReadonlyMap<string, KeyObject>,
): 'ok' | 'untrusted_key' | 'bad_signature' {
  const key = trusted.get(cp.key_id);
  if (!key) return 'untrusted_key';
  let good = false;
  try {
    good = verify(
      null,
      Buffer.from(checkpointNote(storeId, cp)),
      key,
      Buffer.from(cp.signature, 'base64'),
    );
  } catch {
    good = false;
  }
  return good ? 'ok' : 'bad_signature';
}
