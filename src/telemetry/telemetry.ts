import type { PipelineObserver } from '../pipeline/observer.js';
import type { TelemetrySettings } from './settings.js';
import { telemetryWanted } from './settings.js';

/** A `server_state` stderr line, as the gateway reports upstream states. */
export interface UpstreamStateLine {
  event: string;
  server: string;
  state: string;
}

/** A running telemetry pipeline (runtime.ts); only exists when something is on. */
export interface Telemetry {
  /** Watches every request: a span per request, a child span per stage, metrics. */
  observer: PipelineObserver;
  upstreamState(line: UpstreamStateLine): void;
  /** An audit transaction made `ms` durable. */
  auditAppended(ms: number): void;
  auditQueueDepth(read: () => number): void;
  /** The current metrics in the Prometheus text format. */
  prometheus(): Promise<string>;
  /** Exports what is buffered, then stops. */
  shutdown(): Promise<void>;
}

/**
 * Telemetry for a gateway process, or null when it is off: then the OpenTelemetry SDK is
 * never imported and the pipeline runs without an observer (zero cost, bench/telemetry.mjs).
 */
export async function startTelemetry(settings: TelemetrySettings): Promise<Telemetry | null> {
  if (!telemetryWanted(settings)) return null;
  const { createTelemetry } = await import('./runtime.js');
  return createTelemetry(settings);
}
