import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

export const OUTCOMES = [
  'SUCCESS',
  'CLIENT_ERROR',
  'UPSTREAM_ERROR',
  'TIMEOUT',
  'UNAVAILABLE',
  'RATE_LIMITED',
  'CIRCUIT_OPEN',
  'BUDGET_BLOCKED',
  'FALLBACK',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'DISABLED',
  'PAYLOAD_TOO_LARGE',
  'CLIENT_ABORTED',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/**
 * One proxied call (rejected ones included). Written in batches, never on the request path.
 * The table is partitioned by day on `at` (see usage-partitions.ts), so its primary key includes
 * `at`: PostgreSQL requires the partition key in every unique constraint.
 */
export const UsageEventEntity = defineEntity({
  name: 'UsageEvent',
  tableName: 'usage_events',
  properties: {
    /** Generated when the call ends, so a retried batch insert writes each event once. */
    id: p.uuid().primary(),
    at: p.datetime().primary(),
    requestId: p.string().length(128),
    providerId: p.uuid().nullable(),
    providerSlug: p.string().length(63),
    servedByProviderId: p.uuid().nullable(),
    keyId: p.string().length(64).nullable(),
    clientId: p.uuid().nullable(),
    method: p.string().length(16),
    pathTemplate: p.string().length(300),
    status: p.integer(),
    outcome: p.enum(OUTCOMES),
    attempts: p.integer(),
    fallback: p.string().length(20).nullable(),
    totalMs: p.double(),
    upstreamMs: p.double().nullable(),
    requestBytes: p.bigint('number'),
    responseBytes: p.bigint('number'),
    model: p.string().length(200).nullable(),
    promptTokens: p.integer().nullable(),
    completionTokens: p.integer().nullable(),
    cachedTokens: p.integer().nullable(),
    /** What the call cost, in micro-units of the serving provider's currency; null when nothing was charged. */
    costMicros: p.bigint('number').nullable(),
    pricedWithoutTokens: p.boolean().default(false),
  },
  indexes: [{ properties: ['at'] }, { properties: ['providerId', 'at'] }, { properties: ['clientId', 'at'] }],
});

export type UsageEvent = InferEntity<typeof UsageEventEntity>;
