import type { KeyObject } from 'node:crypto';
import type { ChainFormat, ChainHead, ChainScope, StoredRecord } from './chain.js';
import type { RawRecordRow } from './chain.js';
import { GENESIS_HASH, rawRecordHash, recordFromRaw, recordHash } from './chain.js';
import type { Checkpoint } from './checkpoint.js';
import { NO_CHECKPOINT, checkCheckpointSignature, checkpointHash } from './checkpoint.js';
import type { RecordCheck, VerifyFinding } from './verify-checks.js';
import { IntentResultCheck } from './verify-checks.js';

export type { RecordCheck, VerifyFinding } from './verify-checks.js';

/**
 * The checks that read record contents (beyond the chain) on every verification. Each sees the
 * records of the types it names, in order, and reports findings at the end; add one here.
 */
export function defaultRecordChecks(): RecordCheck[] {
  return [new IntentResultCheck()];
}

/**
 * Something known about the chain from outside the store: a checkpoint the witness file holds,
 * or the one this machine verified before. `source` says where it came from (for the message).
 */
export interface Commitment {
  seq: number;
  hash: string;
  ts: string;
  source: string;
  /** Format 2: the checkpoint's index and own hash, so a deleted or replaced checkpoint shows. */
  index?: number;
  checkpoint_hash?: string;
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
  /** No sign of tampering (see `findings` for evidence that is missing). */
  ok: boolean;
  /** ok, and nothing missing: every record anchored by a signed checkpoint, no finding. */
  complete: boolean;
  /** The store's format (chain.ts); 1 is legacy, with weaker guarantees. */
  format: ChainFormat;
  /** What the chain cannot vouch for although nothing is broken (unanchored tail, lost results, …). */
  findings: VerifyFinding[];
  records: number;
  first_seq: number | null;
  last_seq: number | null;
  checkpoints: { total: number; verified: number; last_seq: number | null };
  /** Records after the last signed checkpoint: vouched for by the chain only. */
  unanchored: number;
  /** The last record a signed checkpoint (or the witness, or this machine's memory) vouches for. */
  anchored_through: number | null;
  /** Records before `first_seq` that were pruned behind a signed anchor. */
  pruned_before: number | null;
  problem: VerifyProblem | null;
}

export interface VerifyInput {
  storeId: string;
  checkpoints: readonly Checkpoint[];
  trustedKeys: ReadonlyMap<string, KeyObject>;
  /** 1 (legacy, the default) or 2: how records and checkpoints are hashed and signed. */
  format?: ChainFormat;
  /** A checkpoint this machine verified before (TOFU, like `rekor-cli loginfo`). */
  remembered?: ChainHead | null;
  /** Checkpoints known from outside the store (the witness, the remembered one). */
  commitments?: readonly Commitment[];
  /** Content checks run over every record (default: `defaultRecordChecks()`; slices: none). */
  recordChecks?: readonly RecordCheck[];
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
  private readonly scope: ChainScope;
  private readonly format: ChainFormat;
  private readonly commitmentsAt = new Map<number, Commitment[]>();
  private readonly checksByType = new Map<string, RecordCheck[]>();
  private readonly checks: readonly RecordCheck[];
  /** Highest record seq a signed checkpoint or an outside commitment vouched for. */
  private anchoredSeq = 0;
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
      !this.commitmentsAt.has(seq) &&
      rawRecordHash(row, this.scope) === row[3]
    ) {
      this.count += 1;
      const checks = this.checksByType.get(row[4] as string);
      if (checks)
        for (const c of checks)
          c.record(seq, row[4] as string, row[11] as string | null, row[12] as string);
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
    this.format = input.format ?? 1;
    this.scope = { format: this.format, storeId: input.storeId };
    this.checks = input.recordChecks ?? (input.slice ? [] : defaultRecordChecks());
    for (const check of this.checks)
      for (const type of check.types) {
        const list = this.checksByType.get(type) ?? [];
        list.push(check);
        this.checksByType.set(type, list);
      }
    const commitments = [...(input.commitments ?? [])];
    if (input.remembered)
      commitments.push({ ...input.remembered, ts: '', source: 'this machine, earlier' });
    for (const c of commitments) {
      const list = this.commitmentsAt.get(c.seq) ?? [];
      list.push(c);
      this.commitmentsAt.set(c.seq, list);
    }
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
    if (this.format === 2 && !this.problem) this.checkCheckpointChain();
    if (!this.problem) this.checkCommittedCheckpoints(commitments);
  }

  /**
   * Format 2: the checkpoints form a signed chain (1, 2, 3, … each naming the one before), so
   * one deleted, replaced or added in the middle or at the start is named here, before any
   * record is read. Deleting the newest ones leaves an unanchored tail (a finding) — or, if the
   * records after them were deleted too, only the witness or this machine's memory can tell.
   */
  private checkCheckpointChain(): void {
    const sorted = [...this.input.checkpoints].sort(
      (a, b) => (a.index ?? 0) - (b.index ?? 0) || a.seq - b.seq,
    );
    let expected = 1;
    let prev = NO_CHECKPOINT;
    for (const cp of sorted) {
      if (cp.index === undefined) {
        this.fail(
          'inserted',
          cp.seq,
          `the checkpoint at record ${cp.seq} (${cp.ts}) is not part of this store's chain of checkpoints (format 2 checkpoints are numbered and linked): it was added`,
        );
        return;
      }
      if (cp.index < expected) {
        this.fail(
          'inserted',
          cp.seq,
          `checkpoint ${cp.index} appears twice (the second at record ${cp.seq}, ${cp.ts}): a forged checkpoint was inserted`,
        );
        return;
      }
      if (cp.index > expected) {
        this.fail(
          'deleted',
          cp.seq,
          cp.index === expected + 1
            ? `signed checkpoint ${expected} is missing (deleted): checkpoint ${cp.index} (record ${cp.seq}, ${cp.ts}) follows checkpoint ${expected - 1}`
            : `signed checkpoints ${expected}..${cp.index - 1} are missing (deleted): checkpoint ${cp.index} (record ${cp.seq}, ${cp.ts}) follows checkpoint ${expected - 1}`,
        );
        return;
      }
      if (cp.prev_checkpoint !== prev) {
        this.fail(
          'rewritten',
          cp.seq,
          `checkpoint ${cp.index} (record ${cp.seq}, ${cp.ts}) does not link to checkpoint ${cp.index - 1}: the checkpoints were replaced`,
        );
        return;
      }
      prev = checkpointHash(this.input.storeId, cp);
      expected += 1;
    }
  }

  /** An outside checkpoint (witness, memory) must still be in the store's chain of checkpoints. */
  private checkCommittedCheckpoints(commitments: readonly Commitment[]): void {
    if (this.format !== 2) return;
    const byIndex = new Map(
      this.input.checkpoints.filter((c) => c.index !== undefined).map((c) => [c.index, c]),
    );
    const top = Math.max(0, ...[...byIndex.keys()].map((i) => i ?? 0));
    for (const c of [...commitments].sort((a, b) => (a.index ?? 0) - (b.index ?? 0))) {
      if (c.index === undefined) continue;
      const mine = byIndex.get(c.index);
      if (!mine) {
        this.fail(
          'truncated',
          c.seq,
          `the store's checkpoints end at checkpoint ${top}, but ${c.source} holds checkpoint ${c.index} (record ${c.seq}, ${c.ts}): checkpoints ${top + 1}..${c.index}${c.seq > 0 ? ' and the records they covered' : ''} were deleted`,
        );
        return;
      }
      if (
        (c.checkpoint_hash !== undefined &&
          checkpointHash(this.input.storeId, mine) !== c.checkpoint_hash) ||
        mine.seq !== c.seq ||
        mine.hash !== c.hash
      ) {
        this.fail(
          'rewritten',
          c.seq,
          `checkpoint ${c.index} differs from the one ${c.source} holds (record ${c.seq}, ${c.ts}): the store's history was rewritten and re-signed since`,
        );
        return;
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
    if (!this.hashMatches(record, record.seq)) {
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
      this.anchoredSeq = record.seq;
    }
    for (const c of this.commitmentsAt.get(record.seq) ?? []) {
      if (c.hash !== record.hash) {
        this.fail(
          'rewritten',
          record.seq,
          `record ${record.seq} differs from the one ${c.source} vouched for${c.ts ? ` (${c.ts})` : ''}: the store was rewritten since`,
        );
        return false;
      }
      this.anchoredSeq = record.seq;
    }
    const checks = this.checksByType.get(record.columns.type);
    if (checks)
      for (const c of checks)
        c.record(record.seq, record.columns.type, record.columns.call_id, record.body);
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
    // Format 2: only a prune's own signed anchor justifies missing first records; any other
    // checkpoint (every shutdown signs one) would let a bare DELETE pass as a prune.
    const anchor = (this.bySeq.get(record.seq - 1) ?? []).find(
      (cp) =>
        this.signatureOk.get(cp) &&
        cp.hash === record.prev &&
        (this.format === 1 || cp.purpose === 'prune'),
    );
    if (!anchor) {
      const other = (this.bySeq.get(record.seq - 1) ?? []).some((cp) => this.signatureOk.get(cp));
      this.fail(
        'deleted',
        1,
        other
          ? `records 1..${record.seq - 1} are missing: a signed checkpoint covers record ${record.seq - 1}, but it is not a prune's anchor (\`gatehouse audit prune\` signs one): they were deleted`
          : `records 1..${record.seq - 1} are missing and no signed checkpoint anchors record ${record.seq} (a prune writes one): they were deleted`,
      );
      return;
    }
    this.prunedBefore = record.seq;
    this.verifiedCheckpoints += 1;
    this.lastCheckpointSeq = record.seq - 1;
    this.anchoredSeq = record.seq - 1;
    this.lastHash = record.prev;
  }

  private hashMatches(record: StoredRecord, asSeq: number): boolean {
    return asSeq >= 1 && recordHash(record, asSeq, this.scope) === record.hash;
  }

  /** `record` fails its own hash; `next` is the record after it, if any. */
  private classifyBadHash(record: StoredRecord, next: StoredRecord | null): void {
    this.pending = null;
    const k = record.seq;
    const nextIsOriginal = next !== null && next.seq === k + 1 && this.hashMatches(next, k);
    if (this.hashMatches(record, k - 1) && this.previous && record.prev === this.previous.prev) {
      this.fail(
        'inserted',
        k - 1,
        `record ${k - 1} was inserted (forged): record ${k} is the original record ${k - 1}, renumbered`,
      );
    } else if (this.hashMatches(record, k + 1)) {
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
      const lost = [...this.commitmentsAt.values()]
        .flat()
        .filter((c) => lastSeq === null || c.seq > lastSeq)
        .sort((a, b) => b.seq - a.seq)[0];
      if (lost) {
        this.fail(
          'truncated',
          (lastSeq ?? 0) + 1,
          `${lost.source} vouched for record ${lost.seq}${lost.ts ? ` (${lost.ts})` : ''}, but the store now ends at ${lastSeq ?? 0}: it was truncated`,
        );
      }
    }
    const findings: VerifyFinding[] = [];
    if (!this.problem && final) {
      const tail = tailFinding(lastSeq, this.firstSeq, this.anchoredSeq);
      if (tail) findings.push(tail);
      for (const check of this.checks) findings.push(...check.finish());
    }
    const broken = findings.some((f) => f.broken === true);
    return {
      ok: this.problem === null && !broken,
      complete: this.problem === null && findings.length === 0,
      format: this.format,
      findings,
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
      anchored_through: this.anchoredSeq > 0 ? this.anchoredSeq : null,
      pruned_before: this.prunedBefore,
      problem: this.problem,
    };
  }
}

/**
 * The records after the last one anything signed vouches for (a checkpoint in the store, the
 * witness, this machine's memory, a prune's anchor): a finding, never silently OK — a writer
 * without the key can rewrite them, or delete the checkpoints after them.
 */
export function tailFinding(
  lastSeq: number | null,
  firstSeq: number | null,
  anchoredSeq: number,
): VerifyFinding | null {
  if (lastSeq === null) return null;
  const from = Math.max(anchoredSeq, (firstSeq ?? 1) - 1) + 1;
  if (from > lastSeq) return null;
  const n = lastSeq - from + 1;
  if (anchoredSeq === 0)
    return {
      kind: 'no_checkpoint',
      seq: from,
      message: `no signed checkpoint vouches for any of the ${n} record(s): a gateway signs one every 1000 records, every 60 s and at shutdown, so either none has run that long or the checkpoints were deleted — anyone who can write the database could have written these records`,
    };
  return {
    kind: 'unanchored_tail',
    seq: from,
    message: `records ${from}..${lastSeq} (${n}) come after the last signed checkpoint (record ${from - 1}): nothing signed vouches for them — normal while a gateway runs or after one was killed, but it is also what deleting the checkpoints after them and rewriting them looks like`,
  };
}
