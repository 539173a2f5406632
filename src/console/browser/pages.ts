import type { Answer } from './api.js';
import { get, post } from './api.js';
import type { Child } from './dom.js';
import { facts, field, fill, h, pretty, say, table } from './dom.js';

/** The servers, audit, schema drift and inventory pages: each the JSON of its CLI command. */

type Json = Record<string, unknown>;
const str = (v: unknown): string =>
  v === null || v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v);

/** A command's message (warnings, or why it failed), shown above its data. */
function note(a: { message: string | null; code: number }): Child {
  return a.message ? h('p', { class: a.code === 0 ? 'note' : 'note warn' }, a.message) : null;
}

function button(label: string, onClick: () => void): HTMLButtonElement {
  const b = h('button', { type: 'button' }, label);
  b.addEventListener('click', onClick);
  return b;
}

interface ServerTools {
  server: string;
  state: string;
  detail: string | null;
  tools: Json[];
}

/** One server's tools with what the policy decides for each (the descriptions are untrusted text). */
function toolsSection(s: ServerTools): HTMLElement {
  return h(
    'section',
    { class: 'tools', 'aria-label': `Tools of ${s.server}` },
    h('h2', {}, `${s.server}: ${s.state}`),
    s.detail ? h('p', { class: 'note' }, s.detail) : null,
    s.tools.length === 0
      ? h('p', {}, 'No tools listed.')
      : table(
          ['Tool', 'Description', 'Shown to the agent', 'Effect', 'Category', 'Decision', 'Rule'],
          s.tools.map((t) => [
            h('code', { class: 'tool-name' }, str(t.name)),
            h('span', { class: 'description' }, str(t.description)),
            t.hidden ? `no: ${str(t.hidden)}` : 'yes',
            str(t.effect),
            str(t.category),
            `${str(t.decision)}${t.level && t.level !== 'never' ? ` (${str(t.level)})` : ''}`,
            str(t.rule),
          ]),
        ),
  );
}

export async function renderServers(main: HTMLElement, probe = false): Promise<void> {
  fill(main, h('h1', {}, 'Servers'), h('p', {}, probe ? 'Starting each server…' : 'Loading…'));
  const [a, tools] = await Promise.all([
    get<Answer<Json[] | null>>('api/view/servers'),
    probe ? get<Answer<ServerTools[] | null>>('api/view/tools') : null,
  ]);
  const rows = a.data ?? [];
  const runtime = new Map((tools?.data ?? []).map((t) => [t.server, t]));
  fill(
    main,
    h('h1', {}, 'Servers'),
    h(
      'p',
      {},
      button(
        probe ? 'Probe again' : 'Probe runtime state and tools',
        () => void renderServers(main, true),
      ),
    ),
    note(a),
    tools ? note(tools) : null,
    rows.length === 0
      ? h('p', {}, 'No MCP servers configured.')
      : table(
          ['Server', 'Status', 'Why', 'Transport', 'Auth', 'Runtime'],
          rows.map((s) => {
            const r = runtime.get(str(s.name));
            return [
              h('strong', {}, str(s.name)),
              s.enabled ? 'enabled' : 'disabled',
              s.enabled ? '—' : `${str(s.disabled_reason_code)}: ${str(s.disabled_detail)}`,
              str((s.transport as Json | undefined)?.type),
              str(s.auth_status),
              r
                ? `${r.state}${r.state === 'ready' ? ` (${r.tools.length} tools)` : r.detail ? `: ${r.detail}` : ''}`
                : s.enabled
                  ? 'not probed'
                  : '—',
            ];
          }),
          'Configured servers (gatehouse mcp list)',
        ),
    ...(tools?.data ?? []).map(toolsSection),
  );
}

const AUDIT_FILTERS = [
  ['since', 'Since (ISO or 2h, 7d)'],
  ['until', 'Until'],
  ['user', 'Caller'],
  ['server', 'Server'],
  ['tool', 'Tool'],
  ['decision', 'Decision'],
  ['type', 'Event type'],
] as const;
/** The values the enum filters accept (`audit query --decision/--type` choices). */
let auditChoices: Record<string, string[]> | null = null;
let auditQuery = new URLSearchParams();

interface AuditRecord {
  seq: number;
  ts: string;
  hash: string;
  event: Json;
}

/** Calls, denials and approvals per hour, as bars (sizes set through the CSSOM, CSP allows it). */
function chart(records: AuditRecord[]): HTMLElement {
  const hours = new Map<string, { calls: number; denials: number; approvals: number }>();
  for (const r of records) {
    const hour = r.ts.slice(0, 13);
    const b = hours.get(hour) ?? { calls: 0, denials: 0, approvals: 0 };
    const type = str(r.event.type);
    if (type === 'call.result' || type === 'call.intent') b.calls += type === 'call.intent' ? 1 : 0;
    if (type === 'approval.denied' || (r.event.decision as Json | undefined)?.kind === 'deny')
      b.denials++;
    if (type === 'approval.granted') b.approvals++;
    hours.set(hour, b);
  }
  const max = Math.max(1, ...[...hours.values()].flatMap((b) => [b.calls, b.denials, b.approvals]));
  const figure = h(
    'figure',
    { class: 'chart' },
    h('figcaption', {}, 'Calls, denials and approvals per hour (shown records)'),
  );
  for (const [hour, b] of hours) {
    const group = h('div', { class: 'bars', title: `${hour}:00` });
    for (const [kind, n] of Object.entries(b)) {
      const bar = h('span', { class: `bar ${kind}`, 'aria-label': `${kind} ${n}` });
      bar.style.height = `${Math.round((n / max) * 100)}%`;
      group.appendChild(bar);
    }
    figure.appendChild(
      h('div', { class: 'hour' }, group, h('span', { class: 'label' }, `${hour.slice(11)}h`)),
    );
  }
  return figure;
}

/** A record's server: a name, or the server's identity object (its name). */
function serverName(v: unknown): string {
  return v && typeof v === 'object' && 'name' in v ? str((v as Json).name) : str(v);
}

async function verify(out: HTMLElement): Promise<void> {
  fill(out, h('p', {}, 'Verifying the chain…'));
  try {
    const a = await post<Answer<Json>>('api/action/verify', {});
    const r = a.data;
    const cps = (r.checkpoints ?? {}) as Json;
    fill(
      out,
      h(
        'p',
        { class: r.ok ? 'verdict ok' : 'verdict bad' },
        r.ok
          ? r.complete
            ? 'Intact and complete.'
            : 'Intact, but evidence is missing.'
          : 'Broken.',
      ),
      facts([
        ['Records', str(r.records)],
        [
          'Signed checkpoints',
          `${str(cps.verified)} of ${str(cps.total)} verified (last at record ${str(cps.last_seq)})`,
        ],
        ['Anchored through', str(r.anchored_through)],
        ['Not yet under a checkpoint', str(r.unanchored)],
        ['Problem', r.problem ? pretty(r.problem) : 'none'],
      ]),
      Array.isArray(r.findings) && r.findings.length > 0
        ? h('ul', {}, ...r.findings.map((f) => h('li', {}, str((f as Json).message ?? pretty(f)))))
        : null,
    );
  } catch (err) {
    fill(out, h('p', { class: 'note warn' }, (err as Error).message));
  }
}

async function exportTrail(): Promise<void> {
  const a = await get<Answer<string>>('api/view/audit-export');
  const link = h('a', { download: 'gatehouse-audit.jsonl' }, 'download');
  link.href = URL.createObjectURL(new Blob([str(a.data)], { type: 'application/jsonl' }));
  link.click();
  say('Exported the audit trail as JSONL.');
}

export async function renderAudit(main: HTMLElement): Promise<void> {
  const a = await get<Answer<AuditRecord[] | null>>(`api/view/audit?${auditQuery.toString()}`);
  const records = a.data ?? [];
  const form = h('form', { class: 'filters', role: 'search' });
  auditChoices ??= (await get<Answer<Record<string, string[]>>>('api/view/audit-choices')).data;
  for (const [name, label] of AUDIT_FILTERS) {
    const choices = auditChoices[name];
    const value = auditQuery.get(name) ?? '';
    form.append(
      field(
        label,
        choices
          ? h(
              'select',
              { id: `audit-${name}`, name },
              h('option', { value: '' }, 'any'),
              ...choices.map((c) => h('option', { value: c, selected: c === value }, c)),
            )
          : h('input', { id: `audit-${name}`, name, value }),
      ),
    );
  }
  form.append(h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    auditQuery = new URLSearchParams();
    for (const [name] of AUDIT_FILTERS) {
      const v = (
        form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement
      ).value.trim();
      if (v) auditQuery.set(name, v);
    }
    void renderAudit(main);
  });
  const detail = h('section', { class: 'detail', 'aria-live': 'polite' });
  const verdict = h('div', { class: 'verify' });
  fill(
    main,
    h('h1', {}, 'Audit'),
    h(
      'p',
      {},
      button('Verify the chain', () => void verify(verdict)),
      ' ',
      button('Export JSONL', () => void exportTrail()),
    ),
    verdict,
    form,
    note(a),
    records.length > 0 ? chart(records) : null,
    records.length === 0
      ? h('p', {}, 'No audit records match.')
      : table(
          ['#', 'Time', 'Type', 'Server', 'Tool', 'Caller', ''],
          records.map((r) => [
            String(r.seq),
            r.ts.replace('T', ' ').slice(0, 19),
            str(r.event.type),
            serverName(r.event.server),
            str(r.event.tool ?? r.event.target),
            str(r.event.user ?? r.event.requester),
            button('Details', () => {
              fill(
                detail,
                h('h2', {}, `Record ${r.seq}`),
                facts([['Hash', r.hash]]),
                h('pre', {}, pretty(r.event)),
              );
              detail.scrollIntoView();
            }),
          ]),
          `${records.length} most recent matching records`,
        ),
    detail,
  );
}

const CLASS_ORDER = ['breaking', 'risky', 'widening', 'cosmetic'];

/** Accepts the live version of SERVER or SERVER/TOOL into the lock, then shows the page again. */
function approveSchema(main: HTMLElement, target: string): void {
  void post<Answer>('api/action/schema-approve', { target })
    .then(() => say(`Accepted the live version of ${target} into the lock.`))
    .catch((err: Error) => say(err.message, 'error'))
    .then(() => renderSchema(main));
}

export async function renderSchema(main: HTMLElement): Promise<void> {
  fill(main, h('h1', {}, 'Schema drift'), h('p', {}, 'Comparing live servers with the lock…'));
  // No lock yet is an answer too (said on the page), not a failure of the whole page.
  const failed = (err: Error) => ({ code: 1, data: null, message: err.message });
  const [diff, log] = await Promise.all([
    get<Answer<Json | null>>('api/view/schema').catch(failed),
    get<Answer<unknown>>('api/view/schema-log').catch(failed),
  ]);
  const changes = ((diff.data?.changes as Json[] | undefined) ?? []).slice();
  changes.sort((x, y) => CLASS_ORDER.indexOf(str(x.class)) - CLASS_ORDER.indexOf(str(y.class)));
  const servers = [...new Set(changes.map((c) => str(c.server)))];
  fill(
    main,
    h('h1', {}, 'Schema drift'),
    note(diff),
    diff.data
      ? facts([
          ['Compared', `${str(diff.data.before)} → ${str(diff.data.after)}`],
          ['Counts', pretty(diff.data.counts)],
        ])
      : null,
    changes.length === 0
      ? h('p', { class: 'empty' }, 'No change since the lock.')
      : table(
          ['Class', 'Server', 'What', 'Change', 'Before', 'After', ''],
          changes.map((c) => [
            h('span', { class: `badge ${str(c.class)}` }, str(c.class)),
            str(c.server),
            `${str(c.kind)} ${str(c.name)}`,
            h('span', { class: 'description' }, str(c.summary)),
            c.before === null ? '—' : h('pre', {}, pretty(c.before)),
            c.after === null ? '—' : h('pre', {}, pretty(c.after)),
            c.kind === 'tool'
              ? button(`Approve ${str(c.server)}/${str(c.name)}`, () =>
                  approveSchema(main, `${str(c.server)}/${str(c.name)}`),
                )
              : null,
          ]),
          'Changelog, breaking first',
        ),
    servers.length > 0
      ? h(
          'p',
          { class: 'actions' },
          ...servers.map((s) =>
            button(`Approve all of ${s} as the signed-in person`, () => approveSchema(main, s)),
          ),
        )
      : null,
    h('h2', {}, 'History'),
    note(log),
    Array.isArray(log.data)
      ? table(
          ['When', 'By', 'What', 'Change', 'Summary'],
          (log.data as Json[])
            .slice()
            .reverse()
            .map((e) => [
              str(e.at).replace('T', ' ').slice(0, 19),
              str(e.by),
              `${str(e.server)} ${str(e.kind)} ${str(e.name)}`,
              str(e.change),
              h('span', { class: 'description' }, str(e.summary)),
            ]),
          'Accepted versions, newest first (gatehouse schema log)',
        )
      : h('pre', {}, pretty(log.data ?? 'no history')),
  );
}

export async function renderInventory(main: HTMLElement): Promise<void> {
  fill(main, h('h1', {}, 'Inventory'), h('p', {}, 'Taking the inventory…'));
  const a = await get<Answer<Json | null>>('api/view/inventory');
  const findings = (a.data?.findings as Json[] | undefined) ?? [];
  fill(
    main,
    h('h1', {}, 'Inventory findings'),
    note(a),
    a.data
      ? h(
          'p',
          {},
          a.data.ok ? 'No violations of the plugin policy.' : 'The plugin policy is violated.',
        )
      : null,
    findings.length === 0
      ? h('p', {}, 'No findings.')
      : table(
          ['Severity', 'Rule', 'Subject', 'Finding', 'Fix'],
          findings.map((f) => [
            str(f.severity),
            str(f.rule),
            `${str((f.subject as Json | undefined)?.kind)} ${str((f.subject as Json | undefined)?.id)}`,
            str(f.message),
            str(f.fix),
          ]),
        ),
  );
}
