import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hasChromium, launchChromium } from '../support/browser.js';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { BIN, startGatehouse } from '../support/gatehouse-http.js';
import { freePort } from '../support/nginx.mjs';
import type { TestProvider } from '../support/oidc.js';
import { startTestProvider } from '../support/oidc.js';

/**
 * The console under the team gateway (`serve --http` with `--approvals-key`), in Chromium:
 * people sign in at /console/ with their identity-provider token (a real OpenID provider), never
 * with a one-time link. alice's two_person call waits; alice sees her own Approve disabled and a
 * forced approve is refused; bob approves in the browser and alice's call completes.
 */
const children: ChildProcess[] = [];
const clients: Client[] = [];
let provider: TestProvider;
let browser: Browser;
const ready = hasChromium() && existsSync(BIN);

beforeAll(async () => {
  provider = await startTestProvider({
    alice: { groups: ['eng', 'approvers'] },
    bob: { groups: ['approvers'] },
    dave: { groups: ['eng'] },
  });
  if (ready) browser = await launchChromium();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  for (const c of children) c.kill('SIGTERM');
  await browser?.close();
  await provider.close();
});

/** A team gateway whose key lets the `approvers` group decide; returns its base URL. */
async function startTeamGateway(): Promise<{ base: string; resource: string }> {
  const home = tempDir();
  const keyFile = join(tempDir(), 'gateway-key.pem');
  const run = (args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], {
      env: { ...process.env, GATEHOUSE_HOME: home },
      encoding: 'utf8',
      timeout: 60_000,
    });
  expect(run(['approvals', 'keygen', '--name', 'team-gateway', '--out', keyFile]).status).toBe(0);
  const line = run([
    'approvals',
    'public-key',
    ...['--key', keyFile, '--gateway', '--group', 'approvers', '--json'],
  ]);
  const listed = (JSON.parse(line.stdout) as { requirements_line: string }).requirements_line;
  const port = await freePort();
  const resource = `http://127.0.0.1:${port}/mcp`;
  const dir = writeFiles({
    'r.toml': `[gatehouse_identity]
issuer = "${provider.issuer}"
resource = "${resource}"
required_scopes = ["mcp:tools"]

[gatehouse_http]
trusted_proxies = ["127.0.0.1"]

[gatehouse_policy]
default_approval = "gatehouse"
approval_wait_seconds = 90

[gatehouse_policy.tools."governed/refund"]
category = "money"
approval = "two_person"

[gatehouse_approvals]
approvers = [
  ${listed},
]
`,
  });
  const config = `[mcp_servers.governed]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(join(FIXTURES, 'governed.mjs'))}]\n`;
  const r = await startGatehouse(
    children,
    config,
    [
      ...['--requirements', join(dir, 'r.toml'), 'serve', '--http', `127.0.0.1:${port}`],
      ...['--approvals-key', keyFile],
    ],
    { GATEHOUSE_HOME: home },
  );
  expect(r.url, r.stderr()).not.toBe('');
  return { base: `http://127.0.0.1:${port}/console/`, resource };
}

async function shows(locator: Locator, wanted: string): Promise<void> {
  await locator.filter({ hasText: wanted }).first().waitFor();
}

/** Signs in on the console's sign-in page by pasting the token, as a person would. */
async function signIn(base: string, token: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  const first = await page.goto(base);
  expect(first?.status()).toBe(401);
  await page.getByLabel('Access token from your identity provider').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('html[data-ready="true"]');
  return page;
}

async function refundCard(page: Page): Promise<Locator> {
  const c = page.locator('article.approval', { has: page.locator('.tool', { hasText: 'refund' }) });
  await c.first().waitFor();
  return c.first();
}

describe.skipIf(!ready)('the console under the team gateway', () => {
  test('people sign in with their IdP token; bob approves alice’s two_person call in the browser; alice cannot', async () => {
    const { base, resource } = await startTeamGateway();
    const token = (who: string) => provider.token(who, { resource, scope: 'mcp:tools' });
    const [alice, bob, dave] = await Promise.all([token('alice'), token('bob'), token('dave')]);

    // alice's call waits for a second person.
    const transport = new StreamableHTTPClientTransport(new URL(resource), {
      requestInit: { headers: { authorization: `Bearer ${alice}` } },
    });
    const client = new Client({ name: 'team-console-test', version: '1.0.0' }, {});
    await client.connect(transport);
    clients.push(client);
    const call = client.callTool({
      name: 'governed__refund',
      arguments: { amount: 12, to: 'carol' },
    });
    call.catch(() => undefined); // awaited below; a failing step must not leave it unhandled

    // Without a session: 401; no one-time link signs in here; only people may sign in.
    expect((await fetch(`${base}api/approvals`)).status).toBe(401);
    expect((await fetch(`${base}login?token=anything`)).status).toBe(401);
    const session = (bearer: string | null) =>
      fetch(`${base}session`, {
        method: 'POST',
        headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
      });
    expect((await session(null)).status).toBe(401);
    expect((await session('not-a-token')).status).toBe(401);
    const outsider = await session(dave);
    expect(outsider.status).toBe(403);
    expect(((await outsider.json()) as { error: string }).error).toContain(
      'user:dave may not approve through team-gateway',
    );
    const signed = await session(bob);
    expect(signed.status).toBe(200);
    const cookie = signed.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(
      /^gatehouse_console=[\w-]+; Path=\/console\/; HttpOnly; SameSite=Strict/,
    );
    expect(cookie).not.toContain('Secure'); // plain HTTP on loopback
    // Behind a trusted proxy that terminates TLS, the cookie is Secure.
    const viaHttps = await fetch(`${base}session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bob}`, 'x-forwarded-proto': 'https' },
    });
    expect(viaHttps.headers.get('set-cookie')).toMatch(/; Secure$/);

    // alice sees her own call with Approve disabled; a forced approve is refused.
    const alicePage = await signIn(base, alice);
    await shows(alicePage.locator('#viewer'), 'signed in as user:alice');
    const own = await refundCard(alicePage);
    expect(await own.getByRole('button', { name: 'Approve' }).isDisabled()).toBe(true);
    await shows(own, 'a second person must approve it');
    const id = (await own.getAttribute('data-id')) ?? '';
    const forced = await alicePage.evaluate(async (approvalId) => {
      const s = (await (await fetch('api/session')).json()) as { csrf: string };
      const post = (csrf: string | null) =>
        fetch(`api/approvals/${approvalId}/approve`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(csrf ? { 'x-csrf-token': csrf } : {}),
          },
          body: '{}',
        }).then(async (r) => ({ status: r.status, body: await r.text() }));
      return { withCsrf: await post(s.csrf), withoutCsrf: await post(null) };
    }, id);
    expect(forced.withoutCsrf.status).toBe(403);
    expect(forced.withoutCsrf.body).toContain('CSRF');
    expect(forced.withCsrf.status).toBe(403);
    expect(forced.withCsrf.body).toContain('user:alice requested this call and cannot approve it');

    // bob signs in with his token, sees the call, approves it: alice's call completes.
    const bobPage = await signIn(base, bob);
    await shows(bobPage.locator('#viewer'), 'signed in as user:bob');
    expect(await bobPage.getByRole('button', { name: 'Sign in another device' }).count()).toBe(0);
    expect(await bobPage.locator('nav a').allTextContents()).toEqual(['Approvals']);
    const theirs = await refundCard(bobPage);
    await shows(theirs, 'user:alice');
    await theirs.getByRole('textbox').fill('ok by bob');
    await theirs.getByRole('button', { name: 'Approve' }).click();
    await shows(bobPage.locator('#status'), 'Approved governed/refund');
    const result = (await call) as { content: { text: string }[] };
    expect(result.content[0]?.text).toBe('refunded 12 to carol');
  }, 120_000);
});
