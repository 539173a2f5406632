import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { ApprovalQueue, ApprovalRow, NewApproval } from './queue.js';
import { checkDecision } from './queue.js';

interface Row {
  id: string;
  status: ApprovalRow['status'];
  binding: string;
  requester: string | null;
  two_person: number;
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

export const APPROVALS_TABLE_SQLITE = `
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, binding TEXT NOT NULL, requester TEXT,
  two_person INTEGER NOT NULL, server TEXT NOT NULL, tool TEXT NOT NULL,
  arguments_masked TEXT NOT NULL, policy_revision TEXT NOT NULL, rule TEXT NOT NULL,
  created_at TEXT NOT NULL, expires_at TEXT NOT NULL, approver TEXT, decided_at TEXT,
  reason TEXT, used_at TEXT);
CREATE INDEX IF NOT EXISTS approvals_binding ON approvals (binding, status);`;

function toApproval(r: Row): ApprovalRow {
  return {
    id: r.id,
    status: r.status,
    binding: r.binding,
    requester: r.requester,
    twoPerson: r.two_person === 1,
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

/** The queue in the audit store's SQLite file. Every change is one IMMEDIATE transaction. */
export class SqliteApprovalQueue implements ApprovalQueue {
  constructor(
    private readonly db: Database.Database,
    private readonly write: <T>(fn: () => T) => Promise<T>,
  ) {
    db.exec(APPROVALS_TABLE_SQLITE);
  }

  private expired: ApprovalRow[] = [];

  private expire(now: string): void {
    const due = this.db
      .prepare(
        "SELECT * FROM approvals WHERE status IN ('pending', 'approved') AND expires_at <= ?",
      )
      .all(now) as Row[];
    if (due.length === 0) return;
    this.db
      .prepare(
        "UPDATE approvals SET status = 'expired' WHERE status IN ('pending', 'approved') AND expires_at <= ?",
      )
      .run(now);
    this.expired.push(...due.map((r) => toApproval({ ...r, status: 'expired' })));
  }

  takeExpired(): ApprovalRow[] {
    return this.expired.splice(0);
  }

  request(a: NewApproval): Promise<ApprovalRow> {
    return this.write(() => {
      const now = new Date().toISOString();
      this.expire(now);
      const pending = this.db
        .prepare(
          "SELECT * FROM approvals WHERE binding = ? AND status = 'pending' ORDER BY created_at LIMIT 1",
        )
        .get(a.binding) as Row | undefined;
      if (pending) return { ...toApproval(pending), fresh: false };
      const row: Row = {
        id: randomUUID().slice(0, 8),
        status: 'pending',
        binding: a.binding,
        requester: a.requester,
        two_person: a.twoPerson ? 1 : 0,
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
      this.db
        .prepare(
          `INSERT INTO approvals (id, status, binding, requester, two_person, server, tool, arguments_masked, policy_revision, rule, created_at, expires_at)
           VALUES (@id, @status, @binding, @requester, @two_person, @server, @tool, @arguments_masked, @policy_revision, @rule, @created_at, @expires_at)`,
        )
        .run(row);
      return { ...toApproval(row), fresh: true };
    });
  }

  consume(
    binding: string,
    requester: string | null,
    twoPerson: boolean,
  ): Promise<ApprovalRow | null> {
    return this.write(() => {
      const now = new Date().toISOString();
      this.expire(now);
      const rows = this.db
        .prepare(
          "SELECT * FROM approvals WHERE binding = ? AND status = 'approved' ORDER BY decided_at",
        )
        .all(binding) as Row[];
      const usable = rows.find(
        (r) => !twoPerson || r.two_person === 0 || requester === null || r.approver !== requester,
      );
      if (!usable) return null;
      this.db
        .prepare("UPDATE approvals SET status = 'used', used_at = ? WHERE id = ?")
        .run(now, usable.id);
      return toApproval({ ...usable, status: 'used', used_at: now });
    });
  }

  async get(id: string): Promise<ApprovalRow | null> {
    const row = this.db.prepare('SELECT * FROM approvals WHERE id = ?').get(id) as Row | undefined;
    return row ? toApproval(row) : null;
  }

  async list(options: { all?: boolean } = {}): Promise<ApprovalRow[]> {
    await this.write(() => this.expire(new Date().toISOString()));
    const rows = this.db
      .prepare(
        `SELECT * FROM approvals ${options.all ? '' : "WHERE status = 'pending'"} ORDER BY created_at`,
      )
      .all() as Row[];
    return rows.map(toApproval);
  }

  decide(
    id: string,
    decision: 'approved' | 'denied',
    approver: string,
    reason: string | null,
  ): Promise<ApprovalRow> {
    return this.write(() => {
      const now = new Date().toISOString();
      this.expire(now);
      const row = this.db.prepare('SELECT * FROM approvals WHERE id = ?').get(id) as
        Row | undefined;
      checkDecision(row ? toApproval(row) : null, id, approver, decision, now);
      this.db
        .prepare(
          'UPDATE approvals SET status = ?, approver = ?, decided_at = ?, reason = ? WHERE id = ?',
        )
        .run(decision, approver, now, reason, id);
      return toApproval({ ...(row as Row), status: decision, approver, decided_at: now, reason });
    });
  }
}
