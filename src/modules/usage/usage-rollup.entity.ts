import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { OUTCOMES } from './usage-event.entity.ts';

/**
 * Rolled-up usage per UTC hour, at two grains: PROVIDER (provider × outcome) and CLIENT
 * (provider × client × outcome). "Provider" is the one that served the call, or the one asked
 * for when none did. Latency histograms make percentiles computable from rollups. Written and
 * read with SQL by the rollup job and reports; declared here so migrations know the table.
 */
export const UsageRollupEntity = defineEntity({
  name: 'UsageRollup',
  tableName: 'usage_rollups',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    hour: p.datetime(),
    /**
     * 0: provider × outcome per hour; 1: provider × client × outcome per hour; 2 and 3: the
     * same per day (`hour` is then the day's start in the time zone of its usage_days row).
     */
    grain: p.smallint(),
    providerId: p.uuid().nullable(),
    clientId: p.uuid().nullable(),
    outcome: p.enum(OUTCOMES),
    calls: p.integer(),
    totalMsSum: p.double(),
    upstreamCalls: p.integer(),
    upstreamMsSum: p.double(),
    promptTokens: p.bigint('number'),
    completionTokens: p.bigint('number'),
    cachedTokens: p.bigint('number'),
    costMicros: p.bigint('number'),
    pricedWithoutTokens: p.integer(),
    requestBytes: p.bigint('number'),
    responseBytes: p.bigint('number'),
    /** Call counts per latency bucket (see latency-histogram.ts). */
    totalHist: p.array<number>().columnType('int[]'),
    upstreamHist: p.array<number>().columnType('int[]'),
  },
  indexes: [{ properties: ['grain', 'hour'] }, { properties: ['grain', 'providerId', 'hour'] }],
});

/**
 * Which hours have usage events, how many batches wrote to each, and how many had been
 * written when the hour was last rolled up. An hour is served from rollups only while the two
 * agree, so an event that arrives late (after an outage) sends its hour back to raw events
 * until the next rollup.
 */
export const UsageHourEntity = defineEntity({
  name: 'UsageHour',
  tableName: 'usage_hours',
  properties: {
    hour: p.datetime().primary(),
    writes: p.integer(),
    rolledWrites: p.integer().default(0),
    rolledAt: p.datetime().nullable(),
  },
});

export type UsageRollup = InferEntity<typeof UsageRollupEntity>;

/**
 * Days (in a time zone) whose daily rollups were built from clean hourly rollups. Re-rolling
 * any hour of a day removes the day's row and its daily rollups, until it is rebuilt.
 */
export const UsageDayEntity = defineEntity({
  name: 'UsageDay',
  tableName: 'usage_days',
  properties: {
    day: p.datetime().primary(),
    timeZone: p.string().length(64).primary(),
    dayEnd: p.datetime(),
    rolledAt: p.datetime(),
  },
});
