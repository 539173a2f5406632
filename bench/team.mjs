// `npm run bench:team`: a team gateway under load. N users (each with their own service token, so
// each is its own principal with its own session and upstream) make sequential tools/call
// requests, all users at once, through real nginx in front of two `gatehouse serve --http`
// replicas sharing one PostgreSQL store (audit chain and approval queue) — and the same load
// through nginx in front of one replica. Prints p50/p99 latency and req/s for both, and the
// ratios. Bounded: BENCH_USERS (default 20) × BENCH_CALLS (default 50) calls per run.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { freePort, startNginx } from '../test/support/nginx.mjs';

/* global fetch */
const root = join(import.meta.dirname, '..');
const ECHO = join(root, 'bench', 'echo-server.mjs');
const BIN = join(root, 'dist', 'bin', 'gatehouse.js');
const USERS = Math.min(Number(process.env.BENCH_USERS ?? 20), 100);
const CALLS = Math.min(Number(process.env.BENCH_CALLS ?? 50), 1000);
const WARMUP = 5;
const PG_URL = process.env.GATEHOUSE_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

const temp = (name) => {
  const dir = mkdtempSync(join(tmpdir(), `gh-bench-team-${name}-`));
  chmodSync(dir, 0o700);
  return dir;
};

function gatehouse(args, home) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, GATEHOUSE_HOME: home },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`gatehouse ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** One service token per user (`user-N`): distinct principals, as people are. */
function makeUsers(home, store) {
  return Array.from({ length: USERS }, (_, i) => {
    const out = gatehouse(
      ['tokens', 'create', `user-${i}`, '--subject', `user-${i}`, '--store', store, '--json'],
      home,
    );
    return JSON.parse(out).token;
  });
}

function startReplica(n, files, home, store, children) {
  const runtime = join(temp(`run${n}`), 'rt');
  mkdirSync(runtime, { mode: 0o700 });
  const child = spawn(
    process.execPath,
    [
      BIN,
      '--config',
      join(files, 'config.toml'),
      '--requirements',
      join(files, 'requirements.toml'),
      '--audit',
      store,
      'serve',
      '--http',
      '127.0.0.1:0',
      '--replica-id',
      `gw-${n}`,
    ],
    {
      env: { ...process.env, GATEHOUSE_HOME: home, XDG_RUNTIME_DIR: runtime },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  children.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d;
      const m = /"event":"listening","url":"([^"]+)"/.exec(err);
      if (m) resolve(new URL(m[1]).host);
    });
    child.once('exit', (code) => reject(new Error(`replica ${n} exited ${code}: ${err}`)));
  });
}

/** A JSON-RPC request over POST; the answer is JSON or one SSE event. */
async function post(url, token, session, message) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      ...(session ? { 'mcp-session-id': session } : {}),
    },
    body: JSON.stringify(message),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
  const data = text.startsWith('{') ? text : /^data: (.*)$/m.exec(text)?.[1];
  return { session: res.headers.get('mcp-session-id'), body: data ? JSON.parse(data) : null };
}

async function user(url, token) {
  const init = await post(url, token, null, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'bench-team', version: '1' },
    },
  });
  await post(url, token, init.session, { jsonrpc: '2.0', method: 'notifications/initialized' });
  let id = 0;
  return {
    async call() {
      const r = await post(url, token, init.session, {
        jsonrpc: '2.0',
        id: ++id,
        method: 'tools/call',
        params: { name: 'echo__echo', arguments: { text: `hello ${id}` } },
      });
      if (!r.body?.result) throw new Error(`call failed: ${JSON.stringify(r.body)}`);
    },
  };
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/** USERS users at once, each making CALLS sequential calls on its own session. */
async function load(url, tokens) {
  const users = await Promise.all(tokens.map((t) => user(url, t)));
  await Promise.all(
    users.map(async (u) => {
      for (let i = 0; i < WARMUP; i++) await u.call();
    }),
  );
  const latencies = [];
  const started = performance.now();
  await Promise.all(
    users.map(async (u) => {
      for (let i = 0; i < CALLS; i++) {
        const t0 = performance.now();
        await u.call();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    calls: latencies.length,
    p50: pct(latencies, 0.5),
    p99: pct(latencies, 0.99),
    rps: latencies.length / seconds,
  };
}

async function run(replicaCount, tokens, files, home, store) {
  const children = [];
  let proxy = null;
  try {
    const hosts = [];
    for (let n = 1; n <= replicaCount; n++)
      hosts.push(await startReplica(n, files, home, store, children));
    const port = await freePort();
    proxy = await startNginx(port, Object.fromEntries(hosts.map((h, i) => [`gw-${i + 1}`, h])));
    return await load(`http://127.0.0.1:${port}/mcp`, tokens);
  } finally {
    await proxy?.stop();
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(
      children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
    );
  }
}

const schema = `gh_bench_team_${process.pid}`;
const store = `${PG_URL}?schema=${schema}`;
const home = temp('home');
const files = temp('files');
const tokenStore = join(files, 'service-tokens.json');
writeFileSync(
  join(files, 'config.toml'),
  `[mcp_servers.echo]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(ECHO)}]\n`,
);
writeFileSync(
  join(files, 'requirements.toml'),
  `[gatehouse_identity]\nservice_tokens = ${JSON.stringify(tokenStore)}\n\n[gatehouse_http]\ntrusted_proxies = ["127.0.0.1"]\nallowed_hosts = ["127.0.0.1"]\nmax_sessions_per_user = 5\n`,
);
const tokens = makeUsers(home, tokenStore);
const fmt = (r) =>
  `p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  ${r.rps.toFixed(0)} req/s  (${r.calls} calls)`;
try {
  console.log(
    `bench:team — ${USERS} users × ${CALLS} sequential tools/call each, all users at once, through nginx; audit on PostgreSQL; ${availableParallelism()} CPU(s)`,
  );
  const one = await run(1, tokens, files, home, store);
  console.log(`  1 replica : ${fmt(one)}`);
  const two = await run(2, tokens, files, home, store);
  console.log(`  2 replicas: ${fmt(two)}`);
  console.log(
    `  2 vs 1    : p50 ×${(two.p50 / one.p50).toFixed(2)}  p99 ×${(two.p99 / one.p99).toFixed(2)}  req/s ×${(two.rps / one.rps).toFixed(2)}`,
  );
  console.log(
    JSON.stringify({ users: USERS, calls_per_user: CALLS, cpus: availableParallelism(), one, two }),
  );
} finally {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}
