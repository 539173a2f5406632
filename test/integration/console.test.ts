import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { hasChromium, launchChromium } from '../support/browser.js';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const fixture = (name: string, file: string) =>
  `[mcp_servers.${name}]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(join(FIXTURES, file))}]\n`;
const CONFIG = `${fixture('governed', 'governed.mjs')}\n${fixture('hostile', 'hostile-text.mjs')}`;
const REQUIREMENTS = `
[gatehouse_policy]
default_approval = "gatehouse"
approval_wait_seconds = 30

[gatehouse_policy.tools."governed/update_note"]
approval = "always"

[gatehouse_policy.tools."governed/refund"]
category = "money"
approval = "two_person"
`;
const XSS_IMG = '<img src=x onerror=window.__xss=1>';
const XSS_SCRIPT = '<script>window.__xss = 2</script>';

const children: ChildProcess[] = [];
const clients: Client[] = [];
let browser: Browser;

beforeAll(async () => {
  if (hasChromium() && existsSync(BIN)) browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

/**
 * The fixture's policy with two approver keys listed: `self` (this OS account's, so the
 * requester's own) and `bob`. Returns the gateway arguments and self's key file.
 */
async function setup() {
  const keys = tempDir();
  const listed: string[] = [];
  const files: Record<string, string> = {};
  for (const [name, osUser] of [
    ['self', userInfo().username],
    ['bob', null],
  ] as const) {
    const file = join(keys, name, 'key.pem');
    const r = await cli(['approvals', 'keygen', '--name', name, '--out', file, '--json']);
    if (r.code !== 0) throw new Error(r.stderr);
    const key = JSON.parse(r.stdout) as { public_key: string };
    listed.push(
      `  { name = "${name}", public_key = "${key.public_key}"${osUser ? `, os_users = ["${osUser}"]` : ''} },`,
    );
    files[name] = file;
  }
  const dir = writeFiles({
    'config.toml': CONFIG,
    'requirements.toml': `${REQUIREMENTS}\n[gatehouse_approvals]\napprovers = [\n${listed.join('\n')}\n]\n`,
  });
  return {
    home: tempDir(),
    key: files.self ?? '',
    args: ['--config', join(dir, 'config.toml'), '--requirements', join(dir, 'requirements.toml')],
  };
}

/** `gatehouse console --json`: its address and one-time login link (the first stdout line). */
async function startConsole(
  home: string,
  args: string[],
  key?: string,
): Promise<{ url: string; login_url: string }> {
  const options = key ? ['--key', key] : [];
  const child = spawn(process.execPath, [BIN, ...args, 'console', '--json', ...options], {
    env: { ...process.env, GATEHOUSE_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`console exited ${code}: ${stderr}`)));
  });
  return JSON.parse(line) as { url: string; login_url: string };
}

/** A real MCP client calling through `gatehouse run governed` (no elicitation: calls queue). */
async function mcpClient(home: string, args: string[]): Promise<Client> {
  const client = new Client({ name: 'console-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, ...args, 'run', 'governed'],
      env: { ...process.env, GATEHOUSE_HOME: home } as Record<string, string>,
      stderr: 'pipe',
    }),
  );
  clients.push(client);
  return client;
}

/** The focused element's text, evaluated in the page (no DOM types in the tests' build). */
const focusedText = () =>
  (globalThis as unknown as { document: { activeElement: { textContent: string } | null } })
    .document.activeElement?.textContent;

/** Waits until the element shows the text (no timing assertion: it fails by the test's timeout). */
async function shows(locator: Locator, wanted: string): Promise<void> {
  await locator.filter({ hasText: wanted }).first().waitFor();
}

/**
 * GATEHOUSE_SCREENSHOTS=DIR: saves each page as DIR/console-NAME.png (how docs/images are made;
 * checked by looking at them, not by this test).
 */
async function snap(page: Page, name: string): Promise<void> {
  const dir = process.env.GATEHOUSE_SCREENSHOTS;
  if (dir) await page.screenshot({ path: join(dir, `console-${name}.png`), fullPage: true });
}

const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]?.text;

/** The approval card for a tool, once the live updates have shown it. */
async function card(page: Page, tool: string) {
  const c = page.locator('article.approval', { has: page.locator('.tool', { hasText: tool }) });
  await c.first().waitFor();
  return c.first();
}

describe.skipIf(!hasChromium() || !existsSync(BIN))('the governance console in Chromium', () => {
  test('sign in once; a waiting call shows masked, inert arguments; approve releases it; deny needs a reason; two_person is refused to its requester', async () => {
    const { home, args, key } = await setup();
    const client = await mcpClient(home, args);
    const consoleUrl = await startConsole(home, args, key);
    const context = await browser.newContext();
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });

    // The login link signs in (a cookie), then works no more.
    const first = await page.goto(consoleUrl.login_url);
    expect(first?.url()).toBe(consoleUrl.url);
    const headers = first?.headers() ?? {};
    expect(headers['content-security-policy']).toContain("script-src 'self'");
    expect(headers['content-security-policy']).not.toContain('unsafe-inline');
    const html = (await first?.text()) ?? '';
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    const again = await (await browser.newContext()).newPage();
    const reused = await again.goto(consoleUrl.login_url);
    expect(reused?.status()).toBe(403);
    await shows(again.locator('main'), 'already used');
    const anonymous = await fetch(`${consoleUrl.url}api/approvals`);
    expect(anonymous.status).toBe(401);
    // A signed-in console hands out a new one-time link (for a phone).
    await page.getByRole('button', { name: 'Sign in another device' }).click();
    await shows(page.locator('#status'), 'One-time link');
    const link = /(http:\S+)/.exec((await page.locator('#status').textContent()) ?? '')?.[1] ?? '';
    const phone = await (
      await browser.newContext({ viewport: { width: 390, height: 844 } })
    ).newPage();
    await phone.goto(link);
    await shows(phone.locator('main h1'), 'Approvals');

    // A call waits; the page shows it live (no reload), with its arguments as text.
    const held = client
      .callTool({
        name: 'update_note',
        arguments: { note: `${XSS_IMG}${XSS_SCRIPT}`, token: 'sk-live-abcdefghijklmnopqrstuvwx' },
      })
      .catch((e: Error) => e); // awaited below; caught here so an early failure is reported once
    const waiting = await card(page, 'update_note');
    const shown = await waiting.locator('pre.args').textContent();
    expect(shown).toContain(XSS_IMG);
    expect(shown).toContain(XSS_SCRIPT);
    expect(shown).not.toContain('sk-live-abcdefghijklmnopqrstuvwx');
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    await snap(page, 'approvals');
    await page.setViewportSize({ width: 390, height: 844 });
    await snap(page, 'approvals-phone');
    await page.setViewportSize({ width: 1280, height: 720 });
    // By keyboard: the reason, then Tab to Approve, then Enter.
    await waiting.getByLabel('Reason (required to deny)').fill('looked at it');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(focusedText)).toBe('Approve');
    await page.keyboard.press('Enter');
    expect(text(await held)).toBe(`saved ${XSS_IMG}${XSS_SCRIPT}`);
    await shows(page.locator('#viewer'), 'signed in as self');
    await shows(page.locator('#status'), 'Approved governed/update_note');

    // Deny: refused without a reason (nothing decided), then with one; the caller hears it.
    const second = client
      .callTool({ name: 'update_note', arguments: { note: 'second' } })
      .catch((e: Error) => e);
    const toDeny = await card(page, 'update_note');
    await toDeny.getByRole('button', { name: 'Deny' }).click();
    await shows(page.locator('#status'), 'A denial needs a reason');
    await toDeny.getByLabel('Reason (required to deny)').fill('not during the freeze');
    await toDeny.getByRole('button', { name: 'Deny' }).click();
    const denied = await second;
    expect(denied).toBeInstanceOf(Error);
    expect((denied as Error).message).toContain('not during the freeze');

    // two_person: the requester (this OS user, also the console's person) cannot approve.
    void client.callTool({ name: 'refund', arguments: { amount: 5, to: 'bob' } }).catch(() => null);
    const refund = await card(page, 'refund');
    expect(await refund.getByRole('button', { name: 'Approve' }).isDisabled()).toBe(true);
    await shows(refund, 'You requested this call');
    await shows(refund.locator('dl'), 'Categorymoney');
    const id = (await refund.getAttribute('data-id')) ?? '';
    const forced = await page.evaluate(async (approvalId) => {
      const s = (await (await fetch('api/session')).json()) as { csrf: string };
      const post = (token: string, path: string, body: unknown) =>
        fetch(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-csrf-token': token },
          body: JSON.stringify(body),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: string } }));
      return {
        own: await post(s.csrf, `api/approvals/${approvalId}/approve`, {}),
        forged: await post('forged', `api/approvals/${approvalId}/deny`, { reason: 'x' }),
        none: await fetch(`api/approvals/${approvalId}/deny`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"reason":"x"}',
        }).then((r) => r.status),
        deny: await post(s.csrf, `api/approvals/${approvalId}/deny`, { reason: 'two tabs' }),
        secondTab: await post(s.csrf, `api/approvals/${approvalId}/deny`, { reason: 'two tabs' }),
      };
    }, id);
    expect(forced.own.status).toBe(409);
    expect(forced.own.body.error).toContain('second person');
    expect(forced.forged.status).toBe(403);
    expect(forced.forged.body.error).toContain('CSRF');
    expect(forced.none).toBe(403);
    expect(forced.deny.status).toBe(200);
    expect(forced.secondTab.status).toBe(409);
    expect(forced.secondTab.body.error).toContain(`approval ${id} is already denied`);

    // History, and the audit trail verified from the Audit page.
    await shows(page.locator('section', { hasText: 'History' }), 'not during the freeze');
    await page.getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await shows(page.locator('.verdict'), 'Intact');
    await shows(page.locator('table'), 'approval.granted');
    await snap(page, 'audit');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export JSONL' }).click(),
    ]);
    const exported = readFileSync((await download.path()) ?? '', 'utf8')
      .trim()
      .split('\n');
    expect(JSON.parse(exported[0] ?? '{}')).toMatchObject({ kind: 'gatehouse.audit.export' });
    expect(exported.length).toBeGreaterThan(10);

    // Servers: a tool name and description written by the server are shown, inert.
    await page.getByRole('link', { name: 'Servers' }).click();
    await page.getByRole('button', { name: 'Probe runtime state and tools' }).click();
    await shows(page.locator('.description'), '<script>window.__xss=5</script>');
    await shows(page.locator('.tool-name'), 'lookup<img src=x onerror=window.__xss=3>');
    await shows(page.locator('section.tools'), 'update_note');
    await snap(page, 'servers');
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
    expect(violations).toEqual([]);
  }, 120_000);

  test('schema drift: a changed tool description shows as inert text and is approved into the lock', async () => {
    const dir = tempDir();
    const description = join(dir, 'description.txt');
    writeFileSync(description, 'Reads the notes.');
    writeFileSync(
      join(dir, 'c.toml'),
      `[mcp_servers.contract]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(join(FIXTURES, 'contract.mjs'))}]\nenv = { CONTRACT_NOTES_DESCRIPTION_FILE = ${JSON.stringify(description)} }\n`,
    );
    const home = tempDir();
    const flags = ['--config', join(dir, 'c.toml'), '--lock', join(dir, 'gatehouse.lock.json')];
    expect((await cli([...flags, 'schema', 'snapshot'], { GATEHOUSE_HOME: home })).code).toBe(0);
    writeFileSync(description, `Reads the notes. ${XSS_IMG}`);

    const consoleUrl = await startConsole(home, flags);
    const page = await (await browser.newContext()).newPage();
    await page.goto(consoleUrl.login_url);
    await page.getByRole('link', { name: 'Schema drift' }).click();
    await shows(page.locator('table'), XSS_IMG);
    await snap(page, 'schema');
    expect(await page.locator('main img').count()).toBe(0);
    await page.getByRole('button', { name: 'Approve contract/read_notes' }).click();
    await shows(page.locator('#status'), 'Accepted the live version of contract/read_notes');
    await shows(page.locator('main .empty'), 'No change since the lock.');
    expect((await cli([...flags, 'schema', 'diff'], { GATEHOUSE_HOME: home })).code).toBe(0);
    expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
  }, 120_000);
});

describe('gatehouse console: refusals before serving', () => {
  test('a non-loopback --host is refused (exit 25) unless --allow-remote; a bad --port is a usage error', async () => {
    const remote = await cli(['console', '--host', '0.0.0.0']);
    expect([remote.code, remote.stderr]).toEqual([
      25,
      expect.stringContaining('--host 0.0.0.0 is not a loopback address'),
    ]);
    const port = await cli(['console', '--port', 'eighty']);
    expect([port.code, port.stderr]).toEqual([2, expect.stringContaining('--port eighty')]);
    const key = await cli(['console', '--key', '/nonexistent/key.pem']);
    expect([key.code, key.stderr]).toEqual([
      2,
      expect.stringContaining('--key /nonexistent/key.pem: not a readable approver key listed'),
    ]);
    const help = await cli(['console', '--help']);
    expect(help.stdout).toContain('one-time login link');
  });
});
