import { randomUUID } from 'node:crypto';
import { checkPrivateStore, UnsafePermissionsError } from './file-permissions.js';
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { ChainFormat, ChainHead, ChainScope, PreparedEvent, StoredRecord } from './chain.js';
import type { RawRecordRow } from './chain.js';
import { CURRENT_CHAIN_FORMAT, chainRecords, recordFromRaw } from './chain.js';
import { SqliteApprovalQueue } from '../approval/sqlite-queue.js';
import type { CheckpointRow } from './store-sql.js';
import { checkpointFromRow, whereClause } from './store-sql.js';

export { checkpointFromRow, whereClause };
export type { CheckpointRow };
import type { Checkpoint } from './checkpoint.js';
import type { IndexColumns } from './event.js';
import type { AuditFilter, AuditStats, AuditStore } from './store.js';
import { AUDIT_SCHEMA_VERSION, AuditStoreError, QUERY_BATCH } from './store.js';

const SCHEMA = `
CREATE TABLE gatehouse_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE audit_records (
  seq INTEGER PRIMARY KEY,
  ts TEXT NOT NULL,
  prev TEXT NOT NULL,
  hash TEXT NOT NULL,
  type TEXT NOT NULL,
  server TEXT, target TEXT, decision TEXT, outcome TEXT, thread_id TEXT, actor TEXT, call_id TEXT,
  body TEXT NOT NULL
);
CREATE INDEX audit_records_ts ON audit_records (ts);
CREATE INDEX audit_records_server ON audit_records (server, seq);
CREATE INDEX audit_records_thread ON audit_records (thread_id, seq);
CREATE INDEX audit_records_call ON audit_records (call_id);
CREATE TABLE audit_checkpoints (
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  ts TEXT NOT NULL,
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL,
  idx INTEGER UNIQUE,
  prev_checkpoint TEXT,
  purpose TEXT,
  PRIMARY KEY (seq, key_id, purpose)
);
`;

interface Row extends IndexColumns {
  seq: number;
  ts: string;
  prev: string;
  hash: string;
  body: string;
}

function toRecord(row: Row): StoredRecord {
  return {
    seq: row.seq,
    ts: row.ts,
    prev: row.prev,
    hash: row.hash,
    body: row.body,
    columns: {
      type: row.type,
      server: row.server,
      target: row.target,
      decision: row.decision,
      outcome: row.outcome,
      thread_id: row.thread_id,
      actor: row.actor,
      call_id: row.call_id,
    },
  };
}

/** Rows per multi-row INSERT: one statement step instead of 32. */
const ROWS_PER_INSERT = 32;

/**
 * WAL pages after which a commit checkpoints them into the database file: 2000 × 4 KiB ≈ 8 MiB,
 * not SQLite's 1000. Each checkpoint has a fixed cost (two fsyncs, a WAL restart) on top of
 * copying pages, so half as many checkpoints made appends ~10 % faster (measured; 4000 pages
 * gained ~2 % more). The price: the commit that checkpoints copies the WAL while it holds the
 * thread, so the slowest appends grow with it (here ~22 ms instead of ~16 ms; ~38 ms at 4000).
 */
export const WAL_AUTOCHECKPOINT_PAGES = 2000;

/**
 * How large the WAL file may stay once it restarts. Above a normal cycle's size (~8 MiB plus one
 * batch), so the file is reused, not shrunk and regrown, every cycle; but bounded, so a WAL that
 * grew while a long read (an export, a verify) held back checkpoints gives its space back.
 */
export const WAL_SIZE_LIMIT_BYTES = 32 * 1024 * 1024;

function rowValues(r: StoredRecord): unknown[] {
  const c = r.columns;
  return [
    r.seq,
    r.ts,
    r.prev,
    r.hash,
    c.type,
    c.server,
    c.target,
    c.decision,
    c.outcome,
    c.thread_id,
    c.actor,
    c.call_id,
    r.body,
  ];
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The embedded store: one SQLite file in WAL mode with `synchronous = FULL` (a commit is on
 * disk when `append` resolves). `BEGIN IMMEDIATE` takes the write lock before the head is read,
 * so processes sharing the file append one after another; `busy_timeout` makes them wait.
 */
export class SqliteAuditStore implements AuditStore {
  readonly kind = 'sqlite' as const;
  readonly storeId: string;
  readonly chainFormat: ChainFormat;
  private readonly scope: ChainScope;
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly lastRow: Database.Statement;
  private readonly insertBlock: Database.Statement;

  private constructor(
    readonly location: string,
    db: Database.Database,
    storeId: string,
    chainFormat: ChainFormat,
  ) {
    this.db = db;
    this.storeId = storeId;
    this.chainFormat = chainFormat;
    this.scope = { format: chainFormat, storeId };
    this.insert = db.prepare(
      `INSERT INTO audit_records (seq, ts, prev, hash, type, server, target, decision, outcome, thread_id, actor, call_id, body)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    // OR ROLLBACK: a row that cannot be inserted fails the whole append anyway, and saying so
    // spares SQLite the statement journal it keeps for a multi-row INSERT that could fail half
    // way (a copy of every page the statement changes: measured, ~26 % of the bytes an append
    // wrote and ~15 % of its time).
    this.insertBlock = db.prepare(
      `INSERT OR ROLLBACK INTO audit_records (seq, ts, prev, hash, type, server, target, decision, outcome, thread_id, actor, call_id, body)
       VALUES ${Array.from({ length: ROWS_PER_INSERT }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
    );
    this.lastRow = db.prepare('SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1');
  }

  /**
   * Opens (and, unless `mustExist`, creates) the store at `file`. A file that is not SQLite, a
   * SQLite file of something else, or a schema from another version is refused with a message
   * naming the file — never modified.
   */
  static open(file: string, options: { mustExist?: boolean } = {}): SqliteAuditStore {
    if (options.mustExist && !existsSync(file)) {
      throw new AuditStoreError(
        `${file}: no audit store here yet (Gatehouse creates it when it first serves); pass --audit to read another`,
        'usage',
      );
    }
    try {
      checkPrivateStore(file, !options.mustExist);
    } catch (err) {
      if (err instanceof UnsafePermissionsError) throw new AuditStoreError(err.message, 'usage');
      throw new AuditStoreError(
        `${file}: cannot open the audit store: ${describe(err)}`,
        'unreachable',
      );
    }
    let db: Database.Database;
    try {
      db = new Database(file, { fileMustExist: options.mustExist ?? false });
      db.pragma('busy_timeout = 10000');
      const listTables = () =>
        db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
          name: string;
        }[];
      let tables = listTables();
      if (tables.length === 0) {
        db.pragma('journal_mode = WAL');
        // Several processes may open a new store at once: check again under the write lock.
        tables = db
          .transaction(() => {
            const now = listTables();
            if (now.length > 0) return now;
            db.exec(SCHEMA);
            const set = db.prepare('INSERT INTO gatehouse_meta (key, value) VALUES (?, ?)');
            set.run('schema_version', String(AUDIT_SCHEMA_VERSION));
            set.run('store_id', randomUUID());
            set.run('created_at', new Date().toISOString());
            set.run('chain_format', String(CURRENT_CHAIN_FORMAT));
            return listTables();
          })
          .immediate();
      } else if (!tables.some((t) => t.name === 'gatehouse_meta')) {
        db.close();
        throw new AuditStoreError(
          `${file}: a SQLite database, but not a Gatehouse audit store (tables: ${tables
            .map((t) => t.name)
            .slice(0, 5)
            .join(', ')}); point --audit at another file`,
          'foreign',
        );
      }
    } catch (err) {
      if (err instanceof AuditStoreError) throw err;
      const code = (err as { code?: string }).code ?? '';
      throw new AuditStoreError(
        code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT'
          ? `${file}: not a SQLite database, or corrupt (${describe(err)}); move it away (keep it for investigation) and Gatehouse starts a new store`
          : `${file}: cannot open the audit store: ${describe(err)}`,
        code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' ? 'corrupt' : 'unreachable',
      );
    }
    const meta = new Map(
      (
        db.prepare('SELECT key, value FROM gatehouse_meta').all() as {
          key: string;
          value: string;
        }[]
      ).map((r) => [r.key, r.value]),
    );
    const version = Number(meta.get('schema_version'));
    if (version !== AUDIT_SCHEMA_VERSION) {
      db.close();
      throw new AuditStoreError(
        version > AUDIT_SCHEMA_VERSION
          ? `${file}: audit schema version ${version} was written by a newer Gatehouse (this one reads ${AUDIT_SCHEMA_VERSION}); upgrade Gatehouse`
          : `${file}: audit schema version ${meta.get('schema_version') ?? '(none)'} is not one this Gatehouse knows (it writes ${AUDIT_SCHEMA_VERSION})`,
        'schema',
      );
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    // SQLite's own busy handler waits (synchronously) up to 5 ms for another process's write
    // lock; past that, write() waits asynchronously so the event loop never stalls longer.
    db.pragma('busy_timeout = 5');
    return new SqliteAuditStore(
      file,
      db,
      meta.get('store_id') ?? 'unknown',
      meta.get('chain_format') === '2' ? 2 : 1,
    );
  }

  private writeFailed(err: unknown): AuditStoreError {
    return new AuditStoreError(
      `cannot write the audit store ${this.location}: ${describe(err)}`,
      'write_failed',
    );
  }

  /**
   * Runs a write transaction, waiting for another process's write lock: SQLite's busy handler
   * for the first 5 ms (a short, bounded stall), then short randomised asynchronous waits — not
   * SQLite's 10…100 ms sleeps, which leave the lock idle — for at most 10 s.
   */
  /** The approval queue kept in the same file (shared by every gateway and the CLI). */
  approvals(): SqliteApprovalQueue {
    this.queue ??= new SqliteApprovalQueue(this.db, (fn) => this.write(fn));
    return this.queue;
  }

  private queue: SqliteApprovalQueue | null = null;

  private async write<T>(fn: () => T): Promise<T> {
    const started = Date.now();
    let wait = 1;
    for (;;) {
      try {
        return this.db.transaction(fn).immediate();
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        // Our own errors (an approval that cannot be decided, …) pass through as they are.
        if (typeof code !== 'string' || !code.startsWith('SQLITE_')) throw err;
        if (code !== 'SQLITE_BUSY' || Date.now() - started > 10_000) throw this.writeFailed(err);
        await new Promise((r) => setTimeout(r, Math.random() * wait));
        wait = Math.min(wait * 2, 8);
      }
    }
  }

  append(events: readonly PreparedEvent[]): Promise<StoredRecord[]> {
    if (events.length === 0) return Promise.resolve([]);
    return this.write(() => {
      const head = (this.lastRow.get() as ChainHead | undefined) ?? null;
      const records = chainRecords(head, events, this.scope);
      let i = 0;
      for (; i + ROWS_PER_INSERT <= records.length; i += ROWS_PER_INSERT) {
        this.insertBlock.run(records.slice(i, i + ROWS_PER_INSERT).flatMap(rowValues));
      }
      for (; i < records.length; i++) this.insert.run(rowValues(records[i] as StoredRecord));
      return records;
    });
  }

  async head(): Promise<ChainHead | null> {
    return (this.lastRow.get() as ChainHead | undefined) ?? null;
  }

  async addCheckpoint(cp: Checkpoint): Promise<void> {
    await this.write(() =>
      this.db
        .prepare(
          'INSERT OR IGNORE INTO audit_checkpoints (seq, hash, ts, key_id, signature) VALUES (?, ?, ?, ?, ?)',
        )
        .run(cp.seq, cp.hash, cp.ts, cp.key_id, cp.signature),
    );
  }

  async appendCheckpoint(
    make: (head: ChainHead | null, last: Checkpoint | null) => Checkpoint | null,
  ): Promise<Checkpoint | null> {
    return this.write(() => {
      const head = (this.lastRow.get() as ChainHead | undefined) ?? null;
      const lastRow = this.db
        .prepare(
          'SELECT seq, hash, ts, key_id, signature, idx, prev_checkpoint, purpose FROM audit_checkpoints WHERE idx IS NOT NULL ORDER BY idx DESC LIMIT 1',
        )
        .get() as CheckpointRow | undefined;
      const cp = make(head, lastRow ? checkpointFromRow(lastRow) : null);
      if (!cp) return null;
      this.db
        .prepare(
          'INSERT INTO audit_checkpoints (seq, hash, ts, key_id, signature, idx, prev_checkpoint, purpose) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          cp.seq,
          cp.hash,
          cp.ts,
          cp.key_id,
          cp.signature,
          cp.index ?? null,
          cp.prev_checkpoint ?? null,
          cp.purpose ?? null,
        );
      return cp;
    });
  }

  async checkpoints(): Promise<Checkpoint[]> {
    const extra = this.chainFormat === 2 ? ', idx, prev_checkpoint, purpose' : '';
    return (
      this.db
        .prepare(
          `SELECT seq, hash, ts, key_id, signature${extra} FROM audit_checkpoints ORDER BY seq, key_id`,
        )
        .all() as CheckpointRow[]
    ).map(checkpointFromRow);
  }

  async *records(fromSeq = 1, toSeq = Number.MAX_SAFE_INTEGER): AsyncIterable<StoredRecord[]> {
    for await (const rows of this.rawRecords(fromSeq, toSeq)) yield rows.map(recordFromRaw);
  }

  /** Rows as arrays (`RawRecordRow` order), one statement: a consistent snapshot, no objects. */
  async *rawRecords(fromSeq = 1, toSeq = Number.MAX_SAFE_INTEGER): AsyncIterable<RawRecordRow[]> {
    const rows = this.db
      .prepare(
        'SELECT seq, ts, prev, hash, type, server, target, decision, outcome, thread_id, actor, call_id, body FROM audit_records WHERE seq >= ? AND seq <= ? ORDER BY seq',
      )
      .raw()
      .iterate(fromSeq, toSeq) as IterableIterator<unknown[]>;
    let batch: RawRecordRow[] = [];
    for (const r of rows) {
      batch.push(r);
      if (batch.length === QUERY_BATCH) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async *rawRecordsOfTypes(
    types: readonly string[],
    gatewayOnly: readonly string[] = [],
  ): AsyncIterable<RawRecordRow[]> {
    // Records of the `gatewayOnly` types (call intents: most of a store) come with a body of
    // their `gateway` alone, cut out by SQLite: a fraction of the bytes to hand over.
    const body = gatewayOnly.length
      ? `CASE WHEN type IN (${gatewayOnly.map(() => '?').join(', ')}) THEN json_object('gateway', json_extract(body, '$.gateway')) ELSE body END`
      : 'body';
    const rows = this.db
      .prepare(
        `SELECT seq, type, call_id, ${body} FROM audit_records WHERE type IN (${types.map(() => '?').join(', ')}) ORDER BY seq`,
      )
      .raw()
      .iterate(...gatewayOnly, ...types) as IterableIterator<unknown[]>;
    let batch: RawRecordRow[] = [];
    for (const r of rows) {
      batch.push(r);
      if (batch.length === QUERY_BATCH) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async query(filter: AuditFilter): Promise<StoredRecord[]> {
    const values: unknown[] = [];
    const { sql } = whereClause(filter, (v) => {
      values.push(v);
      return '?';
    });
    const order = filter.newestFirst ? 'DESC' : 'ASC';
    const limit =
      filter.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(filter.limit))}` : '';
    const rows = this.db
      .prepare(`SELECT * FROM audit_records ${sql} ORDER BY seq ${order}${limit}`)
      .all(...values) as Row[];
    return rows.map(toRecord);
  }

  async stats(): Promise<AuditStats> {
    const byType = Object.fromEntries(
      (
        this.db.prepare('SELECT type, COUNT(*) AS n FROM audit_records GROUP BY type').all() as {
          type: string;
          n: number;
        }[]
      ).map((r) => [r.type, r.n]),
    );
    const count = (
      this.db.prepare('SELECT COUNT(*) AS n FROM audit_records').get() as { n: number }
    ).n;
    const first = (this.db
      .prepare('SELECT seq, ts FROM audit_records ORDER BY seq LIMIT 1')
      .get() ?? null) as { seq: number; ts: string } | null;
    const last = (this.db
      .prepare('SELECT seq, ts FROM audit_records ORDER BY seq DESC LIMIT 1')
      .get() ?? null) as { seq: number; ts: string } | null;
    const cps = (
      this.db.prepare('SELECT COUNT(*) AS n FROM audit_checkpoints').get() as { n: number }
    ).n;
    const lastCp = (this.db
      .prepare('SELECT seq, ts FROM audit_checkpoints ORDER BY seq DESC LIMIT 1')
      .get() ?? null) as { seq: number; ts: string } | null;
    let bytes: number | null = null;
    try {
      bytes = statSync(this.location).size;
      if (existsSync(`${this.location}-wal`)) bytes += statSync(`${this.location}-wal`).size;
    } catch {
      bytes = null;
    }
    return { records: count, first, last, byType, checkpoints: cps, lastCheckpoint: lastCp, bytes };
  }

  async lastBefore(ts: string, belowSeq = Number.MAX_SAFE_INTEGER): Promise<ChainHead | null> {
    return (this.db
      .prepare(
        'SELECT seq, hash FROM audit_records WHERE ts < ? AND seq < ? ORDER BY seq DESC LIMIT 1',
      )
      .get(ts, belowSeq) ?? null) as ChainHead | null;
  }

  async prune(throughSeq: number): Promise<number> {
    return this.write(() => {
      const removed = this.db
        .prepare('DELETE FROM audit_records WHERE seq <= ?')
        .run(throughSeq).changes;
      if (this.chainFormat === 1)
        this.db.prepare('DELETE FROM audit_checkpoints WHERE seq < ?').run(throughSeq);
      return removed;
    });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
