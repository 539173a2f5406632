// Everything a server says is masked, on every channel MCP gives it (issue 15 items 1–6, 14, 19;
// issue 14 item 14): a malicious fixture server and the official filesystem server behind the
// real gateway binary, a raw client that sees exactly what is on the wire, and the audit store
// read back afterwards.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { SECRETS } from '../fixtures/servers/customer-secrets.mjs';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { RawStdioClient } from '../support/raw-stdio.js';
import { cli } from '../support/run-cli.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const LEAKY = join(FIXTURES, 'leaky-channels.mjs');
const FILESYSTEM = join(
  import.meta.dirname,
  '..',
  '..',
  'node_modules',
  '@modelcontextprotocol',
  'server-filesystem',
  'dist',
  'index.js',
);
const node = JSON.stringify(process.execPath);

const open: RawStdioClient[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

/** Every raw value the fixtures plant, found in `text` (cards also without spaces). */
function leaked(text: string): string[] {
  const names = ['Jane Roe', 'John Poe'];
  return [
    ...Object.entries(SECRETS)
      .filter(([, v]) => text.includes(v) || text.includes(v.replace(/ /g, '')))
      .map(([k]) => k),
    ...names.filter((n) => text.includes(n)),
  ];
}

function serverEntry(name: string, args: string[], env: Record<string, string> = {}): string {
  const envText = Object.entries({ SERVER_NAME: name, ...env })
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join(', ');
  return `[mcp_servers.${name}]\ncommand = ${node}\nargs = ${JSON.stringify(args)}\nenv = { ${envText} }\n`;
}

function start(config: string, requirements: string, mode: string[]) {
  const dir = writeFiles({ 'c.toml': config, 'r.toml': requirements });
  const home = tempDir();
  const client = new RawStdioClient(
    process.execPath,
    [BIN, '--config', join(dir, 'c.toml'), '--requirements', join(dir, 'r.toml'), ...mode],
    { ...process.env, GATEHOUSE_HOME: home },
  );
  open.push(client);
  return { client, home };
}

async function initialize(client: RawStdioClient): Promise<Record<string, unknown>> {
  const init = await client.request(0, 'initialize', {
    protocolVersion: '2025-11-25',
    capabilities: { sampling: {}, elicitation: { form: {} } },
    clientInfo: { name: 'raw', version: '1' },
  });
  client.send({ method: 'notifications/initialized' });
  return init;
}

const REQUIREMENTS = `
[gatehouse_masking]
fields = ["customer.name"]
result_budget_bytes = 65536
`;

async function auditExport(home: string): Promise<string> {
  const exported = await cli(['audit', 'export', '--format', 'jsonl'], { GATEHOUSE_HOME: home });
  expect(exported.code).toBe(0);
  return exported.stdout;
}

describe.skipIf(!existsSync(BIN))(
  'every channel a server speaks on is masked (gatehouse run)',
  () => {
    // One gateway session for the whole sequence (each test is one channel); the audit is read last.
    let client: RawStdioClient;
    let home: string;
    let init: Record<string, unknown>;
    let id = 1;
    const callTool = (name: string, extra: Record<string, unknown> = {}) =>
      client.request(id++, 'tools/call', { name, arguments: {}, ...extra });

    beforeAll(async () => {
      ({ client, home } = start(serverEntry('leaky', [LEAKY]), REQUIREMENTS, ['run', 'leaky']));
      open.splice(open.indexOf(client), 1); // lives across the tests of this block
      init = await initialize(client);
    });
    afterAll(() => client.close());

    test('initialize: instructions and serverInfo (issue 14 item 14, issue 15 item 2)', () => {
      expect(leaked(JSON.stringify(init))).toEqual([]);
      expect(JSON.stringify(init)).toContain('[REDACTED:github_token]');
    });

    test('listings: tools, resources, templates, prompts, completions (item 2)', async () => {
      const listings: Record<string, unknown>[] = [];
      for (const [method, params] of [
        ['tools/list', {}],
        ['resources/list', {}],
        ['resources/templates/list', {}],
        ['prompts/list', {}],
        [
          'completion/complete',
          { ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'who', value: 'j' } },
        ],
      ] as const) {
        listings.push(await client.request(id++, method, params));
      }
      expect(leaked(JSON.stringify(listings))).toEqual([]);
      const tools = (listings[0]?.result as { tools: { name: string; inputSchema: unknown }[] })
        .tools;
      // Structure intact, harmless names callable; a tool named after an address is withheld.
      expect(tools.map((t) => t.name)).toContain('side_fields');
      expect(tools.map((t) => t.name)).toContain('mail_jane_doe_example_com');
      expect(tools.some((t) => t.name.startsWith('send_to_'))).toBe(false);
      expect(JSON.stringify(tools)).toContain('"type":"object"');
    });

    test('result side fields (_meta, annotations, mimeType) and structuredContent keys (items 1, 5)', async () => {
      const side = await callTool('side_fields');
      expect(leaked(JSON.stringify(side))).toEqual([]);
      const sc = (side.result as { structuredContent: { byOwner: Record<string, unknown> } })
        .structuredContent;
      expect(Object.values(sc.byOwner)).toEqual([2, 'card holder']);
    });

    test('JSON-RPC error data (item 1)', async () => {
      const failed = await callTool('error_data');
      expect(failed.error).toBeDefined();
      expect(leaked(JSON.stringify(failed))).toEqual([]);
    });

    test('log, progress, task status, resource updated and custom notifications (items 3, 6)', async () => {
      const before = client.received.length;
      const notified = await callTool('notify_all', { _meta: { progressToken: 'p-1' } });
      expect(notified.result).toBeDefined();
      await expect
        .poll(
          () => client.received.slice(before).filter((m) => typeof m.method === 'string').length,
        )
        .toBeGreaterThanOrEqual(5);
      const notes = client.received.slice(before).filter((m) => typeof m.method === 'string');
      expect(notes.map((m) => m.method)).toEqual(
        expect.arrayContaining([
          'notifications/message',
          'notifications/progress',
          'notifications/tasks/status',
          'notifications/resources/updated',
          'notifications/vendor/leak',
        ]),
      );
      expect(leaked(JSON.stringify(notes))).toEqual([]);
      const progress = notes.find((m) => m.method === 'notifications/progress');
      expect((progress?.params as { progressToken: unknown }).progressToken).toBe('p-1');
    });

    test('sampling and elicitation requests (item 3)', async () => {
      const asked = callTool('ask_client');
      for (const method of ['sampling/createMessage', 'elicitation/create']) {
        await expect.poll(() => client.received.some((m) => m.method === method)).toBe(true);
        const request = client.received.find((m) => m.method === method) as Record<string, unknown>;
        expect(leaked(JSON.stringify(request))).toEqual([]);
        client.send({
          id: request.id,
          result:
            method === 'elicitation/create'
              ? { action: 'decline' }
              : { role: 'assistant', content: { type: 'text', text: 'ok' }, model: 'm' },
        });
      }
      expect((await asked).result).toBeDefined();
    });

    test('customer records in JSON Lines, after a text prefix, inside a JSON string (item 6)', async () => {
      const customers = await callTool('customers');
      expect(leaked(JSON.stringify(customers))).toEqual([]);
      expect(JSON.stringify(customers)).toContain('[REDACTED:customer_data]');
    });

    test('a token split across two adjacent text items is masked in both (item 13)', async () => {
      const split = await callTool('split_token');
      const wire = JSON.stringify(split);
      expect(wire).not.toContain(SECRETS.github.slice(0, 21));
      expect(wire).not.toContain(SECRETS.github.slice(21));
      const content = (split.result as { content: { text: string }[] }).content;
      expect(content.map((c) => c.text)).toEqual([
        'clone with [REDACTED:github_token]',
        ' and push',
      ]);
    });

    test('the result budget: structuredContent kept, the text dump cut, a notice to read (item 19)', async () => {
      const big = await callTool('big');
      const bigResult = big.result as { content: { text: string }[]; structuredContent: unknown };
      expect(bigResult.structuredContent).toEqual({ count: 4000 });
      expect(JSON.stringify(big).length).toBeLessThan(65536);
      expect(bigResult.content.at(-1)?.text).toContain(
        'over the budget of 65536 bytes for leaky/big',
      );
    });

    test('nothing raw on the wire, byte for byte, nor in the audit; the budget is audited', async () => {
      expect(leaked(client.lines.join('\n'))).toEqual([]);
      client.close();
      await expect.poll(() => client.stderr.includes('"stopped"'), { timeout: 10_000 }).toBe(true);
      const audit = await auditExport(home);
      expect(leaked(audit)).toEqual([]);
      expect(audit).not.toContain(SECRETS.github.slice(21));
      const budget = audit
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event?: { type?: string; masking?: { budget?: unknown } } })
        .find((r) => r.event?.type === 'call.result' && r.event.masking?.budget);
      expect(budget?.event?.masking?.budget).toMatchObject({
        limit_bytes: 65536,
        cut: [expect.stringContaining('in favour of structuredContent')],
      });
    });
  },
);

describe.skipIf(!existsSync(BIN))('tokens and blobs through the real gateway', () => {
  test('reversible tokens are scoped per server: the same value from two servers gets two tokens', async () => {
    const { client, home } = start(
      serverEntry('a', [LEAKY]) + serverEntry('b', [LEAKY]),
      '[gatehouse_masking.tokens]\nemail = []\n',
      ['serve'],
    );
    await initialize(client);
    const listed = await client.request(1, 'tools/list', {});
    // serve rewrites `@` and `.` in names; the server's own name is checked, so this one is withheld.
    const names = (listed.result as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(names).toContain('a__owner_email');
    expect(names.some((n) => n.includes('send_to_'))).toBe(false);
    // Listings gather several servers' items: no reversible tokens there, which would link them.
    expect(JSON.stringify(listed)).toContain('[REDACTED:email]');
    expect(JSON.stringify(listed)).not.toContain('⟦');
    const owner = async (id: number, server: string) => {
      const r = await client.request(id, 'tools/call', {
        name: `${server}__owner_email`,
        arguments: {},
      });
      const text = (r.result as { content: { text: string }[] }).content[0]?.text ?? '';
      return /⟦email:[0-9a-f]+⟧/.exec(text)?.[0];
    };
    const a1 = await owner(2, 'a');
    const b1 = await owner(3, 'b');
    const a2 = await owner(4, 'a');
    expect(a1).toMatch(/^⟦email:/);
    expect(b1).toMatch(/^⟦email:/);
    expect(a2).toBe(a1); // stable within one server
    expect(b1).not.toBe(a1); // no equality oracle across servers
    // Prompts (and resources, tasks) are scoped by the server they came from too.
    const prompt = async (rid: number, server: string) => {
      const r = await client.request(rid, 'prompts/get', { name: `${server}__greet` });
      return /⟦email:[0-9a-f]+⟧/.exec(JSON.stringify(r.result))?.[0];
    };
    expect(await prompt(5, 'a')).toBe(a1);
    expect(await prompt(6, 'b')).toBe(b1);
    client.close();
    await expect.poll(() => client.stderr.includes('"stopped"'), { timeout: 10_000 }).toBe(true);
    const audit = await auditExport(home);
    expect(leaked(audit)).toEqual([]);
    // Hidden, and why, without the address (and without minting tokens for it).
    expect(audit).toContain('its name holds a secret or personal data');
    expect(audit).not.toMatch(/"tool":"⟦/);
  });

  test('the schema lock sees what the server really sent; the client gets it masked', async () => {
    const dir = tempDir();
    const descFile = join(dir, 'description.txt');
    writeFileSync(descFile, `Reads the notes. Service key ${SECRETS.github}.`);
    const lock = join(dir, 'gatehouse.lock.json');
    writeFileSync(
      join(dir, 'c.toml'),
      `[mcp_servers.contract]\ncommand = ${node}\nargs = [${JSON.stringify(join(FIXTURES, 'contract.mjs'))}]\nenv = { CONTRACT_NOTES_DESCRIPTION_FILE = ${JSON.stringify(descFile)} }\n`,
    );
    const home = tempDir();
    const flags = ['--config', join(dir, 'c.toml'), '--lock', lock];
    expect((await cli([...flags, 'schema', 'snapshot'], { GATEHOUSE_HOME: home })).code).toBe(0);
    const client = new RawStdioClient(process.execPath, [BIN, ...flags, 'run', 'contract'], {
      ...process.env,
      GATEHOUSE_HOME: home,
    });
    open.push(client);
    await client.initialize();
    const listed = await client.request(1, 'tools/list', {});
    const tool = (listed.result as { tools: { name: string; description: string }[] }).tools.find(
      (t) => t.name === 'read_notes',
    );
    // Not blocked as drift (the guard compared the raw listing with the lock), and masked.
    expect(tool?.description).toBe('Reads the notes. Service key [REDACTED:github_token].');
    expect(client.stderr).not.toContain('schema_drift');
  });

  test('the official filesystem server: a .env read with read_media_file is masked; other binary is withheld', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, '.env'),
      `AWS_ACCESS_KEY_ID=${SECRETS.aws}\nGITHUB_TOKEN=${SECRETS.github}\nLOG_LEVEL=info\n`,
    );
    writeFileSync(
      join(dir, 'id.pem'),
      `-----BEGIN NOTE-----\ntoken ${SECRETS.github}\n-----END NOTE-----\n`,
    );
    writeFileSync(
      join(dir, 'blob.bin'),
      Buffer.from([0x50, 0x4b, 3, 4, 0, 0xff, 0xfe, 0, 1, 2, 3]),
    );
    const { client, home } = start(serverEntry('fs', [FILESYSTEM, dir]), '', ['run', 'fs']);
    await initialize(client);
    await client.request(1, 'tools/list', {});
    const read = (id: number, file: string) =>
      client.request(id, 'tools/call', {
        name: 'read_media_file',
        arguments: { path: join(dir, file) },
      });

    const env = await read(2, '.env');
    const result = env.result as {
      content: { resource: { blob: string; mimeType: string } }[];
      structuredContent: { content: { resource: { blob: string } }[] };
    };
    expect(result.content[0]?.resource.mimeType).toBe('application/octet-stream');
    const text = Buffer.from(result.content[0]?.resource.blob ?? '', 'base64').toString();
    expect(text).toContain('GITHUB_TOKEN=[REDACTED:github_token]');
    expect(text).toContain('LOG_LEVEL=info');
    const structured = result.structuredContent.content[0]?.resource.blob ?? '';
    expect(Buffer.from(structured, 'base64').toString()).toContain('[REDACTED:github_token]');

    const pem = await read(3, 'id.pem');
    const bin = await read(4, 'blob.bin');
    expect(JSON.stringify(bin)).toContain('withheld by Gatehouse');
    const wire = client.lines.join('\n');
    // Base64 of the raw secrets, at every byte alignment, is nowhere on the wire.
    for (const secret of [SECRETS.github, SECRETS.aws]) {
      for (let shift = 0; shift < 3; shift += 1) {
        const aligned = Buffer.from(`${'x'.repeat(shift)}${secret}`)
          .toString('base64')
          .slice(4, 24);
        expect(wire).not.toContain(aligned);
      }
    }
    expect(leaked(JSON.stringify([env, pem, bin]))).toEqual([]);
    client.close();
    await expect.poll(() => client.stderr.includes('"stopped"'), { timeout: 10_000 }).toBe(true);
    expect(leaked(await auditExport(home))).toEqual([]);
  });
});
