import { renderApprovals, tickExpiries } from './approvals.js';
import { ApiError, post, startSession } from './api.js';
import { fill, h, say } from './dom.js';
import { renderAudit, renderInventory, renderSchema, renderServers } from './pages.js';

/** The console's entry point: a hash router over the pages, and live approval updates (SSE). */

const PAGES: Record<string, (main: HTMLElement) => Promise<void>> = {
  approvals: renderApprovals,
  servers: renderServers,
  audit: renderAudit,
  schema: renderSchema,
  inventory: renderInventory,
};

const page = () => {
  const name = location.hash.replace(/^#/, '');
  return name in PAGES ? name : 'approvals';
};

async function show(focus: boolean): Promise<void> {
  const main = document.getElementById('main');
  if (!main) return;
  const name = page();
  for (const a of document.querySelectorAll('nav a'))
    if (a.getAttribute('href') === `#${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  try {
    await PAGES[name]?.(main);
  } catch (err) {
    fill(main, h('h1', {}, 'Something went wrong'), h('p', {}, (err as Error).message));
  }
  if (focus) main.focus();
}

/** A new one-time login link, for signing in on another device (a phone): shown, never stored. */
function anotherDeviceButton(): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'link-button' }, 'Sign in another device');
  b.addEventListener('click', () => {
    void post<{ path: string }>('api/login-links', {}).then(
      (r) => say(`One-time link (valid 60 minutes): ${location.origin}${r.path}`),
      (err: Error) => say(err.message, 'error'),
    );
  });
  return b;
}

/**
 * The team gateway's sign-in form: the pasted identity-provider token goes once, as a bearer
 * token, to `session` (which sets the session cookie); then the console loads.
 */
function wireSignIn(form: HTMLFormElement): void {
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const field = form.elements.namedItem('token') as HTMLInputElement;
    const token = field.value.trim();
    field.value = '';
    void fetch('session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { authorization: `Bearer ${token}` },
    }).then(async (res) => {
      if (res.ok) return location.replace('./');
      const body = (await res.json().catch(() => ({}))) as { error?: string };
      say(body.error ?? `the console answered ${res.status}`, 'error');
    });
  });
  document.documentElement.dataset.ready = 'signin';
}

async function start(): Promise<void> {
  const signIn = document.getElementById('signin');
  if (signIn instanceof HTMLFormElement) return wireSignIn(signIn);
  try {
    const viewer = await startSession();
    const who = document.getElementById('viewer');
    if (who) {
      who.textContent = `signed in as ${viewer.name} `;
      if (viewer.links) who.appendChild(anotherDeviceButton());
    }
    const served = viewer.pages;
    if (served)
      for (const name of Object.keys(PAGES))
        if (!served.includes(name)) {
          delete PAGES[name];
          document.querySelector(`nav a[href="#${name}"]`)?.closest('li')?.remove();
        }
  } catch (err) {
    const main = document.getElementById('main');
    if (main) fill(main, h('h1', {}, 'Sign in'), h('p', {}, (err as Error).message));
    return;
  }
  window.addEventListener('hashchange', () => void show(true));
  await show(false);
  const events = new EventSource('api/events');
  events.addEventListener('approvals', () => {
    if (page() !== 'approvals') return;
    // Re-rendered in place: the field being typed in keeps its focus (reasons are kept as drafts).
    const focused = document.activeElement?.id;
    void show(false).then(() => {
      if (focused) document.getElementById(focused)?.focus();
    });
  });
  setInterval(tickExpiries, 1000);
  document.documentElement.dataset.ready = 'true';
}

window.addEventListener('unhandledrejection', (e) => {
  const err = e.reason as unknown;
  say(err instanceof ApiError ? err.message : String(err), 'error');
});
void start();
