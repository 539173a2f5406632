// `node bench/era-latency.mjs` (after `npm run build`): tools/call latency of a 2026-07-28 client
// and a 2025-11-25 client through the same `gatehouse serve --http`, in the same run, calls
// interleaved so load on the machine hits both alike. Median and p95 of BENCH_CALLS (200) each.
// The difference is the modern path's per-request cost: the SDK's modern entry (envelope ladder,
// a server and a per-request transport per request) against a live legacy session.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';

const root = join(import.meta.dirname, '..');
const CALLS = Number(process.env.BENCH_CALLS ?? 200);
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-era-bench-'));
const governed = join(root, 'test', 'fixtures', 'servers', 'governed.mjs');
writeFileSync(
  join(dir, 'c.toml'),
  `[mcp_servers.governed]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(governed)}]\n`,
);
const child = spawn(
  process.execPath,
  [
    join(root, 'dist', 'bin', 'gatehouse.js'),
    '--config',
    join(dir, 'c.toml'),
    'serve',
    '--http',
    '127.0.0.1:0',
  ],
  { env: { ...process.env, GATEHOUSE_HOME: dir }, stdio: ['ignore', 'ignore', 'pipe'] },
);
let stderr = '';
const url = await new Promise((resolve, reject) => {
  child.stderr.on('data', (d) => {
    stderr += d;
    const m = /"event":"listening","url":"([^"]+)"/.exec(stderr);
    if (m) resolve(m[1]);
  });
  child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${stderr}`)));
});
const connect = async (mode) => {
  const c = new Client(
    { name: 'bench', version: '1' },
    { capabilities: {}, versionNegotiation: { mode } },
  );
  await c.connect(new StreamableHTTPClientTransport(new URL(url)));
  return c;
};
const clients = { modern: await connect({ pin: '2026-07-28' }), legacy: await connect('legacy') };
const args = { name: 'governed__read_balance', arguments: { account: 'a1' } };
for (let i = 0; i < 20; i++) for (const c of Object.values(clients)) await c.callTool(args);
const times = { modern: [], legacy: [] };
for (let i = 0; i < CALLS; i++) {
  const order = i % 2 ? ['modern', 'legacy'] : ['legacy', 'modern'];
  for (const era of order) {
    const start = performance.now();
    await clients[era].callTool(args);
    times[era].push(performance.now() - start);
  }
}
const at = (list, q) =>
  [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(q * list.length))];
const out = {};
for (const era of ['modern', 'legacy'])
  out[era] = {
    median_ms: +at(times[era], 0.5).toFixed(2),
    p95_ms: +at(times[era], 0.95).toFixed(2),
  };
console.log(JSON.stringify({ calls: CALLS, ...out }));
for (const c of Object.values(clients)) await c.close();
child.kill('SIGTERM');
