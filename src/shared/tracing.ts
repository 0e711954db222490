import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  type SpanOptions,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { Module } from './components.ts';
import type { Logger } from './logger.ts';

export interface TracingSettings {
  /** OTLP/HTTP traces URL (…/v1/traces); undefined: no tracing at all. */
  endpoint: string | undefined;
  headers: Record<string, string>;
  serviceName: string;
}

/**
 * OpenTelemetry spans, exported over OTLP/HTTP in batches. Not registered globally: each app
 * has its own provider (tests run several in one process), and spans are parented explicitly,
 * so no async context manager runs on the hot path. Without an endpoint there is no Tracing
 * object at all and callers skip span work entirely.
 */
export interface Tracing {
  tracer: Tracer;
  /** A span under `parent` (a span, a context extracted from headers, or none: a new trace). */
  start(name: string, options: SpanOptions, parent?: Span | Context): Span;
  /** The caller's trace (W3C traceparent), if it sent one. */
  extract(headers: Record<string, string | string[] | undefined>): Context;
  shutdown(): Promise<void>;
}

const propagator = new W3CTraceContextPropagator();
const headerGetter = {
  keys: (carrier: Record<string, unknown>) => Object.keys(carrier),
  get: (carrier: Record<string, string | string[] | undefined>, key: string) => carrier[key],
};

export function createTracing(settings: TracingSettings, logger: Logger): Tracing | undefined {
  if (!settings.endpoint) return undefined;
  const exporter = new OTLPTraceExporter({ url: settings.endpoint, headers: settings.headers });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer('tollgate');
  logger.info({ endpoint: settings.endpoint }, 'exporting traces over OTLP');
  return {
    tracer,
    start: (name, options, parent) =>
      tracer.startSpan(
        name,
        options,
        parent === undefined
          ? ROOT_CONTEXT
          : 'spanContext' in parent
            ? trace.setSpan(ROOT_CONTEXT, parent)
            : parent,
      ),
    extract: (headers) => propagator.extract(ROOT_CONTEXT, headers, headerGetter),
    shutdown: async () => {
      await provider.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'trace export failed'));
    },
  };
}

/** Ends a span with an error status when the outcome was a failure. */
export function endSpan(span: Span, failed: boolean, message?: string): void {
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
  span.end();
}

/** Tracing, when an OTLP endpoint is set: stopped late, so that the last calls' spans are exported. */
export function tracingModule(
  settings: TracingSettings,
  logger: Logger,
): Module<{ tracing: Tracing | undefined }> {
  const tracing = createTracing(settings, logger);
  return {
    services: { tracing },
    components: tracing ? { tracing: { name: 'tracing', stop: () => tracing.shutdown() } } : {},
  };
}
