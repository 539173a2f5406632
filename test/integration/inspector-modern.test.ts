import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startGatehouse } from '../support/gatehouse-http.js';
import { EVERYTHING, FIXTURES, tempDir } from '../support/fixtures.js';

/**
 * A real client of both protocol eras: the MCP Inspector v2 CLI (npm @modelcontextprotocol/inspector
 * 2.12, `--cli --protocol-era modern|legacy`) drives `gatehouse serve` — over stdio and over
 * `--http` — in front of a 2026-07-28-only SDK v2 server (the conformance fixture with
 * `--modern-only`) and a 2025-11-25 SDK v1 server (the npm reference server). The Inspector needs
 * Node ≥ 22.19: npx fetches node@22 and the Inspector once (its cache serves later runs), which
 * is why the hooks have generous timeouts.
 */
const root = join(import.meta.dirname, '..', '..');
const BIN = join(root, 'dist', 'bin', 'gatehouse.js');
const INSPECTOR_PACKAGE = '@modelcontextprotocol/inspector@2.12.0';
/** Inspector v2 exit codes (mcp-protocol.md §8): 0 result, 5 result with isError, 1 failure. */
const OK = 0;

let inspectorNode = '';
let inspectorScript = '';
const children: ChildProcess[] = [];

/** Resolves node@22 and the Inspector launcher through npx (downloaded once, then cached). */
function resolveInspector(): void {
  const r = spawnSync(
    'npx',
    [
      '-y',
      '-p',
      'node@22',
      '-p',
      INSPECTOR_PACKAGE,
      '--',
      'sh',
      '-c',
      'command -v node && command -v mcp-inspector',
    ],
    { encoding: 'utf8', timeout: 600_000 },
  );
  const [node, script] = r.stdout.trim().split('\n');
  if (r.status !== 0 || !node || !script)
    throw new Error(`npx could not provide ${INSPECTOR_PACKAGE} on node@22:\n${r.stderr}`);
  inspectorNode = node;
  inspectorScript = script;
}

/**
 * A HOME holding Gatehouse's config (the Inspector gives its stdio child only a safe
 * environment, HOME included) and the Inspector's own `~/.mcp-inspector`.
 */
function setup(): string {
  const home = tempDir();
  mkdirSync(join(home, '.gatehouse'));
  const node = JSON.stringify(process.execPath);
  writeFileSync(
    join(home, '.gatehouse', 'config.toml'),
    [
      '[mcp_servers.modern]',
      `command = ${node}`,
      `args = [${JSON.stringify(join(FIXTURES, 'conformance-server.mjs'))}, "--modern-only"]`,
      '',
      '[mcp_servers.everything]',
      `command = ${node}`,
      `args = [${JSON.stringify(EVERYTHING)}, "stdio"]`,
      '',
    ].join('\n'),
  );
  return home;
}

interface Answer {
  status: number | null;
  output: { result?: Record<string, unknown>; error?: unknown };
  stderr: string;
}

/** One Inspector CLI run; `target` is the server command (stdio) or the gateway's URL. */
function inspector(home: string, era: string, target: string[], args: string[]): Answer {
  const r = spawnSync(
    inspectorNode,
    [inspectorScript, '--cli', '-q', '--format', 'json', '--protocol-era', era, ...target, ...args],
    {
      // The scratch HOME holds the Inspector's own state (~/.mcp-inspector) and Gatehouse's config.
      env: { ...process.env, HOME: home },
      encoding: 'utf8',
      timeout: 90_000,
    },
  );
  // The JSON answer is on stdout, or on stderr when the Inspector could not connect.
  let output: Answer['output'] = { error: `${r.stdout}${r.stderr}` };
  for (const text of [r.stdout, r.stderr])
    try {
      output = JSON.parse(text) as Answer['output'];
      break;
    } catch {
      // not this stream
    }
  return { status: r.status, output, stderr: r.stderr };
}

const toolNames = (a: Answer) =>
  ((a.output.result?.tools ?? []) as { name: string }[]).map((t) => t.name);
const texts = (a: Answer) =>
  ((a.output.result?.content ?? []) as { type: string; text?: string }[])
    .map((c) => c.text ?? '')
    .join('\n');

describe.skipIf(!existsSync(BIN))(
  'the MCP Inspector v2 CLI (both protocol eras) through gatehouse serve',
  () => {
    const home = setup();
    const overStdio = [process.execPath, BIN, 'serve'];
    let overHttp: string[] = [];

    beforeAll(async () => {
      resolveInspector();
      const gateway = await startGatehouse(
        children,
        // startGatehouse writes its own config; the same servers as the stdio leg.
        [
          '[mcp_servers.modern]',
          `command = ${JSON.stringify(process.execPath)}`,
          `args = [${JSON.stringify(join(FIXTURES, 'conformance-server.mjs'))}, "--modern-only"]`,
          '[mcp_servers.everything]',
          `command = ${JSON.stringify(process.execPath)}`,
          `args = [${JSON.stringify(EVERYTHING)}, "stdio"]`,
          '',
        ].join('\n'),
        ['serve', '--http', '127.0.0.1:0'],
      );
      expect(gateway.url, gateway.stderr()).not.toBe('');
      overHttp = [gateway.url];
    }, 900_000);

    afterAll(() => {
      for (const c of children) c.kill('SIGTERM');
    });

    for (const [leg, target] of [
      ['stdio', () => overStdio],
      ['--http', () => overHttp],
    ] as const) {
      for (const era of ['modern', 'legacy']) {
        test(`${era} era over ${leg}: tools/list lists the modern and the legacy server`, () => {
          const a = inspector(home, era, target(), ['--method', 'tools/list']);
          expect(a.status, JSON.stringify(a.output) + a.stderr).toBe(OK);
          expect(toolNames(a)).toEqual(
            expect.arrayContaining(['modern__test_simple_text', 'everything__echo']),
          );
        }, 120_000);

        test(`${era} era over ${leg}: tools/call reaches each server`, () => {
          const modern = inspector(home, era, target(), [
            '--method',
            'tools/call',
            '--tool-name',
            'modern__test_simple_text',
          ]);
          expect(modern.status, JSON.stringify(modern.output) + modern.stderr).toBe(OK);
          expect(texts(modern)).toBe('This is a simple text response for testing.');
          const legacy = inspector(home, era, target(), [
            '--method',
            'tools/call',
            '--tool-name',
            'everything__echo',
            '--tool-args-json',
            '{"message":"hello across eras"}',
          ]);
          expect(legacy.status, JSON.stringify(legacy.output) + legacy.stderr).toBe(OK);
          expect(texts(legacy)).toContain('hello across eras');
        }, 120_000);
      }
    }
  },
);
