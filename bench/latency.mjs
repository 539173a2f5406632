// `npm run bench:latency`: tools/call latency against one stdio echo server — directly, through
// `gatehouse run` (stdio and streamable HTTP; its audit store on disk as by default, and on tmpfs),
// and through mcp-proxy and supergateway --stateful (HTTP) — sequential and 32-concurrent,
// p50/p99 and the ratio to direct, all in one run. The "2026-07-28 client" rows repeat direct,
// `run` and `run --http` with a modern-era client (no initialize; each request carries the
// `_meta` envelope) in front of an SDK v2 dual-era echo server; their ratio is to that server
// measured directly with the same client.
// HTTP paths are driven by the same raw client, so their differences are the proxies'.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';
import { startOtlpSink } from './otlp-sink.mjs';

const root = join(import.meta.dirname, '..');
const ECHO = join(root, 'bench', 'echo-server.mjs');
const ECHO_DUAL = join(root, 'bench', 'echo-server-dual.mjs');
const MODERN = '2026-07-28';
/** The per-request envelope a 2026-07-28 client sends instead of `initialize`. */
const envelope = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
};
const echoParams = (era) => ({
  name: 'echo',
  arguments: { text: 'hello' },
  ...(era === 'modern' ? { _meta: envelope } : {}),
});
/** Bounds a row's opening: a gateway that does not answer an era skips the row, not the run. */
function within(promise, what, ms = 15_000) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
/** A JSON-RPC error where a result was expected ends that row (it is reported, not timed). */
function expectResult(message, what) {
  if (!message || message.error)
    throw new Error(`${what}: ${JSON.stringify(message?.error ?? message)}`);
  return message;
}
const BIN = join(root, 'dist', 'bin', 'gatehouse.js');
const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 3000);
const CONCURRENT = Number(process.env.BENCH_CONCURRENT ?? 6000);
const IN_FLIGHT = 32;

function client(command, args, env, era = 'legacy') {
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
      if (era === 'modern') {
        // A modern client's opening: server/discover, then enveloped requests.
        const discover = request('server/discover', { _meta: envelope });
        expectResult(await within(discover, 'server/discover'), 'server/discover');
        const call = request('tools/call', echoParams(era));
        expectResult(await within(call, 'tools/call'), 'tools/call');
        return;
      }
      await request('initialize', {
        protocolVersion: '2025-11-25',
        capabilities: {},
        clientInfo: { name: 'bench', version: '1' },
      });
      child.stdin.write(
        `${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`,
      );
    },
    call: () => request('tools/call', echoParams(era)),
    close: () => child.stdin.end(),
  };
}

/**
 * One keep-alive HTTP/1.1 connection on a raw socket: writes a request, parses the status,
 * headers and a Content-Length or chunked body. node:http's client costs ~0.25 ms of CPU per
 * call on these machines, which every HTTP path would share and which would hide the proxies'
 * own cost; this client costs a fraction of that.
 */
function connection(host, port) {
  const socket = createConnection({ host, port, noDelay: true });
  let buffer = Buffer.alloc(0);
  let waiting = null;
  const tryParse = () => {
    if (!waiting) return;
    const headEnd = buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
    const status = Number(head[0].split(' ')[1]);
    const headers = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    let at = headEnd + 4;
    let body;
    if (headers['transfer-encoding'] === 'chunked') {
      const parts = [];
      for (;;) {
        const lineEnd = buffer.indexOf('\r\n', at);
        if (lineEnd < 0) return;
        const size = parseInt(buffer.subarray(at, lineEnd).toString('latin1'), 16);
        if (buffer.length < lineEnd + 2 + size + 2) return;
        if (size === 0) {
          at = lineEnd + 4;
          break;
        }
        parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts).toString('utf8');
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (buffer.length < at + length) return;
      body = buffer.subarray(at, at + length).toString('utf8');
      at += length;
    }
    buffer = buffer.subarray(at);
    const done = waiting;
    waiting = null;
    done.resolve({ status, headers, body });
  };
  socket.on('data', (d) => {
    buffer = buffer.length ? Buffer.concat([buffer, d]) : d;
    tryParse();
  });
  socket.on('error', (err) => waiting?.reject(err));
  return {
    send(path, headers, body) {
      return new Promise((resolve, reject) => {
        waiting = { resolve, reject };
        let text = `POST ${path} HTTP/1.1\r\nhost: ${host}:${port}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
        for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
        socket.write(`${text}\r\n${body}`);
      });
    },
    close: () => socket.destroy(),
  };
}

/** A streamable HTTP client: initialize, then POSTs on keep-alive connections (JSON or SSE answers). */
async function httpClient(url, era = 'legacy') {
  const u = new URL(url);
  const idle = [];
  const all = [];
  let session = null;
  let id = 0;
  const post = async (message) => {
    const conn = idle.pop() ?? connection(u.hostname, Number(u.port));
    if (!all.includes(conn)) all.push(conn);
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': era === 'modern' ? MODERN : '2025-11-25',
    };
    // 2026-07-28 (SEP-2243): the method and the tool's name mirrored in headers.
    if (era === 'modern') {
      headers['mcp-method'] = message.method;
      if (message.params?.name) headers['mcp-name'] = message.params.name;
    }
    if (session) headers['mcp-session-id'] = session;
    try {
      const res = await conn.send(u.pathname, headers, JSON.stringify(message));
      idle.push(conn);
      if (res.status >= 400) throw new Error(`HTTP ${res.status}`);
      session ??= res.headers['mcp-session-id'] ?? null;
      if (!('id' in message)) return null;
      if (res.body.trimStart().startsWith('{')) return JSON.parse(res.body);
      return res.body
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).trim())
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .find((m) => m.id === message.id);
    } catch (err) {
      conn.close();
      throw err;
    }
  };
  return {
    async init() {
      if (era === 'modern') {
        const discover = { jsonrpc: '2.0', id: ++id, method: 'server/discover' };
        expectResult(await post({ ...discover, params: { _meta: envelope } }), 'server/discover');
        return;
      }
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
    call: () => post({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: echoParams(era) }),
    close: () => all.forEach((c) => c.close()),
  };
}

/** Starts an HTTP front; resolves once `url` answers (bounded). */
async function startHttp(args, url, env, era) {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'ignore'] });
  for (let i = 0; i < 200; i++) {
    try {
      const c = await httpClient(url, era);
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
  expectResult(await c.call(), 'tools/call');
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
  `[mcp_servers.echo]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(ECHO)}]\n` +
    `[mcp_servers.echo_dual]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(ECHO_DUAL)}]\n`,
);
const env = { ...process.env, GATEHOUSE_HOME: join(dir, 'home') };
// Every call through Gatehouse waits for its audit record to be durable (an fsync on the disk of
// $GATEHOUSE_HOME); the "audit on tmpfs" rows show the same gateway without the disk's flush.
const SHM_AUDIT = existsSync('/dev/shm')
  ? join(mkdtempSync('/dev/shm/gatehouse-bench-'), 'audit.db')
  : join(dir, 'audit-second.db');

// Telemetry on: traces and metrics exported over OTLP/HTTP to a receiver in its own process
// (answers 200, keeps nothing), and /metrics served; the rows above run with telemetry off.
const receiver = await startOtlpSink(18095);
const telemetryEnv = {
  ...env,
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
  OTEL_METRIC_EXPORT_INTERVAL: '1000',
};
const TELEMETRY_ON = 'gatehouse run (stdio), audit on tmpfs, telemetry on (OTLP traces + metrics)';
/** The modern rows' baseline: the dual-era echo server with the same 2026-07-28 client. */
const DIRECT_MODERN = 'direct (stdio), 2026-07-28 client';

const results = {};
for (const [label, cmd, args, runEnv = env, era = 'legacy'] of [
  ['direct (stdio)', process.execPath, [ECHO]],
  [
    'gatehouse run (stdio)',
    process.execPath,
    [BIN, '--config', join(dir, 'config.toml'), 'run', 'echo'],
  ],
  [
    'gatehouse run (stdio), audit on tmpfs',
    process.execPath,
    [BIN, '--config', join(dir, 'config.toml'), '--audit', SHM_AUDIT, 'run', 'echo'],
  ],
  [
    TELEMETRY_ON,
    process.execPath,
    [
      BIN,
      '--config',
      join(dir, 'config.toml'),
      '--audit',
      SHM_AUDIT,
      'run',
      'echo',
      '--metrics-listen',
      '127.0.0.1:0',
    ],
    telemetryEnv,
  ],
  [DIRECT_MODERN, process.execPath, [ECHO_DUAL], env, 'modern'],
  [
    'gatehouse run (stdio), 2026-07-28 client',
    process.execPath,
    [BIN, '--config', join(dir, 'config.toml'), 'run', 'echo_dual'],
    env,
    'modern',
  ],
  [
    'gatehouse run (stdio), audit on tmpfs, 2026-07-28 client',
    process.execPath,
    [BIN, '--config', join(dir, 'config.toml'), '--audit', SHM_AUDIT, 'run', 'echo_dual'],
    env,
    'modern',
  ],
]) {
  const c = client(cmd, args, runEnv, era);
  try {
    await c.init();
    results[label] = await measure(c);
  } catch (err) {
    console.error(`${label}: skipped (${err.message})`);
  } finally {
    c.close();
  }
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
    'gatehouse run --http, audit on tmpfs',
    [
      BIN,
      '--config',
      join(dir, 'config.toml'),
      '--audit',
      SHM_AUDIT,
      'run',
      'echo',
      '--http',
      '127.0.0.1:18094',
    ],
    'http://127.0.0.1:18094/mcp',
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
  [
    'gatehouse run --http, 2026-07-28 client',
    [BIN, '--config', join(dir, 'config.toml'), 'run', 'echo_dual', '--http', '127.0.0.1:18096'],
    'http://127.0.0.1:18096/mcp',
    'modern',
  ],
  [
    'gatehouse run --http, audit on tmpfs, 2026-07-28 client',
    [
      BIN,
      '--config',
      join(dir, 'config.toml'),
      '--audit',
      SHM_AUDIT,
      'run',
      'echo_dual',
      '--http',
      '127.0.0.1:18097',
    ],
    'http://127.0.0.1:18097/mcp',
    'modern',
  ],
];
for (const [label, args, url, era = 'legacy'] of peers) {
  let child;
  try {
    child = await startHttp(args, url, env, era);
    const c = await httpClient(url, era);
    await c.init();
    results[label] = await measure(c);
    c.close();
  } catch (err) {
    console.error(`${label}: skipped (${err.message})`);
  } finally {
    child?.kill('SIGTERM');
  }
}

receiver.stop();

const legacyBase = results['direct (stdio)'];
/** Each row's ratio is to the direct path of its own era. */
const baseOf = (label) => (label.includes('2026-07-28') ? results[DIRECT_MODERN] : legacyBase);
const base = legacyBase;
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
    !baseOf(label)
      ? '–'
      : `${(pct(r.seq, 50) / pct(baseOf(label).seq, 50)).toFixed(2)}× (+${(pct(r.seq, 50) - pct(baseOf(label).seq, 50)).toFixed(3)} ms)`,
  ]);
}
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));

// Issue 3's HTTP target compares p50s; the added latency (p50 minus direct's) shows what each
// proxy itself costs, without the client and the upstream every path shares.
for (const mine of ['gatehouse run --http', 'gatehouse run --http, audit on tmpfs']) {
  const ours = results[mine];
  if (!ours) continue;
  const added = (r, key) => pct(r[key], 50) - pct(base[key], 50);
  for (const peer of ['mcp-proxy 6.7.19', 'supergateway 4.0.0 --stateful']) {
    const r = results[peer];
    if (!r) continue;
    const line = ['seq', 'conc']
      .map(
        (key) =>
          `${key === 'seq' ? 'sequential' : '32×'} p50 ${(pct(ours[key], 50) / pct(r[key], 50)).toFixed(2)}× (added ${(added(ours, key) / added(r, key)).toFixed(2)}×)`,
      )
      .join(', ');
    console.log(`${mine} vs ${peer}: ${line}`);
  }
}

// Telemetry's own cost: the same gateway (audit on tmpfs) with telemetry off and on.
const off = results['gatehouse run (stdio), audit on tmpfs'];
const on = results[TELEMETRY_ON];
if (off && on) {
  const added = (r) => pct(r.seq, 50) - pct(base.seq, 50);
  console.log(
    `telemetry (stdio, sequential p50): off +${added(off).toFixed(3)} ms over direct, on +${added(on).toFixed(3)} ms (on/off ${(pct(on.seq, 50) / pct(off.seq, 50)).toFixed(2)}×, 32× p50 on/off ${(pct(on.conc, 50) / pct(off.conc, 50)).toFixed(2)}×)`,
  );
}

// The 2026-07-28 era's own cost: the same gateway path with a modern and a legacy client, each
// as added latency over its own era's direct path (audit on tmpfs, so the disk does not hide it).
for (const [legacyRow, modernRow] of [
  [
    'gatehouse run (stdio), audit on tmpfs',
    'gatehouse run (stdio), audit on tmpfs, 2026-07-28 client',
  ],
  [
    'gatehouse run --http, audit on tmpfs',
    'gatehouse run --http, audit on tmpfs, 2026-07-28 client',
  ],
]) {
  const [l, m] = [results[legacyRow], results[modernRow]];
  const modernBase = results[DIRECT_MODERN];
  if (!l || !m || !modernBase) continue;
  const added = (r, b, key) => pct(r[key], 50) - pct(b[key], 50);
  console.log(
    `${modernRow} vs 2025-11-25: sequential p50 added ${added(m, modernBase, 'seq').toFixed(3)} ms vs ${added(l, base, 'seq').toFixed(3)} ms, 32× p50 added ${added(m, modernBase, 'conc').toFixed(3)} ms vs ${added(l, base, 'conc').toFixed(3)} ms, req/s ${m.rps.toFixed(0)} vs ${l.rps.toFixed(0)}`,
  );
}
