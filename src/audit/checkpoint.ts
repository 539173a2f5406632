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
  /**
   * Format 2 only: the checkpoint's place in the store's chain of checkpoints (1, 2, 3, …), the
   * hash of the checkpoint before it (`checkpointHash`; zeros for the first) and why it was
   * signed. All three are signed, so deleting a checkpoint in the middle breaks the chain of
   * checkpoints, and only a `prune` checkpoint can justify records missing at the start.
   */
  index?: number;
  prev_checkpoint?: string;
  purpose?: CheckpointPurpose;
}

/** Why a format-2 checkpoint was signed. */
export type CheckpointPurpose = 'periodic' | 'shutdown' | 'prune';

export const CHECKPOINT_ORIGIN = 'gatehouse-audit';

/** The `prev_checkpoint` of a store's first checkpoint. */
export const NO_CHECKPOINT = '0'.repeat(64);

/** The signed text: origin with the store's id, size, hash, time (one per line); v2 adds its chain. */
export function checkpointNote(
  storeId: string,
  cp: ChainHead & { ts: string } & Pick<Checkpoint, 'index' | 'prev_checkpoint' | 'purpose'>,
): string {
  if (cp.index === undefined)
    return `${CHECKPOINT_ORIGIN}/${storeId}\n${cp.seq}\n${cp.hash}\n${cp.ts}\n`;
  return `${CHECKPOINT_ORIGIN}/v2/${storeId}\n${cp.seq}\n${cp.hash}\n${cp.ts}\ncheckpoint ${cp.index} ${cp.purpose ?? 'periodic'}\nprev ${cp.prev_checkpoint ?? NO_CHECKPOINT}\n`;
}

/** A format-2 checkpoint's own hash: what the next checkpoint signs as `prev_checkpoint`. */
export function checkpointHash(storeId: string, cp: Checkpoint): string {
  return createHash('sha256')
    .update(checkpointNote(storeId, cp))
    .update(cp.signature)
    .digest('hex');
}

/**
 * Signs the next checkpoint of a format-2 store: `head` is what it vouches for, `last` the
 * store's latest checkpoint (null for the first). The store calls this inside its append lock,
 * so two writers never sign the same place in the chain.
 */
export function signNextCheckpoint(
  storeId: string,
  head: ChainHead,
  last: Checkpoint | null,
  purpose: CheckpointPurpose,
  privateKey: KeyObject,
  ts: string = new Date().toISOString(),
): Checkpoint {
  const body = {
    ...head,
    ts,
    index: (last?.index ?? 0) + 1,
    prev_checkpoint: last ? checkpointHash(storeId, last) : NO_CHECKPOINT,
    purpose,
  };
  return {
    ...body,
    key_id: keyId(createPublicKey(privateKey)),
    signature: sign(null, Buffer.from(checkpointNote(storeId, body)), privateKey).toString(
      'base64',
    ),
  };
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
