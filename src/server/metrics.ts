import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { SharedSubscriptions } from '../graphql/shared-subscriptions.ts';
import type { SubscriptionStats } from '../graphql/subscription-stats.ts';
import type { BudgetEnforcer } from '../modules/budgets/budget-enforcer.ts';
import { CIRCUIT_STATES, type EventBus } from '../modules/events/event-bus.ts';
import type { JobQueue } from '../modules/jobs/job-queue.ts';
import type { ProviderCache } from '../modules/providers/provider-cache.ts';
import type { CircuitRegistry } from '../modules/resilience/circuit-registry.ts';
import type { RateLimits } from '../modules/resilience/rate-limits.ts';
import type { UsageRecorder } from '../modules/usage/usage-recorder.ts';
import type { UsageRecord } from '../modules/usage/usage-rows.ts';
import { type CounterSeries, FastCounter, FastHistogram, type HistogramSeries } from './metric-series.ts';

export interface MetricsDeps {
  usage: UsageRecorder;
  limits: RateLimits;
  providers: ProviderCache;
  breakers: CircuitRegistry;
  budgets: BudgetEnforcer;
  jobs: JobQueue;
  events: EventBus;
  /** Open GraphQL WebSocket connections. */
  wsConnections: () => number;
  subscriptions?: SubscriptionStats;
  sharedSubscriptions?: SharedSubscriptions;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Prometheus metrics at /metrics. Counters are fed from the usage stream (so the hot path does
 * no extra work beyond what metering already does); gauges are read at scrape time.
 */
export function createMetrics(deps: MetricsDeps): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tollgate_' });
  const calls = new FastCounter(
    'tollgate_proxy_calls_total',
    'Calls through /proxy, by provider, client (id) and outcome.',
    ['provider', 'client', 'outcome'],
    registry,
  );
  const latency = new FastHistogram(
    'tollgate_proxy_call_seconds',
    'Total time of calls through /proxy, by provider.',
    ['provider'],
    LATENCY_BUCKETS,
    registry,
  );
  const upstreamLatency = new FastHistogram(
    'tollgate_proxy_upstream_seconds',
    'Time spent waiting on the upstream (all attempts), by provider.',
    ['provider'],
    LATENCY_BUCKETS,
    registry,
  );
  const overhead = new FastHistogram(
    'tollgate_proxy_overhead_seconds',
    'Time spent in Tollgate itself (total minus upstream), by provider.',
    ['provider'],
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registry,
  );
  const tokens = new FastCounter(
    'tollgate_proxy_tokens_total',
    'Tokens metered from OpenAI-compatible responses, by provider and kind.',
    ['provider', 'kind'],
    registry,
  );
  // The series of each label combination, kept so that counting a call is a map lookup and an addition.
  const callCounters = new Map<string, CounterSeries>();
  const perProvider = new Map<
    string,
    {
      latency: HistogramSeries;
      upstream: HistogramSeries;
      overhead: HistogramSeries;
      prompt: CounterSeries;
      completion: CounterSeries;
    }
  >();
  deps.usage.onRecord((record: UsageRecord) => {
    // Only known providers become labels: a slug from an unauthenticated URL must not mint series.
    const provider = record.providerId ? record.providerSlug : 'unknown';
    const client = record.clientId ?? 'none';
    const callKey = `${provider} ${client} ${record.outcome}`;
    let counter = callCounters.get(callKey);
    if (!counter) {
      counter = calls.series(provider, client, record.outcome);
      callCounters.set(callKey, counter);
    }
    counter.inc();
    let series = perProvider.get(provider);
    if (!series) {
      series = {
        latency: latency.series(provider),
        upstream: upstreamLatency.series(provider),
        overhead: overhead.series(provider),
        prompt: tokens.series(provider, 'prompt'),
        completion: tokens.series(provider, 'completion'),
      };
      perProvider.set(provider, series);
    }
    series.latency.observe(record.totalMs / 1000);
    if (record.upstreamMs !== null) {
      series.upstream.observe(record.upstreamMs / 1000);
      series.overhead.observe(Math.max(0, record.totalMs - record.upstreamMs) / 1000);
    }
    if (record.promptTokens) series.prompt.inc(record.promptTokens);
    if (record.completionTokens) series.completion.inc(record.completionTokens);
  });
  new Gauge({
    name: 'tollgate_rate_limit_degraded',
    help: "1 while Redis is unavailable: limits, budgets and events run on this replica's local fallbacks (its share of each limit and budget).",
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
  new Gauge({
    name: 'tollgate_circuit_state',
    help: '1 for the state each provider circuit is in (this replica’s view), 0 for the others.',
    labelNames: ['provider', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const id of deps.providers.ids()) {
        const provider = deps.providers.byId(id);
        if (!provider) continue;
        const current = deps.breakers.status(id).state;
        for (const state of CIRCUIT_STATES)
          this.set({ provider: provider.slug, state }, state === current ? 1 : 0);
      }
    },
  });
  // Both budget gauges come from one ledger read per budget, shared by the scrape that asks.
  let figures:
    | { at: number; value: Promise<{ name: string; spent: number; remaining: number }[]> }
    | undefined;
  const budgetFigures = () => {
    if (!figures || Date.now() - figures.at > 1000) {
      figures = {
        at: Date.now(),
        value: Promise.all(
          deps.budgets.all().map(async (budget) => {
            const status = await deps.budgets.status(budget);
            return {
              name: budget.name,
              spent: status.spentMicros,
              remaining: Math.max(0, budget.limitMicros - status.spentMicros - status.reservedMicros),
            };
          }),
        ),
      };
    }
    return figures.value;
  };
  new Gauge({
    name: 'tollgate_budget_spent_micros',
    help: 'Spend in the current period, by budget (micro-units).',
    labelNames: ['budget'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const b of await budgetFigures()) this.set({ budget: b.name }, b.spent);
    },
  });
  new Gauge({
    name: 'tollgate_budget_remaining_micros',
    help: 'Limit minus spent and reserved in the current period, by budget (micro-units).',
    labelNames: ['budget'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const b of await budgetFigures()) this.set({ budget: b.name }, b.remaining);
    },
  });
  new Gauge({
    name: 'tollgate_jobs',
    help: 'Background jobs by queue and state.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const queue of await deps.jobs.queues()) {
          for (const [state, n] of Object.entries(queue.counts)) this.set({ queue: queue.name, state }, n);
        }
      } catch {
        // PostgreSQL unavailable: the job counts are simply absent from this scrape.
      }
    },
  });
  new Gauge({
    name: 'tollgate_websocket_connections',
    help: 'Open GraphQL WebSocket connections.',
    registers: [registry],
    collect() {
      this.set(deps.wsConnections());
    },
  });
  new Gauge({
    name: 'tollgate_subscriptions',
    help: 'Open event subscriptions (GraphQL subscriptions and internal listeners).',
    registers: [registry],
    collect() {
      this.set(deps.events.activeSubscriptions);
    },
  });
  const { subscriptions, sharedSubscriptions } = deps;
  if (subscriptions) {
    let counted = 0;
    new Counter({
      name: 'tollgate_subscription_executions_total',
      help: 'Subscription events executed: one per event per running operation, however many subscribers share it.',
      registers: [registry],
      collect() {
        this.inc(subscriptions.executions - counted);
        counted = subscriptions.executions;
      },
    });
  }
  if (sharedSubscriptions) {
    new Gauge({
      name: 'tollgate_subscription_shared_operations',
      help: 'WebSocket subscriptions running once for all the subscribers that share them (same document, variables and role).',
      registers: [registry],
      collect() {
        this.set(sharedSubscriptions.groups);
      },
    });
    new Gauge({
      name: 'tollgate_subscription_subscribers',
      help: 'WebSocket subscribers served by those shared operations.',
      registers: [registry],
      collect() {
        this.set(sharedSubscriptions.members);
      },
    });
  }
  return registry;
}
