// `npm run conformance [-- --era legacy|modern|both]`: the official MCP conformance suite
// (@modelcontextprotocol/conformance 0.2.0-alpha.12, the first release with 2026-07-28 scenarios)
// for each protocol era — `--requirements 2025-11-25` ("legacy") and `--requirements 2026-07-28`
// ("modern"), each the frozen set of scenarios that revision requires plus the unscored ones it
// runs — against our dual-era fixture server directly, then through `gatehouse run --http` in
// front of the same fixture (stdio upstream). Fails unless every check that passes directly also
// passes through the gateway, compared per scenario and check id.
// `gatehouse serve --http` is not a second leg: it names tools `server__tool`, and the scenarios
// call the fixture's tools by their own names.
// The suite needs Node 22; npx fetches it (and the suite) from the registry once, then its cache.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';

const root = join(import.meta.dirname, '..');
const FIXTURE = join(root, 'test', 'fixtures', 'servers', 'conformance-server.mjs');
const BIN = join(root, 'dist', 'bin', 'gatehouse.js');
const SUITE_PACKAGE = '@modelcontextprotocol/conformance@0.2.0-alpha.12';
const ERAS = { legacy: '2025-11-25', modern: '2026-07-28' };
/** Per scenario: a gateway that hangs must cost seconds, not the suite's default 30 s each. */
const SCENARIO_TIMEOUT_MS = 10_000;
/** Per suite run (≈50 scenarios; a few seconds when nothing hangs). */
const RUN_TIMEOUT_MS = 150_000;

/**
 * Checks the spec lets a server skip when it answers a POST with JSON instead of SSE (the
 * gateway answers JSON when the response is all there is to say): the suite reports them as
 * INFO, "SSE streaming is optional", so SUCCESS → INFO there is not a regression.
 */
const JSON_ANSWER_OPTIONAL = new Set(['server-sse-streams-functional']);

function parseEras(argv) {
  const at = argv.indexOf('--era');
  const era = at === -1 ? 'both' : argv[at + 1];
  if (era === 'both') return Object.keys(ERAS);
  if (era in ERAS) return [era];
  process.stderr.write(`conformance: --era must be legacy, modern or both (got ${String(era)})\n`);
  process.exit(2);
}

/**
 * `--upstream-era auto|legacy|modern`: the fixture's `gatehouse_protocol_era` behind the gateway
 * (default: unset, i.e. auto — the dual-era fixture is then spoken to in 2026-07-28). Pinning
 * it separates what the gateway translates between eras from what it passes through.
 */
function parseUpstreamEra(argv) {
  const at = argv.indexOf('--upstream-era');
  if (at === -1) return undefined;
  const era = argv[at + 1];
  if (['auto', 'legacy', 'modern'].includes(era)) return era;
  process.stderr.write(
    `conformance: --upstream-era must be auto, legacy or modern (got ${String(era)})\n`,
  );
  process.exit(2);
}

const eras = parseEras(process.argv.slice(2));
const upstreamEra = parseUpstreamEra(process.argv.slice(2));
const work = mkdtempSync(join(tmpdir(), 'gatehouse-conformance-'));

/** Starts a process and resolves with the first match of `pattern` in its output. */
function startAndWait(command, args, stream, pattern, env = process.env) {
  const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let seen = '';
  // Keep draining both pipes (a full pipe would block the child) and keep a tail for errors.
  const tail = { text: '' };
  for (const s of [child.stdout, child.stderr])
    s.on('data', (d) => (tail.text = (tail.text + d).slice(-8000)));
  return new Promise((resolve, reject) => {
    child[stream].on('data', (d) => {
      seen += d;
      const m = pattern.exec(seen);
      if (m) resolve({ child, value: m[1], tail });
    });
    child.once('exit', (code) =>
      reject(new Error(`${command} exited (${code}) before it was ready:\n${seen}`)),
    );
  });
}

/** Runs a command to completion (output kept for diagnostics); never rejects. */
function run(command, args, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d) => (output = (output + d).slice(-20_000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      output += `\n(stopped after ${timeoutMs} ms)`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/**
 * Runs the suite for one revision against `url`; returns scenario → check key → {status,
 * message}. A check id can occur several times in one scenario (one per probe), so the key is
 * the id plus its occurrence (`id`, `id#2`, …).
 */
async function runSuite(label, url, revision) {
  const out = join(work, label.replaceAll(' ', '-'));
  const r = await run(
    'npx',
    [
      '-y',
      '-p',
      'node@22',
      '-p',
      SUITE_PACKAGE,
      '--',
      'conformance',
      'server',
      '--requirements',
      revision,
      '--timeout',
      String(SCENARIO_TIMEOUT_MS),
      '--url',
      url,
      '-o',
      out,
    ],
    RUN_TIMEOUT_MS,
  );
  const scenarios = new Map();
  for (const dir of existsSync(out) ? readdirSync(out) : []) {
    const name = /^server-(.+)-\d{4}-\d\d-\d\dT/.exec(dir)?.[1];
    const file = join(out, dir, 'checks.json');
    if (!name || !existsSync(file)) continue;
    const checks = new Map();
    for (const c of JSON.parse(readFileSync(file, 'utf8'))) {
      let key = c.id;
      for (let n = 2; checks.has(key); n++) key = `${c.id}#${n}`;
      checks.set(key, { status: c.status, message: c.errorMessage ?? '' });
    }
    scenarios.set(name, checks);
  }
  if (scenarios.size === 0) {
    process.stderr.write(`conformance (${label}): no results; the suite said:\n${r.output}\n`);
    process.exit(1);
  }
  // With --requirements the suite exits 1 when a scenario the revision scores fails.
  return { scenarios, scoredPass: r.code === 0 };
}

const count = (checks, status) => [...checks.values()].filter((c) => c.status === status).length;
const shown = (m) => `${count(m, 'SUCCESS')}/${count(m, 'SUCCESS') + count(m, 'FAILURE')}`;
const totals = (scenarios) =>
  [...scenarios.values()].reduce(
    (a, checks) => ({
      passed: a.passed + count(checks, 'SUCCESS'),
      failed: a.failed + count(checks, 'FAILURE'),
    }),
    { passed: 0, failed: 0 },
  );

/** Prints one era's table; returns the checks that pass directly but not through the gateway. */
function compare(era, direct, through) {
  const lost = [];
  const rows = [['scenario', 'direct', 'through gatehouse']];
  for (const [name, d] of [...direct].sort()) {
    const g = through.get(name) ?? new Map();
    const lostHere = [...d]
      .filter(([key, c]) => c.status === 'SUCCESS' && g.get(key)?.status !== 'SUCCESS')
      .filter(([key]) => !(JSON_ANSWER_OPTIONAL.has(key) && g.get(key)?.status === 'INFO'))
      .map(([key]) => ({
        scenario: name,
        check: key,
        status: g.get(key)?.status ?? 'missing',
        message: g.get(key)?.message ?? '',
      }));
    lost.push(...lostHere);
    rows.push([
      name,
      shown(d),
      `${shown(g)}${lostHere.length > 0 ? `  ✗ ${lostHere.length} lost` : ''}`,
    ]);
  }
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
  console.log(`\n== ${era} (${ERAS[era]})${upstreamEra ? `, upstream era ${upstreamEra}` : ''} ==`);
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
  const [td, tg] = [totals(direct), totals(through)];
  console.log(
    `${era}: direct ${td.passed}/${td.passed + td.failed} checks pass; through gatehouse ${tg.passed}/${tg.passed + tg.failed}; ${lost.length} pass directly but not through the gateway`,
  );
  for (const l of lost)
    console.log(
      `  ✗ ${l.scenario} › ${l.check}: ${l.status}${l.message ? ` — ${l.message.replaceAll('\n', ' ').slice(0, 300)}` : ''}`,
    );
  return lost;
}

// Direct: the fixture serves both eras on one endpoint.
const fixture = await startAndWait(
  process.execPath,
  [FIXTURE, '--http', '0'],
  'stdout',
  /^(\d+)\n/,
);
const direct = {};
for (const era of eras) {
  const run = await runSuite(`${era} direct`, `http://127.0.0.1:${fixture.value}/mcp`, ERAS[era]);
  // The baseline must not erode: the fixture passes every scenario each revision scores.
  if (!run.scoredPass) {
    fixture.child.kill();
    process.stderr.write(
      `conformance: the fixture itself fails a scenario ${ERAS[era]} requires (results: ${work})\n`,
    );
    process.exit(1);
  }
  direct[era] = run.scenarios;
}
fixture.child.kill();

writeFileSync(
  join(work, 'config.toml'),
  `[mcp_servers.conformance]\ncommand = ${JSON.stringify(process.execPath)}\nargs = [${JSON.stringify(FIXTURE)}]\n` +
    (upstreamEra ? `gatehouse_protocol_era = "${upstreamEra}"\n` : ''),
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
    '500',
    '--max-processes-per-user',
    '500',
  ],
  'stderr',
  /"event":"listening","url":"([^"]+)"/,
  { ...process.env, GATEHOUSE_HOME: join(work, 'home') },
);
const through = {};
for (const era of eras)
  through[era] = (await runSuite(`${era} through gatehouse`, gateway.value, ERAS[era])).scenarios;
gateway.child.kill('SIGTERM');

const lost = eras.flatMap((era) =>
  compare(era, direct[era], through[era]).map((l) => ({ era, ...l })),
);
writeFileSync(join(work, 'summary.json'), JSON.stringify({ eras, lost }, null, 2));
console.log(`\nresults: ${work}`);
if (lost.length > 0) {
  console.log(
    `conformance: ${lost.length} check(s) pass directly but not through the gateway (${eras.join(', ')})`,
  );
  process.exit(1);
}
console.log(
  `conformance: the gateway passes everything the fixture passes directly (${eras.join(', ')})`,
);
