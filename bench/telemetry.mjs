// `npm run bench:telemetry`: what telemetry costs one request inside the gateway, in one run — the
// interception pipeline (every stage passing through, an upstream that answers at once) with
// telemetry off (no observer: the SDK is not even loaded), with metrics only, and with traces and
// metrics (a span per request and per stage, exported over OTLP to a receiver that answers 200).
// End-to-end numbers (a real client, gateway and server) are in `npm run bench:latency`.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startOtlpSink } from './otlp-sink.mjs';

const root = join(import.meta.dirname, '..');
const dist = (p) => import(join(root, 'dist', p));
const { createPipeline } = await dist('pipeline/pipeline.js');
const { STAGE_NAMES, passThrough } = await dist('pipeline/stage.js');
const { startTelemetry } = await dist('telemetry/telemetry.js');
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 50_000);

const receiver = await startOtlpSink(18096);

const stages = Object.fromEntries(
  STAGE_NAMES.map((name) => [
    name,
    name === 'forward'
      ? {
          name,
          handle: async (ctx) => {
            ctx.target = { server: 'echo', tool: 'echo' };
            ctx.response = { result: { content: [{ type: 'text', text: 'hello' }] } };
            ctx.upstreamMs = 0;
          },
        }
      : passThrough(name),
  ]),
);
const connection = { transport: 'stdio', headers: {}, authSubject: null, clientInfo: null };
const settings = {
  tracesUrl: null,
  metricsUrl: null,
  prometheus: false,
  metricsListen: null,
  serviceName: 'bench',
  exportIntervalMs: 60_000,
};
const variants = [
  ['telemetry off (default)', settings],
  ['metrics only (/metrics)', { ...settings, prometheus: true }],
  [
    'traces + metrics (OTLP)',
    {
      ...settings,
      tracesUrl: `${receiver.url}/v1/traces`,
      metricsUrl: `${receiver.url}/v1/metrics`,
      exportIntervalMs: 1000,
    },
  ],
];

async function measure(pipeline) {
  const run = (i) =>
    pipeline.handle(
      { id: i, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } },
      connection,
    );
  for (let i = 0; i < 5000; i++) await run(i);
  const t0 = performance.now();
  for (let i = 0; i < REQUESTS; i++) await run(i);
  return ((performance.now() - t0) / REQUESTS) * 1000;
}

const results = [];
for (const [label, s] of variants) {
  const telemetry = await startTelemetry(s);
  const us = await measure(createPipeline(stages, telemetry?.observer));
  results.push([label, us, telemetry === null]);
  await telemetry?.shutdown();
}
receiver.stop();

const base = results[0][1];
console.log(`pipeline cost per request (${REQUESTS} sequential requests, same process)`);
for (const [label, us, off] of results)
  console.log(
    `${label.padEnd(26)} ${us.toFixed(1).padStart(7)} µs  ${(us / base).toFixed(2)}× off  (+${(us - base).toFixed(1)} µs)${off ? '  SDK not loaded' : ''}`,
  );
