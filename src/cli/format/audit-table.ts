/**
 * The table `audit tail` and `audit query` print. The index columns say who did what to which
 * target; records whose meaning is in their body (a server's state and why, a gateway's start,
 * a drift, an approval's reason) get a DETAIL column, so a reader does not need `--json` to see
 * why a server failed. A session's start (the gateway.start record and the server states its
 * gateway wrote right after) is one row, not one per server: the rest of the table is calls.
 */
import type { StoredRecord } from '../../audit/chain.js';

export const AUDIT_TABLE_COLUMNS = [
  'SEQ',
  'TIME',
  'TYPE',
  'SERVER',
  'TARGET',
  'DECISION',
  'OUTCOME',
  'THREAD',
  'ACTOR',
  'DETAIL',
] as const;

const DETAIL_MAX = 100;

type Body = Record<string, unknown> & { gateway?: { instance?: unknown } };

function parseBody(r: StoredRecord): Body {
  try {
    const value = JSON.parse(r.body) as unknown;
    return value && typeof value === 'object' ? (value as Body) : {};
  } catch {
    return {};
  }
}

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/** One line, control characters shown as spaces (a server's text cannot forge table rows). */
function oneLine(s: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ').trim();
  return flat.length > DETAIL_MAX ? `${flat.slice(0, DETAIL_MAX - 1)}…` : flat;
}

/** What the body says that the index columns do not. Stored bodies are already masked. */
export function auditDetail(type: string, body: Body): string {
  switch (type) {
    case 'server.state': {
      const state = text(body.state) ?? '?';
      const detail = text(body.detail);
      return oneLine(detail ? `${state}: ${detail}` : state);
    }
    case 'gateway.start': {
      const servers = Array.isArray(body.servers)
        ? body.servers.filter((s) => typeof s === 'string')
        : [];
      return oneLine(
        `${text(body.mode) ?? '?'} over ${text(body.transport) ?? '?'}, gatehouse ${text(body.version) ?? '?'}, ${servers.length} server(s)`,
      );
    }
    case 'gateway.stop':
    case 'notification.dropped':
      return oneLine(text(body.reason) ?? '');
    case 'schema.drift':
      return oneLine(`${text(body.action) ?? '?'}: ${text(body.reason) ?? ''}`);
    case 'credential.login': {
      const detail = text(body.detail);
      return oneLine(`login ${text(body.outcome) ?? '?'}${detail ? `: ${detail}` : ''}`);
    }
    case 'audit.pruned':
      return oneLine(`removed ${String(body.removed)} before ${text(body.before) ?? '?'}`);
    case 'audit.fail_open':
      return oneLine(
        `${String(body.calls_unrecorded)} call(s) unrecorded: ${text(body.detail) ?? ''}`,
      );
    default:
      if (type.startsWith('approval.')) return oneLine(text(body.reason) ?? '');
      if (type === 'call.result') {
        const error = body.error as { message?: unknown } | null | undefined;
        return oneLine(text(error?.message) ?? '');
      }
      return '';
  }
}

function baseRow(r: StoredRecord, detail: string): string[] {
  const c = r.columns;
  return [
    String(r.seq),
    r.ts,
    c.type,
    c.server ?? '-',
    c.target ?? '-',
    c.decision ?? '-',
    c.outcome ?? '-',
    c.thread_id ?? '-',
    c.actor ?? '-',
    detail,
  ];
}

/**
 * Rows for the table. A gateway.start followed directly by server.state records of the same
 * gateway instance becomes one `session.start` row listing each server's state.
 */
export function auditTableRows(records: readonly StoredRecord[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as StoredRecord;
    const body = parseBody(r);
    if (r.columns.type !== 'gateway.start') {
      out.push(baseRow(r, auditDetail(r.columns.type, body)));
      continue;
    }
    const instance = body.gateway?.instance;
    const states: string[] = [];
    let j = i + 1;
    for (; j < records.length; j++) {
      const next = records[j] as StoredRecord;
      if (next.columns.type !== 'server.state') break;
      const nb = parseBody(next);
      if (instance === undefined || nb.gateway?.instance !== instance) break;
      states.push(`${next.columns.server ?? '?'} ${auditDetail('server.state', nb)}`);
    }
    if (states.length === 0) {
      out.push(baseRow(r, auditDetail('gateway.start', body)));
      continue;
    }
    const row = baseRow(r, oneLine(`${auditDetail('gateway.start', body)}; ${states.join('; ')}`));
    const last = records[j - 1] as StoredRecord;
    row[0] = `${r.seq}-${last.seq}`;
    row[2] = 'session.start';
    out.push(row);
    i = j - 1;
  }
  return out;
}

/** The table as text, columns padded; trailing spaces trimmed. */
export function renderAuditTable(records: readonly StoredRecord[]): string {
  const table: string[][] = [[...AUDIT_TABLE_COLUMNS], ...auditTableRows(records)];
  const width = AUDIT_TABLE_COLUMNS.map((_, i) =>
    Math.max(...table.map((row) => (row[i] ?? '').length)),
  );
  return `${table
    .map((row) =>
      row
        .map((c, i) => c.padEnd(width[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}
