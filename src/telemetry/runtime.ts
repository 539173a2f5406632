import { createHash } from 'node:crypto';
import type {
  Attributes,
  Context,
  Counter,
  Histogram,
  Meter,
  ObservableResult,
  Span,
  Tracer,
  UpDownCounter,
} from '@opentelemetry/api';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { IMetricReader } from '@opentelemetry/sdk-metrics';
import {
  MeterProvider,
  MetricReader,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { PipelineContext } from '../pipeline/context.js';
import type { PipelineObserver, RequestWatch } from '../pipeline/observer.js';
import { kindOfCode } from '../pipeline/error-table.js';
import type { StageName } from '../pipeline/stage.js';
import { outcomeOf } from '../pipeline/stages/audit.js';
import { gatehouseVersion } from '../version.js';
import { prometheusText } from './prometheus-text.js';
import { ATTR, EXECUTE_TOOL, MCP_SERVER_OPERATION_DURATION } from './semconv.js';
import type { TelemetrySettings } from './settings.js';
import type { Telemetry, UpstreamStateLine } from './telemetry.js';

/** Pulls metrics on demand for `/metrics` (the Prometheus text). */
class PullReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** Seconds buckets from 0.5 ms to 10 min: gateway overhead, upstream calls and approval waits. */
const SECONDS_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
  600,
];

const propagator = new W3CTraceContextPropagator();
const getter = {
  keys: (carrier: Record<string, unknown>) => Object.keys(carrier),
  get: (carrier: Record<string, unknown>, key: string) => {
    const v = carrier[key];
    return typeof v === 'string' ? v : undefined;
  },
};

/**
 * The client's trace context: `params._meta.traceparent`/`tracestate`, MCP's convention. HTTP
 * `traceparent` headers are not used: the pipeline sees the headers of the request that opened the
 * session, not of each request, and a session-wide parent would be wrong for every call after it.
 */
function parentContext(ctx: PipelineContext): Context {
  const meta = ctx.request.params?._meta;
  return meta && typeof meta === 'object'
    ? propagator.extract(ROOT_CONTEXT, meta as Record<string, unknown>, getter)
    : ROOT_CONTEXT;
}

/** The W3C trace context (`traceparent`, `tracestate`) of `context`, as `_meta` entries. */
function traceMeta(context: Context): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagator.inject(context, carrier, {
    set: (c, k, v) => {
      c[k] = v;
    },
  });
  return carrier;
}

/**
 * What telemetry says of an HTTP session id: a hash. The id itself lets its holder (with the
 * caller's credentials) use the session, so it does not leave the gateway.
 */
function sessionHash(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 16);
}

function callerOf(ctx: PipelineContext): string | null {
  return ctx.connection.authSubject ?? ctx.caller?.tokenSubject ?? ctx.caller?.osUser ?? null;
}

function toolOf(ctx: PipelineContext): string | null {
  if (ctx.target?.tool) return ctx.target.tool;
  const name = ctx.request.params?.name;
  return ctx.request.method === 'tools/call' && typeof name === 'string' ? name : null;
}

interface Instruments {
  calls: Counter;
  denials: Counter;
  approvals: Counter;
  approvalsWaiting: UpDownCounter;
  approvalWait: Histogram;
  maskingFindings: Counter;
  driftBlocks: Counter;
  operation: Histogram;
  upstream: Histogram;
  upstreamStates: Counter;
  upstreamRestarts: Counter;
  auditAppend: Histogram;
}

/**
 * Builds the SDK side: a tracer exporting OTLP (when asked), a meter read by OTLP and by
 * `/metrics`, and the pipeline observer that turns each request into a span with one child
 * span per stage (the onion, nested as it runs) and into metric updates.
 */
export function createTelemetry(settings: TelemetrySettings): Telemetry {
  const resource = resourceFromAttributes({
    'service.name': settings.serviceName,
    'service.version': gatehouseVersion(),
  });
  const tracerProvider = settings.tracesUrl
    ? new BasicTracerProvider({
        resource,
        spanProcessors: [
          new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.tracesUrl }), {
            scheduledDelayMillis: 200,
          }),
        ],
      })
    : null;
  const tracer: Tracer | null = tracerProvider?.getTracer('gatehouse', gatehouseVersion()) ?? null;
  const pull = new PullReader();
  const readers: IMetricReader[] = [pull];
  if (settings.metricsUrl)
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: settings.metricsUrl }),
        exportIntervalMillis: settings.exportIntervalMs,
      }),
    );
  const meterProvider = new MeterProvider({ resource, readers });
  const meter = meterProvider.getMeter('gatehouse', gatehouseVersion());
  const m = createInstruments(meter);
  const upstreamUp = new Map<string, number>();
  let auditQueue: (() => number) | null = null;
  const gauge = (name: string, description: string, observe: (r: ObservableResult) => void) =>
    meter.createObservableGauge(name, { description }).addCallback(observe);
  gauge('gatehouse.upstream.up', 'Whether each upstream server is ready (1) or not (0)', (r) => {
    for (const [server, up] of upstreamUp) r.observe(up, { server });
  });
  gauge('gatehouse.audit.queue.depth', 'Audit events waiting to be written', (r) => {
    if (auditQueue) r.observe(auditQueue());
  });

  const observer: PipelineObserver = {
    request: (ctx) => watchRequest(ctx, tracer, m),
  };
  return {
    observer,
    upstreamState(line: UpstreamStateLine) {
      if (line.event !== 'server_state') return;
      m.upstreamStates.add(1, { server: line.server, state: line.state });
      if (line.state === 'restarting') m.upstreamRestarts.add(1, { server: line.server });
      upstreamUp.set(line.server, line.state === 'ready' ? 1 : 0);
    },
    auditAppended(ms: number) {
      m.auditAppend.record(ms / 1000);
    },
    auditQueueDepth(read: () => number) {
      auditQueue = read;
    },
    async prometheus() {
      const { resourceMetrics } = await pull.collect();
      return prometheusText(resourceMetrics);
    },
    async shutdown() {
      await Promise.allSettled([tracerProvider?.shutdown(), meterProvider.shutdown()]);
    },
  };
}

/** The instruments, named as in docs/telemetry.md (Prometheus names there too). */
function createInstruments(meter: Meter): Instruments {
  const counter = (name: string, description: string) => meter.createCounter(name, { description });
  const seconds = (name: string, description: string) =>
    meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
    });
  return {
    calls: counter(
      'gatehouse.calls',
      'Tool calls through the gateway, by server, tool, decision and outcome',
    ),
    denials: counter('gatehouse.denials', 'Requests Gatehouse refused before forwarding, by rule'),
    approvals: counter(
      'gatehouse.approvals',
      'Approvals decided, by result (granted, denied, expired)',
    ),
    approvalsWaiting: meter.createUpDownCounter('gatehouse.approvals.waiting', {
      description: 'Calls waiting for a person to approve them now',
    }),
    approvalWait: seconds('gatehouse.approval.wait', 'How long calls waited for an approval'),
    maskingFindings: counter('gatehouse.masking.findings', 'Values masked in responses, by kind'),
    driftBlocks: counter(
      'gatehouse.schema.drift.blocks',
      'Calls refused because the tool changed since it was locked',
    ),
    operation: seconds(
      MCP_SERVER_OPERATION_DURATION,
      'MCP requests through the gateway, end to end (semconv mcp.server.operation.duration)',
    ),
    upstream: seconds('gatehouse.upstream.duration', 'Time waiting for the upstream server'),
    upstreamStates: counter(
      'gatehouse.upstream.state.changes',
      'Upstream server state changes, by server and state',
    ),
    upstreamRestarts: counter(
      'gatehouse.upstream.restarts',
      'Upstream server restarts after a crash, by server',
    ),
    auditAppend: seconds(
      'gatehouse.audit.append.duration',
      'Audit trail transactions: time to make a batch durable',
    ),
  };
}

function watchRequest(ctx: PipelineContext, tracer: Tracer | null, m: Instruments): RequestWatch {
  const method = ctx.request.method;
  const started = performance.now();
  const spans: Span[] = [];
  let contextNow: Context = tracer ? parentContext(ctx) : ROOT_CONTEXT;
  let root: Span | null = null;
  if (tracer) {
    const tool = toolOf(ctx);
    root = tracer.startSpan(
      tool ? `${method} ${tool}` : method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR.mcpMethod]: method,
          [ATTR.jsonrpcRequestId]: String(ctx.request.id),
          [ATTR.networkTransport]: ctx.connection.transport === 'http' ? 'tcp' : 'pipe',
          ...(ctx.connection.sessionId
            ? { [ATTR.mcpSession]: sessionHash(ctx.connection.sessionId) }
            : {}),
        },
      },
      contextNow,
    );
    contextNow = trace.setSpan(contextNow, root);
  }
  let approvalStarted: number | null = null;
  return {
    enter(stage: StageName) {
      if (stage === 'approval' && ctx.decision.kind === 'needs_approval') {
        approvalStarted = performance.now();
        m.approvalsWaiting.add(1);
      }
      if (!tracer) return;
      const span = tracer.startSpan(
        `gatehouse.stage ${stage}`,
        {
          kind: stage === 'forward' ? SpanKind.CLIENT : SpanKind.INTERNAL,
          attributes: {
            [ATTR.stage]: stage,
            ...(stage === 'forward' && ctx.target ? { [ATTR.server]: ctx.target.server } : {}),
          },
        },
        contextNow,
      );
      spans.push(span);
      contextNow = trace.setSpan(contextNow, span);
      // The upstream continues this trace: its span is a child of our forward span.
      if (stage === 'forward') ctx.outgoingMeta = traceMeta(contextNow);
    },
    leave(stage: StageName) {
      if (stage === 'approval' && approvalStarted !== null) {
        m.approvalsWaiting.add(-1);
        m.approvalWait.record((performance.now() - approvalStarted) / 1000);
        m.approvals.add(1, { result: approvalResult(ctx) });
      }
      const span = spans.pop();
      if (!span) return;
      if (ctx.answeredBy === stage) span.setAttribute(ATTR.answeredBy, stage);
      span.end();
      contextNow =
        spans.length > 0 ? trace.setSpan(contextNow, spans[spans.length - 1]!) : contextNow;
    },
    end() {
      const facts = requestFacts(ctx, approvalStarted, started);
      record(ctx, facts, m);
      if (root) {
        root.setAttributes(facts.attributes);
        if (facts.errorType)
          root.setStatus({ code: SpanStatusCode.ERROR, message: facts.errorType });
        root.end();
      }
    },
  };
}

function approvalResult(ctx: PipelineContext): 'granted' | 'denied' | 'expired' | 'asked' {
  if (ctx.approval) return 'granted';
  // A 2026-07-28 client was asked (input_required): its retry decides.
  if (ctx.answeredBy === 'approval' && outcomeOf(ctx) === 'input_required') return 'asked';
  if (ctx.approvalOutcome === 'approval_expired' || ctx.approvalOutcome === 'approval_timed_out')
    return 'expired';
  return 'denied';
}

interface RequestFacts {
  attributes: Attributes;
  outcome: string;
  errorType: string | null;
  seconds: number;
}

/** What the span and the metrics say about a finished request: names and counts, never values. */
function requestFacts(
  ctx: PipelineContext,
  approvalStarted: number | null,
  started: number,
): RequestFacts {
  const response = ctx.response;
  const code = response && 'error' in response ? response.error.code : null;
  const outcome = outcomeOf(ctx);
  const kinds = Object.keys(ctx.masking?.counts ?? {}).sort();
  const masked = Object.values(ctx.masking?.counts ?? {}).reduce((a, b) => a + b, 0);
  const tool = toolOf(ctx);
  const caller = callerOf(ctx);
  const attributes: Attributes = {
    [ATTR.decision]: ctx.decision.kind,
    [ATTR.rule]: ctx.decision.rule,
    [ATTR.outcome]: outcome,
    ...(ctx.target ? { [ATTR.server]: ctx.target.server } : {}),
    ...(tool ? { [ATTR.genAiToolName]: tool, [ATTR.genAiOperation]: EXECUTE_TOOL } : {}),
    ...(caller ? { [ATTR.caller]: caller } : {}),
    ...(ctx.answeredBy ? { [ATTR.answeredBy]: ctx.answeredBy } : {}),
    ...(approvalStarted !== null
      ? { [ATTR.approvalWait]: Math.round(performance.now() - approvalStarted) }
      : {}),
    ...(masked > 0 ? { [ATTR.maskedCount]: masked, [ATTR.maskedKinds]: kinds } : {}),
    ...(code !== null
      ? { [ATTR.rpcStatusCode]: String(code), [ATTR.errorType]: String(code) }
      : {}),
  };
  return {
    attributes,
    outcome,
    errorType: code !== null ? String(code) : null,
    seconds: (performance.now() - started) / 1000,
  };
}

function record(ctx: PipelineContext, facts: RequestFacts, m: Instruments): void {
  const method = ctx.request.method;
  const server = ctx.target?.server ?? '';
  const tool = toolOf(ctx);
  m.operation.record(facts.seconds, {
    [ATTR.mcpMethod]: method,
    ...(tool ? { [ATTR.genAiToolName]: tool } : {}),
    ...(facts.errorType ? { [ATTR.errorType]: facts.errorType } : {}),
  });
  if (ctx.upstreamMs !== null)
    m.upstream.record(ctx.upstreamMs / 1000, { server, [ATTR.mcpMethod]: method });
  if (method === 'tools/call')
    m.calls.add(1, {
      server,
      tool: tool ?? '',
      decision: ctx.decision.kind,
      outcome: facts.outcome,
    });
  if (facts.outcome === 'denied') {
    const response = ctx.response;
    const kind = response && 'error' in response ? kindOfCode(response.error.code) : null;
    const rule = ctx.decision.kind === 'deny' ? ctx.decision.rule : (kind ?? ctx.answeredBy ?? '');
    m.denials.add(1, { rule, method });
  }
  if (ctx.answeredBy === 'schema-pin') m.driftBlocks.add(1, { server, tool: tool ?? '' });
  for (const [kind, n] of Object.entries(ctx.masking?.counts ?? {}))
    if (n > 0) m.maskingFindings.add(n, { kind });
}
