import type { KeyObject } from 'node:crypto';
import type { ChainHead, StoredRecord } from './chain.js';
import type { RawRecordRow } from './chain.js';
import { GENESIS_HASH, rawRecordHash, recordFromRaw, recordHash } from './chain.js';
import type { Checkpoint } from './checkpoint.js';
import { checkCheckpointSignature } from './checkpoint.js';

function hashMatches(record: StoredRecord, asSeq: number): boolean {
  return asSeq >= 1 && recordHash(record, asSeq) === record.hash;
}

export type ProblemKind =
  | 'modified'
  | 'deleted'
  | 'inserted'
  | 'reordered'
  | 'truncated'
  | 'bad_signature'
  | 'untrusted_key'
  | 'rewritten';

export interface VerifyProblem {
  kind: ProblemKind;
  /** The first record where the chain is broken (or the checkpoint's sequence number). */
  seq: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  records: number;
  first_seq: number | null;
  last_seq: number | null;
  checkpoints: { total: number; verified: number; last_seq: number | null };
  /** Records after the last signed checkpoint: vouched for by the chain only. */
  unanchored: number;
  /** Records before `first_seq` that were pruned behind a signed anchor. */
  pruned_before: number | null;
  problem: VerifyProblem | null;
}

export interface VerifyInput {
  storeId: string;
  checkpoints: readonly Checkpoint[];
  trustedKeys: ReadonlyMap<string, KeyObject>;
  /** A checkpoint this machine verified before (TOFU, like `rekor-cli loginfo`). */
  remembered?: ChainHead | null;
  /**
   * Verifying one slice of a longer chain (parallel verification): the first record's link is
   * taken as given (the caller checks it against the slice before), and unless `final`, the
   * end is not the end of the chain (no truncation checks).
   */
  slice?: { trustFirstLink: boolean; final: boolean };
}

/**
 * Walks a chain in the order given and reports the first place it is broken, and what most
 * likely happened there: a record edited in place (modified), a gap in the sequence (deleted),
 * a forged record spliced in (inserted), records out of order (reordered), records gone after
 * a signed checkpoint (truncated), or a tail rewritten with fresh hashes that no longer matches
 * a signed checkpoint (rewritten). Pure and streaming: it holds one record of look-behind.
 */
export class ChainVerifier {
  private readonly bySeq = new Map<number, Checkpoint[]>();
  private readonly signatureOk = new Map<Checkpoint, boolean>();
  private expectedSeq: number | null = null;
  private lastHash: string | null = null;
  private previousRecord: StoredRecord | null = null;
  private previousRaw: RawRecordRow | null = null;

  /** The last record that verified (kept raw on the fast path; made an object only when needed). */
  private get previous(): StoredRecord | null {
    if (this.previousRaw) {
      this.previousRecord = recordFromRaw(this.previousRaw);
      this.previousRaw = null;
    }
    return this.previousRecord;
  }

  private set previous(record: StoredRecord | null) {
    this.previousRecord = record;
    this.previousRaw = null;
  }

  /**
   * The fast path for a raw database row: when it is simply the next record, hashes right, links
   * right and no checkpoint or remembered state names it, nothing is allocated; anything else
   * goes through `push` for the full classification.
   */
  pushRaw(row: RawRecordRow): boolean {
    const seq = row[0] as number;
    if (
      this.expectedSeq !== null &&
      seq === this.expectedSeq &&
      !this.pending &&
      !this.pendingGap &&
      !this.problem &&
      row[2] === this.lastHash &&
      !this.bySeq.has(seq) &&
      this.input.remembered?.seq !== seq &&
      rawRecordHash(row) === row[3]
    ) {
      this.count += 1;
      this.previousRaw = row;
      this.previousRecord = null;
      this.lastHash = row[3] as string;
      this.expectedSeq = seq + 1;
      return true;
    }
    return this.push(recordFromRaw(row));
  }
  private count = 0;
  private firstSeq: number | null = null;
  private verifiedCheckpoints = 0;
  private lastCheckpointSeq: number | null = null;
  private prunedBefore: number | null = null;
  private problem: VerifyProblem | null = null;
  private pending: StoredRecord | null = null;
  private pendingGap: { record: StoredRecord; expected: number } | null = null;

  constructor(private readonly input: VerifyInput) {
    for (const cp of input.checkpoints) {
      const list = this.bySeq.get(cp.seq) ?? [];
      list.push(cp);
      this.bySeq.set(cp.seq, list);
    }
    // Signatures first: an untrusted or forged checkpoint is itself the finding.
    for (const cp of [...input.checkpoints].sort((a, b) => a.seq - b.seq)) {
      const status = checkCheckpointSignature(input.storeId, cp, input.trustedKeys);
      this.signatureOk.set(cp, status === 'ok');
      if (status !== 'ok' && !this.problem) {
        this.problem = {
          kind: status,
          seq: cp.seq,
          message:
            status === 'untrusted_key'
              ? `checkpoint at record ${cp.seq} is signed by key ${cp.key_id}, which is not trusted here: pass its public key with --public-key (export it with \`gatehouse audit key\` on the machine that wrote it)`
              : `checkpoint at record ${cp.seq} has a signature that does not verify with key ${cp.key_id}: the checkpoint was forged or altered`,
        };
      }
    }
  }

  /** The last record that verified (where the next slice must link to). */
  get lastGood(): ChainHead | null {
    return this.previous ? { seq: this.previous.seq, hash: this.previous.hash } : null;
  }

  get broken(): boolean {
    return this.problem !== null;
  }

  private fail(kind: ProblemKind, seq: number, message: string): void {
    this.problem ??= { kind, seq, message };
  }

  /** Feeds the next record; returns false once a problem is found (the rest need not be read). */
  push(record: StoredRecord): boolean {
    if (this.pendingGap) {
      this.decideGap(this.pendingGap, record);
      return false;
    }
    if (this.pending) {
      this.classifyBadHash(this.pending, record);
      return false;
    }
    if (this.problem) return false;
    this.count += 1;
    const expected = this.expectedSeq;
    if (expected === null) {
      this.firstSeq = record.seq;
      this.start(record);
    } else if (record.seq < expected) {
      // Every seq from the first to expected-1 was read (a gap stops the walk), so a lower one
      // is either a second copy of a record already read or one that should have come earlier.
      const duplicate = record.seq >= (this.firstSeq ?? 1);
      this.fail(
        duplicate ? 'inserted' : 'reordered',
        record.seq,
        duplicate
          ? `a second record ${record.seq} appears after record ${expected - 1}: a forged record was inserted`
          : `record ${record.seq} comes after record ${expected - 1}: records were reordered`,
      );
      return false;
    } else if (record.seq > expected) {
      // A gap — unless the missing record comes next (two records swapped): decide then.
      this.pendingGap = { record, expected };
      return true;
    }
    if (this.problem) return false;
    if (!hashMatches(record, record.seq)) {
      // What happened depends on the next record too (a swap, a renumbering): decide then.
      this.pending = record;
      return true;
    }
    if (this.lastHash !== null && record.prev !== this.lastHash) {
      this.classifyBadLink(record);
      return false;
    }
    for (const cp of this.bySeq.get(record.seq) ?? []) {
      if (!this.signatureOk.get(cp)) continue;
      if (cp.hash !== record.hash) {
        this.fail(
          'rewritten',
          record.seq,
          `record ${record.seq} no longer has the hash its signed checkpoint (${cp.ts}) recorded: records up to ${record.seq} were rewritten and re-hashed`,
        );
        return false;
      }
      this.verifiedCheckpoints += 1;
      this.lastCheckpointSeq = record.seq;
    }
    const remembered = this.input.remembered;
    if (remembered && remembered.seq === record.seq && remembered.hash !== record.hash) {
      this.fail(
        'rewritten',
        record.seq,
        `record ${record.seq} differs from the one this machine verified earlier: the store was rewritten since`,
      );
      return false;
    }
    this.previous = record;
    this.lastHash = record.hash;
    this.expectedSeq = record.seq + 1;
    return true;
  }

  private decideGap(
    gap: { record: StoredRecord; expected: number },
    next: StoredRecord | null,
  ): void {
    this.pendingGap = null;
    const { record, expected } = gap;
    if (next?.seq === expected) {
      this.fail(
        'reordered',
        expected,
        `record ${record.seq} comes before record ${expected}: records were reordered`,
      );
      return;
    }
    this.fail(
      'deleted',
      expected,
      record.seq === expected + 1
        ? `record ${expected} is missing (deleted): record ${record.seq} follows record ${expected - 1}`
        : `records ${expected}..${record.seq - 1} are missing (deleted): record ${record.seq} follows record ${expected - 1}`,
    );
  }

  /** The first record: genesis, or the first one kept after a prune (needs a signed anchor). */
  private start(record: StoredRecord): void {
    if (this.input.slice?.trustFirstLink && record.seq !== 1) {
      this.lastHash = record.prev;
      return;
    }
    if (record.seq === 1) {
      if (record.prev !== GENESIS_HASH)
        this.fail(
          'modified',
          1,
          `record 1 does not start the chain (its previous hash is not the genesis hash)`,
        );
      this.lastHash = GENESIS_HASH;
      return;
    }
    const anchor = (this.bySeq.get(record.seq - 1) ?? []).find(
      (cp) => this.signatureOk.get(cp) && cp.hash === record.prev,
    );
    if (!anchor) {
      this.fail(
        'deleted',
        1,
        `records 1..${record.seq - 1} are missing and no signed checkpoint anchors record ${record.seq} (a prune writes one): they were deleted`,
      );
      return;
    }
    this.prunedBefore = record.seq;
    this.verifiedCheckpoints += 1;
    this.lastCheckpointSeq = record.seq - 1;
    this.lastHash = record.prev;
  }

  /** `record` fails its own hash; `next` is the record after it, if any. */
  private classifyBadHash(record: StoredRecord, next: StoredRecord | null): void {
    this.pending = null;
    const k = record.seq;
    const nextIsOriginal = next !== null && next.seq === k + 1 && hashMatches(next, k);
    if (hashMatches(record, k - 1) && this.previous && record.prev === this.previous.prev) {
      this.fail(
        'inserted',
        k - 1,
        `record ${k - 1} was inserted (forged): record ${k} is the original record ${k - 1}, renumbered`,
      );
    } else if (hashMatches(record, k + 1)) {
      this.fail(
        nextIsOriginal ? 'reordered' : 'deleted',
        k,
        nextIsOriginal
          ? `records ${k} and ${k + 1} were swapped (reordered)`
          : `record ${k} was deleted and the records after it renumbered: record ${k} is the original record ${k + 1}`,
      );
    } else if (nextIsOriginal && next.prev === this.lastHash) {
      this.fail(
        'inserted',
        k,
        `record ${k} was inserted (forged): record ${k + 1} is the original record ${k}, renumbered`,
      );
    } else {
      this.fail(
        'modified',
        k,
        `record ${k} (${record.columns.type}, ${record.ts}) was modified: its content no longer matches its hash`,
      );
    }
  }

  private classifyBadLink(record: StoredRecord): void {
    const previous = this.previous;
    if (previous && record.prev === previous.prev) {
      this.fail(
        'inserted',
        previous.seq,
        `record ${previous.seq} was inserted (forged): record ${record.seq} links to the record before it`,
      );
      return;
    }
    this.fail(
      'modified',
      record.seq - 1,
      `record ${record.seq - 1} was rewritten with a new hash: record ${record.seq} still points to its original`,
    );
  }

  finish(): VerifyReport {
    if (this.pendingGap) this.decideGap(this.pendingGap, null);
    if (this.pending) this.classifyBadHash(this.pending, null);
    const final = this.input.slice?.final ?? true;
    const lastSeq = this.expectedSeq === null ? null : this.expectedSeq - 1;
    if (!this.problem && final) {
      const beyond = this.input.checkpoints
        .filter((cp) => this.signatureOk.get(cp) && (lastSeq === null || cp.seq > lastSeq))
        .sort((a, b) => b.seq - a.seq)[0];
      if (beyond) {
        this.fail(
          'truncated',
          (lastSeq ?? 0) + 1,
          lastSeq === null
            ? `the store is empty but a signed checkpoint (${beyond.ts}) covers ${beyond.seq} records: they were deleted`
            : `records ${lastSeq + 1}..${beyond.seq} are gone: a signed checkpoint (${beyond.ts}) covers them (truncated after record ${lastSeq})`,
        );
      }
      const remembered = this.input.remembered;
      if (remembered && (lastSeq === null || remembered.seq > lastSeq)) {
        this.fail(
          'truncated',
          (lastSeq ?? 0) + 1,
          `this machine verified record ${remembered.seq} earlier, but the store now ends at ${lastSeq ?? 0}: it was truncated`,
        );
      }
    }
    return {
      ok: this.problem === null,
      records: this.count,
      first_seq: this.firstSeq,
      last_seq: lastSeq,
      checkpoints: {
        total: this.input.checkpoints.length,
        verified: this.verifiedCheckpoints,
        last_seq: this.lastCheckpointSeq,
      },
      unanchored:
        lastSeq === null
          ? 0
          : lastSeq - Math.max(this.lastCheckpointSeq ?? 0, (this.firstSeq ?? 1) - 1),
      pruned_before: this.prunedBefore,
      problem: this.problem,
    };
  }
}
