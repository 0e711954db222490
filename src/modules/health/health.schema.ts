import { actorOf } from '../../context.ts';
import { builder } from '../../graphql/builder.ts';
import { NotFoundError, ValidationError } from '../../shared/errors.ts';
import { HEALTH_STATUS_NAMES, type HealthChangedEvent } from '../events/event-bus.ts';
import { filterEvents } from '../events/filter-events.ts';
import { ProviderNode } from '../providers/provider.schema.ts';
import type { HealthCheck, HealthTransition, ProviderHealthRow } from './health.entity.ts';
import type { Uptime } from './health.service.ts';
import type { ProbeResult } from './health-monitor.ts';

const HealthStatusEnum = builder.enumType('HealthStatus', {
  values: HEALTH_STATUS_NAMES,
  description:
    'HEALTHY; DEGRADED (slow, or some calls failing); DOWN (probe failing, circuit open, or most calls failing); UNKNOWN (no probe and no recent calls).',
});

const HealthTransitionRef = builder.objectRef<HealthTransition>('HealthTransition').implement({
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (h) => h.at }),
    from: t.field({ type: HealthStatusEnum, resolve: (h) => h.from }),
    to: t.field({ type: HealthStatusEnum, resolve: (h) => h.to }),
    reason: t.exposeString('reason'),
  }),
});

const HealthCheckRef = builder.objectRef<HealthCheck>('HealthCheck').implement({
  description: 'One probe of a provider.',
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (c) => c.at }),
    source: t.exposeString('source', { description: 'SCHEDULED or MANUAL (testProvider).' }),
    ok: t.exposeBoolean('ok'),
    status: t.int({ nullable: true, resolve: (c) => c.status ?? null }),
    latencyMs: t.float({
      nullable: true,
      resolve: (c) => (c.latencyMs == null ? null : Number(c.latencyMs)),
    }),
    error: t.string({ nullable: true, resolve: (c) => c.error ?? null }),
  }),
});

const UptimeRef = builder.objectRef<Uptime>('Uptime').implement({
  fields: (t) => ({
    from: t.field({ type: 'DateTime', resolve: (u) => u.from }),
    to: t.field({ type: 'DateTime', resolve: (u) => u.to }),
    availabilityPercent: t.float({
      nullable: true,
      description: 'Time not DOWN as a share of the time whose status was known.',
      resolve: (u) => u.availabilityPercent,
    }),
    healthyMs: t.float({ resolve: (u) => u.healthyMs }),
    degradedMs: t.float({ resolve: (u) => u.degradedMs }),
    downMs: t.float({ resolve: (u) => u.downMs }),
    unknownMs: t.float({ resolve: (u) => u.unknownMs }),
  }),
});

const UPTIME_MS = {
  LAST_HOUR: 3_600_000,
  LAST_DAY: 86_400_000,
  LAST_WEEK: 7 * 86_400_000,
  LAST_MONTH: 30 * 86_400_000,
};
const UptimeRange = builder.enumType('UptimeRange', {
  values: Object.keys(UPTIME_MS) as (keyof typeof UPTIME_MS)[],
});

type HealthView = { providerId: string; row: ProviderHealthRow | null };

const ProviderHealthRef = builder.objectRef<HealthView>('ProviderHealth').implement({
  description: 'The provider’s health as the cluster sees it (probes, circuit and live traffic).',
  fields: (t) => ({
    status: t.field({ type: HealthStatusEnum, resolve: (h) => h.row?.status ?? 'UNKNOWN' }),
    reason: t.string({ resolve: (h) => h.row?.reason ?? 'no checks yet' }),
    consecutiveFailures: t.int({ resolve: (h) => h.row?.consecutiveFailures ?? 0 }),
    lastError: t.string({ nullable: true, resolve: (h) => h.row?.lastError ?? null }),
    lastCheckAt: t.field({ type: 'DateTime', nullable: true, resolve: (h) => h.row?.lastCheckAt ?? null }),
    lastLatencyMs: t.float({
      nullable: true,
      resolve: (h) => (h.row?.lastLatencyMs == null ? null : Number(h.row.lastLatencyMs)),
    }),
    changedAt: t.field({ type: 'DateTime', nullable: true, resolve: (h) => h.row?.changedAt ?? null }),
    // Batched per place in the query (same `last`): a list of providers reads them in two queries.
    history: t.loadableList({
      type: HealthTransitionRef,
      description: 'Status changes, newest first.',
      args: { last: t.arg.int({ defaultValue: 20 }) },
      byPath: true,
      load: (providerIds: string[], ctx, args) =>
        ctx.services.health.historyMany(providerIds, args.last ?? 20),
      resolve: (h) => h.providerId,
    }),
    probes: t.loadableList({
      type: HealthCheckRef,
      description: 'Probe results, newest first.',
      args: { last: t.arg.int({ defaultValue: 20 }) },
      byPath: true,
      load: (providerIds: string[], ctx, args) =>
        ctx.services.health.probesMany(providerIds, args.last ?? 20),
      resolve: (h) => h.providerId,
    }),
    uptime: t.loadable({
      type: UptimeRef,
      description: 'Availability over `range` (default LAST_DAY) or `from`–`to`.',
      args: {
        range: t.arg({ type: UptimeRange }),
        from: t.arg({ type: 'DateTime' }),
        to: t.arg({ type: 'DateTime' }),
      },
      // One batch per place in the query (same arguments): every provider's uptime in one go.
      byPath: true,
      load: (providerIds: string[], ctx, args) => {
        const to = args.to ?? new Date();
        const from = args.from ?? new Date(to.getTime() - UPTIME_MS[args.range ?? 'LAST_DAY']);
        if (from >= to) throw new ValidationError([{ path: ['from'], message: 'must be before to' }]);
        return ctx.services.health.uptimeMany(providerIds, from, to);
      },
      resolve: (h) => h.providerId,
    }),
  }),
});

builder.objectField(ProviderNode, 'health', (t) =>
  t.loadable({
    type: ProviderHealthRef,
    // Batched: a list of providers reads their health rows in one query.
    load: async (providerIds: string[], ctx) => {
      const rows = await ctx.services.health.currentMany(providerIds);
      return providerIds.map((providerId, i) => ({ providerId, row: rows[i] ?? null }));
    },
    resolve: (provider) => provider.id,
  }),
);

const ProbeResultRef = builder.objectRef<ProbeResult>('ProbeResult').implement({
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (r) => r.at }),
    ok: t.exposeBoolean('ok'),
    status: t.int({ nullable: true, resolve: (r) => r.status }),
    latencyMs: t.float({ nullable: true, resolve: (r) => r.latencyMs }),
    error: t.string({ nullable: true, resolve: (r) => r.error }),
    skipped: t.exposeBoolean('skipped', {
      description: 'True when the provider’s rate limit left no room for a probe.',
    }),
  }),
});

const TestProviderPayload = builder
  .objectRef<{ result: ProbeResult; providerId: string }>('TestProviderPayload')
  .implement({
    fields: (t) => ({
      result: t.field({ type: ProbeResultRef, resolve: (p) => p.result }),
      health: t.field({
        type: ProviderHealthRef,
        resolve: async (p, _a, ctx) => ({
          providerId: p.providerId,
          row: await ctx.services.health.current(p.providerId),
        }),
      }),
    }),
  });

builder.mutationField('testProvider', (t) =>
  t.field({
    type: TestProviderPayload,
    skipTypeScopes: true,
    authScopes: { operator: true },
    description: 'Probes the provider now with its probe settings (operator and above).',
    args: { slug: t.arg.string({ required: true }) },
    errors: { types: [NotFoundError], directResult: true },
    resolve: (_root, { slug }, ctx) => ctx.services.health.test(actorOf(ctx), slug),
  }),
);

export const HealthEventRef = builder.objectRef<HealthChangedEvent>('ProviderHealthEvent').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.field({ type: 'DateTime', resolve: (e) => new Date(e.at) }),
    provider: t.exposeString('providerSlug'),
    from: t.field({ type: HealthStatusEnum, resolve: (e) => e.from }),
    to: t.field({ type: HealthStatusEnum, resolve: (e) => e.to }),
    reason: t.exposeString('reason'),
  }),
});

builder.subscriptionField('providerHealthChanged', (t) =>
  t.field({
    type: HealthEventRef,
    args: { provider: t.arg.string({ description: 'Only this provider (slug); all when omitted.' }) },
    subscribe: (_root, args, ctx) =>
      filterEvents(
        ctx.services.events.subscribe('health.changed', ctx.onSlowConsumer),
        (e) => !args.provider || e.providerSlug === args.provider,
      ),
    resolve: (event) => event,
  }),
);
