// What the audit trail keeps of a call: never a raw secret (URIs, object keys, secret-named
// fields — whether or not the masking stage ran), and the output of task-augmented calls.
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { EVERYTHING, FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { cli } from '../support/run-cli.js';
import { RawStdioClient } from '../support/raw-stdio.js';
import {
  KEY_EMAIL,
  KEY_TOKEN,
  PLAIN_PASSWORD,
  URL_PASSWORD,
  URL_TOKEN,
} from '../fixtures/servers/audit-secrets-values.mjs';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const node = JSON.stringify(process.execPath);

function run(home: string, name: string, args: string[], extra: string[] = []): RawStdioClient {
  const dir = writeFiles({
    'c.toml': `[mcp_servers.${name}]\ncommand = ${node}\nargs = [${args.map((a) => JSON.stringify(a)).join(', ')}]\n`,
  });
  return new RawStdioClient(
    process.execPath,
    [BIN, '--config', join(dir, 'c.toml'), ...extra, 'run', name],
    {
      ...process.env,
      GATEHOUSE_HOME: home,
    },
  );
}

async function stopped(client: RawStdioClient): Promise<void> {
  const child = (client as unknown as { child: ChildProcess }).child;
  client.close();
  if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
}

describe.skipIf(!existsSync(BIN))('what the audit trail keeps', () => {
  test('no raw secret: a resources/read URI with a password and a token, object keys, a secret-named field the masking stage let through', async () => {
    const home = tempDir();
    const client = run(home, 'vault', [join(FIXTURES, 'audit-secrets.mjs')]);
    await client.initialize();
    const call = await client.request(1, 'tools/call', { name: 'account', arguments: {} });
    expect(call.result).toBeDefined();
    const uri = `https://svc:${URL_PASSWORD}@files.example.net/report?token=${URL_TOKEN}&page=2`;
    const read = await client.request(2, 'resources/read', { uri });
    expect(read.result).toBeDefined();
    await stopped(client);

    const dump = await cli(['audit', 'query', '--json'], { GATEHOUSE_HOME: home });
    expect(dump.code).toBe(0);
    for (const secret of [PLAIN_PASSWORD, KEY_EMAIL, KEY_TOKEN, URL_PASSWORD, URL_TOKEN])
      expect(dump.stdout).not.toContain(secret);
    const records = JSON.parse(dump.stdout) as {
      event: { type: string; method?: string; target?: string; result_masked?: unknown };
    }[];
    const intent = records.find(
      (r) => r.event.type === 'call.intent' && r.event.method === 'resources/read',
    );
    expect(intent?.event.target).toBe(
      'https://svc:*****@files.example.net/report?token=*****&page=2',
    );
    const result = records.find(
      (r) => r.event.type === 'call.result' && r.event.target === 'account',
    );
    expect(JSON.stringify(result?.event.result_masked)).toContain('[REDACTED:secret_field]');
    const table = await cli(['audit', 'query', '--type', 'call.intent'], { GATEHOUSE_HOME: home });
    expect(table.stdout).not.toContain(URL_PASSWORD);
    expect(table.stdout).not.toContain(URL_TOKEN);
  });

  test('tasks/result: the output of a task-augmented call is recorded', async () => {
    const home = tempDir();
    const client = run(home, 'everything', [EVERYTHING, 'stdio']);
    await client.initialize();
    const created = await client.request(1, 'tools/call', {
      name: 'simulate-research-query',
      arguments: { topic: 'gateways' },
      task: { ttl: 60_000 },
    });
    const task = (created.result as { task: { taskId: string } }).task;
    let status = 'working';
    for (let i = 2; i < 200 && status === 'working'; i++) {
      status = (
        (await client.request(i, 'tasks/get', { taskId: task.taskId })).result as {
          status: string;
        }
      ).status;
      if (status === 'working') await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe('completed');
    const output = await client.request(500, 'tasks/result', { taskId: task.taskId });
    expect(JSON.stringify(output.result)).toContain('Research Report: gateways');
    await stopped(client);

    const records = JSON.parse(
      (await cli(['audit', 'query', '--json', '--tool', task.taskId], { GATEHOUSE_HOME: home }))
        .stdout,
    ) as {
      event: {
        type: string;
        method?: string;
        outcome?: string;
        result_masked?: unknown;
        result_bytes?: number;
      };
    }[];
    expect(records.map((r) => r.event.type)).toEqual(['call.intent', 'call.result']);
    expect(records[0]?.event.method).toBe('tasks/result');
    expect(records[1]?.event.outcome).toBe('ok');
    expect(records[1]?.event.result_bytes).toBeGreaterThan(0);
    expect(JSON.stringify(records[1]?.event.result_masked)).toContain('Research Report: gateways');
  });

  test('[gatehouse_audit] witness: the gateway appends every checkpoint there; verify --witness checks the store against it', async () => {
    const home = tempDir();
    const witness = join(tempDir(), 'witness.jsonl');
    const reqs = join(
      writeFiles({
        'requirements.toml': `[gatehouse_audit]\nwitness = ${JSON.stringify(witness)}\n`,
      }),
      'requirements.toml',
    );
    const client = run(
      home,
      'vault',
      [join(FIXTURES, 'audit-secrets.mjs')],
      ['--requirements', reqs],
    );
    await client.initialize();
    await client.request(1, 'tools/call', { name: 'account', arguments: {} });
    await stopped(client);
    const lines = readFileSync(witness, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1); // the shutdown checkpoint
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      kind: 'checkpoint',
      index: 1,
      purpose: 'shutdown',
    });
    const ok = await cli(['audit', 'verify', '--witness', witness], { GATEHOUSE_HOME: home });
    expect([ok.code, ok.stdout]).toEqual([0, expect.stringContaining('audit trail OK')]);

    const relative = writeFiles({ 'r.toml': '[gatehouse_audit]\nwitness = "witness.jsonl"\n' });
    const check = await cli(['--requirements', join(relative, 'r.toml'), 'requirements', 'check']);
    expect(check.code).toBe(4);
    expect(check.stdout + check.stderr).toContain('expected an absolute file path');
  });
});
