import type Database from 'better-sqlite3';
import type {
  ApprovalQueue,
  ApprovalRow,
  ConsumeResult,
  GrantCheck,
  NewApproval,
} from './queue.js';
import type { ApprovalDbRow } from './queue.js';
import { checkDecision, fromDbRow, newDbRow } from './queue.js';

export const APPROVALS_TABLE_SQLITE = `
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, binding TEXT NOT NULL, requester TEXT,
  two_person INTEGER NOT NULL, server TEXT NOT NULL, tool TEXT NOT NULL,
  arguments_masked TEXT NOT NULL, policy_revision TEXT NOT NULL, rule TEXT NOT NULL,
  created_at TEXT NOT NULL, expires_at TEXT NOT NULL, approver TEXT, decided_at TEXT,
  reason TEXT, used_at TEXT);
CREATE INDEX IF NOT EXISTS approvals_binding ON approvals (binding, status);
CREATE TABLE IF NOT EXISTS approval_state_claims (id TEXT PRIMARY KEY, expires_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS approval_state_claims_expiry ON approval_state_claims (expires_at);`;

/** The queue in the audit store's SQLite file. Every change is one IMMEDIATE transaction. */
export class SqliteApprovalQueue implements ApprovalQueue {
  constructor(
    private readonly db: Database.Database,
    private readonly write: <T>(fn: () => T) => Promise<T>,
  ) {
    db.exec(APPROVALS_TABLE_SQLITE);
    const columns = new Set(
      (db.prepare('PRAGMA table_info(approvals)').all() as { name: string }[]).map((c) => c.name),
    );
    // Stores made before levels and signed grants: add the columns (older rows read as unsigned).
    if (!columns.has('level')) db.exec('ALTER TABLE approvals ADD COLUMN level TEXT');
    if (!columns.has('grant')) db.exec('ALTER TABLE approvals ADD COLUMN "grant" TEXT');
    // Stores made before categories were kept: older rows read as having none.
    if (!columns.has('category')) db.exec('ALTER TABLE approvals ADD COLUMN category TEXT');
  }

  private expired: ApprovalRow[] = [];

  /**
   * A write that first marks what has expired; the expired rows are reported (`takeExpired`)
   * only once it commits, so a refused decision (rolled back) does not report them twice.
   */
  private async writeAfterExpiry<T>(fn: (now: string) => T): Promise<T> {
    let due: ApprovalRow[] = [];
    const out = await this.write(() => {
      const now = new Date().toISOString();
      due = this.expire(now);
      return fn(now);
    });
    this.expired.push(...due);
    return out;
  }

  private expire(now: string): ApprovalRow[] {
    const due = this.db
      .prepare(
        "SELECT * FROM approvals WHERE status IN ('pending', 'approved') AND expires_at <= ?",
      )
      .all(now) as ApprovalDbRow[];
    if (due.length === 0) return [];
    this.db
      .prepare(
        "UPDATE approvals SET status = 'expired' WHERE status IN ('pending', 'approved') AND expires_at <= ?",
      )
      .run(now);
    return due.map((r) => fromDbRow({ ...r, status: 'expired' }));
  }

  takeExpired(): ApprovalRow[] {
    return this.expired.splice(0);
  }

  request(a: NewApproval): Promise<ApprovalRow> {
    return this.writeAfterExpiry((now) => {
      const pending = this.db
        .prepare(
          "SELECT * FROM approvals WHERE binding = ? AND status = 'pending' ORDER BY created_at LIMIT 1",
        )
        .get(a.binding) as ApprovalDbRow | undefined;
      if (pending) return { ...fromDbRow(pending), fresh: false };
      const row = { ...newDbRow(a, now), two_person: a.twoPerson ? 1 : 0 };
      this.db
        .prepare(
          `INSERT INTO approvals (id, status, binding, requester, two_person, level, server, tool, category, arguments_masked, policy_revision, rule, created_at, expires_at)
           VALUES (@id, @status, @binding, @requester, @two_person, @level, @server, @tool, @category, @arguments_masked, @policy_revision, @rule, @created_at, @expires_at)`,
        )
        .run(row);
      return { ...fromDbRow(row), fresh: true };
    });
  }

  consume(binding: string, check: GrantCheck): Promise<ConsumeResult> {
    return this.writeAfterExpiry((now) => {
      const rows = this.db
        .prepare(
          "SELECT * FROM approvals WHERE binding = ? AND status = 'approved' ORDER BY decided_at",
        )
        .all(binding) as ApprovalDbRow[];
      const out: ConsumeResult = { used: null, rejected: [] };
      for (const r of rows) {
        const row = fromDbRow(r);
        const why = check(row);
        if (why === null) {
          this.db
            .prepare("UPDATE approvals SET status = 'used', used_at = ? WHERE id = ?")
            .run(now, r.id);
          out.used = { ...row, status: 'used', usedAt: now };
          break;
        }
        this.db
          .prepare("UPDATE approvals SET status = 'rejected', reason = ? WHERE id = ?")
          .run(why, r.id);
        out.rejected.push({ row: { ...row, status: 'rejected', reason: why }, reason: why });
      }
      return out;
    });
  }

  claimState(id: string, expiresAt: string): Promise<boolean> {
    return this.write(() => {
      this.db
        .prepare('DELETE FROM approval_state_claims WHERE expires_at <= ?')
        .run(new Date().toISOString());
      const inserted = this.db
        .prepare('INSERT OR IGNORE INTO approval_state_claims (id, expires_at) VALUES (?, ?)')
        .run(id, expiresAt);
      return inserted.changes === 1;
    });
  }

  async get(id: string): Promise<ApprovalRow | null> {
    const row = this.db.prepare('SELECT * FROM approvals WHERE id = ?').get(id) as
      ApprovalDbRow | undefined;
    return row ? fromDbRow(row) : null;
  }

  async deniedFor(binding: string, now: string): Promise<ApprovalRow | null> {
    const row = this.db
      .prepare(
        "SELECT * FROM approvals WHERE binding = ? AND status = 'denied' AND expires_at > ? ORDER BY decided_at DESC LIMIT 1",
      )
      .get(binding, now) as ApprovalDbRow | undefined;
    return row ? fromDbRow(row) : null;
  }

  async list(options: { all?: boolean } = {}): Promise<ApprovalRow[]> {
    await this.writeAfterExpiry(() => undefined);
    const rows = this.db
      .prepare(
        `SELECT * FROM approvals ${options.all ? '' : "WHERE status = 'pending'"} ORDER BY created_at`,
      )
      .all() as ApprovalDbRow[];
    return rows.map(fromDbRow);
  }

  decide(
    id: string,
    decision: 'approved' | 'denied',
    approver: string,
    reason: string | null,
    grant: unknown = null,
  ): Promise<ApprovalRow> {
    const grantText = grant === null || grant === undefined ? null : JSON.stringify(grant);
    return this.writeAfterExpiry((now) => {
      const row = this.db.prepare('SELECT * FROM approvals WHERE id = ?').get(id) as
        ApprovalDbRow | undefined;
      checkDecision(row ? fromDbRow(row) : null, id, approver, decision, now);
      this.db
        .prepare(
          'UPDATE approvals SET status = ?, approver = ?, decided_at = ?, reason = ?, "grant" = ? WHERE id = ?',
        )
        .run(decision, approver, now, reason, grantText, id);
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
