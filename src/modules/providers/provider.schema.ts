import { actorOf, type Context } from '../../context.ts';
import { builder } from '../../graphql/builder.ts';
import { dropNulls } from '../../graphql/input.ts';
import { ConflictError, NotFoundError, ValidationError, VersionMismatchError } from '../../shared/errors.ts';
import type { ProviderChangedEvent } from '../events/event-bus.ts';
import { filterEvents } from '../events/filter-events.ts';
import type { Provider } from './provider.entity.ts';
import type { ProviderPatch } from './provider.service.ts';
import {
  AUTH_STYLES,
  type BreakerPolicy,
  type BulkheadPolicy,
  type DegradedMode,
  degradedModeSchema,
  HEALTH_CHECK_METHODS,
  type HealthCheckSettings,
  PROVIDER_KINDS,
  type Pricing,
  type ProviderAuth,
  type ProviderSpecInput,
  RATE_LIMIT_MODES,
  type RateLimitPolicy,
  type RetryPolicy,
} from './provider.validation.ts';

const ProviderKind = builder.enumType('ProviderKind', {
  values: PROVIDER_KINDS,
  description: 'GENERIC_HTTP for any HTTP API; OPENAI_COMPATIBLE adds token metering and model pricing.',
});
const AuthStyle = builder.enumType('AuthStyle', {
  values: AUTH_STYLES,
  description:
    'How the provider key is injected: Authorization bearer, a named header, a query parameter, or none.',
});
const RateLimitMode = builder.enumType('RateLimitMode', {
  values: RATE_LIMIT_MODES,
  description: 'REJECT answers 429 at once; QUEUE waits in a bounded FIFO queue first.',
});
const HealthCheckMethod = builder.enumType('HealthCheckMethod', { values: HEALTH_CHECK_METHODS });

// ---- output types ---------------------------------------------------------------------------

const ProviderAuthRef = builder.objectRef<ProviderAuth>('ProviderAuth').implement({
  fields: (t) => ({
    style: t.field({ type: AuthStyle, resolve: (a) => a.style }),
    name: t.string({
      nullable: true,
      description: 'Header or query parameter name.',
      resolve: (a) => a.name,
    }),
  }),
});

const RetryPolicyRef = builder.objectRef<RetryPolicy>('RetryPolicy').implement({
  fields: (t) => ({
    maxAttempts: t.exposeInt('maxAttempts', { description: 'Attempts in all, the first included.' }),
    baseDelayMs: t.exposeInt('baseDelayMs'),
    maxDelayMs: t.exposeInt('maxDelayMs'),
    retryNonIdempotent: t.exposeBoolean('retryNonIdempotent', {
      description: 'Whether POST/PATCH may be retried.',
    }),
    budgetPercent: t.exposeInt('budgetPercent', {
      description: 'Retries allowed, as a percentage of traffic.',
    }),
  }),
});

const BreakerPolicyRef = builder.objectRef<BreakerPolicy>('BreakerPolicy').implement({
  fields: (t) => ({
    failureThreshold: t.exposeInt('failureThreshold', {
      description: 'Consecutive failures that open the circuit.',
    }),
    halfOpenAfterMs: t.exposeInt('halfOpenAfterMs'),
    successThreshold: t.exposeInt('successThreshold', {
      description: 'Successful probes that close it again.',
    }),
  }),
});

const BulkheadPolicyRef = builder.objectRef<BulkheadPolicy>('BulkheadPolicy').implement({
  description:
    'Upstream calls to the provider in flight at once (per replica), and the short queue behind them; calls beyond both are refused with 503 PROVIDER_SATURATED.',
  fields: (t) => ({
    maxConcurrent: t.exposeInt('maxConcurrent', { description: 'Calls in flight at once.' }),
    maxQueue: t.exposeInt('maxQueue', { description: 'Calls that may wait for a slot.' }),
    maxQueueWaitMs: t.exposeInt('maxQueueWaitMs', { description: 'How long a call may wait for a slot.' }),
  }),
});

export const RateLimitPolicyRef = builder.objectRef<RateLimitPolicy>('RateLimitPolicy').implement({
  fields: (t) => ({
    points: t.exposeInt('points', { description: 'Calls allowed per period.' }),
    periodMs: t.exposeInt('periodMs'),
    burst: t.exposeInt('burst', { description: 'Extra calls allowed above the steady rate.' }),
    mode: t.field({ type: RateLimitMode, resolve: (r) => r.mode }),
    maxQueueWaitMs: t.exposeInt('maxQueueWaitMs'),
    maxQueueSize: t.exposeInt('maxQueueSize'),
  }),
});

const HealthCheckRef = builder.objectRef<HealthCheckSettings>('HealthCheckSettings').implement({
  fields: (t) => ({
    enabled: t.exposeBoolean('enabled'),
    path: t.exposeString('path'),
    method: t.field({ type: HealthCheckMethod, resolve: (h) => h.method }),
    expectedStatus: t.exposeInt('expectedStatus'),
    intervalMs: t.exposeInt('intervalMs'),
    timeoutMs: t.exposeInt('timeoutMs'),
  }),
});

type ModelPrice = Pricing['models'][number];
const ModelPriceRef = builder.objectRef<ModelPrice>('ModelPrice').implement({
  fields: (t) => ({
    model: t.exposeString('model'),
    inputPerMillionMicros: t.field({ type: 'Micros', resolve: (m) => m.inputPerMillionMicros }),
    outputPerMillionMicros: t.field({ type: 'Micros', resolve: (m) => m.outputPerMillionMicros }),
    cachedInputPerMillionMicros: t.field({
      type: 'Micros',
      nullable: true,
      resolve: (m) => m.cachedInputPerMillionMicros,
    }),
  }),
});

const PricingRef = builder.objectRef<Pricing>('Pricing').implement({
  fields: (t) => ({
    currency: t.exposeString('currency'),
    perRequestMicros: t.field({ type: 'Micros', resolve: (p) => p.perRequestMicros }),
    estimateMicros: t.field({
      type: 'Micros',
      nullable: true,
      description: 'Cost reserved against budgets before a call when the request does not bound it.',
      resolve: (p) => p.estimateMicros,
    }),
    models: t.field({ type: [ModelPriceRef], resolve: (p) => p.models }),
  }),
});

const DegradedModeRef = builder.objectRef<DegradedMode>('DegradedMode').implement({
  description: 'What callers get when the provider and its fallbacks cannot serve.',
  fields: (t) => ({
    staleOnError: t.exposeBoolean('staleOnError', {
      description: 'Answer a GET with a recent cached answer (x-tollgate-fallback: stale-cache).',
    }),
    staleTtlMs: t.exposeInt('staleTtlMs', { description: 'How old a cached answer may be.' }),
    staticStatus: t.exposeInt('staticStatus'),
    staticContentType: t.exposeString('staticContentType'),
    staticBody: t.string({
      nullable: true,
      description: 'A fixed answer (x-tollgate-fallback: static), e.g. links for manual research.',
      resolve: (d) => d.staticBody,
    }),
  }),
});

const ProviderRef = builder.objectRef<Provider>('Provider');

export const ProviderNode = builder.loadableNode(ProviderRef, {
  description: 'A third-party API that callers reach through /proxy/{slug}/.',
  id: { resolve: (p) => p.id },
  load: async (ids: string[], ctx) => {
    const rows = await ctx.services.providers.findByIds(ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? new NotFoundError('Provider', id));
  },
  fields: (t) => ({
    slug: t.exposeString('slug'),
    name: t.exposeString('name'),
    kind: t.field({ type: ProviderKind, resolve: (p) => p.kind }),
    baseUrl: t.exposeString('baseUrl'),
    enabled: t.exposeBoolean('enabled'),
    auth: t.field({ type: ProviderAuthRef, resolve: (p) => p.auth }),
    timeoutMs: t.exposeInt('timeoutMs', { description: 'One deadline covering every attempt of a call.' }),
    retry: t.field({ type: RetryPolicyRef, resolve: (p) => p.retry }),
    breaker: t.field({ type: BreakerPolicyRef, resolve: (p) => p.breaker }),
    bulkhead: t.field({ type: BulkheadPolicyRef, resolve: (p) => p.bulkhead }),
    rateLimit: t.field({ type: RateLimitPolicyRef, nullable: true, resolve: (p) => p.rateLimit ?? null }),
    healthCheck: t.field({ type: HealthCheckRef, resolve: (p) => p.healthCheck }),
    pricing: t.field({ type: PricingRef, resolve: (p) => p.pricing }),
    fallbacks: t.field({
      type: [ProviderRef],
      description: 'Providers tried in order when this one cannot serve a call.',
      // Through the request's provider loader: a list of providers reads their fallbacks in one query.
      resolve: (p, _args, ctx) => loadProviders(ctx, p.fallbackIds),
    }),
    allowPrivateNetwork: t.exposeBoolean('allowPrivateNetwork'),
    degradedMode: t.field({
      type: DegradedModeRef,
      resolve: (p) => p.degradedMode ?? degradedModeSchema.parse(undefined),
    }),
    keyPattern: t.string({
      nullable: true,
      description: 'Regular expression every stored key must match.',
      resolve: (p) => p.keyPattern ?? null,
    }),
    version: t.exposeInt('version', {
      description: 'Send it back with updates: a stale version is refused.',
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (p) => p.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (p) => p.updatedAt }),
  }),
});

// ---- inputs ---------------------------------------------------------------------------------

const ProviderAuthInput = builder.inputType('ProviderAuthInput', {
  fields: (t) => ({
    style: t.field({ type: AuthStyle, required: true }),
    name: t.string({ description: 'Header name (HEADER) or query parameter name (QUERY).' }),
  }),
});

const RetryPolicyInput = builder.inputType('RetryPolicyInput', {
  fields: (t) => ({
    maxAttempts: t.int({ description: 'Default 3.' }),
    baseDelayMs: t.int({ description: 'Default 200.' }),
    maxDelayMs: t.int({ description: 'Default 10000.' }),
    retryNonIdempotent: t.boolean({ description: 'Default false.' }),
    budgetPercent: t.int({ description: 'Default 20.' }),
  }),
});

const BreakerPolicyInput = builder.inputType('BreakerPolicyInput', {
  fields: (t) => ({
    failureThreshold: t.int({ description: 'Default 5.' }),
    halfOpenAfterMs: t.int({ description: 'Default 30000.' }),
    successThreshold: t.int({ description: 'Default 3.' }),
  }),
});

/**
 * Providers by id through the request's provider loader (every id asked for in the same tick goes
 * into one query), in the order asked, leaving out ids that no longer exist.
 */
export async function loadProviders(ctx: Context, ids: readonly string[]): Promise<Provider[]> {
  if (ids.length === 0) return [];
  const loaded = await ProviderNode.getDataloader(ctx).loadMany(ids);
  return loaded.filter((p): p is Provider => !(p instanceof Error));
}

/** One provider by id through the request's loader; null when there is no id or no such provider. */
export async function loadProvider(ctx: Context, id: string | null | undefined): Promise<Provider | null> {
  return id ? ((await loadProviders(ctx, [id]))[0] ?? null) : null;
}

const BulkheadPolicyInput = builder.inputType('BulkheadPolicyInput', {
  fields: (t) => ({
    maxConcurrent: t.int({ description: 'Default 128.' }),
    maxQueue: t.int({ description: 'Default 64.' }),
    maxQueueWaitMs: t.int({ description: 'Default 1000.' }),
  }),
});

export const RateLimitPolicyInput = builder.inputType('RateLimitPolicyInput', {
  fields: (t) => ({
    points: t.int({ required: true }),
    periodMs: t.int({ required: true }),
    burst: t.int({ description: 'Default 0.' }),
    mode: t.field({ type: RateLimitMode, description: 'Default REJECT.' }),
    maxQueueWaitMs: t.int({ description: 'Default 30000 (QUEUE mode).' }),
    maxQueueSize: t.int({ description: 'Default 100 (QUEUE mode).' }),
  }),
});

const HealthCheckInput = builder.inputType('HealthCheckInput', {
  fields: (t) => ({
    enabled: t.boolean({ description: 'Default false.' }),
    path: t.string({ description: 'Default "/".' }),
    method: t.field({ type: HealthCheckMethod, description: 'Default GET.' }),
    expectedStatus: t.int({ description: 'Default 200.' }),
    intervalMs: t.int({ description: 'Default 60000.' }),
    timeoutMs: t.int({ description: 'Default 5000, at most 5000.' }),
  }),
});

const DegradedModeInput = builder.inputType('DegradedModeInput', {
  fields: (t) => ({
    staleOnError: t.boolean({ description: 'Default false.' }),
    staleTtlMs: t.int({ description: 'Default 3600000 (1 h).' }),
    staticStatus: t.int({ description: 'Default 200.' }),
    staticContentType: t.string({ description: 'Default application/json.' }),
    staticBody: t.string({ description: 'At most 64 KiB; null for none.' }),
  }),
});

const ModelPriceInput = builder.inputType('ModelPriceInput', {
  fields: (t) => ({
    model: t.string({ required: true }),
    inputPerMillionMicros: t.field({ type: 'Micros', required: true }),
    outputPerMillionMicros: t.field({ type: 'Micros', required: true }),
    cachedInputPerMillionMicros: t.field({ type: 'Micros' }),
  }),
});

const PricingInput = builder.inputType('PricingInput', {
  fields: (t) => ({
    currency: t.string({ description: 'ISO 4217 code. Default USD.' }),
    perRequestMicros: t.field({ type: 'Micros', description: 'Default 0.' }),
    estimateMicros: t.field({ type: 'Micros' }),
    models: t.field({ type: [ModelPriceInput] }),
  }),
});

const settingsFields = (t: Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0]) => ({
  name: t.string(),
  kind: t.field({ type: ProviderKind, description: 'Default GENERIC_HTTP.' }),
  baseUrl: t.string({
    description: 'http(s) URL that /proxy/{slug}/ maps to; no credentials, query or fragment.',
  }),
  auth: t.field({ type: ProviderAuthInput, description: 'Default BEARER.' }),
  timeoutMs: t.int({ description: 'Default 30000.' }),
  retry: t.field({ type: RetryPolicyInput }),
  breaker: t.field({ type: BreakerPolicyInput }),
  bulkhead: t.field({ type: BulkheadPolicyInput }),
  rateLimit: t.field({ type: RateLimitPolicyInput, description: 'null means no provider rate limit.' }),
  healthCheck: t.field({ type: HealthCheckInput }),
  pricing: t.field({ type: PricingInput }),
  fallbacks: t.stringList({ description: 'Slugs of providers to fall back to, in order.' }),
  allowPrivateNetwork: t.boolean({
    description: 'Default false: loopback and private addresses are refused.',
  }),
  keyPattern: t.string({
    description: 'Regular expression (JavaScript, u flag) every stored key must match.',
  }),
  degradedMode: t.field({ type: DegradedModeInput }),
});

const CreateProviderInput = builder.inputType('CreateProviderInput', {
  fields: (t) => ({
    slug: t.string({ required: true, description: 'URL-safe id: lowercase letters, digits, hyphens.' }),
    enabled: t.boolean({ description: 'Default true.' }),
    ...settingsFields(t),
    name: t.string({ required: true }),
    baseUrl: t.string({ required: true, description: 'http(s) URL that /proxy/{slug}/ maps to.' }),
  }),
});

const UpdateProviderInput = builder.inputType('UpdateProviderInput', {
  description: 'Fields left out keep their value; nested settings merge field by field.',
  fields: (t) => ({
    slug: t.string({ required: true }),
    version: t.int({ required: true, description: 'The version you read; a stale one is refused.' }),
    ...settingsFields(t),
  }),
});

/** Fields where an explicit null means "remove", not "leave as is". */
const NULL_MEANS_CLEAR = [
  'rateLimit',
  'pricing.estimateMicros',
  'auth.name',
  'keyPattern',
  'degradedMode.staticBody',
];

// ---- payloads -------------------------------------------------------------------------------

const ProviderPayload = builder.objectRef<{ provider: Provider }>('ProviderPayload').implement({
  fields: (t) => ({ provider: t.field({ type: ProviderRef, resolve: (p) => p.provider }) }),
});

const DeleteProviderPayload = builder.objectRef<{ provider: Provider }>('DeleteProviderPayload').implement({
  fields: (t) => ({
    deletedId: t.globalID({ resolve: (p) => ({ type: 'Provider', id: p.provider.id }) }),
    slug: t.string({ resolve: (p) => p.provider.slug }),
  }),
});

// ---- queries --------------------------------------------------------------------------------

const ProviderFilter = builder.inputType('ProviderFilter', {
  fields: (t) => ({
    enabled: t.boolean(),
    kind: t.field({ type: ProviderKind }),
    search: t.string({ description: 'Matches slug or name, case-insensitive.' }),
  }),
});

builder.queryField('provider', (t) =>
  t.field({
    type: ProviderRef,
    nullable: true,
    args: { slug: t.arg.string({ required: true }) },
    resolve: (_root, { slug }, ctx) => ctx.services.providers.findBySlug(slug),
  }),
);

builder.queryField('providers', (t) =>
  t.connection(
    {
      type: ProviderRef,
      args: { filter: t.arg({ type: ProviderFilter }) },
      resolve: (_root, args, ctx) => ctx.services.providers.list(args.filter ?? {}, args),
    },
    {
      fields: (c) => ({
        totalCount: c.int({
          description: 'How many match the filter across every page (counted only when asked for).',
          resolve: (connection) => connection.totalCount(),
        }),
      }),
    },
  ),
);

// ---- mutations (admin) ----------------------------------------------------------------------

builder.mutationField('createProvider', (t) =>
  t.field({
    type: ProviderPayload,
    args: { input: t.arg({ type: CreateProviderInput, required: true }) },
    errors: { types: [ValidationError, ConflictError], directResult: true },
    resolve: async (_root, { input }, ctx) => ({
      provider: await ctx.services.providers.create(
        actorOf(ctx),
        dropNulls(input, NULL_MEANS_CLEAR) as ProviderSpecInput,
      ),
    }),
  }),
);

builder.mutationField('updateProvider', (t) =>
  t.field({
    type: ProviderPayload,
    args: { input: t.arg({ type: UpdateProviderInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, VersionMismatchError, ConflictError],
      directResult: true,
    },
    resolve: async (_root, { input }, ctx) => {
      const { slug, version, ...patch } = input;
      const provider = await ctx.services.providers.update(
        actorOf(ctx),
        slug,
        version,
        dropNulls(patch, NULL_MEANS_CLEAR) as ProviderPatch,
      );
      return { provider };
    },
  }),
);

builder.mutationField('setProviderEnabled', (t) =>
  t.field({
    type: ProviderPayload,
    args: {
      slug: t.arg.string({ required: true }),
      enabled: t.arg.boolean({ required: true }),
      version: t.arg.int({ description: 'When given, refused if the provider changed since.' }),
    },
    errors: { types: [NotFoundError, VersionMismatchError, ConflictError], directResult: true },
    resolve: async (_root, args, ctx) => ({
      provider: await ctx.services.providers.setEnabled(actorOf(ctx), args.slug, args.enabled, args.version),
    }),
  }),
);

builder.mutationField('deleteProvider', (t) =>
  t.field({
    type: DeleteProviderPayload,
    args: {
      slug: t.arg.string({ required: true }),
      version: t.arg.int({ description: 'When given, refused if the provider changed since.' }),
    },
    errors: { types: [NotFoundError, VersionMismatchError, ConflictError], directResult: true },
    resolve: async (_root, args, ctx) => ({
      provider: await ctx.services.providers.delete(actorOf(ctx), args.slug, args.version),
    }),
  }),
);

// ---- subscription ---------------------------------------------------------------------------

const ProviderChange = builder.enumType('ProviderChange', {
  values: ['CREATED', 'UPDATED', 'DELETED'] as const,
});

const ProviderChangedEventRef = builder.objectRef<ProviderChangedEvent>('ProviderChangedEvent').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.field({ type: 'DateTime', resolve: (e) => new Date(e.at) }),
    change: t.field({ type: ProviderChange, resolve: (e) => e.change }),
    slug: t.exposeString('slug'),
    actor: t.exposeString('actor'),
    provider: t.field({
      type: ProviderRef,
      nullable: true,
      description: 'The provider as it is now; null once deleted.',
      resolve: (e, _args, ctx) => (e.change === 'DELETED' ? null : ctx.services.providers.findBySlug(e.slug)),
    }),
  }),
});

builder.subscriptionField('providerChanged', (t) =>
  t.field({
    type: ProviderChangedEventRef,
    args: { slug: t.arg.string({ description: 'Only this provider; all when omitted.' }) },
    subscribe: (_root, args, ctx) =>
      filterEvents(
        ctx.services.events.subscribe('provider.changed', ctx.onSlowConsumer),
        (e) => !args.slug || e.slug === args.slug,
      ),
    resolve: (event) => event,
  }),
);
