import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import type { EdgeProblem } from './stdio-line-transport.js';
import {
  INVALID_REQUEST,
  jsonRpcShapeProblem,
  PARSE_ERROR,
  StdioLineTransport,
} from './stdio-line-transport.js';

describe('jsonRpcShapeProblem', () => {
  test.each([
    [{ jsonrpc: '2.0', id: 1, method: 'tools/list' }, null],
    [{ jsonrpc: '2.0', method: 'notifications/initialized' }, null],
    [{ jsonrpc: '2.0', id: 'a', result: {} }, null],
    [{ jsonrpc: '2.0', id: 1, error: { code: 1, message: 'x' } }, null],
    [[{ jsonrpc: '2.0', id: 1, method: 'x' }], 'batches are not supported'],
    [42, 'must be an object'],
    [{ id: 1, method: 'x' }, '"jsonrpc"'],
    [{ jsonrpc: '2.0', id: 5 }, 'needs "result" or "error"'],
    [{ jsonrpc: '2.0', id: 6, method: 42 }, '"method" must be a non-empty string'],
    [{ jsonrpc: '2.0', id: {}, method: 'x' }, '"id" must be a string or a number'],
    [{ jsonrpc: '2.0', id: 1, method: 'x', params: [1] }, '"params" must be an object'],
    [{ jsonrpc: '2.0' }, 'needs "method"'],
  ])('%j → %s', (value, problem) => {
    const got = jsonRpcShapeProblem(value);
    if (problem === null) expect(got).toBeNull();
    else expect(got).toContain(problem);
  });
});

function harness(maxLineBytes?: number) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const messages: unknown[] = [];
  const problems: EdgeProblem[] = [];
  const written: Record<string, unknown>[] = [];
  let out = '';
  stdout.on('data', (d: Buffer) => {
    out += d.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      written.push(JSON.parse(out.slice(0, nl)) as Record<string, unknown>);
      out = out.slice(nl + 1);
    }
  });
  const t = new StdioLineTransport(stdin, stdout, {
    ...(maxLineBytes ? { maxLineBytes } : {}),
    onProblem: (p) => void problems.push(p),
  });
  t.onmessage = (m) => void messages.push(m);
  return {
    stdin,
    t,
    messages,
    problems,
    written,
    flush: () => new Promise((r) => setImmediate(r)),
  };
}

describe('StdioLineTransport: nothing is dropped silently', () => {
  test('unparseable JSON gets -32700 (id null), a wrong shape -32600 with its id, and serving goes on', async () => {
    const h = harness();
    await h.t.start();
    h.stdin.write(
      '{this is not json\n{"jsonrpc":"2.0","id":5}\n{"jsonrpc":"2.0","id":7,"method":"ping"}\r\n',
    );
    await h.flush();
    expect(h.written).toEqual([
      {
        jsonrpc: '2.0',
        id: null,
        error: { code: PARSE_ERROR, message: expect.stringContaining('Parse error') },
      },
      {
        jsonrpc: '2.0',
        id: 5,
        error: {
          code: INVALID_REQUEST,
          message: expect.stringContaining('needs "result" or "error"'),
        },
      },
    ]);
    expect(h.messages).toEqual([{ jsonrpc: '2.0', id: 7, method: 'ping' }]);
    expect(h.problems).toHaveLength(2);
  });

  test('a line over the limit is discarded to its newline and answered; the next line is served', async () => {
    const h = harness(1024);
    await h.t.start();
    h.stdin.write(`{"jsonrpc":"2.0","id":1,"method":"x","params":{"pad":"${'a'.repeat(600)}`);
    h.stdin.write(`${'a'.repeat(600)}"}}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n`);
    await h.flush();
    expect(h.written).toEqual([
      {
        jsonrpc: '2.0',
        id: null,
        error: {
          code: INVALID_REQUEST,
          message: expect.stringContaining('longer than 1024 bytes'),
        },
      },
    ]);
    expect(h.messages).toEqual([{ jsonrpc: '2.0', id: 2, method: 'ping' }]);
  });

  test('stdin closing ends the session', async () => {
    const h = harness();
    let closed = false;
    h.t.onclose = () => void (closed = true);
    await h.t.start();
    h.stdin.end();
    await h.flush();
    expect(closed).toBe(true);
  });

  test('fuzz: any bytes in any chunks → no exception, each non-blank line delivered or answered exactly once', async () => {
    const line = fc.oneof(
      fc.constant('{"jsonrpc":"2.0","id":1,"method":"ping"}'),
      fc.constant('{"jsonrpc":"2.0","method":"notifications/x"}'),
      fc.json(),
      fc.string({ maxLength: 40 }).map((s) => s.replace(/\n/g, ' ')),
      fc.constant('['),
      fc.constant('{"jsonrpc":"2.0","id":3}'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 8 }),
        async (lines, cuts) => {
          const h = harness(200);
          await h.t.start();
          const data = Buffer.from(lines.map((l) => `${l}\n`).join(''));
          let at = 0;
          for (let i = 0; at < data.length; i++) {
            const n = cuts[i % cuts.length] ?? 1;
            h.stdin.write(data.subarray(at, at + n));
            at += n;
          }
          await h.flush();
          const nonBlank = lines.filter((l) => l.trim() !== '').length;
          expect(h.messages.length + h.written.length).toBe(nonBlank);
        },
      ),
      { numRuns: 300 },
    );
  });
});
