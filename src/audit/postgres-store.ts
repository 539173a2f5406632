import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { ChainFormat, ChainHead, ChainScope, PreparedEvent, StoredRecord } from './chain.js';
import { CURRENT_CHAIN_FORMAT, chainRecords } from './chain.js';
import { PostgresApprovalQueue } from '../approval/postgres-queue.js';
import type { Checkpoint } from './checkpoint.js';
import type { IndexColumns } from './event.js';
import { COLUMN_NAMES } from './event.js';
import { safePostgresUrl } from './postgres-url.js';
import type { CheckpointRow } from './store-sql.js';
import { checkpointFromRow, whereClause } from './store-sql.js';

export { safePostgresUrl };
import type { AuditFilter, AuditStats, AuditStore } from './store.js';
import { AUDIT_SCHEMA_VERSION, AuditStoreError, QUERY_BATCH } from './store.js';

const COLUMNS = COLUMN_NAMES;

interface Row extends IndexColumns {
  seq: string | number;
  ts: string;
  prev: string;
  hash: string;
  body: string;
}

function toRecord(row: Row): StoredRecord {
  const columns = Object.fromEntries(COLUMNS.map((c) => [c, row[c]])) as unknown as IndexColumns;
  return {
    seq: Number(row.seq),
    ts: row.ts,
    prev: row.prev,
    hash: row.hash,
    body: row.body,
    columns,
  };
}

function describe(err: unknown): string {
  const e = err as { message?: string; code?: string };
  return `${e.message ?? String(err)}${e.code ? ` (${e.code})` : ''}`;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Rows per named prepared INSERT, largest first; a batch is split greedily (300 rows: 256, 32,
 * then 12), so each connection prepares at most these five statements and reuses them. Rows
 * left over (fewer than 16) go in one unnamed statement of their exact size: a small batch — the
 * usual one when calls are few — still costs one round trip, and 15 rows are cheap to parse.
 * Measured against one `INSERT … SELECT FROM unnest(13 arrays)`: ~1.9× the appends per second
 * at 256-row batches; node-postgres escaping array literals and PostgreSQL parsing them was the
 * cost.
 */
const INSERT_BLOCKS = [256, 128, 64, 32, 16] as const;

const RECORD_COLUMNS = ['seq', 'ts', 'prev', 'hash', ...COLUMNS, 'body'] as const;

/** `INSERT … VALUES ($1, …, $13), …` for `rows` records. */
function insertText(schema: string, rows: number): string {
  const width = RECORD_COLUMNS.length;
  const tuples = Array.from(
    { length: rows },
    (_, r) => `(${Array.from({ length: width }, (_, c) => `$${r * width + c + 1}`).join(', ')})`,
  );
  return `INSERT INTO ${schema}.records (${RECORD_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`;
}

/** The parameters of one insert block: `rows` records from `from`, in RECORD_COLUMNS order. */
function blockValues(records: readonly StoredRecord[], from: number, rows: number): unknown[] {
  const values = new Array<unknown>(rows * RECORD_COLUMNS.length);
  let v = 0;
  for (let i = from; i < from + rows; i++) {
    const r = records[i] as StoredRecord;
    const c = r.columns;
    values[v++] = r.seq;
    values[v++] = r.ts;
    values[v++] = r.prev;
    values[v++] = r.hash;
    for (const column of COLUMNS) values[v++] = c[column];
    values[v++] = r.body;
  }
  return values;
}

/**
 * A prepared statement's name, unique per schema and kind: a pool's connections keep their
 * prepared statements by name. PostgreSQL cuts names at 63 bytes, so a long schema is hashed.
 */
function statementName(kind: string, schema: string): string {
  const name = `gatehouse_${kind}_${schema}`;
  if (name.length <= 63) return name;
  return `gatehouse_${kind}_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
}

interface InsertBlock {
  rows: number;
  name: string;
  text: string;
}

/**
 * The shared store: one schema in PostgreSQL (default `gatehouse_audit`; `?schema=NAME` in the
 * URL picks another). An append takes a transaction-scoped advisory lock before reading the head,
 * so every Gatehouse process on every host appends to one linear chain; it resolves after COMMIT
 * (durable with PostgreSQL's default `synchronous_commit`).
 */
export class PostgresAuditStore implements AuditStore {
  readonly kind = 'postgres' as const;
  private readonly inserts: InsertBlock[];
  private readonly scope: ChainScope;

  private constructor(
    readonly location: string,
    private readonly pool: pg.Pool,
    private readonly schema: string,
    readonly storeId: string,
    readonly chainFormat: ChainFormat,
  ) {
    this.scope = { format: chainFormat, storeId };
    this.inserts = INSERT_BLOCKS.map((rows) => ({
      rows,
      name: statementName(`append_${rows}`, schema),
      text: insertText(schema, rows),
    }));
  }

  static async open(
    url: string,
    options: { mustExist?: boolean } = {},
  ): Promise<PostgresAuditStore> {
    const location = safePostgresUrl(url);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new AuditStoreError(
        `--audit ${location}: not a URL; expected postgres://USER@HOST:PORT/DB`,
        'usage',
      );
    }
    const schema = parsed.searchParams.get('schema') ?? 'gatehouse_audit';
    if (!IDENT.test(schema)) {
      throw new AuditStoreError(
        `--audit ${location}: schema '${schema}' must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)`,
        'usage',
      );
    }
    parsed.searchParams.delete('schema');
    const pool = new pg.Pool({
      connectionString: parsed.toString(),
      max: 4,
      connectionTimeoutMillis: 5000,
      idleTimeoutMillis: 10_000,
    });
    pool.on('error', () => undefined); // an idle client dying is reported by the next query
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new AuditStoreError(
        `cannot reach the PostgreSQL audit store ${location}: ${describe(err)}; check that the server runs and the URL is right`,
        'unreachable',
      );
    }
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
        `gatehouse_audit_schema.${schema}`,
      ]);
      const tables = (
        await client.query<{ table_name: string }>(
          'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
          [schema],
        )
      ).rows.map((r) => r.table_name);
      if (tables.length === 0) {
        if (options.mustExist) {
          throw new AuditStoreError(
            `${location}: no audit store in schema '${schema}' yet (Gatehouse creates it when it first serves)`,
            'usage',
          );
        }
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await client.query(`
          CREATE TABLE ${schema}.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
          CREATE TABLE ${schema}.records (
            seq BIGINT PRIMARY KEY, ts TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL,
            type TEXT NOT NULL, server TEXT, target TEXT, decision TEXT, outcome TEXT,
            thread_id TEXT, actor TEXT, call_id TEXT, body TEXT NOT NULL);
          CREATE INDEX ON ${schema}.records (ts);
          CREATE INDEX ON ${schema}.records (server, seq);
          CREATE INDEX ON ${schema}.records (thread_id, seq);
          CREATE INDEX ON ${schema}.records (call_id);
          CREATE TABLE ${schema}.checkpoints (
            seq BIGINT NOT NULL, hash TEXT NOT NULL, ts TEXT NOT NULL, key_id TEXT NOT NULL,
            signature TEXT NOT NULL, idx BIGINT UNIQUE, prev_checkpoint TEXT, purpose TEXT,
            UNIQUE (seq, key_id, purpose));`);
        await client.query(
          `INSERT INTO ${schema}.meta (key, value) VALUES ('schema_version', $1), ('store_id', $2), ('created_at', $3), ('chain_format', $4)`,
          [
            String(AUDIT_SCHEMA_VERSION),
            randomUUID(),
            new Date().toISOString(),
            String(CURRENT_CHAIN_FORMAT),
          ],
        );
      } else if (!tables.includes('meta') || !tables.includes('records')) {
        throw new AuditStoreError(
          `${location}: schema '${schema}' holds other tables (${tables.slice(0, 5).join(', ')}), not a Gatehouse audit store; pick another with ?schema=NAME`,
          'foreign',
        );
      }
      const meta = new Map(
        (
          await client.query<{ key: string; value: string }>(
            `SELECT key, value FROM ${schema}.meta`,
          )
        ).rows.map((r) => [r.key, r.value]),
      );
      await client.query('COMMIT');
      const version = Number(meta.get('schema_version'));
      if (version !== AUDIT_SCHEMA_VERSION) {
        throw new AuditStoreError(
          version > AUDIT_SCHEMA_VERSION
            ? `${location}: audit schema version ${version} was written by a newer Gatehouse (this one reads ${AUDIT_SCHEMA_VERSION}); upgrade Gatehouse`
            : `${location}: audit schema version ${meta.get('schema_version') ?? '(none)'} is not one this Gatehouse knows`,
          'schema',
        );
      }
      return new PostgresAuditStore(
        location,
        pool,
        schema,
        meta.get('store_id') ?? 'unknown',
        meta.get('chain_format') === '2' ? 2 : 1,
      );
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
      await pool.end().catch(() => undefined);
      if (err instanceof AuditStoreError) throw err;
      throw new AuditStoreError(
        `${location}: cannot open the audit store: ${describe(err)}`,
        'unreachable',
      );
    } finally {
      // Released above on failure; on success the pool keeps the client.
      if (pool.totalCount > 0) (client as pg.PoolClient & { _released?: boolean }).release?.();
    }
  }

  private async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw new AuditStoreError(
        `cannot reach the PostgreSQL audit store ${this.location}: ${describe(err)}`,
        'unreachable',
      );
    }
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  }

  async append(events: readonly PreparedEvent[]): Promise<StoredRecord[]> {
    if (events.length === 0) return [];
    const s = this.schema;
    return this.withClient(async (client) => {
      try {
        const [, , headResult] = (await client.query(
          `BEGIN; SELECT pg_advisory_xact_lock(hashtext('gatehouse_audit_append.${s}')); SELECT seq, hash FROM ${s}.records ORDER BY seq DESC LIMIT 1`,
        )) as unknown as pg.QueryResult<{ seq: string; hash: string }>[];
        const top = headResult?.rows[0];
        const head = top ? { seq: Number(top.seq), hash: top.hash } : null;
        const records = chainRecords(head, events, this.scope);
        let next = 0;
        for (const block of this.inserts) {
          for (; records.length - next >= block.rows; next += block.rows) {
            await client.query({
              name: block.name,
              text: block.text,
              values: blockValues(records, next, block.rows),
            });
          }
        }
        const left = records.length - next;
        if (left > 0) {
          await client.query(insertText(s, left), blockValues(records, next, left));
        }
        await client.query('COMMIT');
        return records;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new AuditStoreError(
          `cannot write the audit store ${this.location}: ${describe(err)}`,
          'write_failed',
        );
      }
    });
  }

  async head(): Promise<ChainHead | null> {
    const r = await this.pool.query<{ seq: string; hash: string }>(
      `SELECT seq, hash FROM ${this.schema}.records ORDER BY seq DESC LIMIT 1`,
    );
    const row = r.rows[0];
    return row ? { seq: Number(row.seq), hash: row.hash } : null;
  }

  async addCheckpoint(cp: Checkpoint): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO ${this.schema}.checkpoints (seq, hash, ts, key_id, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [cp.seq, cp.hash, cp.ts, cp.key_id, cp.signature],
      );
    } catch (err) {
      throw new AuditStoreError(
        `cannot write the audit store ${this.location}: ${describe(err)}`,
        'write_failed',
      );
    }
  }

  async appendCheckpoint(
    make: (head: ChainHead | null, last: Checkpoint | null) => Checkpoint | null,
  ): Promise<Checkpoint | null> {
    const s = this.schema;
    return this.withClient(async (client) => {
      try {
        // The append lock: no record and no other checkpoint comes between reading and signing.
        const [, , headResult, lastResult] = (await client.query(
          `BEGIN; SELECT pg_advisory_xact_lock(hashtext('gatehouse_audit_append.${s}')); SELECT seq, hash FROM ${s}.records ORDER BY seq DESC LIMIT 1; SELECT seq, hash, ts, key_id, signature, idx, prev_checkpoint, purpose FROM ${s}.checkpoints WHERE idx IS NOT NULL ORDER BY idx DESC LIMIT 1`,
        )) as unknown as pg.QueryResult[];
        const top = headResult?.rows[0] as { seq: string; hash: string } | undefined;
        const head = top ? { seq: Number(top.seq), hash: top.hash } : null;
        const lastRow = lastResult?.rows[0] as CheckpointRow | undefined;
        const cp = make(head, lastRow ? checkpointFromRow(lastRow) : null);
        if (cp) {
          await client.query(
            `INSERT INTO ${s}.checkpoints (seq, hash, ts, key_id, signature, idx, prev_checkpoint, purpose) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
            [
              cp.seq,
              cp.hash,
              cp.ts,
              cp.key_id,
              cp.signature,
              cp.index ?? null,
              cp.prev_checkpoint ?? null,
              cp.purpose ?? null,
            ],
          );
        }
        await client.query('COMMIT');
        return cp;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new AuditStoreError(
          `cannot write the audit store ${this.location}: ${describe(err)}`,
          'write_failed',
        );
      }
    });
  }

  async checkpoints(): Promise<Checkpoint[]> {
    const extra = this.chainFormat === 2 ? ', idx, prev_checkpoint, purpose' : '';
    const r = await this.pool.query<CheckpointRow>(
      `SELECT seq, hash, ts, key_id, signature${extra} FROM ${this.schema}.checkpoints ORDER BY seq, key_id`,
    );
    return r.rows.map(checkpointFromRow);
  }

  async *records(fromSeq = 1, toSeq = Number.MAX_SAFE_INTEGER): AsyncIterable<StoredRecord[]> {
    let next = fromSeq;
    for (;;) {
      const { rows } = await this.pool.query<Row>(
        `SELECT * FROM ${this.schema}.records WHERE seq >= $1 AND seq <= $3 ORDER BY seq LIMIT $2`,
        [next, QUERY_BATCH, toSeq],
      );
      if (rows.length > 0) yield rows.map(toRecord);
      if (rows.length < QUERY_BATCH) return;
      next = Number((rows[rows.length - 1] as Row).seq) + 1;
    }
  }

  async query(filter: AuditFilter): Promise<StoredRecord[]> {
    const values: unknown[] = [];
    const { sql } = whereClause(filter, (v) => {
      values.push(v);
      return `$${values.length}`;
    });
    const order = filter.newestFirst ? 'DESC' : 'ASC';
    const limit =
      filter.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(filter.limit))}` : '';
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM ${this.schema}.records ${sql} ORDER BY seq ${order}${limit}`,
      values,
    );
    return rows.map(toRecord);
  }

  async stats(): Promise<AuditStats> {
    const s = this.schema;
    const q = async <T extends pg.QueryResultRow>(text: string) =>
      (await this.pool.query<T>(text)).rows;
    const byType = Object.fromEntries(
      (
        await q<{ type: string; n: string }>(
          `SELECT type, COUNT(*) AS n FROM ${s}.records GROUP BY type`,
        )
      ).map((r) => [r.type, Number(r.n)]),
    );
    const one = async (text: string) => {
      const row = (await q<{ seq: string; ts: string }>(text))[0];
      return row ? { seq: Number(row.seq), ts: row.ts } : null;
    };
    const count = Number(
      (await q<{ n: string }>(`SELECT COUNT(*) AS n FROM ${s}.records`))[0]?.n ?? 0,
    );
    const cps = Number(
      (await q<{ n: string }>(`SELECT COUNT(*) AS n FROM ${s}.checkpoints`))[0]?.n ?? 0,
    );
    const bytes = Number(
      (
        await q<{ n: string }>(
          `SELECT pg_total_relation_size('${s}.records') + pg_total_relation_size('${s}.checkpoints') AS n`,
        )
      )[0]?.n ?? 0,
    );
    return {
      records: count,
      first: await one(`SELECT seq, ts FROM ${s}.records ORDER BY seq LIMIT 1`),
      last: await one(`SELECT seq, ts FROM ${s}.records ORDER BY seq DESC LIMIT 1`),
      byType,
      checkpoints: cps,
      lastCheckpoint: await one(`SELECT seq, ts FROM ${s}.checkpoints ORDER BY seq DESC LIMIT 1`),
      bytes,
    };
  }

  async lastBefore(ts: string, belowSeq = Number.MAX_SAFE_INTEGER): Promise<ChainHead | null> {
    const r = await this.pool.query<{ seq: string; hash: string }>(
      `SELECT seq, hash FROM ${this.schema}.records WHERE ts < $1 AND seq < $2 ORDER BY seq DESC LIMIT 1`,
      [ts, belowSeq],
    );
    const row = r.rows[0];
    return row ? { seq: Number(row.seq), hash: row.hash } : null;
  }

  async prune(throughSeq: number): Promise<number> {
    return this.withClient(async (client) => {
      try {
        await client.query('BEGIN');
        const removed = await client.query(`DELETE FROM ${this.schema}.records WHERE seq <= $1`, [
          throughSeq,
        ]);
        if (this.chainFormat === 1)
          await client.query(`DELETE FROM ${this.schema}.checkpoints WHERE seq < $1`, [throughSeq]);
        await client.query('COMMIT');
        return removed.rowCount ?? 0;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new AuditStoreError(
          `cannot prune the audit store ${this.location}: ${describe(err)}`,
          'write_failed',
        );
      }
    });
  }

  /** The approval queue kept in the same schema. */
  approvals(): PostgresApprovalQueue {
    this.queue ??= new PostgresApprovalQueue(this.pool, this.schema);
    return this.queue;
  }

  private queue: PostgresApprovalQueue | null = null;

  async close(): Promise<void> {
    this.queue?.close();
    await this.pool.end().catch(() => undefined);
  }
}
