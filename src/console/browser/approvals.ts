import { get, post, signedIn } from './api.js';
import { facts, field, fill, h, pretty, say, table, timeLeft } from './dom.js';

/** An approval as `gatehouse approvals list --json` shows it, plus what this viewer may do. */
interface Approval {
  id: string;
  status: string;
  server: string;
  tool: string;
  category: string | null;
  requester: string | null;
  approval: string;
  level: string;
  arguments: unknown;
  rule: string;
  policy_revision: string;
  created_at: string;
  expires_at: string;
  approver: string | null;
  decided_at: string | null;
  reason: string | null;
  own: boolean;
  approve_blocked: string | null;
}

/** Reasons being typed, kept across live refreshes. */
const drafts = new Map<string, string>();
let historyFilter = { status: '', text: '' };

const LEVEL_TEXT: Record<string, string> = {
  two_person: 'needs a second person',
  always: 'needs a person',
  prompt: 'needs approval',
};

async function decide(row: Approval, decision: 'approve' | 'deny', main: HTMLElement) {
  const reason = (drafts.get(row.id) ?? '').trim();
  if (decision === 'deny' && !reason) {
    say(`A denial needs a reason (the caller is told it): write it for ${row.tool}.`, 'error');
    document.getElementById(`reason-${row.id}`)?.focus();
    return;
  }
  for (const b of document.querySelectorAll<HTMLButtonElement>(`[data-approval="${row.id}"]`))
    b.disabled = true;
  try {
    await post(`api/approvals/${encodeURIComponent(row.id)}/${decision}`, { reason });
    drafts.delete(row.id);
    say(`${decision === 'approve' ? 'Approved' : 'Denied'} ${row.server}/${row.tool} (${row.id}).`);
  } catch (err) {
    say((err as Error).message, 'error');
  }
  await renderApprovals(main);
}

function card(row: Approval, main: HTMLElement): HTMLElement {
  const reasonId = `reason-${row.id}`;
  const blockedId = `blocked-${row.id}`;
  const reason = h('textarea', { id: reasonId, rows: '2', name: 'reason' });
  reason.value = drafts.get(row.id) ?? '';
  reason.addEventListener('input', () => drafts.set(row.id, reason.value));
  const approve = h(
    'button',
    {
      id: `approve-${row.id}`,
      type: 'button',
      class: 'approve',
      'data-approval': row.id,
      disabled: row.approve_blocked !== null,
      'aria-describedby': row.approve_blocked ? blockedId : undefined,
    },
    'Approve',
  );
  const deny = h(
    'button',
    { id: `deny-${row.id}`, type: 'button', class: 'deny', 'data-approval': row.id },
    'Deny',
  );
  approve.addEventListener('click', () => void decide(row, 'approve', main));
  deny.addEventListener('click', () => void decide(row, 'deny', main));
  return h(
    'article',
    { class: 'approval', 'data-id': row.id, 'aria-labelledby': `title-${row.id}` },
    h(
      'h3',
      { id: `title-${row.id}` },
      h('span', { class: 'server' }, row.server),
      ' / ',
      h('span', { class: 'tool' }, row.tool),
    ),
    h('p', { class: `badge ${row.level}` }, LEVEL_TEXT[row.level] ?? row.level),
    facts([
      ['Requester', `${row.requester ?? 'unknown'}${row.own ? ' (you)' : ''}`],
      ['Category', row.category ?? 'none'],
      ['Rule', row.rule],
      ['Policy revision', row.policy_revision],
      [
        'Time left',
        h('span', { class: 'expires', 'data-expires': row.expires_at }, timeLeft(row.expires_at)),
      ],
      ['Approval id', row.id],
    ]),
    h('h4', {}, 'Arguments (masked)'),
    h('pre', { class: 'args' }, pretty(row.arguments)),
    h('label', { for: reasonId }, 'Reason (required to deny)'),
    reason,
    row.approve_blocked ? h('p', { id: blockedId, class: 'note' }, row.approve_blocked) : null,
    h('div', { class: 'actions' }, approve, deny),
  );
}

function history(rows: Approval[], main: HTMLElement): HTMLElement {
  const status = h(
    'select',
    { id: 'history-status' },
    ...['', 'approved', 'denied', 'used', 'expired', 'rejected'].map((s) =>
      h('option', { value: s, selected: s === historyFilter.status }, s || 'any status'),
    ),
  );
  const text = h('input', { id: 'history-text', type: 'search', value: historyFilter.text });
  const form = h(
    'form',
    { class: 'filters', role: 'search' },
    field('Status', status),
    field('Server, tool or person', text),
    h('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    historyFilter = { status: status.value, text: text.value.trim().toLowerCase() };
    void renderApprovals(main);
  });
  const shown = rows.filter(
    (r) =>
      r.status !== 'pending' &&
      (!historyFilter.status || r.status === historyFilter.status) &&
      (!historyFilter.text ||
        [r.server, r.tool, r.requester ?? '', r.approver ?? ''].some((v) =>
          v.toLowerCase().includes(historyFilter.text),
        )),
  );
  return h(
    'section',
    { 'aria-labelledby': 'history-title' },
    h('h2', { id: 'history-title' }, 'History'),
    form,
    shown.length === 0
      ? h('p', {}, 'No decided approvals match.')
      : table(
          ['When', 'Call', 'Status', 'Requester', 'Decided by', 'Reason'],
          shown.map((r) => [
            r.decided_at ?? r.created_at,
            `${r.server}/${r.tool}`,
            r.status,
            r.requester ?? 'unknown',
            r.approver ?? '—',
            r.reason === null ? '—' : pretty(r.reason),
          ]),
        ),
  );
}

/** The approvals inbox: calls waiting for a person, then the history. */
export async function renderApprovals(main: HTMLElement): Promise<void> {
  const viewer = signedIn();
  const rows = await get<Approval[]>('api/approvals?all=1');
  const pending = rows.filter((r) => r.status === 'pending');
  fill(
    main,
    h('h1', {}, 'Approvals'),
    viewer
      ? h('p', { class: 'lead' }, `Deciding as ${viewer.name}${viewer.signs ? ' (signed)' : ''}.`)
      : null,
    h(
      'section',
      { 'aria-labelledby': 'waiting-title' },
      h('h2', { id: 'waiting-title' }, `Waiting (${pending.length})`),
      pending.length === 0
        ? h('p', { class: 'empty' }, 'No call is waiting for a person.')
        : h('div', { class: 'cards' }, ...pending.map((r) => card(r, main))),
    ),
    history(rows, main),
  );
}

/** Updates the "time left" texts once a second. */
export function tickExpiries(): void {
  for (const el of document.querySelectorAll<HTMLElement>('[data-expires]'))
    el.textContent = timeLeft(el.dataset.expires ?? '');
}
