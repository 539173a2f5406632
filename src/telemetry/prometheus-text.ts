import type { Attributes } from '@opentelemetry/api';
import type { Histogram, MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { DataPointType } from '@opentelemetry/sdk-metrics';

/**
 * Collected OpenTelemetry metrics in the Prometheus text exposition format (0.0.4), the way
 * the OTel → Prometheus compatibility spec names them: dots become underscores, seconds get
 * `_seconds`, monotonic sums `_total`, histograms cumulative `_bucket`/`_sum`/`_count`.
 * `promtool check metrics` accepts what this writes (test/telemetry).
 */
function sanitize(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/__+/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

function metricName(m: MetricData): string {
  let name = sanitize(m.descriptor.name);
  if (m.descriptor.unit === 's' && !name.endsWith('_seconds')) name += '_seconds';
  if (m.dataPointType === DataPointType.SUM && m.isMonotonic) name += '_total';
  return name;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function labels(attributes: Attributes, extra: [string, string][] = []): string {
  const pairs = [
    ...Object.entries(attributes)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => [sanitize(k), String(v)] as [string, string]),
    ...extra,
  ];
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function number(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function histogramLines(name: string, attrs: Attributes, h: Histogram): string[] {
  const out: string[] = [];
  let cumulative = 0;
  h.buckets.boundaries.forEach((le, i) => {
    cumulative += h.buckets.counts[i] ?? 0;
    out.push(`${name}_bucket${labels(attrs, [['le', number(le)]])} ${cumulative}`);
  });
  out.push(`${name}_bucket${labels(attrs, [['le', '+Inf']])} ${h.count}`);
  out.push(`${name}_sum${labels(attrs)} ${number(h.sum ?? 0)}`);
  out.push(`${name}_count${labels(attrs)} ${h.count}`);
  return out;
}

/** One metric family: HELP, TYPE, then its samples; empty when it has no points yet. */
function family(m: MetricData): string[] {
  if (m.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM || m.dataPoints.length === 0)
    return [];
  const name = metricName(m);
  const type =
    m.dataPointType === DataPointType.HISTOGRAM
      ? 'histogram'
      : m.dataPointType === DataPointType.SUM && m.isMonotonic
        ? 'counter'
        : 'gauge';
  const help = m.descriptor.description || m.descriptor.name;
  const lines = [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`];
  for (const p of m.dataPoints) {
    if (m.dataPointType === DataPointType.HISTOGRAM)
      lines.push(...histogramLines(name, p.attributes, p.value as Histogram));
    else lines.push(`${name}${labels(p.attributes)} ${number(p.value as number)}`);
  }
  return lines;
}

export function prometheusText(collected: ResourceMetrics): string {
  const lines: string[] = [];
  for (const scope of collected.scopeMetrics)
    for (const metric of scope.metrics) lines.push(...family(metric));
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
