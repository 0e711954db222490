import { actorOf, type Context } from '../../context.ts';
import { builder } from '../../graphql/builder.ts';
import { requireRole } from '../../shared/actor.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { CIRCUIT_STATES, type CircuitChangedEvent } from '../events/event-bus.ts';
import { filterEvents } from '../events/filter-events.ts';
import { ProviderNode } from '../providers/provider.schema.ts';
import { OUTCOMES, type UsageEvent } from '../usage/usage-event.entity.ts';
import type { CircuitStatus } from './circuit-registry.ts';

const CircuitState = builder.enumType('CircuitState', {
  values: CIRCUIT_STATES,
  description:
    'CLOSED: calls flow. OPEN: refused until the next probe. HALF_OPEN: probing. ISOLATED: tripped by an operator.',
});

const CircuitStatusRef = builder.objectRef<CircuitStatus>('CircuitStatus').implement({
  fields: (t) => ({
    state: t.field({ type: CircuitState, resolve: (c) => c.state }),
    since: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (c) => (c.since ? new Date(c.since) : null),
    }),
    failures: t.exposeInt('failures', { description: 'Consecutive upstream failures.' }),
    nextProbeAt: t.field({
      type: 'DateTime',
      nullable: true,
      resolve: (c) => (c.nextProbeAt ? new Date(c.nextProbeAt) : null),
    }),
    reason: t.exposeString('reason'),
  }),
});

builder.objectField(ProviderNode, 'circuit', (t) =>
  t.field({
    type: CircuitStatusRef,
    description: "This replica's view of the provider's circuit (replicas share transitions).",
    resolve: (provider, _args, ctx) => ctx.services.breakers.status(provider.id),
  }),
);

const RateLimitHeadroomRef = builder
  .objectRef<{ limit: number; remaining: number; resetMs: number }>('RateLimitHeadroom')
  .implement({
    description: "What the provider's rate limit still admits now (as a call's RateLimit-* headers say).",
    fields: (t) => ({
      limit: t.exposeInt('limit', { description: 'Calls per period, burst included.' }),
      remaining: t.exposeInt('remaining', {
        description: 'Calls admitted now before the limit answers 429.',
      }),
      resetMs: t.exposeInt('resetMs', {
        description: 'Until the steady allowance refills; 0 when untouched.',
      }),
    }),
  });

builder.objectField(ProviderNode, 'rateLimitHeadroom', (t) =>
  t.field({
    type: RateLimitHeadroomRef,
    nullable: true,
    description:
      "Null when the provider has no rate limit, or its store (Redis) cannot be read. Shared by every replica with Redis; this replica's own count without.",
    resolve: (provider, _args, ctx) =>
      provider.rateLimit ? ctx.services.limits.headroom(`provider:${provider.id}`, provider.rateLimit) : null,
  }),
);

export const OutcomeEnum = builder.enumType('CallOutcome', { values: OUTCOMES });

const CallRef = builder.objectRef<UsageEvent>('ProxiedCall').implement({
  description: 'One call through /proxy, as metered (written within about a second of its end).',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    requestId: t.exposeString('requestId'),
    method: t.exposeString('method'),
    path: t.exposeString('pathTemplate'),
    status: t.exposeInt('status'),
    outcome: t.field({ type: OutcomeEnum, resolve: (e) => e.outcome }),
    attempts: t.exposeInt('attempts'),
    fallback: t.string({ nullable: true, resolve: (e) => e.fallback ?? null }),
    totalMs: t.float({ resolve: (e) => Number(e.totalMs) }),
    upstreamMs: t.float({
      nullable: true,
      resolve: (e) => (e.upstreamMs == null ? null : Number(e.upstreamMs)),
    }),
    clientId: t.id({ nullable: true, resolve: (e) => e.clientId ?? null }),
    keyId: t.string({ nullable: true, resolve: (e) => e.keyId ?? null }),
    model: t.string({ nullable: true, resolve: (e) => e.model ?? null }),
    promptTokens: t.int({ nullable: true, resolve: (e) => e.promptTokens ?? null }),
    completionTokens: t.int({ nullable: true, resolve: (e) => e.completionTokens ?? null }),
    costMicros: t.field({
      type: 'Micros',
      nullable: true,
      description:
        "What the call cost in the serving provider's currency; null when nothing reached the provider.",
      resolve: (e) => (e.costMicros == null ? null : Number(e.costMicros)),
    }),
    pricedWithoutTokens: t.exposeBoolean('pricedWithoutTokens', {
      description:
        'The provider prices by model but the call carried no token counts: priced per request only.',
    }),
  }),
});

builder.objectField(ProviderNode, 'recentCalls', (t) =>
  t.field({
    type: [CallRef],
    args: { last: t.arg.int({ defaultValue: 20, description: 'At most 200.' }) },
    description: 'The latest calls to this provider, newest first.',
    resolve: (provider, args, ctx) => ctx.services.usage.recentCalls(provider.id, args.last ?? 20),
  }),
);

async function providerOrThrow(slug: string, ctx: Context) {
  const provider = await ctx.services.providers.findBySlug(slug);
  if (!provider) throw new NotFoundError('Provider', slug);
  return provider;
}

const CircuitPayload = builder
  .objectRef<{ provider: string; circuit: CircuitStatus }>('CircuitPayload')
  .implement({
    fields: (t) => ({
      provider: t.exposeString('provider'),
      circuit: t.field({ type: CircuitStatusRef, resolve: (p) => p.circuit }),
    }),
  });

builder.mutationField('tripCircuit', (t) =>
  t.field({
    type: CircuitPayload,
    skipTypeScopes: true,
    authScopes: { operator: true },
    description:
      'Holds the circuit open (ISOLATED) on every replica until resetCircuit; kept in the database, so restarts and an empty Redis do not lift it.',
    args: {
      provider: t.arg.string({ required: true }),
      reason: t.arg.string({ description: 'Shown in the circuit status and audit log.' }),
    },
    errors: { types: [NotFoundError], directResult: true },
    resolve: async (_root, args, ctx) => {
      const actor = actorOf(ctx);
      requireRole(actor, 'operator');
      const provider = await providerOrThrow(args.provider, ctx);
      const reason = `tripped by ${actor.subject}${args.reason ? `: ${args.reason.slice(0, 200)}` : ''}`;
      const circuit = await ctx.services.breakers.trip(provider, reason, actor.subject);
      await ctx.services.audit.recordNow(actor, {
        action: 'circuit.trip',
        targetType: 'Provider',
        targetId: provider.slug,
        details: { reason },
      });
      return { provider: provider.slug, circuit };
    },
  }),
);

builder.mutationField('resetCircuit', (t) =>
  t.field({
    type: CircuitPayload,
    skipTypeScopes: true,
    authScopes: { operator: true },
    description: 'Closes the circuit on every replica and deletes the recorded trip.',
    args: { provider: t.arg.string({ required: true }) },
    errors: { types: [NotFoundError], directResult: true },
    resolve: async (_root, args, ctx) => {
      const actor = actorOf(ctx);
      requireRole(actor, 'operator');
      const provider = await providerOrThrow(args.provider, ctx);
      const circuit = await ctx.services.breakers.reset(provider, `reset by ${actor.subject}`);
      await ctx.services.audit.recordNow(actor, {
        action: 'circuit.reset',
        targetType: 'Provider',
        targetId: provider.slug,
      });
      return { provider: provider.slug, circuit };
    },
  }),
);

export const CircuitEventRef = builder.objectRef<CircuitChangedEvent>('CircuitStateEvent').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.field({ type: 'DateTime', resolve: (e) => new Date(e.at) }),
    provider: t.exposeString('providerSlug'),
    from: t.field({ type: CircuitState, resolve: (e) => e.from }),
    to: t.field({ type: CircuitState, resolve: (e) => e.to }),
    reason: t.exposeString('reason'),
    failures: t.exposeInt('failures'),
  }),
});

builder.subscriptionField('circuitStateChanged', (t) =>
  t.field({
    type: CircuitEventRef,
    args: { provider: t.arg.string({ description: 'Only this provider (slug); all when omitted.' }) },
    subscribe: (_root, args, ctx) =>
      filterEvents(
        ctx.services.events.subscribe('circuit.changed', ctx.onSlowConsumer),
        (e) => !args.provider || e.providerSlug === args.provider,
      ),
    resolve: (event) => event,
  }),
);
