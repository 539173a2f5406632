import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, test } from 'vitest';
import { passThroughSchema } from '../../src/gateway/wire.js';
import { FIXTURES, tempDir, writeFiles } from '../support/fixtures.js';
import { modernAskedClient } from '../support/modern-client.js';

/**
 * A 2026-07-28 client, Gatehouse, and a 2026-07-28 upstream that asks for input
 * (`input_required`): the client gets the upstream's question (masked) under Gatehouse's sealed
 * state, never the upstream's own; the retry reaches the upstream with its state and answer. With
 * an approval in front, Gatehouse's question comes first and its grant rides along.
 */
const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const MODERN_SERVER = join(FIXTURES, 'modern-stdio.mjs');
const CONFIG = `[mcp_servers.modern]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(MODERN_SERVER)}]\n`;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
});

async function modernClient(autoFulfill: boolean, requirements = '') {
  const dir = writeFiles({ 'config.toml': CONFIG, 'requirements.toml': requirements });
  const { client, asked } = modernAskedClient('modern-upstream-test', autoFulfill, () => ({
    action: 'accept',
    content: { ok: true },
  }));
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [
        BIN,
        '--config',
        join(dir, 'config.toml'),
        '--requirements',
        join(dir, 'requirements.toml'),
        'run',
        'modern',
      ],
      env: { ...process.env, GATEHOUSE_HOME: tempDir() } as Record<string, string>,
      stderr: 'pipe',
    }),
  );
  clients.push(client);
  return { client, asked };
}

const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]?.text;

describe.skipIf(!existsSync(BIN) || !existsSync(MODERN_SERVER))(
  "a modern upstream's input_required through Gatehouse to a modern client",
  () => {
    test('approval first, then the upstream asks; the SDK driver answers both; one call', async () => {
      const { client, asked } = await modernClient(
        true,
        '[gatehouse_policy]\ndefault_approval = "gatehouse"\n',
      );
      const result = await client.callTool({ name: 'confirm', arguments: { what: 'deploy' } });
      expect(text(result)).toBe('confirmed deploy');
      expect(asked).toHaveLength(2);
      expect(asked[0]).toContain('Allow the modern MCP server to run tool "confirm"?');
      expect(asked[1]).toMatch(/^Really deploy\?/);
      expect(asked[1]).not.toContain('ghp_'); // the upstream's question is masked
    });

    test("hand-driven: the upstream's state is sealed, bound to the arguments, and used once", async () => {
      const { client } = await modernClient(false);
      const call = { name: 'confirm', arguments: { what: 'ship' } };
      const send = (params: Record<string, unknown>) =>
        client
          .request({ method: 'tools/call', params } as never, passThroughSchema, {
            allowInputRequired: true,
          })
          .then(
            (result) => ({ result: result as Record<string, unknown> }),
            (error: { code?: number; data?: unknown }) => ({ error }),
          );
      const first = await send(call);
      expect(first).toMatchObject({
        result: { resultType: 'input_required', inputRequests: { ok: {} } },
      });
      const state = String((first as { result: Record<string, unknown> }).result.requestState);
      expect(state).toMatch(/^ghrs1\./);
      expect(JSON.stringify(first)).not.toContain('state-for-ship');
      const answer = { ok: { action: 'accept', content: { ok: true } } };
      const moved = await send({
        name: 'confirm',
        arguments: { what: 'sink' },
        inputResponses: answer,
        requestState: state,
      });
      expect(moved).toMatchObject({ error: { code: -32602, data: { reason: 'other_call' } } });
      const done = await send({ ...call, inputResponses: answer, requestState: state });
      expect(text((done as { result: unknown }).result)).toBe('confirmed ship');
      const replay = await send({ ...call, inputResponses: answer, requestState: state });
      expect(replay).toMatchObject({ error: { code: -32602, data: { reason: 'replayed' } } });
    });
  },
);
