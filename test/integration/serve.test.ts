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
