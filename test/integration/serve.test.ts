import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, test } from 'vitest';
import { RawStdioClient } from '../support/raw-stdio.js';
import {
  EVERYTHING,
  FIXTURES,
  startHttpFixture,
  tempDir,
  writeFiles,
} from '../support/fixtures.js';
import { exitsWithin } from '../support/processes.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const node = JSON.stringify(process.execPath);
const open: Client[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close().catch(() => undefined)));
});

function serve(config: string, requirements?: string) {
  const dir = writeFiles({ 'c.toml': config, ...(requirements ? { 'r.toml': requirements } : {}) });
  const args = [
    BIN,
    '--config',
    join(dir, 'c.toml'),
    ...(requirements ? ['--requirements', join(dir, 'r.toml')] : []),
    'serve',
  ];
  const transport = new StdioClientTransport({
    command: process.execPath,
    args,
    stderr: 'pipe',
    env: { ...(process.env as Record<string, string>), GATEHOUSE_HOME: tempDir() },
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return { transport, stderr: () => stderr };
}

async function connect(transport: StdioClientTransport): Promise<Client> {
  const client = new Client({ name: 'gatehouse-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  open.push(client);
  return client;
}

describe.skipIf(!existsSync(BIN))(
  'gatehouse serve: every allowed server behind one stdio endpoint',
  () => {
    const pidFile = join(tempDir(), 'pid');
    const CONFIG = `
[mcp_servers.everything]
command = ${node}
args = [${JSON.stringify(EVERYTHING)}, "stdio"]
disabled_tools = ["get-env"]

[mcp_servers.tree]
command = ${node}
args = [${JSON.stringify(join(FIXTURES, 'with-grandchild.mjs'))}]
env = { PID_FILE = ${JSON.stringify(pidFile)} }

[mcp_servers.blocked]
command = ${node}
args = [${JSON.stringify(EVERYTHING)}, "stdio"]

[mcp_servers.ghost]
command = "gatehouse-no-such-binary-xyz"

[mcp_servers.empty]
command = ${node}
args = [${JSON.stringify(join(FIXTURES, 'zero-tools.mjs'))}]
`;
    const RULES = `[mcp_servers.everything.identity]\ncommand = ${node}\n[mcp_servers.tree.identity]\ncommand = ${node}\n[mcp_servers.ghost.identity]\ncommand = "gatehouse-no-such-binary-xyz"\n[mcp_servers.empty.identity]\ncommand = ${node}\n`;

    test('tools are named server__tool, routed to their server, allowlists applied, others left out with a reason', async () => {
      const { transport, stderr } = serve(CONFIG, RULES);
      const client = await connect(transport);
      expect(client.getServerVersion()?.name).toBe('gatehouse');
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toContain('everything__echo');
      expect(names).toContain('everything__get_sum');
      expect(names).toContain('tree__ping');
      expect(names).not.toContain('everything__get_env');
      expect(names.some((n) => n.startsWith('blocked__') || n.startsWith('ghost__'))).toBe(false);

      expect(
        (await client.callTool({ name: 'everything__get_sum', arguments: { a: 2, b: 3 } })).content,
      ).toEqual([{ type: 'text', text: 'The sum of 2 and 3 is 5.' }]);
      expect((await client.callTool({ name: 'tree__ping', arguments: {} })).content).toEqual([
        { type: 'text', text: 'pong' },
      ]);
      await expect(
        client.callTool({ name: 'everything__get_env', arguments: {} }),
      ).rejects.toMatchObject({ code: -32602 });
      await expect(client.callTool({ name: 'get-sum', arguments: {} })).rejects.toMatchObject({
        code: -32602,
      });

      const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
      expect(prompts).toContain('everything__args_prompt');
      const prompt = await client.getPrompt({
        name: 'everything__args_prompt',
        arguments: { city: 'Paris' },
      });
      expect(JSON.stringify(prompt.messages)).toContain('Paris');

      const resources = (await client.listResources()).resources;
      const doc = resources.find((r) => r.uri.startsWith('demo://resource/static/document/'));
      expect(doc).toBeDefined();
      expect((await client.readResource({ uri: doc?.uri ?? '' })).contents.length).toBe(1);
      await expect(client.readResource({ uri: 'nowhere://x' })).rejects.toMatchObject({
        code: -32602,
        message: expect.stringContaining('Resource not found: nowhere://x'),
      });

      const completion = await client.complete({
        ref: { type: 'ref/prompt', name: 'everything__completable_prompt' },
        argument: { name: 'department', value: 'E' },
      });
      expect(completion.completion.values.length).toBeGreaterThan(0);

      await new Promise((r) => setTimeout(r, 50));
      expect(stderr()).toContain('"server":"blocked","state":"disabled"');
      expect(stderr()).toContain('"server":"ghost","state":"missing"');
      expect(stderr()).toContain('"server":"empty","state":"no_tools"');
      expect(stderr()).toMatch(/"server":"everything","state":"ready","detail":"\d+ tools"/);
    });

    test('when the client goes away, every upstream tree is killed', async () => {
      const { transport } = serve(CONFIG, RULES);
      const client = await connect(transport);
      await client.listTools();
      const grandchild = Number(readFileSync(pidFile, 'utf8'));
      const gatehousePid = transport.pid as number;
      await client.close();
      expect(await exitsWithin(gatehousePid, 3_000)).toBe(true);
      expect(await exitsWithin(grandchild, 3_000)).toBe(true);
    });

    test('a required server that cannot start refuses the session, naming it', async () => {
      const { transport } = serve(
        `${CONFIG}\n[mcp_servers.must]\ncommand = "gatehouse-no-such-binary-xyz"\nrequired = true\n`,
      );
      await expect(connect(transport)).rejects.toThrow(
        /required server\(s\) failed to start: must/,
      );
    });
  },
);

describe.skipIf(!existsSync(BIN))('gatehouse serve in front of HTTP upstreams', () => {
  test('streamable and legacy HTTP+SSE servers are both served; a 401 one is reported auth_required', async () => {
    const fixture = await startHttpFixture();
    try {
      const config = [
        `[mcp_servers.modern]\nurl = "${fixture.base}/mcp"\n`,
        `[mcp_servers.legacy]\nurl = "${fixture.base}/legacy/sse"\n`,
        `[mcp_servers.locked]\nurl = "${fixture.base}/oauth/mcp"\n`,
      ].join('\n');
      const { transport, stderr } = serve(config);
      const client = await connect(transport);
      const names = (await client.listTools()).tools.map((t) => t.name).sort();
      expect(names).toEqual(['legacy__old', 'legacy__older', 'modern__echo']);
      expect((await client.callTool({ name: 'legacy__old', arguments: {} })).content).toEqual([
        { type: 'text', text: 'old' },
      ]);
      expect(stderr()).toContain('"server":"locked","state":"auth_required"');
    } finally {
      fixture.child.kill();
    }
  });
});

describe.skipIf(!existsSync(BIN))(
  'gatehouse serve: tasks are routed to the server that created them',
  () => {
    test('task-mode call, tasks/get, tasks/result, tasks/list; an unknown task id is refused', async () => {
      const dir = writeFiles({
        'c.toml': `[mcp_servers.everything]\ncommand = ${node}\nargs = [${JSON.stringify(EVERYTHING)}, "stdio"]\n`,
      });
      const client = new RawStdioClient(
        process.execPath,
        [BIN, '--config', join(dir, 'c.toml'), 'serve'],
        { ...process.env, GATEHOUSE_HOME: tempDir() },
      );
      const init = await client.request(0, 'initialize', {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'raw', version: '1' },
      });
      expect(
        (init.result as { capabilities: { tasks?: unknown } }).capabilities.tasks,
      ).toBeDefined();
      client.send({ method: 'notifications/initialized' });
      const created = await client.request(1, 'tools/call', {
        name: 'everything__simulate_research_query',
        arguments: { topic: 'routing' },
        task: { ttl: 60_000 },
      });
      const taskId = (created.result as { task: { taskId: string } }).task.taskId;
      let status = 'working';
      for (let i = 2; i < 200 && status === 'working'; i++) {
        status = ((await client.request(i, 'tasks/get', { taskId })).result as { status: string })
          .status;
        if (status === 'working') await new Promise((r) => setTimeout(r, 200));
      }
      expect(status).toBe('completed');
      expect(
        JSON.stringify((await client.request(500, 'tasks/result', { taskId })).result),
      ).toContain('Research Report: routing');
      expect(
        (
          (await client.request(501, 'tasks/list', {})).result as { tasks: { taskId: string }[] }
        ).tasks.map((t) => t.taskId),
      ).toContain(taskId);
      expect(
        (await client.request(502, 'tasks/get', { taskId: 'no-such-task' })).error,
      ).toMatchObject({ code: -32602, message: 'Unknown task: no-such-task' });
      client.close();
    });
  },
);
