// `npm run bench:latency`: tools/call latency against one stdio echo server — directly, through
// `gatehouse run` (stdio and streamable HTTP), and through mcp-proxy and supergateway --stateful
// (HTTP) — sequential and 32-concurrent, p50/p99 and the ratio to direct, all in one run.
// HTTP paths are driven by the same raw client, so their differences are the proxies'.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const root = join(import.meta.dirname, '..');
const ECHO = join(root, 'bench', 'echo-server.mjs');
const BIN = join(root, 'dist', 'bin', 'gatehouse.js');
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 3000);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 6000);
const IN_FLIGHT = 32;

function client(command, args, env) {
  const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'ignore'] });
  const waiting = new Map();
  let buffer = '';
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const message = JSON.parse(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      waiting.get(message.id)?.(message);
      waiting.delete(message.id);
    }
  });
  let id = 0;
  const request = (method, params) =>
    new Promise((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: n, method, params })}\n`);
    });
  return {
    async init() {
      await request('initialize', {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'bench', version: '1' },
      });
      child.stdin.write(
        `${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`,
      );
    },
    call: () => request('tools/call', { name: 'echo', arguments: { text: 'hello' } }),
    close: () => child.stdin.end(),
  };
}

/** A streamable HTTP client: initialize, then POSTs on one keep-alive session (JSON or SSE answers). */
async function httpClient(url) {
  const { Agent, request } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const u = new URL(url);
  let session = null;
  let id = 0;
  const post = (message) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify(message);
      const headers = {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'content-length': Buffer.byteLength(body),
        'mcp-protocol-version': '2025-11-25',
      };
      if (session) headers['mcp-session-id'] = session;
      const req = request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers },
        (res) => {
          session ??= res.headers['mcp-session-id'] ?? null;
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () => {
            if (!('id' in message)) return resolve(null);
            const json = text.trimStart().startsWith('{')
              ? text
              : text
                  .split('\n')
                  .filter((l) => l.startsWith('data:'))
                  .map((l) => l.slice(5).trim())
                  .filter(Boolean)
                  .map((l) => JSON.parse(l))
                  .find((m) => m.id === message.id);
            resolve(typeof json === 'string' ? JSON.parse(json) : json);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return {
    async init() {
      await post({
        jsonrpc: '2.0',
        id: ++id,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: {},
          clientInfo: { name: 'bench', version: '1' },
        },
      });
      await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    },
    call: () =>
      post({
        jsonrpc: '2.0',
        id: ++id,
        method: 'tools/call',
        params: { name: 'echo', arguments: { text: 'hello' } },
      }),
    close: () => agent.destroy(),
  };
}

/** Starts an HTTP front; resolves once `url` answers (bounded). */
async function startHttp(args, url, env) {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'ignore'] });
  for (let i = 0; i < 200; i++) {
    try {
      const c = await httpClient(url);
      await c.init();
      c.close();
      return child;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  child.kill();
  throw new Error(`${args.join(' ')} did not come up at ${url}`);
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function measure(c) {
  for (let i = 0; i < 300; i++) await c.call(); // warm-up
  const seq = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = performance.now();
    await c.call();
    seq.push(performance.now() - t);
  }
  const conc = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < CONCURRENT) {
        const t = performance.now();
        await c.call();
        conc.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { seq, conc, rps: CONCURRENT / seconds };
}

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-latency-'));
writeFileSync(
  join(dir, 'config.toml'),
  `[mcp_servers.echo]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(ECHO)}]\n`,
);
const env = { ...process.env, GATEHOUSE_HOME: join(dir, 'home') };

const results = {};
for (const [label, cmd, args] of [
  ['direct (stdio)', process.execPath, [ECHO]],
  [
    'gatehouse run (stdio)',
    process.execPath,
    [BIN, '--config', join(dir, 'config.toml'), 'run', 'echo'],
  ],
]) {
  const c = client(cmd, args, env);
  await c.init();
  results[label] = await measure(c);
  c.close();
}

const LOOPBACK = join(root, 'bench', 'loopback-only.cjs');
const bin = (pkg, path) => join(root, 'node_modules', pkg, path);
const peers = [
  [
    'gatehouse run --http',
    [BIN, '--config', join(dir, 'config.toml'), 'run', 'echo', '--http', '127.0.0.1:18091'],
    'http://127.0.0.1:18091/mcp',
  ],
  [
    'mcp-proxy 6.7.19',
    [
      '--require',
      LOOPBACK,
      bin('mcp-proxy', 'dist/bin/mcp-proxy.mjs'),
      '--port',
      '18092',
      '--',
      process.execPath,
      ECHO,
    ],
    'http://127.0.0.1:18092/mcp',
  ],
  [
    'supergateway 4.0.0 --stateful',
    [
      '--require',
      LOOPBACK,
      bin('supergateway', 'dist/index.js'),
      '--stdio',
      `${process.execPath} ${ECHO}`,
      '--outputTransport',
      'streamableHttp',
      '--stateful',
      '--port',
      '18093',
    ],
    'http://127.0.0.1:18093/mcp',
  ],
];
for (const [label, args, url] of peers) {
  let child;
  try {
    child = await startHttp(args, url, env);
    const c = await httpClient(url);
    await c.init();
    results[label] = await measure(c);
    c.close();
  } catch (err) {
    console.error(`${label}: skipped (${err.message})`);
  } finally {
    child?.kill('SIGTERM');
  }
}

const base = results['direct (stdio)'];
const rows = [
  ['path', 'seq p50 ms', 'seq p99 ms', '32× p50 ms', '32× p99 ms', 'req/s (32×)', 'p50 vs direct'],
];
for (const [label, r] of Object.entries(results)) {
  rows.push([
    label,
    pct(r.seq, 50).toFixed(3),
    pct(r.seq, 99).toFixed(3),
    pct(r.conc, 50).toFixed(3),
    pct(r.conc, 99).toFixed(3),
    r.rps.toFixed(0),
    label === 'direct'
      ? '1.00'
      : `${(pct(r.seq, 50) / pct(base.seq, 50)).toFixed(2)}× (+${(pct(r.seq, 50) - pct(base.seq, 50)).toFixed(3)} ms)`,
  ]);
}
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
