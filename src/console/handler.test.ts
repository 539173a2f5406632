import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { checkHttpRequest, policyFor } from '../gateway/downstream/http-checks.js';
import type { AuthOutcome } from '../identity/authenticate.js';
import type { Identity } from '../identity/identity.js';
import type { ConsoleData } from './data.js';
import { consoleHandler } from './handler.js';
import { ConsoleLogin } from './login.js';

/** The console's data port, answering what these tests need (the real one runs in Chromium tests). */
const decided: string[] = [];
const data: ConsoleData = {
  viewer: { name: 'os:tester', signs: false },
  approvals: () => Promise.resolve([]),
  decide: (id, decision) => {
    decided.push(`${id} ${decision}`);
    return Promise.resolve({ code: 0, json: { id, status: decision }, message: null });
  },
  views: {},
  actions: {},
};

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

async function serve(basePath = '') {
  const login = new ConsoleLogin();
  let port = 0;
  const handler = consoleHandler({
    data: () => data,
    login,
    assets: { 'console.js': Buffer.from('/* js */'), 'console.css': Buffer.from('/* css */') },
    basePath,
  });
  const server = createServer((req, res) => {
    const check = checkHttpRequest(req.headers, policyFor('127.0.0.1', port, null));
    void handler
      .handle(req, res, { check, secure: false })
      .then((ok) => ok || res.writeHead(404).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  closers.push(() => {
    handler.close();
    server.closeAllConnections();
    server.close();
  });
  const base = `http://127.0.0.1:${port}${basePath}`;
  const signIn = async () => {
    const r = await fetch(`${base}/login?token=${login.issueLink()}`, { redirect: 'manual' });
    const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const session = (await (
      await fetch(`${base}/api/session`, { headers: { cookie } })
    ).json()) as {
      csrf: string;
    };
    return { cookie, csrf: session.csrf };
  };
  return { base, signIn };
}

describe('console handler: who may do what', () => {
  test('every answer carries the security headers; only assets and the login link need no session', async () => {
    const { base } = await serve();
    for (const path of ['/', '/api/approvals', '/assets/console.js', '/login?token=x']) {
      const r = await fetch(`${base}${path}`, { redirect: 'manual' });
      expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(r.headers.get('x-frame-options')).toBe('DENY');
      expect(r.status).toBe(
        path.startsWith('/assets') ? 200 : path.startsWith('/login') ? 403 : 401,
      );
    }
  });

  test('a foreign Host (DNS rebinding) or Origin is refused before anything else', async () => {
    const { base, signIn } = await serve();
    const { cookie, csrf } = await signIn();
    // fetch() cannot set Host: a raw request can, as a rebinding attacker's page effectively does.
    const rebinding = await new Promise<number>((resolve, reject) =>
      request(`${base}/api/approvals`, { headers: { cookie, host: 'evil.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end(),
    );
    expect(rebinding).toBe(403);
    const crossSite = await fetch(`${base}/api/approvals/a1/deny`, {
      method: 'POST',
      headers: {
        cookie,
        origin: 'https://evil.example',
        'x-csrf-token': csrf,
        'content-type': 'application/json',
      },
      body: '{"reason":"x"}',
    });
    expect(crossSite.status).toBe(403);
    expect(decided).toEqual([]);
  });

  test('a change needs the CSRF token and a JSON body; a denial needs a reason', async () => {
    const { base, signIn } = await serve('/console');
    const { cookie, csrf } = await signIn();
    const post = (path: string, headers: Record<string, string>, body: string) =>
      fetch(`${base}${path}`, { method: 'POST', headers: { cookie, ...headers }, body });
    const json = { 'content-type': 'application/json' };
    expect((await post('/api/approvals/a1/deny', json, '{"reason":"x"}')).status).toBe(403);
    expect(
      (await post('/api/approvals/a1/deny', { 'x-csrf-token': csrf }, 'reason=x')).status,
    ).toBe(400);
    const noReason = await post('/api/approvals/a1/deny', { ...json, 'x-csrf-token': csrf }, '{}');
    expect([noReason.status, ((await noReason.json()) as { error: string }).error]).toEqual([
      400,
      'a denial needs a reason: the caller is told it',
    ]);
    expect(decided).toEqual([]);
    const ok = await post(
      '/api/approvals/a1/deny',
      { ...json, 'x-csrf-token': csrf },
      '{"reason":"no"}',
    );
    expect(ok.status).toBe(200);
    expect(decided).toEqual(['a1 denied']);
  });
});

/**
 * Team mode as the gateway mounts it: the endpoint's authenticator is stood in for by a table of
 * tokens (the real one, with a real OpenID provider, runs in test/integration/team-console.test.ts).
 */
async function serveTeam() {
  const person = (subject: string, via: Identity['via']): Identity => ({
    issuer: 'https://idp.example',
    subject,
    email: null,
    groups: [],
    via,
  });
  const tokens: Record<string, Identity> = {
    'alice-token': person('alice', 'oidc'),
    'bot-token': person('bot', 'service-token'),
  };
  const handler = consoleHandler({
    data: (p) => ({ ...data, viewer: { name: p ? `user:${p.subject}` : 'nobody', signs: true } }),
    login: new ConsoleLogin(),
    assets: { 'console.js': Buffer.from(''), 'console.css': Buffer.from('') },
    basePath: '/console',
    people: (id) => (id.via === 'oidc' ? null : `${id.subject} is not a person`),
  });
  let port = 0;
  const server = createServer((req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const authenticate = (): Promise<AuthOutcome> =>
      Promise.resolve(
        token === undefined
          ? { identity: null }
          : tokens[token]
            ? { identity: tokens[token] }
            : { challenge: { status: 401, header: 'Bearer', message: 'Unauthorized: bad token' } },
      );
    const check = checkHttpRequest(req.headers, policyFor('127.0.0.1', port, null));
    void handler
      .handle(req, res, { check, secure: true, authenticate })
      .then((ok) => ok || res.writeHead(404).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
  closers.push(() => {
    handler.close();
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${port}/console`;
}

describe('console handler under the team gateway', () => {
  test('a person signs in with their token (Secure cookie on /console/); no login links; not a person: 403', async () => {
    const base = await serveTeam();
    const signIn = (token: string) =>
      fetch(`${base}/session`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect((await signIn('forged')).status).toBe(401);
    const bot = await signIn('bot-token');
    expect([bot.status, ((await bot.json()) as { error: string }).error]).toEqual([
      403,
      'Forbidden: bot is not a person',
    ]);
    const alice = await signIn('alice-token');
    expect(alice.status).toBe(200);
    const setCookie = alice.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(
      /; Path=\/console\/; HttpOnly; SameSite=Strict; Max-Age=3600; Secure$/,
    );
    const cookie = setCookie.split(';')[0] ?? '';
    const session = (await (
      await fetch(`${base}/api/session`, { headers: { cookie } })
    ).json()) as {
      csrf: string;
      viewer: { name: string };
      links: boolean;
    };
    expect([session.viewer.name, session.links]).toEqual(['user:alice', false]);
    // The local one-time link does not exist here, neither to use nor to issue.
    const linkPage = await fetch(`${base}/login?token=anything`, { redirect: 'manual' });
    expect([linkPage.status, await linkPage.text()]).toEqual([
      401,
      expect.stringContaining('identity-provider access token'),
    ]);
    const issue = await fetch(`${base}/api/login-links`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': session.csrf, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(issue.status).toBe(404);
  });
});
