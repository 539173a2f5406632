import { parseHttpListen } from '../config/listen-address.js';
import type { TelemetryRequirements } from '../requirements/parse-telemetry-table.js';

/**
 * What telemetry a gateway process exports, from the standard OpenTelemetry environment
 * variables and `--metrics-listen`. Off unless asked for: nothing here loads the SDK.
 */
export interface TelemetrySettings {
  /** OTLP/HTTP (JSON) endpoint for traces, or null. */
  tracesUrl: string | null;
  /** OTLP/HTTP (JSON) endpoint for metrics, or null. */
  metricsUrl: string | null;
  /** `OTEL_METRICS_EXPORTER` names `prometheus`: `/metrics` on the HTTP endpoint. */
  prometheus: boolean;
  /** `--metrics-listen`: a separate loopback listener serving `/metrics` (any transport). */
  metricsListen: { host: string; port: number } | null;
  serviceName: string;
  /** How often metrics are pushed over OTLP (`OTEL_METRIC_EXPORT_INTERVAL`, ms). */
  exportIntervalMs: number;
  /** OTEL_* variables set in the environment that the admin's `[gatehouse_telemetry]` overrode. */
  ignoredVariables: string[];
}

const EXPORTERS = {
  OTEL_TRACES_EXPORTER: ['otlp', 'none'],
  OTEL_METRICS_EXPORTER: ['otlp', 'prometheus', 'none'],
} as const;

function listOf(env: NodeJS.ProcessEnv, name: keyof typeof EXPORTERS): string[] | string | null {
  const raw = env[name]?.trim();
  if (!raw) return null;
  const values = raw.split(',').map((v) => v.trim().toLowerCase());
  const allowed: readonly string[] = EXPORTERS[name];
  const unknown = values.filter((v) => !allowed.includes(v));
  if (unknown.length > 0)
    return `${name}=${raw}: Gatehouse exports ${allowed.join(', ')} (not ${unknown.join(', ')})`;
  return values;
}

function signalUrl(env: NodeJS.ProcessEnv, signal: 'TRACES' | 'METRICS'): string | null {
  const own = env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`]?.trim();
  if (own) return own;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return null;
  return `${base.replace(/\/+$/, '')}/v1/${signal.toLowerCase()}`;
}

function checkedUrl(url: string | null, variable: string): string | null | { error: string } {
  if (url === null) return null;
  try {
    const u = new URL(url);
    if (u.protocol === 'http:' || u.protocol === 'https:') return url;
  } catch {
    // reported below
  }
  return { error: `${variable}=${url}: expected an http:// or https:// URL` };
}

/**
 * `[gatehouse_telemetry]` as the OTEL_* variables it stands for. The admin's keys win over the
 * environment, which the governed user controls: a user cannot switch off, redirect or rename the
 * fleet's telemetry with a variable; the variables fill only what the admin left unset.
 */
function withConfig(
  env: NodeJS.ProcessEnv,
  config: TelemetryRequirements | undefined,
): { env: NodeJS.ProcessEnv; ignored: string[] } {
  if (!config) return { env, ignored: [] };
  const endpoint = config.otlp_endpoint?.value;
  const fromConfig: Record<string, string | undefined> = {
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    // With the admin's endpoint, a signal the admin did not switch off is on (the documented
    // defaults), so OTEL_TRACES_EXPORTER=none / OTEL_METRICS_EXPORTER=none cannot switch it off.
    OTEL_TRACES_EXPORTER:
      config.traces !== undefined
        ? config.traces.value
          ? 'otlp'
          : 'none'
        : endpoint !== undefined
          ? 'otlp'
          : undefined,
    OTEL_METRICS_EXPORTER: config.metrics
      ? config.metrics.value.join(',') || 'none'
      : endpoint !== undefined
        ? 'otlp'
        : undefined,
    OTEL_SERVICE_NAME: config.service_name?.value,
    OTEL_METRIC_EXPORT_INTERVAL: config.metric_export_interval_seconds
      ? String(config.metric_export_interval_seconds.value * 1000)
      : undefined,
  };
  const merged: NodeJS.ProcessEnv = { ...env };
  const ignored: string[] = [];
  const drop = (name: string) => {
    if (merged[name]?.trim()) ignored.push(name);
    delete merged[name];
  };
  for (const [name, value] of Object.entries(fromConfig)) {
    if (value === undefined) continue;
    if (env[name]?.trim() && env[name]?.trim() !== value) ignored.push(name);
    merged[name] = value;
  }
  // With the admin's endpoint, the variables that would turn it off or send a signal elsewhere.
  if (endpoint !== undefined)
    for (const name of [
      'OTEL_SDK_DISABLED',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
    ])
      drop(name);
  return { env: merged, ignored };
}

/**
 * Reads the settings. An exporter is on when its `OTEL_*_EXPORTER` names it, or when that
 * variable is unset and an OTLP endpoint is; `OTEL_SDK_DISABLED=true` turns OTLP off.
 * A value Gatehouse cannot honour is an error naming the variable, never silently ignored.
 */
export function telemetrySettings(
  processEnv: NodeJS.ProcessEnv,
  flags: { metricsListen?: string } = {},
  config?: TelemetryRequirements,
): TelemetrySettings | { error: string } {
  const { env, ignored } = withConfig(processEnv, config);
  const listen = flags.metricsListen ?? config?.metrics_listen?.value;
  const traces = listOf(env, 'OTEL_TRACES_EXPORTER');
  const metrics = listOf(env, 'OTEL_METRICS_EXPORTER');
  for (const v of [traces, metrics]) if (typeof v === 'string') return { error: v };
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  const on = (list: string[] | null, url: string | null) =>
    !disabled && url !== null && (list === null || list.includes('otlp'));
  const tracesUrl = checkedUrl(signalUrl(env, 'TRACES'), 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const metricsUrl = checkedUrl(signalUrl(env, 'METRICS'), 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT');
  for (const u of [tracesUrl, metricsUrl]) if (u && typeof u === 'object') return u;
  let metricsListen: TelemetrySettings['metricsListen'] = null;
  if (listen !== undefined) {
    metricsListen = parseHttpListen(listen);
    if (!metricsListen)
      return {
        error: `--metrics-listen ${listen}: expected HOST:PORT, e.g. 127.0.0.1:9464 (port 0 picks a free one)`,
      };
    if (!['127.0.0.1', '::1', 'localhost'].includes(metricsListen.host))
      return {
        error: `--metrics-listen ${listen}: this listener has no authentication, so it only binds loopback; scrape remotely through the HTTP endpoint's /metrics (same authentication as /mcp)`,
      };
  }
  const interval = Number(env.OTEL_METRIC_EXPORT_INTERVAL ?? 60_000);
  return {
    tracesUrl: on(traces as string[] | null, tracesUrl as string | null)
      ? (tracesUrl as string)
      : null,
    metricsUrl: on(metrics as string[] | null, metricsUrl as string | null)
      ? (metricsUrl as string)
      : null,
    prometheus: (metrics as string[] | null)?.includes('prometheus') ?? false,
    metricsListen,
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'gatehouse',
    exportIntervalMs: Number.isFinite(interval) && interval > 0 ? interval : 60_000,
    ignoredVariables: ignored,
  };
}

/** Whether anything is on: when not, the SDK is never loaded (zero cost). */
export function telemetryWanted(s: TelemetrySettings): boolean {
  return s.tracesUrl !== null || s.metricsUrl !== null || s.prometheus || s.metricsListen !== null;
}
