/**
 * Building the page. Everything shown comes from a server or a caller (tool names, arguments,
 * descriptions are attacker-controlled), so it only ever becomes text nodes and attribute values:
 * nothing here parses HTML (no innerHTML, no insertAdjacentHTML).
 */
export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (/^on/i.test(name) || name === 'style') throw new Error(`refused attribute ${name}`);
    el.setAttribute(name, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children)
    if (c !== null && c !== undefined && c !== false)
      el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
}

/** Replaces an element's content. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** Announces a message in the status region (screen readers hear it). */
export function say(message: string, kind: 'ok' | 'error' = 'ok'): void {
  const status = document.getElementById('status');
  if (!status) return;
  status.className = `status ${kind}`;
  status.textContent = message;
}

/** A value as readable text: strings as they are, the rest as indented JSON. */
export function pretty(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** A definition list of label → value (values as text). */
export function facts(rows: [string, Child][]): HTMLDListElement {
  const dl = h('dl', { class: 'facts' });
  for (const [label, value] of rows) append(dl, [h('dt', {}, label), h('dd', {}, value ?? '—')]);
  return dl;
}

/** A table with a header row; cells as text or nodes. Scrolls sideways on a narrow screen. */
export function table(head: string[], rows: Child[][], caption?: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, ...head.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
    ),
  );
}

/** A labelled form field (the label above its control). */
export function field(label: string, control: HTMLElement): HTMLElement {
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
}

/** "in 4m 10s" / "expired" for an ISO time. */
export function timeLeft(iso: string, now = Date.now()): string {
  const ms = Date.parse(iso) - now;
  if (!(ms > 0)) return 'expired';
  const s = Math.round(ms / 1000);
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m ${s % 60}s left` : `${s}s left`;
}
