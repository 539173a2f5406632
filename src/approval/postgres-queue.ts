import pg from 'pg';
import type {
  ApprovalQueue,
  ApprovalRow,
  ConsumeResult,
  GrantCheck,
  NewApproval,
} from './queue.js';
import type { ApprovalDbRow } from './queue.js';
import { checkDecision, fromDbRow, newDbRow } from './queue.js';

export function approvalsTablePostgres(schema: string): string {
  // One statement list is one transaction: the lock keeps replicas that start together from
  // racing on CREATE TABLE IF NOT EXISTS (which can fail on the type catalogue's unique key).
  return `SELECT pg_advisory_xact_lock(hashtext('gatehouse approvals ddl ${schema}'));
  CREATE TABLE IF NOT EXISTS ${schema}.approvals (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, binding TEXT NOT NULL, requester TEXT,
    two_person BOOLEAN NOT NULL, server TEXT NOT NULL, tool TEXT NOT NULL,
    arguments_masked TEXT NOT NULL, policy_revision TEXT NOT NULL, rule TEXT NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL, approver TEXT, decided_at TEXT,
    reason TEXT, used_at TEXT);
  CREATE INDEX IF NOT EXISTS approvals_binding ON ${schema}.approvals (binding, status);
  ALTER TABLE ${schema}.approvals ADD COLUMN IF NOT EXISTS level TEXT;
  ALTER TABLE ${schema}.approvals ADD COLUMN IF NOT EXISTS "grant" TEXT;
  ALTER TABLE ${schema}.approvals ADD COLUMN IF NOT EXISTS category TEXT;
  CREATE TABLE IF NOT EXISTS ${schema}.approval_state_claims (
    id TEXT PRIMARY KEY, expires_at TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS approval_state_claims_expiry
    ON ${schema}.approval_state_claims (expires_at);`;
}

/** The channel every replica listens on; the payload is `SCHEMA:ID` of the decided approval. */
export const APPROVALS_CHANNEL = 'gatehouse_approvals';

/**
 * The queue in the shared PostgreSQL schema; each change is one transaction with row locks.
 * A decision also NOTIFYs (delivered at COMMIT), so a call waiting on another replica goes on
 * at once instead of at its next poll.
 */
export class PostgresApprovalQueue implements ApprovalQueue {
  private ready: Promise<unknown>;
  private expired: ApprovalRow[] = [];
  private listener: Promise<pg.Client | null> | null = null;
  private readonly waiters = new Map<string, Set<() => void>>();
  private closed = false;

  takeExpired(): ApprovalRow[] {
    return this.expired.splice(0);
  }

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {
    this.ready = pool.query(approvalsTablePostgres(schema));
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    await this.ready;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const due = await client.query<ApprovalDbRow>(
        `UPDATE ${this.schema}.approvals SET status = 'expired' WHERE status IN ('pending', 'approved') AND expires_at <= $1 RETURNING *`,
        [new Date().toISOString()],
      );
      const out = await fn(client);
      await client.query('COMMIT');
      // Reported only once committed: a refused decision (rolled back) reports nothing twice.
      this.expired.push(...due.rows.map(fromDbRow));
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  request(a: NewApproval): Promise<ApprovalRow> {
    const s = this.schema;
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [a.binding]);
      const pending = (
        await c.query<ApprovalDbRow>(
          `SELECT * FROM ${s}.approvals WHERE binding = $1 AND status = 'pending' ORDER BY created_at LIMIT 1`,
          [a.binding],
        )
      ).rows[0];
      if (pending) return { ...fromDbRow(pending), fresh: false };
      const now = new Date().toISOString();
      const row = newDbRow(a, now);
      await c.query(
        `INSERT INTO ${s}.approvals (id, status, binding, requester, two_person, server, tool, arguments_masked, policy_revision, rule, created_at, expires_at, level, category)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [
          row.id,
          row.status,
          row.binding,
          row.requester,
          row.two_person,
          row.server,
          row.tool,
          row.arguments_masked,
          row.policy_revision,
          row.rule,
          row.created_at,
          row.expires_at,
          row.level,
          row.category,
        ],
      );
      return { ...fromDbRow(row), fresh: true };
    });
  }

  consume(binding: string, check: GrantCheck): Promise<ConsumeResult> {
    const s = this.schema;
    return this.tx(async (c) => {
      const rows = (
        await c.query<ApprovalDbRow>(
          `SELECT * FROM ${s}.approvals WHERE binding = $1 AND status = 'approved' ORDER BY decided_at FOR UPDATE`,
          [binding],
        )
      ).rows;
      const now = new Date().toISOString();
      const out: ConsumeResult = { used: null, rejected: [] };
      for (const r of rows) {
        const row = fromDbRow(r);
        const why = check(row);
        if (why === null) {
          await c.query(`UPDATE ${s}.approvals SET status = 'used', used_at = $1 WHERE id = $2`, [
            now,
            r.id,
          ]);
          out.used = { ...row, status: 'used', usedAt: now };
          break;
        }
        await c.query(`UPDATE ${s}.approvals SET status = 'rejected', reason = $1 WHERE id = $2`, [
          why,
          r.id,
        ]);
        out.rejected.push({ row: { ...row, status: 'rejected', reason: why }, reason: why });
      }
      return out;
    });
  }

  /**
   * One connection of its own (outside the pool) LISTENs for decisions; if it breaks, the next
   * wait opens another.
   */
  private listen(): Promise<pg.Client | null> {
    this.listener ??= (async () => {
      await this.ready;
      const { connectionString, connectionTimeoutMillis } = this.pool.options;
      const client = new pg.Client({ connectionString, connectionTimeoutMillis });
      await client.connect();
      const drop = () => {
        this.listener = null;
        void client.end().catch(() => undefined);
        // Waiters fall back to their poll; nothing waits on a broken connection.
        for (const set of this.waiters.values()) for (const wake of set) wake();
      };
      client.on('error', drop);
      client.on('notification', (n) => {
        const [schema, id] = (n.payload ?? '').split(':');
        if (schema !== this.schema || !id) return;
        for (const wake of this.waiters.get(id) ?? []) wake();
      });
      try {
        await client.query(`LISTEN ${APPROVALS_CHANNEL}`);
      } catch (err) {
        drop();
        throw err;
      }
      return client;
    })().catch(() => {
      this.listener = null;
      return null;
    });
    return this.listener;
  }

  async waitForChange(id: string, ms: number): Promise<'changed' | 'timeout'> {
    if (this.closed || !(await this.listen())) {
      await new Promise((r) => setTimeout(r, Math.min(ms, 250)));
      return 'timeout';
    }
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set<() => void>();
      this.waiters.set(id, set);
      const done = (how: 'changed' | 'timeout') => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0) this.waiters.delete(id);
        resolve(how);
      };
      const wake = () => done('changed');
      const timer = setTimeout(() => done('timeout'), ms);
      set.add(wake);
    });
  }

  /** Releases the listening connection (the store closes its pool next). */
  close(): void {
    this.closed = true;
    void this.listener?.then((c) => c?.end().catch(() => undefined));
    this.listener = null;
  }

  /** One INSERT: the primary key decides which replica's claim is first. */
  async claimState(id: string, expiresAt: string): Promise<boolean> {
    await this.ready;
    const s = this.schema;
    await this.pool.query(`DELETE FROM ${s}.approval_state_claims WHERE expires_at <= $1`, [
      new Date().toISOString(),
    ]);
    const inserted = await this.pool.query(
      `INSERT INTO ${s}.approval_state_claims (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`,
      [id, expiresAt],
    );
    return inserted.rowCount === 1;
  }

  async get(id: string): Promise<ApprovalRow | null> {
    await this.ready;
    const row = (
      await this.pool.query<ApprovalDbRow>(`SELECT * FROM ${this.schema}.approvals WHERE id = $1`, [
        id,
      ])
    ).rows[0];
    return row ? fromDbRow(row) : null;
  }

  async deniedFor(binding: string, now: string): Promise<ApprovalRow | null> {
    await this.ready;
    const row = (
      await this.pool.query<ApprovalDbRow>(
        `SELECT * FROM ${this.schema}.approvals WHERE binding = $1 AND status = 'denied' AND expires_at > $2 ORDER BY decided_at DESC LIMIT 1`,
        [binding, now],
      )
    ).rows[0];
    return row ? fromDbRow(row) : null;
  }

  list(options: { all?: boolean } = {}): Promise<ApprovalRow[]> {
    return this.tx(async (c) =>
      (
        await c.query<ApprovalDbRow>(
          `SELECT * FROM ${this.schema}.approvals ${options.all ? '' : "WHERE status = 'pending'"} ORDER BY created_at`,
        )
      ).rows.map(fromDbRow),
    );
  }

  decide(
    id: string,
    decision: 'approved' | 'denied',
    approver: string,
    reason: string | null,
    grant: unknown = null,
  ): Promise<ApprovalRow> {
    const grantText = grant === null || grant === undefined ? null : JSON.stringify(grant);
    return this.tx(async (c) => {
      const now = new Date().toISOString();
      const row = (
        await c.query<ApprovalDbRow>(
          `SELECT * FROM ${this.schema}.approvals WHERE id = $1 FOR UPDATE`,
          [id],
        )
      ).rows[0];
      checkDecision(row ? fromDbRow(row) : null, id, approver, decision, now);
      await c.query(
        `UPDATE ${this.schema}.approvals SET status = $1, approver = $2, decided_at = $3, reason = $4, "grant" = $5 WHERE id = $6`,
        [decision, approver, now, reason, grantText, id],
      );
      await c.query('SELECT pg_notify($1, $2)', [APPROVALS_CHANNEL, `${this.schema}:${id}`]);
      return fromDbRow({
        ...(row as ApprovalDbRow),
        status: decision,
        approver,
        decided_at: now,
        reason,
        grant: grantText,
      });
    });
  }
}
