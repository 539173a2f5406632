import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, test } from 'vitest';
import { Masker } from '../../src/masking/engine.js';
import { DEFAULT_MASKING_POLICY } from '../../src/masking/policy.js';
import { SECRETS } from '../fixtures/servers/customer-secrets.mjs';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const SERVER = join(FIXTURES, 'customer-data.mjs');
const node = JSON.stringify(process.execPath);

const config = (callLog: string) =>
  ['customers', 'mailer']
    .map(
      (name) =>
        `[mcp_servers.${name}]\ncommand = ${node}\nargs = [${JSON.stringify(SERVER)}]\nenv = { SERVER_NAME = "${name}", CONFIG_URI = "config://${name === 'customers' ? 'app' : name}", CALL_LOG = ${JSON.stringify(callLog)} }\n`,
    )
    .join('\n');

const REQUIREMENTS = `
[gatehouse_masking]
fields = ["customer.name", "customer.loyalty_points"]

[gatehouse_masking.forms]
card = "last4"

[gatehouse_masking.tokens]
email = ["mailer"]
`;

const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close().catch(() => undefined)));
});

async function gateway(requirements = REQUIREMENTS) {
  const callLog = join(tempDir(), 'calls.jsonl');
  const dir = writeFiles({ 'c.toml': config(callLog), 'r.toml': requirements });
  const home = tempDir();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, '--config', join(dir, 'c.toml'), '--requirements', join(dir, 'r.toml'), 'serve'],
    stderr: 'pipe',
    env: { ...(process.env as Record<string, string>), GATEHOUSE_HOME: home },
  });
  const logs: unknown[] = [];
  const client = new Client({ name: 'masking-test', version: '1.0.0' }, { capabilities: {} });
  client.setNotificationHandler('notifications/message', (n) => {
    logs.push(n.params.data);
  });
  await client.connect(transport);
  open.push(client);
  await client.listTools(); // the client now validates structuredContent against outputSchema
  const calls = () =>
    existsSync(callLog)
      ? readFileSync(callLog, 'utf8')
          .trim()
          .split('\n')
          .map(
            (l) => JSON.parse(l) as { server: string; tool: string; args: Record<string, string> },
          )
      : [];
  return { client, home, logs, calls, dir };
}

/** Every raw secret the fixture plants, found in `text`. */
function leaked(text: string): string[] {
  return Object.entries(SECRETS)
    .filter(([, v]) => text.includes(v) || text.includes(v.replace(/ /g, '')))
    .map(([k]) => k);
}

describe.skipIf(!existsSync(BIN))('masking through the real gateway', () => {
  test('a config file, a customer record and a log line reach the client masked; the audit holds no raw secret', async () => {
    const { client, home, logs } = await gateway();

    const config = await client.callTool({
      name: 'customers__read_config',
      arguments: { path: '/srv/app/.env' },
    });
    const configText = (config.content as { text: string }[])[0]?.text ?? '';
    expect(configText).toContain('AWS_ACCESS_KEY_ID=[REDACTED:aws_access_key]');
    expect(configText).toContain('GITHUB_TOKEN=[REDACTED:github_token]');
    expect(configText).toContain('STRIPE_SECRET_KEY=[REDACTED:stripe_key]');
    expect(configText).toContain('postgres://app:[REDACTED:url_password]@db.internal:5432/prod');
    expect(configText).toContain('LOG_LEVEL=info');
    expect(config._meta).toMatchObject({
      'dev.gatehouse/redactions': {
        aws_access_key: 1,
        github_token: 1,
        stripe_key: 1,
        url_password: 1,
      },
    });

    // The SDK client validated structuredContent against outputSchema: it is still valid.
    const record = await client.callTool({
      name: 'customers__get_customer',
      arguments: { id: '1' },
    });
    const sc = record.structuredContent as {
      customer: Record<string, unknown>;
      billing: Record<string, unknown>;
      order: Record<string, unknown>;
    };
    expect(sc.customer).toMatchObject({
      id: 'cus_1042',
      name: '[REDACTED:customer_data]',
      phone: '[REDACTED:phone]',
      ssn: '[REDACTED:ssn]',
      loyalty_points: 0, // an integer field under a customer-field rule: the schema's neutral value
    });
    expect(sc.customer.email).toMatch(/^⟦email:[0-9a-f]{6,16}⟧$/);
    expect(sc.billing).toEqual({ iban: '[REDACTED:iban]', plan: 'pro' });
    expect(sc.order.number).toBe('4111111111111112'); // Luhn-invalid: an order number, left alone
    const recordText = JSON.parse((record.content as { text: string }[])[0]?.text ?? '') as unknown;
    // The JSON text is masked the same way, except that text has no schema: a number under a
    // customer-field rule becomes the string mask there.
    expect(recordText).toEqual({
      ...sc,
      customer: { ...sc.customer, loyalty_points: '[REDACTED:customer_data]' },
    });

    const tail = await client.callTool({ name: 'customers__tail_log', arguments: {} });
    const [line, embedded] = tail.content as unknown as [
      { text: string },
      { resource: { blob: string } },
    ];
    expect(line.text).toContain('card=****1111 amount=42.00 EUR');
    expect(Buffer.from(embedded.resource.blob, 'base64').toString()).toBe(
      'auth with [REDACTED:github_token]\n',
    );
    await expect.poll(() => logs.length).toBeGreaterThan(0);
    expect(JSON.stringify(logs)).toContain('charging card ****1111');

    const failed = await client.callTool({ name: 'customers__fail', arguments: {} });
    expect(failed.isError).toBe(true);
    expect(JSON.stringify(failed.content)).toContain('[REDACTED:github_token]');

    const resource = await client.readResource({ uri: 'config://app' });
    expect(JSON.stringify(resource.contents)).toContain('stripe_key=[REDACTED:stripe_key]');

    const prompt = await client.getPrompt({ name: 'customers__support_reply' });
    const promptText = JSON.stringify(prompt.messages);
    expect(promptText).toContain('[REDACTED:iban]');
    expect(promptText).toMatch(/Reply to ⟦email:[0-9a-f]+⟧/);

    const everything = JSON.stringify([config, record, tail, failed, resource, prompt, logs]);
    expect(leaked(everything)).toEqual([]);

    await client.close();
    // The audit store, read back and as raw bytes on disk: no raw secret anywhere.
    const exported = await cli(['audit', 'export', '--format', 'jsonl'], { GATEHOUSE_HOME: home });
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain('"redactions"');
    expect(leaked(exported.stdout)).toEqual([]);
    expect(new Masker(DEFAULT_MASKING_POLICY).findings(exported.stdout)).toEqual([]);
    for (const file of readdirSync(home).filter((f) => f.startsWith('audit.db'))) {
      expect(leaked(readFileSync(join(home, file)).toString('latin1'))).toEqual([]);
    }
  });

  test('a reversible token reaches the server allowed to receive it as the real value, and no other', async () => {
    const { client, home, calls } = await gateway();
    const record = await client.callTool({
      name: 'customers__get_customer',
      arguments: { id: '1' },
    });
    const token = (record.structuredContent as { customer: { email: string } }).customer.email;
    expect(token).toMatch(/^⟦email:/);

    await client.callTool({
      name: 'mailer__send_email',
      arguments: { to: token, body: `Hello ${token}` },
    });
    await client.callTool({ name: 'customers__send_email', arguments: { to: token, body: 'x' } });
    const sent = calls().filter((c) => c.tool === 'send_email');
    expect(sent).toEqual([
      {
        server: 'mailer',
        tool: 'send_email',
        args: { to: SECRETS.email, body: `Hello ${SECRETS.email}` },
      },
      { server: 'customers', tool: 'send_email', args: { to: token, body: 'x' } },
    ]);

    await client.close();
    const audit = await cli(['audit', 'query', '--json'], { GATEHOUSE_HOME: home });
    const events = (JSON.parse(audit.stdout) as { event: Record<string, unknown> }[]).map(
      (r) => r.event,
    );
    const substitution = events.find((e) => e.type === 'masking.detokenized');
    expect(substitution).toMatchObject({
      server: 'mailer',
      target: 'send_email',
      kinds: { email: 2 },
    });
    expect(leaked(audit.stdout)).toEqual([]); // the intent recorded the token, not the address
  });

  test('content that cannot be masked safely is withheld, with the reason', async () => {
    const { client } = await gateway();
    const deep = await client.callTool({ name: 'customers__deep', arguments: {} });
    expect(deep.isError).toBe(true);
    const text = JSON.stringify(deep.content);
    expect(text).toContain('Gatehouse withheld this tools/call result');
    expect(text).toContain('nested deeper than 128 levels');
    expect(leaked(text)).toEqual([]);
  });

  test('an admin exemption turns masking off for that server only', async () => {
    const { client } = await gateway('[gatehouse_masking]\nexempt_servers = ["mailer"]\n');
    const mailer = await client.callTool({ name: 'mailer__read_config', arguments: { path: 'x' } });
    const customers = await client.callTool({
      name: 'customers__read_config',
      arguments: { path: 'x' },
    });
    expect(JSON.stringify(mailer.content)).toContain(SECRETS.github);
    expect(JSON.stringify(customers.content)).not.toContain(SECRETS.github);
  });
});
