import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

import { HEALTH_STATUS_NAMES } from '../events/event-bus.ts';

export const HEALTH_STATUSES = HEALTH_STATUS_NAMES;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

/**
 * One provider's current health, shared by all replicas. `nextCheckAt` is how replicas take
 * turns: the one whose update moves it forward runs the check, so a check runs once per interval
 * cluster-wide. `status` changes by compare-and-set, so each change is recorded and announced once.
 */
export const ProviderHealthEntity = defineEntity({
  name: 'ProviderHealth',
  tableName: 'provider_health',
  properties: {
    providerId: p.uuid().primary(),
    status: p.enum(HEALTH_STATUSES),
    reason: p.string().length(500),
    consecutiveFailures: p.integer(),
    lastError: p.string().length(500).nullable(),
    lastCheckAt: p.datetime().nullable(),
    lastLatencyMs: p.double().nullable(),
    changedAt: p.datetime(),
    nextCheckAt: p.datetime(),
  },
});

export type ProviderHealthRow = InferEntity<typeof ProviderHealthEntity>;

export const HEALTH_CHECK_SOURCES = ['SCHEDULED', 'MANUAL'] as const;

/** One probe of a provider and its result. */
export const HealthCheckEntity = defineEntity({
  name: 'HealthCheck',
  tableName: 'health_checks',
  properties: {
    id: p.uuid().primary(),
    providerId: p.uuid(),
    at: p.datetime(),
    source: p.enum(HEALTH_CHECK_SOURCES),
    ok: p.boolean(),
    status: p.integer().nullable(),
    latencyMs: p.double().nullable(),
    error: p.string().length(500).nullable(),
  },
  indexes: [{ properties: ['providerId', 'at'] }, { properties: ['at'] }],
});

export type HealthCheck = InferEntity<typeof HealthCheckEntity>;

/** A change of a provider's health status, with why. */
export const HealthTransitionEntity = defineEntity({
  name: 'HealthTransition',
  tableName: 'health_transitions',
  properties: {
    id: p.uuid().primary(),
    providerId: p.uuid(),
    at: p.datetime(),
    from: p.enum(HEALTH_STATUSES),
    to: p.enum(HEALTH_STATUSES),
    reason: p.string().length(500),
  },
  indexes: [{ properties: ['providerId', 'at'] }, { properties: ['at'] }],
});

export type HealthTransition = InferEntity<typeof HealthTransitionEntity>;
