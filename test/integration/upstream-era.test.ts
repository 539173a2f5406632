import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { McpServerConfig } from '../../src/config/mcp-server.js';
import {
  connectUpstream,
  describeStartFailure,
  forgetEraVerdicts,
} from '../../src/gateway/upstream/connect.js';
import { passThroughSchema } from '../../src/gateway/wire.js';
import {
  EVERYTHING,
  FIXTURES,
  http,
  server,
  startEraHttpFixture,
  startHttpFixture,
  stdio,
  tempDir,
} from '../support/fixtures.js';

const env = process.env;
const options = { env, capabilities: {}, clientInfo: { name: 'era-test', version: '1' } };
let eraHttp: { base: string; child: ChildProcess };
let legacyHttp: { base: string; child: ChildProcess };

beforeAll(async () => {
  [eraHttp, legacyHttp] = await Promise.all([startEraHttpFixture(), startHttpFixture()]);
});
afterAll(() => {
  for (const f of [eraHttp, legacyHttp]) {
    f.child.stdin?.end();
    f.child.kill();
  }
});
beforeEach(() => forgetEraVerdicts());

const node = (file: string, ...args: string[]) =>
  stdio(process.execPath, [join(FIXTURES, file), ...args]);

async function connectAndEcho(config: McpServerConfig, tool = 'echo') {
  const upstream = await connectUpstream(config, options);
  try {
    const result = (await upstream.client.request(
      { method: 'tools/call', params: { name: tool, arguments: { text: 'hi' } } } as never,
      passThroughSchema,
    )) as { content: { text: string }[] };
    return { era: upstream.era, name: upstream.serverInfo.name, text: result.content[0]?.text };
  } finally {
    await upstream.close();
  }
}

describe('era negotiation against real servers (gatehouse_protocol_era = auto)', () => {
  test('a modern-only stdio server: modern, and requests carry the _meta envelope', async () => {
    const r = await connectAndEcho(server('m', node('modern-stdio.mjs')));
    expect(r).toEqual({ era: 'modern', name: 'modern-stdio', text: 'modern-stdio: hi (envelope)' });
  });

  test('a dual-era stdio server: modern', async () => {
    const r = await connectAndEcho(server('d', node('modern-stdio.mjs', '--dual')));
    expect(r).toMatchObject({ era: 'modern', text: 'dual-stdio: hi (envelope)' });
  });

  test('a legacy SDK 1.x stdio server: legacy, in place', async () => {
    const upstream = await connectUpstream(
      server('e', stdio(process.execPath, [EVERYTHING, 'stdio'])),
      options,
    );
    expect(upstream.era).toBe('legacy');
    expect(upstream.serverInfo.name).toContain('everything');
    await upstream.close();
  });

  test('a legacy stdio server that exits on the probe: started once more, as legacy', async () => {
    const log = join(tempDir(), 'starts');
    const config = server('x', node('legacy-strict.mjs', '--exit'));
    if (config.transport.type === 'stdio') config.transport.env = { START_LOG: log };
    const r = await connectAndEcho(config);
    expect(r).toEqual({ era: 'legacy', name: 'legacy-exit', text: 'legacy-exit: hi' });
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(2);
    // The verdict is remembered: a restart goes straight to initialize (one more spawn, not two).
    await connectAndEcho(config);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(3);
  });

  test('a legacy stdio server silent on the probe: legacy after the bounded probe wait', async () => {
    const r = await connectAndEcho(
      server('s', node('legacy-strict.mjs', '--silent'), { startupTimeoutSec: 2 }),
    );
    expect(r).toEqual({ era: 'legacy', name: 'legacy-silent', text: 'legacy-silent: hi' });
  });

  test('a modern-only HTTP server: modern', async () => {
    const r = await connectAndEcho(server('mh', http(`${eraHttp.base}/modern/mcp`)));
    expect(r).toEqual({ era: 'modern', name: 'modern-http', text: 'modern-http: hi (envelope)' });
  });

  test('a dual-era HTTP server: modern', async () => {
    const r = await connectAndEcho(server('dh', http(`${eraHttp.base}/dual/mcp`)));
    expect(r).toMatchObject({ era: 'modern', name: 'dual-http' });
  });

  test('a legacy streamable HTTP server (SDK 1.x): legacy', async () => {
    const upstream = await connectUpstream(server('lh', http(`${legacyHttp.base}/mcp`)), options);
    expect(upstream.era).toBe('legacy');
    await upstream.close();
  });

  test('a stateful legacy HTTP server (sessions): legacy', async () => {
    const r = await connectAndEcho(server('st', http(`${legacyHttp.base}/stateful/mcp`)), 'whoami');
    expect(r.era).toBe('legacy');
    expect(r.text).toMatch(/^session /);
  });

  test('a 2024-11-05 HTTP+SSE server: legacy through the SSE fallback', async () => {
    const upstream = await connectUpstream(
      server('sse', http(`${legacyHttp.base}/legacy/sse`)),
      options,
    );
    expect(upstream.era).toBe('legacy');
    expect(upstream.serverInfo.name).toBe('legacy-sse-fixture');
    await upstream.close();
  });
});

describe('gatehouse_protocol_era pins', () => {
  test('legacy on a dual-era server: legacy, no envelope', async () => {
    const r = await connectAndEcho(
      server('d', node('modern-stdio.mjs', '--dual'), { protocolEra: 'legacy' }),
    );
    expect(r).toMatchObject({ era: 'legacy', text: 'dual-stdio: hi (no envelope)' });
  });

  test('legacy on a modern-only server: a start failure that says what to set', async () => {
    const err = await connectUpstream(
      server('m', node('modern-stdio.mjs'), { protocolEra: 'legacy' }),
      options,
    ).catch((e: unknown) => e);
    expect(describeStartFailure(err)).toContain('gatehouse_protocol_era = "auto"');
  });

  test('a remembered verdict never overrides the setting', async () => {
    const dual = node('modern-stdio.mjs', '--dual');
    expect((await connectAndEcho(server('d', dual))).era).toBe('modern');
    const pinned = await connectAndEcho(server('d', dual, { protocolEra: 'legacy' }));
    expect(pinned).toMatchObject({ era: 'legacy', text: 'dual-stdio: hi (no envelope)' });
    const legacy = stdio(process.execPath, [EVERYTHING, 'stdio']);
    await (await connectUpstream(server('e', legacy), options)).close();
    const err = await connectUpstream(
      server('e', legacy, { protocolEra: 'modern' }),
      options,
    ).catch((e: unknown) => e);
    expect(describeStartFailure(err)).toMatch(/2026-07-28/);
  });

  test('modern on a legacy server: a start failure naming server/discover', async () => {
    const err = await connectUpstream(
      server('e', stdio(process.execPath, [EVERYTHING, 'stdio']), { protocolEra: 'modern' }),
      options,
    ).catch((e: unknown) => e);
    expect(describeStartFailure(err)).toMatch(/2026-07-28/);
  });
});
