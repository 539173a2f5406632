// `npm run conformance`: the official MCP conformance suite (@modelcontextprotocol/conformance
// 0.1.16, --suite all) against our fixture server directly, then through `gatehouse run --http`
// in front of the same fixture (stdio upstream). Fails unless every check that passes directly
// also passes through the gateway. The suite needs Node 22; npx fetches it from the registry.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const FIXTURE = join(root, 'test', 'fixtures', 'servers', 'conformance-server.mjs');
const BIN = join(root, 'dist', 'bin', 'gatehouse.js');
const SUITE = [
  '-y',
  '-p',
  'node@22',
  '-p',
  '@modelcontextprotocol/conformance@0.1.16',
  '--',
  'conformance',
  'server',
  '--suite',
  'all',
  '--url',
];
const work = mkdtempSync(join(tmpdir(), 'gatehouse-conformance-'));

/** Starts a process and resolves with the first match of `pattern` in its output. */
function startAndWait(command, args, stream, pattern, env = process.env) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  return new Promise((resolve, reject) => {
    child[stream].on('data', (d) => {
      seen += d;
      const m = pattern.exec(seen);
      if (m) resolve({ child, value: m[1] });
    });
    child.once('exit', (code) =>
      reject(new Error(`${command} exited (${code}) before it was ready:\n${seen}`)),
    );
  });
}

/**
 * Checks the spec lets a server skip when it answers a POST with JSON instead of SSE (the
 * gateway answers JSON when the response is all there is to say): the suite reports them as
 * INFO, "SSE streaming is optional", so SUCCESS → INFO there is not a regression.
 */
const JSON_ANSWER_OPTIONAL = new Set(['server-sse-streams-functional']);

/** Runs the suite against `url`; returns scenario → check id → status (SUCCESS, FAILURE, …). */
function runSuite(label, url) {
  const out = join(work, label.replaceAll(' ', '-'));
  const r = spawnSync('npx', [...SUITE, url, '-o', out], { encoding: 'utf8', timeout: 240_000 });
  const scenarios = new Map();
  for (const dir of existsSync(out) ? readdirSync(out) : []) {
    const name = /^server-(.+)-\d{4}-\d\d-\d\dT/.exec(dir)?.[1];
    const file = join(out, dir, 'checks.json');
    if (!name || !existsSync(file)) continue;
    const checks = new Map();
    for (const c of JSON.parse(readFileSync(file, 'utf8'))) checks.set(c.id, c.status);
    scenarios.set(name, checks);
  }
  if (scenarios.size === 0) {
    process.stderr.write(
      `conformance (${label}): no results; the suite said:\n${r.stdout}\n${r.stderr}\n`,
    );
    process.exit(1);
  }
  return scenarios;
}

const count = (checks, status) => [...checks.values()].filter((s) => s === status).length;

const fixture = await startAndWait(
  process.execPath,
  [FIXTURE, '--http', '0'],
  'stdout',
  /^(\d+)\n/,
);
const direct = runSuite('direct', `http://127.0.0.1:${fixture.value}/mcp`);
fixture.child.kill();

writeFileSync(
  join(work, 'config.toml'),
  `[mcp_servers.conformance]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(FIXTURE)}]\n`,
);
const gateway = await startAndWait(
  process.execPath,
  [
    BIN,
    '--config',
    join(work, 'config.toml'),
    'run',
    'conformance',
    '--http',
    '127.0.0.1:0',
    // The suite opens a session per scenario and never ends one (no DELETE): more than the
    // per-user default of 20 live sessions, which would refuse the later scenarios with 429.
    '--max-sessions-per-user',
    '200',
    '--max-processes-per-user',
    '200',
  ],
  'stderr',
  /"event":"listening","url":"([^"]+)"/,
  { ...process.env, GATEHOUSE_HOME: join(work, 'home') },
);
const through = runSuite('through gatehouse', gateway.value);
gateway.child.kill('SIGTERM');

let regressions = 0;
const rows = [['scenario', 'direct', 'through gatehouse']];
for (const [name, d] of [...direct].sort()) {
  const g = through.get(name) ?? new Map();
  const lost = [...d]
    .filter(([id, status]) => status === 'SUCCESS' && g.get(id) !== 'SUCCESS')
    .filter(([id]) => !(JSON_ANSWER_OPTIONAL.has(id) && g.get(id) === 'INFO'))
    .map(([id]) => `${id}: ${g.get(id) ?? 'missing'}`);
  if (lost.length > 0) regressions++;
  const shown = (m) => `${count(m, 'SUCCESS')}/${count(m, 'SUCCESS') + count(m, 'FAILURE')}`;
  rows.push([
    name,
    shown(d),
    `${shown(g)}${lost.length ? `  ✗ REGRESSION (${lost.join(', ')})` : ''}`,
  ]);
}
const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
const total = (m) =>
  [...m.values()].reduce(
    (a, checks) => ({
      passed: a.passed + count(checks, 'SUCCESS'),
      failed: a.failed + count(checks, 'FAILURE'),
    }),
    { passed: 0, failed: 0 },
  );
const [td, tg] = [total(direct), total(through)];
console.log(
  `\nconformance checks: direct ${td.passed}/${td.passed + td.failed} pass; through gatehouse ${tg.passed}/${tg.passed + tg.failed} pass`,
);
if (regressions > 0) {
  console.log(`conformance: ${regressions} scenario(s) pass directly but not through the gateway`);
  process.exit(1);
}
console.log('conformance: the gateway passes everything the fixture passes directly');
