import { listeningGatehouse } from '../support/gatehouse-http.js';
import { spawnSync } from 'node:child_process';
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
import { cli } from '../support/run-cli.js';

/**
 * A 2026-07-28 ("modern") client calls a tool that needs the user's approval through `gatehouse
 * run`: there are no server→client requests in that era, so Gatehouse answers `input_required`
 * with its approval question and a sealed requestState, and the retry carries the answer. A real
 * SDK v2 client fulfils it by itself; a hand-driven one that changes or replays the state is
 * refused, and the audit trail shows each round.
 */

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');
const CONFIG = `[mcp_servers.governed]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(join(FIXTURES, 'governed.mjs'))}]\n`;
const REQUIREMENTS = `
[gatehouse_policy]
default_approval = "gatehouse"
`;
const clients: Client[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

function setup() {
  const dir = writeFiles({ 'config.toml': CONFIG, 'requirements.toml': REQUIREMENTS });
  return {
    home: tempDir(),
    args: ['--config', join(dir, 'config.toml'), '--requirements', join(dir, 'requirements.toml')],
  };
}

async function modernClient(
  home: string,
  args: string[],
  autoFulfill: boolean,
  answer: (message: string) => 'accept' | 'decline',
  http?: { url: string; token: string },
) {
  const { client, asked } = modernAskedClient('modern-approval-test', autoFulfill, (message) => ({
    action: answer(message),
    content: {},
  }));
  await client.connect(
    http
      ? new StreamableHTTPClientTransport(new URL(http.url), {
          requestInit: { headers: { authorization: `Bearer ${http.token}` } },
        })
      : new StdioClientTransport({
          command: process.execPath,
          args: [BIN, ...args, 'run', 'governed'],
          env: { ...process.env, GATEHOUSE_HOME: home } as Record<string, string>,
          stderr: 'pipe',
        }),
  );
  clients.push(client);
  return { client, asked };
}

const text = (r: unknown) => (r as { content: { text: string }[] }).content[0]?.text;

async function auditEvents(home: string, args: string[], until: (types: string[]) => boolean) {
  for (let i = 0; ; i++) {
    const r = await cli([...args, 'audit', 'query', '--json'], { GATEHOUSE_HOME: home });
    const events = (JSON.parse(r.stdout) as { event: Record<string, unknown> }[]).map(
      (x) => x.event,
    );
    if (until(events.map((e) => String(e.type))) || i >= 40) return events;
    await new Promise((res) => setTimeout(res, 50));
  }
}

type Raw = { result?: Record<string, unknown>; error?: { code?: number; data?: unknown } };

/** One tools/call as sent (no auto-fulfilment): its result, input_required included, or its error. */
async function rawCall(client: Client, params: Record<string, unknown>): Promise<Raw> {
  try {
    return {
      result: (await client.request({ method: 'tools/call', params } as never, passThroughSchema, {
        allowInputRequired: true,
      })) as Record<string, unknown>,
    };
  } catch (err) {
    return { error: err as Raw['error'] };
  }
}

describe.skipIf(!existsSync(BIN))('approvals for a 2026-07-28 client (input_required)', () => {
  test('an SDK v2 modern client with auto-fulfilment is asked, accepts, and the call goes through', async () => {
    const { home, args } = setup();
    const { client, asked } = await modernClient(home, args, true, () => 'accept');
    expect(
      text(await client.callTool({ name: 'refund', arguments: { amount: 5, to: 'bob' } })),
    ).toBe('refunded 5 to bob');
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain('Allow the governed MCP server to run tool "refund"?');

    const events = await auditEvents(home, args, (t) => t.includes('approval.used'));
    expect(
      events
        .filter((e) => String(e.type).startsWith('approval.'))
        .map((e) => `${String(e.type)} ${String(e.channel)}`),
    ).toEqual([
      'approval.requested input_required',
      'approval.granted input_required',
      'approval.used input_required',
    ]);
    expect(events.filter((e) => e.type === 'call.result').map((e) => e.outcome)).toEqual([
      'input_required',
      'ok',
    ]);
  });

  test('a hand-driven modern client: a changed or replayed requestState is refused; decline is a denial', async () => {
    const { home, args } = setup();
    const { client } = await modernClient(home, args, false, () => 'accept');
    const call = { name: 'refund', arguments: { amount: 7, to: 'eve' } };
    const first = await rawCall(client, call);
    expect(first.result).toMatchObject({
      resultType: 'input_required',
      inputRequests: { 'gatehouse.approval': { method: 'elicitation/create' } },
    });
    const state = String(first.result?.requestState);
    const accept = { 'gatehouse.approval': { action: 'accept', content: {} } };

    const changed = state.slice(0, -5) + (state.at(-5) === 'x' ? 'y' : 'x') + state.slice(-4);
    const tampered = await rawCall(client, {
      ...call,
      inputResponses: accept,
      requestState: changed,
    });
    expect(tampered.error).toMatchObject({ code: -32602, data: { reason: 'tampered' } });
    const moved = await rawCall(client, {
      ...call,
      arguments: { amount: 7000, to: 'eve' },
      inputResponses: accept,
      requestState: state,
    });
    expect(moved.error).toMatchObject({ code: -32602, data: { reason: 'other_call' } });

    const approved = await rawCall(client, {
      ...call,
      inputResponses: accept,
      requestState: state,
    });
    expect(text(approved.result)).toBe('refunded 7 to eve');
    const replayed = await rawCall(client, {
      ...call,
      inputResponses: accept,
      requestState: state,
    });
    expect(replayed.error).toMatchObject({ code: -32602, data: { reason: 'replayed' } });

    const again = await rawCall(client, call);
    const declined = await rawCall(client, {
      ...call,
      inputResponses: { 'gatehouse.approval': { action: 'decline' } },
      requestState: String(again.result?.requestState),
    });
    expect(declined.error).toMatchObject({ code: -32005 });

    const events = await auditEvents(home, args, (t) => t.includes('approval.denied'));
    expect(events.filter((e) => e.type === 'call.intent')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'call.result').map((e) => e.outcome)).toEqual([
      'input_required',
      'denied',
      'denied',
      'ok',
      'denied',
      'input_required',
      'denied',
    ]);
    expect(
      events.filter((e) => String(e.type).startsWith('approval.')).map((e) => String(e.type)),
    ).toEqual([
      'approval.requested',
      'approval.refused',
      'approval.refused',
      'approval.granted',
      'approval.used',
      'approval.refused',
      'approval.requested',
      'approval.denied',
    ]);
  });

  test('over HTTP with identities: a state is bound to the caller who was asked', async () => {
    const home = tempDir();
    const store = join(tempDir(), 'service-tokens.json');
    const token = (subject: string) => {
      const r = spawnSync(
        process.execPath,
        [BIN, 'tokens', 'create', subject, '--subject', subject, '--store', store, '--json'],
        { env: { ...process.env, GATEHOUSE_HOME: home }, encoding: 'utf8' },
      );
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { token: string }).token;
    };
    const alice = token('alice-bot');
    const mallory = token('mallory-bot');
    const dir = writeFiles({
      'config.toml': CONFIG,
      'requirements.toml': `${REQUIREMENTS}\n[gatehouse_identity]\nservice_tokens = ${JSON.stringify(store)}\n`,
    });
    const args = [
      '--config',
      join(dir, 'config.toml'),
      '--requirements',
      join(dir, 'requirements.toml'),
    ];
    const { url } = await listeningGatehouse(
      children,
      [...args, 'run', 'governed', '--http', '127.0.0.1:0'],
      home,
    );
    const a = await modernClient(home, args, false, () => 'accept', { url, token: alice });
    const m = await modernClient(home, args, false, () => 'accept', { url, token: mallory });
    const call = { name: 'refund', arguments: { amount: 9, to: 'mallory' } };
    const asked = await rawCall(a.client, call);
    const state = String(asked.result?.requestState);
    const accept = { 'gatehouse.approval': { action: 'accept', content: {} } };
    const stolen = await rawCall(m.client, {
      ...call,
      inputResponses: accept,
      requestState: state,
    });
    expect(stolen.error).toMatchObject({ code: -32602, data: { reason: 'other_caller' } });
    const own = await rawCall(a.client, { ...call, inputResponses: accept, requestState: state });
    expect(text(own.result)).toBe('refunded 9 to mallory');

    // The SDK's own multi-round driver over HTTP.
    const auto = await modernClient(home, args, true, () => 'accept', { url, token: alice });
    expect(
      text(await auto.client.callTool({ name: 'refund', arguments: { amount: 1, to: 'x' } })),
    ).toBe('refunded 1 to x');
    expect(auto.asked).toHaveLength(1);
  });
});
