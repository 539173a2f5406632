import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ApprovalQueue, ApprovalRow, NewApproval } from './queue.js';
import { checkDecision } from './queue.js';

interface Row {
  id: string;
  status: ApprovalRow['status'];
  binding: string;
  requester: string | null;
  two_person: boolean;
  server: string;
  tool: string;
  arguments_masked: string;
  policy_revision: string;
  rule: string;
  created_at: string;
  expires_at: string;
  approver: string | null;
  decided_at: string | null;
  reason: string | null;
  used_at: string | null;
}

export function approvalsTablePostgres(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${schema}.approvals (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, binding TEXT NOT NULL, requester TEXT,
    two_person BOOLEAN NOT NULL, server TEXT NOT NULL, tool TEXT NOT NULL,
    arguments_masked TEXT NOT NULL, policy_revision TEXT NOT NULL, rule TEXT NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL, approver TEXT, decided_at TEXT,
    reason TEXT, used_at TEXT);
  CREATE INDEX IF NOT EXISTS approvals_binding ON ${schema}.approvals (binding, status);`;
}

function toApproval(r: Row): ApprovalRow {
  return {
    id: r.id,
    status: r.status,
    binding: r.binding,
    requester: r.requester,
    twoPerson: r.two_person,
    server: r.server,
    tool: r.tool,
    argumentsMasked: JSON.parse(r.arguments_masked) as unknown,
    policyRevision: r.policy_revision,
    rule: r.rule,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    approver: r.approver,
    decidedAt: r.decided_at,
    reason: r.reason,
    usedAt: r.used_at,
  };
}

/** The queue in the shared PostgreSQL schema; each change is one transaction with row locks. */
export class PostgresApprovalQueue implements ApprovalQueue {
  private ready: Promise<unknown>;
  private expired: ApprovalRow[] = [];

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
      const due = await client.query<Row>(
        `UPDATE ${this.schema}.approvals SET status = 'expired' WHERE status IN ('pending', 'approved') AND expires_at <= $1 RETURNING *`,
        [new Date().toISOString()],
      );
      this.expired.push(...due.rows.map(toApproval));
      const out = await fn(client);
      await client.query('COMMIT');
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
        await c.query<Row>(
          `SELECT * FROM ${s}.approvals WHERE binding = $1 AND status = 'pending' ORDER BY created_at LIMIT 1`,
          [a.binding],
        )
      ).rows[0];
      if (pending) return { ...toApproval(pending), fresh: false };
      const now = new Date().toISOString();
      const row: Row = {
        id: randomUUID().slice(0, 8),
        status: 'pending',
        binding: a.binding,
        requester: a.requester,
        two_person: a.twoPerson,
        server: a.server,
        tool: a.tool,
        arguments_masked: JSON.stringify(a.argumentsMasked ?? {}),
        policy_revision: a.policyRevision,
        rule: a.rule,
        created_at: now,
        expires_at: new Date(Date.now() + a.ttlMs).toISOString(),
        approver: null,
        decided_at: null,
        reason: null,
        used_at: null,
      };
      await c.query(
        `INSERT INTO ${s}.approvals (id, status, binding, requester, two_person, server, tool, arguments_masked, policy_revision, rule, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
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
        ],
      );
      return { ...toApproval(row), fresh: true };
    });
  }

  consume(
    binding: string,
    requester: string | null,
    twoPerson: boolean,
  ): Promise<ApprovalRow | null> {
    const s = this.schema;
    return this.tx(async (c) => {
      const rows = (
        await c.query<Row>(
          `SELECT * FROM ${s}.approvals WHERE binding = $1 AND status = 'approved' ORDER BY decided_at FOR UPDATE`,
          [binding],
        )
      ).rows;
      const usable = rows.find(
        (r) => !twoPerson || !r.two_person || requester === null || r.approver !== requester,
      );
      if (!usable) return null;
      const now = new Date().toISOString();
      await c.query(`UPDATE ${s}.approvals SET status = 'used', used_at = $1 WHERE id = $2`, [
        now,
        usable.id,
      ]);
      return toApproval({ ...usable, status: 'used', used_at: now });
    });
  }

  async get(id: string): Promise<ApprovalRow | null> {
    await this.ready;
    const row = (
      await this.pool.query<Row>(`SELECT * FROM ${this.schema}.approvals WHERE id = $1`, [id])
    ).rows[0];
    return row ? toApproval(row) : null;
  }

  list(options: { all?: boolean } = {}): Promise<ApprovalRow[]> {
    return this.tx(async (c) =>
      (
        await c.query<Row>(
          `SELECT * FROM ${this.schema}.approvals ${options.all ? '' : "WHERE status = 'pending'"} ORDER BY created_at`,
        )
      ).rows.map(toApproval),
    );
  }

  decide(
    id: string,
    decision: 'approved' | 'denied',
    approver: string,
    reason: string | null,
  ): Promise<ApprovalRow> {
    return this.tx(async (c) => {
      const now = new Date().toISOString();
      const row = (
        await c.query<Row>(`SELECT * FROM ${this.schema}.approvals WHERE id = $1 FOR UPDATE`, [id])
      ).rows[0];
      checkDecision(row ? toApproval(row) : null, id, approver, decision, now);
      await c.query(
        `UPDATE ${this.schema}.approvals SET status = $1, approver = $2, decided_at = $3, reason = $4 WHERE id = $5`,
        [decision, approver, now, reason, id],
      );
      return toApproval({ ...(row as Row), status: decision, approver, decided_at: now, reason });
    });
  }
}
