import { describe, expect, test } from 'vitest';
import { parseLayer } from '../../test/support/requirements-layer.js';
import { composeRequirementLayers } from '../requirements/load-requirements.js';
import { tightenRequirements } from '../requirements/tighten-requirements.js';
import { telemetrySettings, telemetryWanted } from './settings.js';
import type { TelemetrySettings } from './settings.js';

const ADMIN = { kind: 'system_file', path: '/etc/gatehouse/requirements.toml' } as const;
const USER = { kind: 'env', name: 'GATEHOUSE_REQUIREMENTS_TOML_BASE64' } as const;

const ok = (s: ReturnType<typeof telemetrySettings>): TelemetrySettings => {
  if ('error' in s) throw new Error(s.error);
  return s;
};

describe('telemetry settings from OTEL_* variables', () => {
  test('off unless asked for: nothing set loads nothing', () => {
    const s = ok(telemetrySettings({}));
    expect(telemetryWanted(s)).toBe(false);
  });

  test('an OTLP endpoint turns on traces and metrics, each at its signal path', () => {
    const s = ok(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }));
    expect(s.tracesUrl).toBe('http://c:4318/v1/traces');
    expect(s.metricsUrl).toBe('http://c:4318/v1/metrics');
    const own = ok(
      telemetrySettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://t/x',
        OTEL_METRICS_EXPORTER: 'prometheus',
      }),
    );
    expect(own).toMatchObject({ tracesUrl: 'https://t/x', metricsUrl: null, prometheus: true });
  });

  test('none and OTEL_SDK_DISABLED turn OTLP off', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    expect(ok(telemetrySettings({ ...env, OTEL_TRACES_EXPORTER: 'none' })).tracesUrl).toBeNull();
    const disabled = ok(telemetrySettings({ ...env, OTEL_SDK_DISABLED: 'true' }));
    expect(telemetryWanted(disabled)).toBe(false);
  });

  test('a value Gatehouse cannot honour is an error naming it', () => {
    expect(telemetrySettings({ OTEL_TRACES_EXPORTER: 'zipkin' })).toEqual({
      error: 'OTEL_TRACES_EXPORTER=zipkin: Gatehouse exports otlp, none (not zipkin)',
    });
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://c:4317' })).toMatchObject({
      error: expect.stringContaining('expected an http:// or https:// URL') as string,
    });
    expect(telemetrySettings({}, { metricsListen: '0.0.0.0:9464' })).toMatchObject({
      error: expect.stringContaining('only binds loopback') as string,
    });
  });
});

describe('[gatehouse_telemetry]', () => {
  const admin = parseLayer(
    `[gatehouse_telemetry]
otlp_endpoint = "http://collector:4318"
traces = false
metrics = ["otlp", "prometheus"]
service_name = "gatehouse-eu"
metrics_listen = "127.0.0.1:9464"
metric_export_interval_seconds = 15
`,
    ADMIN,
  );

  test('parses every key; bad values are errors naming the key', () => {
    expect(admin.diagnostics).toEqual([]);
    const bad = parseLayer(
      `[gatehouse_telemetry]\notlp_endpoint = "collector"\nmetrics = ["zipkin"]\ntrace = true\n`,
      ADMIN,
    );
    expect(bad.diagnostics.map((d) => [d.severity, d.key, d.location?.line])).toEqual([
      ['error', 'gatehouse_telemetry.otlp_endpoint', 2],
      ['error', 'gatehouse_telemetry.metrics', 3],
      ['warning', 'gatehouse_telemetry.trace', 4],
    ]);
  });

  test("is every gateway's setting: the OTEL_* variables fill only what the admin left unset", () => {
    const composed = composeRequirementLayers([admin.layer]).telemetry;
    const fromConfig = ok(telemetrySettings({}, {}, composed));
    expect(fromConfig).toMatchObject({
      tracesUrl: null,
      metricsUrl: 'http://collector:4318/v1/metrics',
      prometheus: true,
      metricsListen: { host: '127.0.0.1', port: 9464 },
      serviceName: 'gatehouse-eu',
      exportIntervalMs: 15_000,
    });
    // The governed user's environment cannot switch the fleet's telemetry off, redirect it or
    // rename it; each variable it overrode is named.
    const attempted = ok(
      telemetrySettings(
        {
          OTEL_TRACES_EXPORTER: 'otlp',
          OTEL_SERVICE_NAME: 'mine',
          OTEL_SDK_DISABLED: 'true',
          OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://elsewhere:4318/v1/metrics',
          OTEL_METRICS_EXPORTER: 'none',
        },
        { metricsListen: '127.0.0.1:0' },
        composed,
      ),
    );
    expect(attempted).toMatchObject({
      tracesUrl: null,
      metricsUrl: 'http://collector:4318/v1/metrics',
      prometheus: true,
      serviceName: 'gatehouse-eu',
      metricsListen: { host: '127.0.0.1', port: 0 },
    });
    expect(attempted.ignoredVariables.sort()).toEqual([
      'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
      'OTEL_METRICS_EXPORTER',
      'OTEL_SDK_DISABLED',
      'OTEL_SERVICE_NAME',
      'OTEL_TRACES_EXPORTER',
    ]);
    // An endpoint alone: both signals on, whatever the exporter variables say.
    const endpointOnly = { otlp_endpoint: composed!.otlp_endpoint };
    const switchedOff = ok(
      telemetrySettings(
        { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' },
        {},
        endpointOnly as typeof composed,
      ),
    );
    expect(switchedOff).toMatchObject({
      tracesUrl: 'http://collector:4318/v1/traces',
      metricsUrl: 'http://collector:4318/v1/metrics',
    });
    expect(switchedOff.ignoredVariables.sort()).toEqual([
      'OTEL_METRICS_EXPORTER',
      'OTEL_TRACES_EXPORTER',
    ]);
    // What the admin left unset, the variables still set.
    const { metric_export_interval_seconds: _unset, ...rest } = composed!;
    expect(ok(telemetrySettings({ OTEL_METRIC_EXPORT_INTERVAL: '5000' }, {}, rest))).toMatchObject({
      exportIntervalMs: 5000,
      ignoredVariables: [],
    });
  });

  test("a user layer's table is ignored, named: the admin's setting stays", () => {
    const base = composeRequirementLayers([admin.layer]);
    const user = parseLayer('[gatehouse_telemetry]\notlp_endpoint = "http://evil:4318"\n', USER);
    const { requirements, ignored } = tightenRequirements(base, user.layer);
    expect(requirements.telemetry?.otlp_endpoint?.value).toBe('http://collector:4318');
    expect(JSON.stringify(ignored)).toContain('[gatehouse_telemetry]');
  });
});
