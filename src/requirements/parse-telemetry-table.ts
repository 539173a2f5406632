import { describeType } from '../config/field-reader.js';
import { parseHttpListen } from '../config/listen-address.js';
import type { TableReporter } from './parse-gatehouse-tables.js';
import { readBoolean, warnUnknownKey } from './parse-gatehouse-tables.js';
import type { RequirementSource, SetBy } from './model.js';

/**
 * `[gatehouse_telemetry]`: where every gateway sends OpenTelemetry traces and metrics, so an
 * admin configures a fleet once. The standard `OTEL_*` variables, when set, win over it (as for
 * any OpenTelemetry SDK); `--metrics-listen` wins over `metrics_listen`. Off when absent.
 */
export interface GatehouseTelemetryLayer {
  otlp_endpoint?: string;
  traces?: boolean;
  metrics?: ('otlp' | 'prometheus')[];
  service_name?: string;
  metrics_listen?: string;
  metric_export_interval_seconds?: number;
}

export type TelemetryRequirements = {
  [K in keyof GatehouseTelemetryLayer]?: SetBy<NonNullable<GatehouseTelemetryLayer[K]>>;
};

const KEYS = [
  'otlp_endpoint',
  'traces',
  'metrics',
  'service_name',
  'metrics_listen',
  'metric_export_interval_seconds',
] as const;
const METRIC_EXPORTERS = ['otlp', 'prometheus'] as const;

function httpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/** One key's value, or undefined after reporting why it cannot be used. */
function readKey(
  key: (typeof KEYS)[number],
  value: unknown,
  at: string[],
  r: TableReporter,
): GatehouseTelemetryLayer[typeof key] | undefined {
  const bad = (message: string, hint?: string) => {
    r.error(at, message, hint, 'invalid_value');
    return undefined;
  };
  switch (key) {
    case 'traces':
      return readBoolean(value, at, r);
    case 'metric_export_interval_seconds':
      return typeof value === 'number' && Number.isInteger(value) && value > 0
        ? value
        : bad(`expected a whole number > 0, got ${describeType(value)}`);
    case 'metrics':
      return Array.isArray(value) &&
        value.every((v) => (METRIC_EXPORTERS as readonly unknown[]).includes(v))
        ? (value as ('otlp' | 'prometheus')[])
        : bad(`expected a list of "otlp", "prometheus", got ${JSON.stringify(value)}`);
    default: {
      if (typeof value !== 'string' || value.trim() === '')
        return bad(`expected a non-empty string, got ${describeType(value)}`);
      if (key === 'otlp_endpoint' && !httpUrl(value))
        return bad(`${value}: expected an http:// or https:// URL`, 'e.g. "http://collector:4318"');
      if (key === 'metrics_listen' && !parseHttpListen(value))
        return bad(`${value}: expected HOST:PORT`, 'e.g. "127.0.0.1:9464"');
      return value;
    }
  }
}

export function parseTelemetryTable(raw: unknown, r: TableReporter): GatehouseTelemetryLayer {
  const out: GatehouseTelemetryLayer = {};
  if (raw === undefined) return out;
  const path = ['gatehouse_telemetry'];
  if (!r.isTable(raw, path)) return out;
  for (const [key, value] of Object.entries(raw)) {
    const at = [...path, key];
    if (!(KEYS as readonly string[]).includes(key)) {
      warnUnknownKey(r, at, '[gatehouse_telemetry]', key, KEYS);
      continue;
    }
    const read = readKey(key as (typeof KEYS)[number], value, at, r);
    if (read !== undefined) (out as Record<string, unknown>)[key] = read;
  }
  return out;
}

/** The layers composed: per key, the highest layer that sets it. */
export function composeTelemetry(
  layers: readonly { source: RequirementSource; telemetry?: GatehouseTelemetryLayer }[],
): TelemetryRequirements {
  const out: Record<string, SetBy<unknown>> = {};
  for (const layer of layers)
    for (const [key, value] of Object.entries(layer.telemetry ?? {}))
      if (value !== undefined) out[key] = { value, source: layer.source };
  return out as TelemetryRequirements;
}
