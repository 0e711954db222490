import { randomUUID } from 'node:crypto';
import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import {
  type BreakerPolicy,
  type BulkheadPolicy,
  type DegradedMode,
  type HealthCheckSettings,
  PROVIDER_KINDS,
  type Pricing,
  type ProviderAuth,
  type RateLimitPolicy,
  type RetryPolicy,
} from './provider.validation.ts';

export const ProviderEntity = defineEntity({
  name: 'Provider',
  tableName: 'providers',
  properties: {
    id: p
      .uuid()
      .primary()
      .onCreate(() => randomUUID()),
    slug: p.string().length(63).unique(),
    name: p.string().length(200),
    kind: p.enum(PROVIDER_KINDS),
    baseUrl: p.text(),
    enabled: p.boolean().default(true),
    auth: p.json<ProviderAuth>(),
    timeoutMs: p.integer(),
    retry: p.json<RetryPolicy>(),
    breaker: p.json<BreakerPolicy>(),
    /** Concurrent calls and the short queue behind them (see bulkheadSchema). */
    bulkhead: p.json<BulkheadPolicy>(),
    rateLimit: p.json<RateLimitPolicy>().nullable(),
    healthCheck: p.json<HealthCheckSettings>(),
    pricing: p.json<Pricing>(),
    /** Ordered ids of the providers to try when this one cannot serve. */
    fallbackIds: p.json<string[]>(),
    allowPrivateNetwork: p.boolean().default(false),
    degradedMode: p.json<DegradedMode>().nullable(),
    /** Optional regular expression every stored key must match (catches pasting the wrong key). */
    keyPattern: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    version: p.integer().version(),
  },
  indexes: [{ properties: ['createdAt', 'id'] }],
});

export type Provider = InferEntity<typeof ProviderEntity>;
