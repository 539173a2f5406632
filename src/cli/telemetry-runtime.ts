import { ExitCode } from './exit-codes.js';
import type { ExitCodeValue } from './exit-codes.js';
import type { CliIo } from './io.js';
import { telemetrySettings } from '../telemetry/settings.js';
import type { TelemetrySettings } from '../telemetry/settings.js';
import { startTelemetry } from '../telemetry/telemetry.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { TelemetryRequirements } from '../requirements/parse-telemetry-table.js';

/** A gateway process's telemetry: null parts when off; `close` exports what is left. */
export interface GatewayTelemetry {
  telemetry: Telemetry | null;
  settings: TelemetrySettings;
  close(): Promise<void>;
}

/**
 * Reads the OTEL_* variables and `--metrics-listen`, starts the SDK only when something is on,
 * and the metrics listener when asked. A setting it cannot honour is a usage error.
 */
export async function startGatewayTelemetry(
  io: CliIo,
  flags: { metricsListen?: string },
  config?: TelemetryRequirements,
): Promise<GatewayTelemetry | { exit: ExitCodeValue }> {
  const settings = telemetrySettings(io.env, flags, config);
  if ('error' in settings) {
    io.stderr(`error: ${settings.error}\n`);
    return { exit: ExitCode.usage };
  }
  if (settings.ignoredVariables.length > 0)
    io.stderr(
      `note: ${settings.ignoredVariables.join(', ')} ignored: the admin's [gatehouse_telemetry] sets telemetry for this gateway\n`,
    );
  const telemetry = await startTelemetry(settings);
  let listener: { url: string; close(): Promise<void> } | null = null;
  if (telemetry && settings.metricsListen) {
    const { startMetricsListener } = await import('../telemetry/metrics-listener.js');
    try {
      listener = await startMetricsListener(settings.metricsListen, () => telemetry.prometheus());
    } catch (err) {
      io.stderr(
        `error: cannot serve metrics on ${settings.metricsListen.host}:${settings.metricsListen.port}: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      await telemetry.shutdown();
      return { exit: ExitCode.usage };
    }
    io.stderr(`${JSON.stringify({ event: 'metrics_listening', url: listener.url })}\n`);
  }
  return {
    telemetry,
    settings,
    close: async () => {
      await listener?.close();
      await telemetry?.shutdown();
    },
  };
}
