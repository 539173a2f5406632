import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { PreparedEvent, StoredRecord } from './chain.js';
import { canonicalJson } from './canonical-json.js';
import type { Checkpoint, CheckpointPurpose } from './checkpoint.js';
import { signCheckpoint, signNextCheckpoint } from './checkpoint.js';
import { appendWitness } from './witness.js';
import type { AuditEvent, AuditEventBody, GatewayRef } from './event.js';
import { AUDIT_EVENT_VERSION, indexColumns } from './event.js';
import type { SharedRole } from './shared-appender.js';
import { SharedAppender } from './shared-appender.js';
import type { AuditStore } from './store.js';

export interface AuditWriterOptions {
  signingKey: KeyObject;
  /** Sign a checkpoint after this many records (default 1000)… */
  checkpointEveryRecords?: number;
  /** …or this many seconds with new records (default 60), and always at close. */
  checkpointEverySeconds?: number;
  /** Most events committed in one transaction (default 512). */
  maxBatch?: number;
  /** Longest a lazy event waits for company before it is committed alone (default 20 ms). */
  lazyFlushMs?: number;
  /** Called when the store fails (the message says which store and why). */
  onError?(err: Error): void;
  /**
   * Share one append point with the other Gatehouse processes on this machine that write to
   * the same store, through a socket at this path (see shared-appender.ts). Off when absent.
   */
  sharedSocket?: string;
  /**
   * Also append every checkpoint this writer signs to this file (`[gatehouse_audit] witness`),
   * outside the store: `audit verify --witness FILE` then catches what the store alone cannot.
   */
  witnessFile?: string;
  /** Telemetry: a batch of `records` was made durable in `ms`. */
  onAppended?(ms: number, records: number): void;
}

/** What the pipeline's audit stages need: durable appends. */
export interface AuditSink {
  /**
   * Resolves once the event is durable in the store; rejects if it could not be written.
   * `lazy` events (results, state changes) may wait up to `lazyFlushMs` to share the next
   * transaction — the next call's intent usually — instead of costing a commit of their own.
   */
  record(event: AuditEventBody, options?: { lazy?: boolean }): Promise<StoredRecord>;
  readonly gateway: GatewayRef;
}

/** A queued event: raw from this process, or prepared by another one that hands us its records. */
interface Waiting {
  event: AuditEventBody | null;
  prepared: PreparedEvent | null;
  resolve(record: StoredRecord): void;
  reject(err: Error): void;
}

/**
 * Appends events with group commit: while one transaction is being made durable, the events
 * that arrive queue up and go in the next one together, so 32 concurrent calls cost a few
 * fsyncs rather than 32, and no caller is told "recorded" before its record is on disk.
 * Signs a checkpoint every N records or T seconds, and at close.
 */
export class AuditWriter implements AuditSink {
  readonly gateway: GatewayRef = { instance: randomUUID(), pid: process.pid, host: hostname() };
  private queue: Waiting[] = [];
  /** Events waiting to be written (telemetry's audit queue depth). */
  get queued(): number {
    return this.queue.length;
  }
  private flushing: Promise<void> | null = null;
  private sinceCheckpoint = 0;
  private lastSeqWritten: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lazyTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly shared: SharedAppender | null;

  constructor(
    readonly store: AuditStore,
    private readonly options: AuditWriterOptions,
  ) {
    this.shared = options.sharedSocket
      ? new SharedAppender(store, options.sharedSocket, (events) => this.appendPrepared(events))
      : null;
    const seconds = options.checkpointEverySeconds ?? 60;
    if (seconds > 0) {
      this.timer = setInterval(() => {
        if (this.sinceCheckpoint > 0) void this.checkpoint().catch(() => undefined);
      }, seconds * 1000);
      this.timer.unref();
    }
  }

  record(event: AuditEventBody, options: { lazy?: boolean } = {}): Promise<StoredRecord> {
    if (this.closed) return Promise.reject(new Error('the audit writer is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ event, prepared: null, resolve, reject });
      if (options.lazy) {
        this.lazyTimer ??= setTimeout(() => {
          this.lazyTimer = null;
          this.startFlush();
        }, this.options.lazyFlushMs ?? 20);
        return;
      }
      this.startFlush();
    });
  }

  /** Where this writer's batches go: 'host' and 'direct' write the store, 'client' a host. */
  async sharedRole(): Promise<SharedRole> {
    return this.shared ? this.shared.ready() : 'direct';
  }

  /**
   * Records another process prepared (it hosts nothing, we do): they join our queue, so they
   * share the next transaction with ours. Resolves when all of them are durable.
   */
  appendPrepared(events: readonly PreparedEvent[]): Promise<StoredRecord[]> {
    const done = events.map(
      (prepared) =>
        new Promise<StoredRecord>((resolve, reject) =>
          this.queue.push({ event: null, prepared, resolve, reject }),
        ),
    );
    this.startFlush();
    return Promise.all(done);
  }

  /**
   * Starts on the next turn of the event loop: every event that arrives in this turn (all the
   * requests read in one poll) joins the same transaction, with any lazy ones waiting.
   */
  private startFlush(): void {
    if (this.lazyTimer) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = null;
    }
    this.flushing ??= new Promise<void>((done) =>
      setImmediate(() => void this.flushLoop().then(done)),
    );
  }

  private prepare(event: AuditEventBody): PreparedEvent {
    const full: AuditEvent = { v: AUDIT_EVENT_VERSION, gateway: this.gateway, ...event };
    return {
      ts: new Date().toISOString(),
      columns: indexColumns(event),
      body: canonicalJson(full),
    };
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const taken = this.queue.splice(0, this.options.maxBatch ?? 512);
        // An event that cannot be encoded fails alone; the rest of the batch goes on.
        const batch: Waiting[] = [];
        const prepared: PreparedEvent[] = [];
        for (const w of taken) {
          try {
            prepared.push(w.prepared ?? this.prepare(w.event as AuditEventBody));
            batch.push(w);
          } catch (err) {
            w.reject(err as Error);
          }
        }
        if (batch.length === 0) continue;
        try {
          const began = performance.now();
          const records = await (this.shared
            ? this.shared.append(prepared)
            : this.store.append(prepared));
          this.options.onAppended?.(performance.now() - began, records.length);
          records.forEach((r, i) => batch[i]?.resolve(r));
          this.sinceCheckpoint += records.length;
          this.lastSeqWritten = records[records.length - 1]?.seq ?? this.lastSeqWritten;
        } catch (err) {
          this.options.onError?.(err as Error);
          for (const w of batch) w.reject(err as Error);
        }
        if (this.sinceCheckpoint >= (this.options.checkpointEveryRecords ?? 1000)) {
          await this.checkpoint().catch(() => undefined);
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  /**
   * Signs the store's current head (another process may have written past our own records). A
   * format-2 store links it to the store's previous checkpoint, inside the append lock; a head
   * that is already checkpointed is not signed again.
   */
  async checkpoint(purpose: CheckpointPurpose = 'periodic'): Promise<void> {
    const { store } = this;
    this.sinceCheckpoint = 0;
    let signed: Checkpoint | null;
    if (store.chainFormat === 2) {
      signed = await store.appendCheckpoint((head, last) =>
        head && (!last || last.seq !== head.seq || last.hash !== head.hash)
          ? signNextCheckpoint(store.storeId, head, last, purpose, this.options.signingKey)
          : null,
      );
    } else {
      const head = await store.head();
      if (!head) return;
      signed = signCheckpoint(store.storeId, head, this.options.signingKey);
      await store.addCheckpoint(signed);
    }
    if (signed && this.options.witnessFile) {
      try {
        appendWitness(this.options.witnessFile, store.storeId, store.location, signed);
      } catch (err) {
        this.options.onError?.(
          new Error(
            `cannot append to the audit witness ${this.options.witnessFile}: ${(err as Error).message}`,
          ),
        );
      }
    }
  }

  /** Waits for queued events, signs a final checkpoint and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    // Other processes' records already taken are written; later ones are sent elsewhere.
    this.shared?.stopHosting();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.queue.length > 0) this.startFlush();
    while (this.flushing) await this.flushing;
    if (this.lastSeqWritten !== null)
      await this.checkpoint('shutdown').catch((err: Error) => this.options.onError?.(err));
    await this.shared?.close();
    await this.store.close();
  }
}
