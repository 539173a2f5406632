import { appendFileSync, closeSync, fsyncSync, openSync, readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type { Checkpoint } from './checkpoint.js';
import { checkCheckpointSignature, checkpointHash } from './checkpoint.js';
import type { AuditStore } from './store.js';
import type { Commitment, VerifyProblem } from './verify.js';

/**
 * The witness: every checkpoint a gateway signs is also appended, as one JSON line, to a file
 * outside the store (`[gatehouse_audit] witness`, a file the admin owns — ideally append-only,
 * on another disk, or shipped on by a log forwarder). Someone who can write the database cannot
 * reach it, so `gatehouse audit verify --witness FILE` catches what the store alone cannot show:
 * a tail cut off at a checkpoint, checkpoints deleted, or a store rewritten by the key holder
 * after the witness saw it.
 */
export interface WitnessLine extends Checkpoint {
  kind: 'checkpoint';
  store_id: string;
  /** Where the store was (safe to print), to tell a replaced store from an unrelated one. */
  store: string;
}

/** A witness that cannot be read or parsed: names the file/URL and line. */
export class WitnessError extends Error {}

/** Appends one checkpoint to the witness file, durably (fsync), creating it 0600 if needed. */
export function appendWitness(
  file: string,
  storeId: string,
  location: string,
  cp: Checkpoint,
): void {
  const line: WitnessLine = { kind: 'checkpoint', store_id: storeId, store: location, ...cp };
  const fd = openSync(file, 'a', 0o600);
  try {
    appendFileSync(fd, `${JSON.stringify(line)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Loopback only: the witness URL form is for a local collector, never a remote fetch. */
function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Reads a witness: a JSONL file, or an `http://` loopback URL serving the same lines. */
export async function readWitness(source: string): Promise<WitnessLine[]> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      throw new WitnessError(`--witness ${source}: not a URL`);
    }
    if (!isLoopbackUrl(url))
      throw new WitnessError(
        `--witness ${url.origin}: only a loopback URL (127.0.0.1, ::1, localhost) can serve a witness; copy a remote witness to a file and pass its path`,
      );
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      text = await response.text();
    } catch (err) {
      throw new WitnessError(`--witness ${url.origin}${url.pathname}: ${(err as Error).message}`);
    }
  } else {
    try {
      text = readFileSync(source, 'utf8');
    } catch (err) {
      throw new WitnessError(
        `--witness ${source}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
  const out: WitnessLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '') continue;
    let value: Partial<WitnessLine>;
    try {
      value = JSON.parse(line) as Partial<WitnessLine>;
    } catch (err) {
      throw new WitnessError(`${source}:${i + 1}: not JSON (${(err as Error).message})`);
    }
    if (
      value.kind !== 'checkpoint' ||
      typeof value.store_id !== 'string' ||
      typeof value.seq !== 'number' ||
      typeof value.hash !== 'string' ||
      typeof value.ts !== 'string' ||
      typeof value.key_id !== 'string' ||
      typeof value.signature !== 'string'
    ) {
      throw new WitnessError(
        `${source}:${i + 1}: not a witness checkpoint (needs kind "checkpoint", store_id, seq, hash, ts, key_id, signature)`,
      );
    }
    out.push(value as WitnessLine);
  }
  return out;
}

/**
 * The witness's checkpoints of `store` as commitments for the verifier, each checked as signed
 * by a trusted key. A witness that knows another store at this location (and not this one) is
 * itself the finding: the store was replaced, or its id changed. One that knows neither is the
 * wrong file (WitnessError).
 */
export function witnessCommitments(
  lines: readonly WitnessLine[],
  source: string,
  where: {
    store: Pick<AuditStore, 'storeId'>;
    keys: ReadonlyMap<string, KeyObject>;
    /** Whether a witness line's `store` names the verified store's location. */
    sameLocation(location: string): boolean;
  },
): { commitments: Commitment[]; problem: VerifyProblem | null } {
  const { storeId } = where.store;
  const mine = lines.filter((l) => l.store_id === storeId);
  if (mine.length === 0) {
    const replaced = lines.filter((l) => where.sameLocation(l.store));
    if (replaced.length > 0) {
      const ids = [...new Set(replaced.map((l) => l.store_id))].join(', ');
      return {
        commitments: [],
        problem: {
          kind: 'rewritten',
          seq: 1,
          message: `the witness ${source} holds ${replaced.length} checkpoint(s) of store ${ids} at this location but none of this store (${storeId}): the store was replaced, or its id changed, since the witness saw it`,
        },
      };
    }
    const ids = [...new Set(lines.map((l) => l.store_id))];
    throw new WitnessError(
      `--witness ${source}: holds no checkpoint of store ${storeId}${ids.length ? ` (it holds stores ${ids.slice(0, 5).join(', ')})` : ' (it is empty)'}; pass the witness the gateways writing this store append to ([gatehouse_audit] witness)`,
    );
  }
  for (const line of mine) {
    const status = checkCheckpointSignature(storeId, line, where.keys);
    if (status !== 'ok')
      return {
        commitments: [],
        problem: {
          kind: status,
          seq: line.seq,
          message:
            status === 'untrusted_key'
              ? `the witness's checkpoint at record ${line.seq} is signed by key ${line.key_id}, which is not trusted here: pass its public key with --public-key`
              : `the witness's checkpoint at record ${line.seq} (${line.ts}) has a signature that does not verify with key ${line.key_id}: a forged line in the witness`,
        },
      };
  }
  return {
    commitments: mine.map((line) => ({
      seq: line.seq,
      hash: line.hash,
      ts: line.ts,
      source: `the witness ${source}`,
      ...(line.index !== undefined
        ? { index: line.index, checkpoint_hash: checkpointHash(storeId, line) }
        : {}),
    })),
    problem: null,
  };
}
