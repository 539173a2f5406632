import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { tempDir } from '../../test/support/fixtures.js';
import type { SecretRef } from '../credentials/model.js';
import type { ApprovalRow } from './queue.js';
import type { WebhookFormat } from './webhook.js';
import { sendWebhook, slackEscape, webhookNotifier, webhookPayload } from './webhook.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'webhook');
const NOW = new Date('2026-01-01T12:00:00Z');
const LINK = 'https://gatehouse.example/console/?approval=ab12cd34#approvals';
/** Names a hostile server or caller could choose: links, mentions, markup, code fences. */
const HOSTILE =
  '<https://evil.example|Approve here> <!channel> & [click](https://evil.example) ```';

function row(over: Partial<ApprovalRow> = {}): ApprovalRow {
  return {
    id: 'ab12cd34',
    status: 'pending',
    binding: 'b',
    requester: 'user:alice',
    twoPerson: true,
    level: 'two_person',
    grant: null,
    server: 'payments',
    tool: 'refund',
    category: 'money',
    argumentsMasked: { amount: 7, card: '[REDACTED:card_number]' },
    policyRevision: 'pol-1',
    rule: 'payments/refund',
    createdAt: '2026-01-01T11:00:00Z',
    expiresAt: '2026-01-01T12:42:30Z',
    approver: null,
    decidedAt: null,
    reason: null,
    usedAt: null,
    ...over,
  };
}

const payload = (
  format: WebhookFormat,
  over: Partial<ApprovalRow> = {},
  link: string | null = LINK,
) =>
  webhookPayload(row(over), format, {
    approveCommand: 'gatehouse approvals approve ab12cd34',
    link,
    now: NOW,
  });

async function validator(name: string) {
  const { Ajv } = await import('ajv');
  const schema = JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as object;
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}

/** Every string in a JSON value, with the key it sits under. */
function strings(value: unknown, key = ''): [string, string][] {
  if (typeof value === 'string') return [[key, value]];
  if (Array.isArray(value)) return value.flatMap((v) => strings(v, key));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => strings(v, k));
  return [];
}

describe('approval webhook payloads', () => {
  test('json: the fields an outside system reads, with the category and the link', () => {
    expect(payload('json')).toMatchObject({
      event: 'approval.requested',
      id: 'ab12cd34',
      server: 'payments',
      tool: 'refund',
      category: 'money',
      level: 'two_person',
      arguments: { amount: 7, card: '[REDACTED:card_number]' },
      url: LINK,
    });
  });

  test('slack: a Block Kit message of the documented shape with every fact and a link button', async () => {
    const validate = await validator('slack-message.schema.json');
    const message = payload('slack');
    expect(validate(message), JSON.stringify(validate.errors)).toBe(true);
    const text = JSON.stringify(message);
    for (const fact of ['`payments`', '`refund`', '`money`', '`two_person`', '`user:alice`'])
      expect(text).toContain(fact);
    expect(text).toContain('42 min'); // time left
    expect(text).toContain('[REDACTED:card_number]');
    expect(message.blocks).toContainEqual(
      expect.objectContaining({
        type: 'actions',
        elements: [expect.objectContaining({ url: LINK })],
      }),
    );
    // Without a known console or gateway URL: the command instead of a button.
    const offline = JSON.stringify(payload('slack', {}, null));
    expect(offline).not.toContain('"actions"');
    expect(offline).toContain('gatehouse approvals approve ab12cd34');
  });

  test('teams: an Adaptive Card attachment of the documented shape with every fact and an Open action', async () => {
    const validate = await validator('teams-message.schema.json');
    const message = payload('teams');
    expect(validate(message), JSON.stringify(validate.errors)).toBe(true);
    const runs = strings(message).map(([, v]) => v);
    for (const fact of ['payments', 'refund', 'money', 'two_person', 'user:alice', '42 min'])
      expect(runs).toContain(fact);
    expect(JSON.stringify(message)).toContain(
      `"actions":[{"type":"Action.OpenUrl","title":"Open the approval","url":"${LINK}"}]`,
    );
  });

  test('hostile server, tool, requester and arguments: inert in Slack (escaped, in code) and Teams (TextRun only)', async () => {
    const hostile = {
      server: HOSTILE,
      tool: `${HOSTILE}\n*bold*`,
      requester: `user:${HOSTILE}`,
      rule: HOSTILE,
      category: HOSTILE,
      argumentsMasked: { note: HOSTILE, '<b>': '`' },
    };
    const slack = payload('slack', hostile);
    expect((await validator('slack-message.schema.json'))(slack)).toBe(true);
    for (const [key, value] of strings(slack)) {
      if (key === 'url') {
        expect(value).toBe(LINK);
        continue;
      }
      // Slack reads `<…>` as links and mentions: none may come from a value.
      expect(value).not.toMatch(/[<>]/);
      expect(value).not.toMatch(/&(?!amp;|lt;|gt;)/);
    }
    const fields = JSON.stringify(slack);
    expect(fields).toContain('&lt;https://evil.example|Approve here&gt; &lt;!channel&gt; &amp;');
    // A value cannot close its code span: its backticks become a look-alike.
    expect(fields).not.toContain('```\\"');

    const teams = payload('teams', hostile);
    expect((await validator('teams-message.schema.json'))(teams)).toBe(true);
    const card = (teams.attachments as { content: { body: Record<string, unknown>[] } }[])[0]
      ?.content;
    // Markdown is read only in TextBlocks: none holds anything a server or caller chose.
    for (const block of card?.body ?? [])
      if (block.type === 'TextBlock') expect(block.text).toBe('Approval needed');
    expect(strings(teams).filter(([k]) => k === 'url')).toEqual([['url', LINK]]);
    // Values stay on one line: a newline cannot fake another fact.
    expect(strings(teams).some(([, v]) => v.startsWith(HOSTILE) && v.includes('\n'))).toBe(false);
  });

  test('long arguments are cut in chat messages, and say so', () => {
    const big = { blob: 'x'.repeat(10_000) };
    for (const format of ['slack', 'teams'] as const) {
      const text = JSON.stringify(payload(format, { argumentsMasked: big }));
      expect(text.length).toBeLessThan(5000);
      expect(text).toContain('(truncated; see the approval)');
    }
  });

  test('slackEscape: no control character of Slack survives, and unescaping gives the text back', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.oneof(
            fc.constantFrom('<', '>', '&', '`', ';', 'amp', 'lt', 'gt', '|', '!'),
            fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
          ),
        }),
        (s) => {
          const out = slackEscape(s);
          expect(out).not.toMatch(/[<>`]/);
          expect(out.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
          const back = out.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
          expect(back).toBe(s.replace(/`/g, 'ˋ'));
        },
      ),
    );
  });
});

describe('signed delivery to a real receiver', () => {
  async function receiver() {
    const got: { body: string; signature: string | undefined }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        got.push({ body, signature: req.headers['x-gatehouse-signature'] as string | undefined });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    return { got, url, close: () => server.close() };
  }

  test('t=UNIX,v1=HMAC-SHA256(secret, "t.body") over the exact bytes; no secret, no header', async () => {
    const r = await receiver();
    const errors: string[] = [];
    const before = Math.floor(Date.now() / 1000);
    await sendWebhook(r.url, payload('slack'), 'shh-secret', (m) => errors.push(m));
    await sendWebhook(r.url, payload('json'), null, (m) => errors.push(m));
    r.close();
    expect(errors).toEqual([]);
    const [signed, unsigned] = r.got;
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signed?.signature ?? '');
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(before);
    const mac = (body: string) =>
      createHmac('sha256', 'shh-secret').update(`${m?.[1]}.${body}`).digest('hex');
    expect(m?.[2]).toBe(mac(signed?.body ?? ''));
    expect(m?.[2]).not.toBe(mac(`${signed?.body ?? ''} `)); // one byte more: no match
    expect(unsigned?.signature).toBeUndefined();
  });

  async function notifyOnce(secret: SecretRef, env: NodeJS.ProcessEnv) {
    const r = await receiver();
    const reports: string[] = [];
    webhookNotifier(
      { url: r.url, format: 'teams', secret },
      env,
      (id) => `gatehouse approvals approve ${id}`,
      () => null,
      (m) => reports.push(m),
    )(row());
    await new Promise((done) => setTimeout(done, 150));
    r.close();
    return { got: r.got, reports };
  }

  test('a secret that cannot be read: reported (named, never shown) and nothing is sent unsigned', async () => {
    const missing = await notifyOnce({ kind: 'env', name: 'HOOK_SECRET_MISSING' }, {});
    expect(missing.got).toEqual([]);
    expect(missing.reports).toEqual([
      expect.stringContaining(
        'approval_webhook_secret: environment variable HOOK_SECRET_MISSING is not set',
      ),
      expect.stringMatching(/^approval ab12cd34: webhook not sent/),
    ]);
    // A secret file others can read is refused with the fix, and its content never shown.
    const dir = tempDir();
    const open = join(dir, 'open');
    writeFileSync(open, 'file-secret-value\n', { mode: 0o644 });
    const refused = await notifyOnce({ kind: 'file', path: open }, {});
    expect(refused.got).toEqual([]);
    expect(refused.reports[0]).toContain(`chmod 600 '${open}'`);
    expect(JSON.stringify(refused.reports)).not.toContain('file-secret-value');
  });

  test('a 0600 secret file signs the notice with its line', async () => {
    const file = join(tempDir(), 'secret');
    writeFileSync(file, 'file-secret-value\n', { mode: 0o600 });
    const { got, reports } = await notifyOnce({ kind: 'file', path: file }, {});
    expect(reports).toEqual([]);
    const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(got[0]?.signature ?? '');
    expect(m?.[2]).toBe(
      createHmac('sha256', 'file-secret-value')
        .update(`${m?.[1]}.${got[0]?.body ?? ''}`)
        .digest('hex'),
    );
  });

  test('the link: the console when its URL is known, else the team gateway’s /approvals', async () => {
    const r = await receiver();
    const send = (consoleUrl: string | undefined, api: string | null) =>
      webhookNotifier(
        { url: r.url, ...(consoleUrl ? { consoleUrl } : {}) },
        {},
        (id) => `gatehouse approvals approve ${id}`,
        () => api,
        () => undefined,
      )(row());
    send('https://gh.example/console/', 'https://gw.example/approvals');
    await new Promise((done) => setTimeout(done, 100));
    send(undefined, 'https://gw.example/approvals');
    await new Promise((done) => setTimeout(done, 100));
    r.close();
    expect(r.got.map((g) => (JSON.parse(g.body) as { url: string }).url)).toEqual([
      'https://gh.example/console/?approval=ab12cd34#approvals',
      'https://gw.example/approvals/ab12cd34',
    ]);
  });
});
