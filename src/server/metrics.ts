import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RateLimits } from '../modules/proxy/rate-limits.ts';
import type { UsageRecord, UsageRecorder } from '../modules/usage/usage-recorder.ts';

/**
 * Prometheus metrics at /metrics. Counters are fed from the usage stream (so the hot path does
 * no extra work beyond what metering already does); gauges are read at scrape time.
 */
export function createMetrics(deps: { usage: UsageRecorder; limits: RateLimits }): Registry {
  const registry = new Registry();
  const calls = new Counter({
    name: 'tollgate_proxy_calls_total',
    help: 'Calls through /proxy, by provider and outcome.',
    labelNames: ['provider', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'tollgate_proxy_call_seconds',
    help: 'Total time of calls through /proxy, by provider.',
    labelNames: ['provider'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'tollgate_proxy_tokens_total',
    help: 'Tokens metered from OpenAI-compatible responses, by provider and kind.',
    labelNames: ['provider', 'kind'] as const,
    registers: [registry],
  });
  // Label lookups are cached: resolving label values on every call costs more than counting.
  const callCounters = new Map<string, ReturnType<typeof calls.labels>>();
  const latencies = new Map<string, ReturnType<typeof latency.labels>>();
  deps.usage.onRecord((record: UsageRecord) => {
    // Only known providers become labels: a slug from an unauthenticated URL must not mint series.
    const provider = record.providerId ? record.providerSlug : 'unknown';
    const callKey = `${provider} ${record.outcome}`;
    let counter = callCounters.get(callKey);
    if (!counter) {
      counter = calls.labels(provider, record.outcome);
      callCounters.set(callKey, counter);
    }
    counter.inc();
    let histogram = latencies.get(provider);
    if (!histogram) {
      histogram = latency.labels(provider);
      latencies.set(provider, histogram);
    }
    histogram.observe(record.totalMs / 1000);
    if (record.promptTokens) tokens.inc({ provider, kind: 'prompt' }, record.promptTokens);
    if (record.completionTokens) tokens.inc({ provider, kind: 'completion' }, record.completionTokens);
  });
  new Gauge({
    name: 'tollgate_rate_limit_degraded',
    help: '1 while Redis is unavailable and each replica enforces its share of the limits in-process.',
    registers: [registry],
    collect() {
      this.set(deps.limits.degraded ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tollgate_usage_buffered',
    help: 'Usage events waiting to be written to PostgreSQL.',
    registers: [registry],
    collect() {
      this.set(deps.usage.buffered);
    },
  });
  new Gauge({
    name: 'tollgate_usage_dropped',
    help: 'Usage events dropped because the buffer was full (PostgreSQL down too long).',
    registers: [registry],
    collect() {
      this.set(deps.usage.dropped);
    },
  });
  return registry;
}
