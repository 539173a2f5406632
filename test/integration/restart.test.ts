import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, test } from 'vitest';
import {
  EVERYTHING,
  FIXTURES,
  startHttpFixture,
  tempDir,
  writeFiles,
} from '../support/fixtures.js';
import { until } from '../support/processes.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const node = JSON.stringify(process.execPath);
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
});

async function start(config: string, args: string[]) {
  const dir = writeFiles({ 'c.toml': config });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, '--config', join(dir, 'c.toml'), ...args],
    stderr: 'pipe',
    env: { ...(process.env as Record<string, string>), GATEHOUSE_HOME: tempDir() },
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const logs: unknown[] = [];
  const client = new Client({ name: 'restart-test', version: '1.0.0' }, { capabilities: {} });
  client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params.data));
  await client.connect(transport);
  clients.push(client);
  return { client, stderr: () => stderr, logs };
}

const crashy = (starts: string) =>
  `[mcp_servers.crashy]\ncommand = ${node}\nargs = [${JSON.stringify(join(FIXTURES, 'crashy.mjs'))}]\nenv = { STARTS_FILE = ${JSON.stringify(starts)} }\n`;

describe.skipIf(!existsSync(BIN))('a crashed upstream is restarted with backoff', () => {
  test('run: the session survives the crash; the client is told; calls work again', async () => {
    const starts = join(tempDir(), 'starts');
    const { client, stderr, logs } = await start(crashy(starts), ['run', 'crashy']);
    expect(
      (
        await client.callTool({
          name: 'die',
          arguments: {},
          _meta: { 'x-codex-turn-metadata': { thread_id: 'thread-42' } },
        })
      ).content,
    ).toEqual([{ type: 'text', text: 'dying' }]);
    expect(await until(() => stderr().includes('"server":"crashy","state":"failed"'), 5_000)).toBe(
      true,
    );
    const back = await until(async () => {
      try {
        return JSON.stringify(
          (await client.callTool({ name: 'ping', arguments: {} })).content,
        ).includes('pong');
      } catch {
        return false;
      }
    }, 10_000);
    expect(back).toBe(true);
    expect(readFileSync(starts, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(stderr()).toMatch(
      /"state":"failed","detail":"the server stopped: crashy: exiting on purpose","thread_id":"thread-42"/,
    );
    expect(stderr()).toContain('"state":"restarting"');
    expect(stderr()).toMatch(/"state":"ready","detail":"restarted after 1 attempt\(s\)"/);
    expect(logs).toContainEqual(
      expect.objectContaining({ event: 'server_state', server: 'crashy', state: 'failed' }),
    );
  });

  test('serve: while one server is down and restarting, the others keep serving', async () => {
    const starts = join(tempDir(), 'starts');
    const config = `${crashy(starts)}[mcp_servers.everything]\ncommand = ${node}\nargs = [${JSON.stringify(EVERYTHING)}, "stdio"]\n`;
    const { client, stderr } = await start(config, ['serve']);
    await client.callTool({ name: 'crashy__die', arguments: {} });
    await until(() => stderr().includes('"server":"crashy","state":"failed"'), 5_000);
    expect(
      (await client.callTool({ name: 'everything__echo', arguments: { message: 'unaffected' } }))
        .content,
    ).toEqual([{ type: 'text', text: 'Echo: unaffected' }]);
    const back = await until(async () => {
      try {
        return JSON.stringify(
          (await client.callTool({ name: 'crashy__ping', arguments: {} })).content,
        ).includes('pong');
      } catch {
        return false;
      }
    }, 10_000);
    expect(back).toBe(true);
  });
});

describe.skipIf(!existsSync(BIN))('an HTTP upstream that forgets our session (404)', () => {
  test('is re-initialised and the request retried, transparently', async () => {
    const fixture = await startHttpFixture();
    try {
      const { client, stderr } = await start(
        `[mcp_servers.web]\nurl = "${fixture.base}/stateful/mcp"\n`,
        ['run', 'web'],
      );
      const first = JSON.stringify(
        (await client.callTool({ name: 'whoami', arguments: {} })).content,
      );
      await client.callTool({ name: 'expire', arguments: {} });
      await new Promise((r) => setTimeout(r, 100));
      const second = JSON.stringify(
        (await client.callTool({ name: 'whoami', arguments: {} })).content,
      );
      expect(second).toContain('session ');
      expect(second).not.toBe(first);
      expect(stderr()).toContain('re-initialised: the server answered 404 for our session');
    } finally {
      fixture.child.kill();
    }
  });
});
