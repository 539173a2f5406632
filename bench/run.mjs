// Benchmarks, each printed as a ratio against a baseline measured in the same run.
//   npm run bench     (needs `npm run build`; the Codex comparison needs root + unshare)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileRustRegex } from '../dist/requirements/rust-regex.js';

const root = join(import.meta.dirname, '..');
const CODEX = join(root, 'node_modules', '.bin', 'codex');
const GATEHOUSE = join(root, 'dist', 'bin', 'gatehouse.js');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];

// 1. `mcp list --json` on 100 servers and 100 rules: Gatehouse vs the Codex binary.
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
let config = '';
let rules = '';
for (let i = 0; i < 100; i++) {
  config += `[mcp_servers.s${i}]\ncommand = "npx"\nargs = ["-y", "@modelcontextprotocol/server-${i}"]\nenv = { K = "v" }\n`;
  if (i % 4 === 0) rules += `[mcp_servers.s${i}.identity]\ncommand = "npx"\n`;
  else if (i % 4 === 1)
    rules += `[mcp_servers.s${i}.identity.command]\nexecutable = "npx"\nargs = [{ match = "exact", value = "-y" }, { match = "regex", expression = "@modelcontextprotocol/server-[0-9]+" }]\n`;
  else if (i % 4 === 2)
    rules += `[mcp_servers.s${i}.identity.command]\nexecutable = "npx"\nargs = [{ match = "exact", value = "-y" }, { match = "prefix", value = "@modelcontextprotocol/" }]\n`;
}
writeFileSync(join(dir, 'config.toml'), config);
mkdirSync(join(dir, 'etc'));
writeFileSync(join(dir, 'etc', 'requirements.toml'), rules);
const canUnshare =
  process.getuid?.() === 0 &&
  spawnSync('unshare', ['--mount', 'true']).status === 0 &&
  existsSync(CODEX);
if (canUnshare) {
  if (!existsSync('/etc/codex')) mkdirSync('/etc/codex');
  const RUNS = 15;
  const script = `mount --bind "${join(dir, 'etc')}" /etc/codex; for i in $(seq ${RUNS}); do
    a=$(date +%s%N); CODEX_HOME="${dir}" "${CODEX}" mcp list --json >/dev/null 2>&1; b=$(date +%s%N)
    GATEHOUSE_HOME="${dir}/none" "${process.execPath}" "${GATEHOUSE}" --config "${dir}/config.toml" --requirements /etc/codex/requirements.toml mcp list --json >/dev/null 2>&1; c=$(date +%s%N)
    echo "$(( (b-a)/1000 )) $(( (c-b)/1000 ))"; done`;
  const out = spawnSync('unshare', ['--mount', 'sh', '-c', script], { encoding: 'utf8' })
    .stdout.trim()
    .split('\n');
  const codex = median(out.map((l) => Number(l.split(' ')[0]) / 1000));
  const ours = median(out.map((l) => Number(l.split(' ')[1]) / 1000));
  rows.push([
    'mcp list --json, 100 servers/75 rules (median of 15, whole process)',
    `codex ${codex.toFixed(1)} ms`,
    `gatehouse ${ours.toFixed(1)} ms`,
    (ours / codex).toFixed(2),
  ]);
} else rows.push(['mcp list vs codex', 'skipped: needs root + unshare + @openai/codex', '', '']);

// 2. Regex: benign URL matching throughput, RE2 translation vs V8 RegExp (V8 = baseline).
const expr = 'https://mcp\\.(linear|example)\\.(app|com)/[a-z0-9/_-]{1,64}';
const ours = compileRustRegex(expr);
const v8 = new RegExp(`^(?:${expr})$`);
const urls = Array.from({ length: 1000 }, (_, i) =>
  i % 2 ? `https://mcp.linear.app/mcp/${i}` : `https://evil.example.com/${i}`,
);
const time = (fn, n) => {
  const t0 = performance.now();
  for (let k = 0; k < n; k++) for (const u of urls) fn(u);
  return (performance.now() - t0) / (n * urls.length);
};
time((u) => v8.test(u), 20);
time((u) => ours.matchesWhole(u), 20);
const tV8 = time((u) => v8.test(u), 200);
const tOurs = time((u) => ours.matchesWhole(u), 200);
rows.push([
  'URL regex match, per value',
  `v8 ${(tV8 * 1000).toFixed(2)} µs`,
  `gatehouse ${(tOurs * 1000).toFixed(2)} µs`,
  (tOurs / tV8).toFixed(1),
]);

// 3. Regex: hostile pattern (an admin's typo) on a short input. V8 backtracks exponentially.
const hostile = 'a'.repeat(26) + '!';
const h0 = performance.now();
new RegExp('^(?:(a+)+)$').test(hostile);
const hV8 = performance.now() - h0;
const h1 = performance.now();
compileRustRegex('(a+)+').matchesWhole(hostile);
const hOurs = performance.now() - h1;
rows.push([
  'hostile (a+)+ on 26×a + "!"',
  `v8 ${hV8.toFixed(1)} ms`,
  `gatehouse ${hOurs.toFixed(2)} ms`,
  (hOurs / hV8).toFixed(4),
]);

// 4. CLI start-up: `--version` and `mcp list` (one server), whole process, median of 20 runs each.
//    The baseline is another build: GATEHOUSE_BASELINE=/path/to/checkout (its dist/bin/gatehouse.js),
//    e.g. a `git worktree` of an earlier commit; without it, plain `node -e ""` (Node's own start-up).
const baselineRoot = process.env.GATEHOUSE_BASELINE;
const baselineBin = baselineRoot ? join(baselineRoot, 'dist', 'bin', 'gatehouse.js') : null;
const oneServer = join(dir, 'one.toml');
writeFileSync(oneServer, '[mcp_servers.one]\ncommand = "node"\nargs = ["server.mjs"]\n');
// Runs alternate between the two, so load from other processes hits both alike.
const wallPair = (baseArgs, args) => {
  const env = { ...process.env, GATEHOUSE_HOME: join(dir, 'none') };
  const times = [[], []];
  for (let i = 0; i < 20; i++)
    [baseArgs, args].forEach((a, k) => {
      const t0 = performance.now();
      spawnSync(process.execPath, a, { env });
      times[k].push(performance.now() - t0);
    });
  return times.map(median);
};
for (const [label, args] of [
  ['--version', ['--version']],
  ['mcp list (1 server)', ['--config', oneServer, 'mcp', 'list']],
]) {
  const [base, now] = wallPair(baselineBin ? [baselineBin, ...args] : ['-e', ''], [
    GATEHOUSE,
    ...args,
  ]);
  rows.push([
    `gatehouse ${label} (median of 20, whole process)`,
    `${baselineBin ? 'baseline build' : 'node -e ""'} ${base.toFixed(1)} ms`,
    `gatehouse ${now.toFixed(1)} ms`,
    (now / base).toFixed(2),
  ]);
}

const w = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length)));
console.log(
  ['benchmark', 'baseline', 'gatehouse', 'ratio'].map((h, i) => h.padEnd(w[i])).join('  '),
);
for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
