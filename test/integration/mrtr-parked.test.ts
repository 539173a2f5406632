import { listeningGatehouse } from '../support/gatehouse-http.js';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, test } from 'vitest';
import { passThroughSchema } from '../../src/gateway/wire.js';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { modernAskedClient } from '../support/modern-client.js';

/**
 * A legacy (2025-11-25) upstream asks the client something in the middle of a call, and the
 * client is a 2026-07-28 one, which cannot be sent server→client requests: Gatehouse holds the
 * upstream's call ("parked"), asks the client with `input_required`, and resumes the call with the
 * answer on the retry.
 */
const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
// Pinned to 2025-11-25: the dual-era fixture asks in-band (elicitation/create) only on a legacy
// connection; on a 2026-07-28 one it answers input_required itself and nothing is parked.
const CONFIG = `[mcp_servers.conf]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(join(FIXTURES, 'conformance-server.mjs'))}]\ngatehouse_protocol_era = "legacy"\n`;
const clients: Client[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

async function modernClient(
  autoFulfill: boolean,
  command: string[] = ['run', 'conf'],
  http = false,
) {
  const dir = writeFiles({ 'config.toml': CONFIG });
  const home = tempDir();
  const { client, asked } = modernAskedClient('modern-parked-test', autoFulfill, () => ({
    action: 'accept',
    content: { username: 'ann', email: 'ann@example.org' },
  }));
  const args = [BIN, '--config', join(dir, 'config.toml'), ...command];
  await client.connect(
    http
      ? new StreamableHTTPClientTransport(new URL(await listening(args, home)))
      : new StdioClientTransport({
          command: process.execPath,
          args,
          env: { ...process.env, GATEHOUSE_HOME: home } as Record<string, string>,
          stderr: 'pipe',
        }),
  );
  clients.push(client);
  return { client, asked };
}

/** Starts the gateway with `--http` on a free loopback port; its URL. */
async function listening(args: string[], home: string): Promise<string> {
  const argv = args[0] === BIN ? args.slice(1) : args;
  return (await listeningGatehouse(children, [...argv, '--http', '127.0.0.1:0'], home)).url;
}

const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]?.text;

describe.skipIf(!existsSync(BIN))('a legacy upstream asking during a modern call (parked)', () => {
  test('the SDK v2 modern client answers the held question and the call completes', async () => {
    const { client, asked } = await modernClient(true);
    const result = await client.callTool({
      name: 'test_elicitation',
      arguments: { message: 'who are you?' },
    });
    expect(asked).toEqual(['who are you?']);
    expect(text(result)).toBe(
      'User response: action=accept, content={"username":"ann","email":"[REDACTED:email]"}',
    );
  });

  test('hand-driven: the held call is named only inside the sealed state and resumes once', async () => {
    const { client } = await modernClient(false);
    const call = { name: 'test_elicitation', arguments: { message: 'name?' } };
    const first = (await client.request(
      { method: 'tools/call', params: call } as never,
      passThroughSchema,
      { allowInputRequired: true },
    )) as Record<string, unknown>;
    expect(first).toMatchObject({
      resultType: 'input_required',
      inputRequests: { 'upstream.request': { method: 'elicitation/create' } },
    });
    expect(String(first.requestState)).toMatch(/^ghrs1\./);
    expect(JSON.stringify(first)).not.toContain('gatehouse-parked');
    const retry = {
      ...call,
      inputResponses: { 'upstream.request': { action: 'decline' } },
      requestState: first.requestState,
    };
    const done = await client.request(
      { method: 'tools/call', params: retry } as never,
      passThroughSchema,
    );
    expect(text(done)).toBe('User response: action=decline, content={}');
    await expect(
      client.request({ method: 'tools/call', params: retry } as never, passThroughSchema),
    ).rejects.toMatchObject({ code: -32602 });
  });

  test('under serve too (the question is held for the server the call went to)', async () => {
    const { client, asked } = await modernClient(true, ['serve']);
    const result = await client.callTool({
      name: 'conf__test_elicitation',
      arguments: { message: 'and you?' },
    });
    expect(asked).toEqual(['and you?']);
    expect(text(result)).toContain('User response: action=accept');
  });

  test('over HTTP: the held call outlives the round answered input_required (its request ends)', async () => {
    const { client, asked } = await modernClient(true, ['run', 'conf'], true);
    const result = await client.callTool({
      name: 'test_elicitation',
      arguments: { message: 'over http?' },
    });
    expect(asked).toEqual(['over http?']);
    expect(text(result)).toContain('User response: action=accept');
  });
});
