import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { expect, test } from 'vitest';
import { prometheusText } from './prometheus-text.js';

const PROMTOOL = '/usr/bin/promtool';

class Reader extends MetricReader {
  protected onShutdown = () => Promise.resolve();
  protected onForceFlush = () => Promise.resolve();
}

async function exposition(record: (provider: MeterProvider) => void): Promise<string> {
  const reader = new Reader();
  const provider = new MeterProvider({ readers: [reader] });
  record(provider);
  const { resourceMetrics } = await reader.collect();
  return prometheusText(resourceMetrics);
}

test.skipIf(!existsSync(PROMTOOL))(
  'any label value (quotes, backslashes, newlines, unicode) gives text promtool accepts and reads back',
  async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme' }), async (tool) => {
        const text = await exposition((p) => {
          const meter = p.getMeter('t');
          meter
            .createCounter('gatehouse.calls', { description: 'calls\nby tool' })
            .add(2, { tool });
          meter
            .createHistogram('gatehouse.wait', { unit: 's', description: 'wait' })
            .record(0.02, { 'mcp.method.name': 'tools/call' });
        });
        const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
        expect(`${check.stdout}${check.stderr}`).toBe('');
        expect(check.status).toBe(0);
        const escaped = tool.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
        expect(text).toContain(`gatehouse_calls_total{tool="${escaped}"} 2`);
        expect(text).toContain(
          'gatehouse_wait_seconds_bucket{mcp_method_name="tools/call",le="+Inf"} 1',
        );
        expect(text).toContain('# TYPE gatehouse_wait_seconds histogram');
      }),
      { numRuns: 25 },
    );
  },
);
