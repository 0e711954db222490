import { builder } from '../../graphql/builder.ts';
import { ValidationError } from '../../shared/errors.ts';
import { ClientRef, loadClient } from '../clients/client.schema.ts';
import type { Provider } from '../providers/provider.entity.ts';
import { loadProvider, ProviderNode } from '../providers/provider.schema.ts';
import { OutcomeEnum } from '../resilience/circuit.schema.ts';
import { emptyTotals, type Percentiles, summarize, type UsageSummary } from './usage-aggregate.ts';
import { USAGE_RANGES, type UsageGroup, type UsageReport } from './usage-report.ts';
import { USAGE_DIMENSIONS } from './usage-sql.ts';

const UsageRangeEnum = builder.enumType('UsageRange', {
  values: USAGE_RANGES,
  description: 'A window ending now: the last hour, day, 7 days or 30 days.',
});
const UsageDimensionEnum = builder.enumType('UsageDimension', {
  values: USAGE_DIMENSIONS,
  description:
    'PROVIDER is the provider that served the call (or was asked, when none did). Grouping or filtering by KEY or MODEL reads raw events, which are kept for the retention period only.',
});
const TimeBucketEnum = builder.enumType('UsageBucket', { values: ['HOUR', 'DAY'] as const });

const PercentilesRef = builder.objectRef<Percentiles>('LatencyPercentiles').implement({
  description: 'Milliseconds; percentiles come from log-scale histograms and are within about 10 % of exact.',
  fields: (t) => ({
    p50: t.float({ nullable: true, resolve: (p) => p.p50 }),
    p95: t.float({ nullable: true, resolve: (p) => p.p95 }),
    p99: t.float({ nullable: true, resolve: (p) => p.p99 }),
    mean: t.float({ nullable: true, resolve: (p) => p.mean }),
  }),
});

const OutcomeCountRef = builder
  .objectRef<{ outcome: UsageSummary['failuresByOutcome'][number]['outcome']; calls: number }>('OutcomeCount')
  .implement({
    fields: (t) => ({
      outcome: t.field({ type: OutcomeEnum, resolve: (o) => o.outcome }),
      calls: t.exposeInt('calls'),
    }),
  });

export const UsageSummaryRef = builder.objectRef<UsageSummary>('UsageSummary').implement({
  description:
    'Calls through /proxy over a window. Successes are SUCCESS and FALLBACK; every other outcome is a failure.',
  fields: (t) => ({
    calls: t.exposeInt('calls'),
    successes: t.exposeInt('successes'),
    failures: t.exposeInt('failures'),
    failuresByOutcome: t.field({ type: [OutcomeCountRef], resolve: (s) => s.failuresByOutcome }),
    errorRate: t.exposeFloat('errorRate', { description: 'failures ÷ calls, 0–1.' }),
    latencyMs: t.field({
      type: PercentilesRef,
      description: 'Total time in Tollgate, upstream included.',
      resolve: (s) => s.latencyMs,
    }),
    upstreamLatencyMs: t.field({
      type: PercentilesRef,
      description: 'Time spent waiting on upstreams (calls that reached one).',
      resolve: (s) => s.upstreamLatencyMs,
    }),
    promptTokens: t.float({ resolve: (s) => s.promptTokens }),
    completionTokens: t.float({ resolve: (s) => s.completionTokens }),
    cachedTokens: t.float({ resolve: (s) => s.cachedTokens }),
    costMicros: t.field({ type: 'Micros', resolve: (s) => s.costMicros }),
    pricedWithoutTokens: t.exposeInt('pricedWithoutTokens', {
      description: 'Calls to a model-priced provider that carried no token counts (priced per request).',
    }),
    requestBytes: t.float({ resolve: (s) => s.requestBytes }),
    responseBytes: t.float({ resolve: (s) => s.responseBytes }),
  }),
});

const UsagePointRef = builder.objectRef<UsageGroup['series'][number]>('UsagePoint').implement({
  fields: (t) => ({
    start: t.field({ type: 'DateTime', resolve: (p) => p.start }),
    summary: t.field({ type: UsageSummaryRef, resolve: (p) => p.summary }),
  }),
});

const UsageGroupRef = builder.objectRef<UsageGroup>('UsageGroup').implement({
  description: 'One combination of the grouped dimensions; fields of dimensions not grouped are null.',
  fields: (t) => ({
    provider: t.field({
      type: ProviderNode,
      nullable: true,
      resolve: (g, _a, ctx) => loadProvider(ctx, g.provider),
    }),
    providerId: t.id({ nullable: true, resolve: (g) => g.provider }),
    client: t.field({
      type: ClientRef,
      nullable: true,
      resolve: (g, _a, ctx) => loadClient(ctx, g.client),
    }),
    clientId: t.id({ nullable: true, resolve: (g) => g.client }),
    keyId: t.string({ nullable: true, resolve: (g) => g.key }),
    model: t.string({ nullable: true, resolve: (g) => g.model }),
    outcome: t.field({ type: OutcomeEnum, nullable: true, resolve: (g) => g.outcome }),
    summary: t.field({ type: UsageSummaryRef, resolve: (g) => g.summary }),
    series: t.field({
      type: [UsagePointRef],
      description:
        'One point per hour (windows up to 48 h) or per day (in TOLLGATE_TIME_ZONE), gaps included.',
      resolve: (g) => g.series,
    }),
  }),
});

const UsageReportRef = builder.objectRef<UsageReport>('UsageReport').implement({
  fields: (t) => ({
    from: t.field({ type: 'DateTime', resolve: (r) => r.from }),
    to: t.field({ type: 'DateTime', resolve: (r) => r.to }),
    bucket: t.field({ type: TimeBucketEnum, resolve: (r) => r.bucket }),
    groupBy: t.field({ type: [UsageDimensionEnum], resolve: (r) => r.groupBy }),
    totals: t.field({ type: UsageSummaryRef, resolve: (r) => r.totals }),
    groups: t.field({ type: [UsageGroupRef], resolve: (r) => r.groups }),
    rolledUpHours: t.exposeInt('rolledUpHours', {
      description: 'Whole hours answered from hourly rollups; everything else came from raw events.',
    }),
  }),
});

const UsageFilter = builder.inputType('UsageFilter', {
  fields: (t) => ({
    providers: t.stringList({ description: 'Provider slugs.' }),
    clients: t.idList({ description: 'Client ids.' }),
    keys: t.stringList({ description: 'Provider key ids.' }),
    models: t.stringList(),
    outcomes: t.field({ type: [OutcomeEnum] }),
  }),
});

builder.queryField('usage', (t) =>
  t.field({
    type: UsageReportRef,
    description: 'Usage over `range` (default LAST_DAY) or `from`–`to` (at most 400 days).',
    args: {
      range: t.arg({ type: UsageRangeEnum }),
      from: t.arg({ type: 'DateTime' }),
      to: t.arg({ type: 'DateTime' }),
      groupBy: t.arg({ type: [UsageDimensionEnum] }),
      filter: t.arg({ type: UsageFilter }),
    },
    errors: { types: [ValidationError], directResult: true },
    resolve: (_root, args, ctx) => ctx.services.usageReports.report(args),
  }),
);

builder.objectField(ProviderNode, 'usage', (t) =>
  t.loadable({
    type: UsageSummaryRef,
    description:
      'Calls served by this provider (or refused on its behalf) over `range` (default LAST_DAY) or `from`–`to`.',
    args: {
      range: t.arg({ type: UsageRangeEnum }),
      from: t.arg({ type: 'DateTime' }),
      to: t.arg({ type: 'DateTime' }),
    },
    // A list of providers is one report grouped by provider (one batch per place in the query,
    // where the arguments are the same), not one report per provider.
    byPath: true,
    loaderOptions: { cacheKeyFn: (provider: Provider) => provider.id },
    load: async (providers: Provider[], ctx, args) => {
      const report = await ctx.services.usageReports.report(
        {
          range: args.from || args.to ? args.range : (args.range ?? 'LAST_DAY'),
          from: args.from,
          to: args.to,
          groupBy: ['PROVIDER'],
        },
        // By id: the providers are at hand, no need to look their slugs up again.
        { series: false, providerIds: [...new Set(providers.map((p) => p.id))] },
      );
      const byId = new Map(report.groups.map((g) => [g.provider, g.summary]));
      return providers.map((p) => byId.get(p.id) ?? summarize(emptyTotals()));
    },
    resolve: (provider) => provider,
  }),
);
