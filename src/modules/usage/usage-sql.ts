import { type RawBuilder, sql } from 'kysely';
import { bucketSql, HISTOGRAM_BUCKETS } from './latency-histogram.ts';
import type { AggregateRow } from './usage-aggregate.ts';
import type { Outcome } from './usage-event.entity.ts';

/**
 * The SQL that aggregates usage, over raw events or over hourly rollups, into rows of the same
 * shape: one per group, outcome and time bucket, with sums and latency histograms.
 */

export const USAGE_DIMENSIONS = ['PROVIDER', 'CLIENT', 'KEY', 'MODEL', 'OUTCOME'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];
/** Dimensions rollups keep; grouping or filtering by any other one reads raw events. */
export const ROLLUP_DIMENSIONS: readonly UsageDimension[] = ['PROVIDER', 'CLIENT', 'OUTCOME'];

export type TimeBucket = 'HOUR' | 'DAY';

export interface UsageFilterIds {
  providerIds?: string[];
  clientIds?: string[];
  keyIds?: string[];
  models?: string[];
  outcomes?: Outcome[];
}

/** Group values of one aggregated row (null where the dimension is not grouped or absent). */
export interface GroupValues {
  provider: string | null;
  client: string | null;
  key: string | null;
  model: string | null;
}

export type BucketedRow = AggregateRow &
  GroupValues & { bucket: Date | null; totalHist: number[] | null; upstreamHist: number[] | null };

export interface Interval {
  from: Date;
  to: Date;
}

const RAW_COLUMNS: Record<Exclude<UsageDimension, 'OUTCOME'>, string> = {
  PROVIDER: 'coalesce(served_by_provider_id, provider_id)',
  CLIENT: 'client_id',
  KEY: 'key_id',
  MODEL: 'model',
};
const ROLLUP_COLUMNS: Partial<Record<UsageDimension, string>> = {
  PROVIDER: 'provider_id',
  CLIENT: 'client_id',
};

function dimensionSelect(dims: readonly UsageDimension[], columns: Partial<Record<UsageDimension, string>>) {
  const pick = (dim: UsageDimension, alias: string) =>
    dims.includes(dim) && columns[dim] ? `${columns[dim]}::text as ${alias}` : `null::text as ${alias}`;
  return [
    pick('PROVIDER', 'provider'),
    pick('CLIENT', 'client'),
    pick('KEY', 'key'),
    pick('MODEL', 'model'),
  ].join(', ');
}

function bucketExpression(bucket: TimeBucket | null, column: string, timeZone: string): RawBuilder<unknown> {
  if (bucket === null) return sql`null::timestamptz`;
  if (bucket === 'HOUR') return sql`date_trunc('hour', ${sql.raw(column)}, 'UTC')`;
  return sql`date_trunc('day', ${sql.raw(column)}, ${timeZone})`;
}

function intervalsSql(column: string, intervals: Interval[]): RawBuilder<unknown> {
  if (intervals.length === 0) return sql`false`;
  return sql.join(
    intervals.map((i) => sql`(${sql.raw(column)} >= ${i.from} and ${sql.raw(column)} < ${i.to})`),
    sql` or `,
  );
}

function filterSql(
  filter: UsageFilterIds,
  columns: Partial<Record<UsageDimension, string>>,
): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [];
  const add = (dim: UsageDimension, values: string[] | undefined, type: string) => {
    if (!values || values.length === 0) return;
    const column = columns[dim];
    if (column) parts.push(sql`${sql.raw(column)} = any(${values}::${sql.raw(type)}[])`);
  };
  add('PROVIDER', filter.providerIds, 'uuid');
  add('CLIENT', filter.clientIds, 'uuid');
  add('KEY', filter.keyIds, 'text');
  add('MODEL', filter.models, 'text');
  if (filter.outcomes && filter.outcomes.length > 0)
    parts.push(sql`outcome = any(${filter.outcomes}::text[])`);
  return parts.length === 0 ? sql`true` : sql.join(parts, sql` and `);
}

const SUMS = `count(*)::float8 as calls,
  coalesce(sum(total_ms), 0)::float8 as "totalMsSum",
  count(upstream_ms)::float8 as "upstreamCalls",
  coalesce(sum(upstream_ms), 0)::float8 as "upstreamMsSum",
  coalesce(sum(prompt_tokens), 0)::float8 as "promptTokens",
  coalesce(sum(completion_tokens), 0)::float8 as "completionTokens",
  coalesce(sum(cached_tokens), 0)::float8 as "cachedTokens",
  coalesce(sum(cost_micros), 0)::float8 as "costMicros",
  (count(*) filter (where priced_without_tokens))::float8 as "pricedWithoutTokens",
  coalesce(sum(request_bytes), 0)::float8 as "requestBytes",
  coalesce(sum(response_bytes), 0)::float8 as "responseBytes"`;

const ROLLUP_SUMS = `sum(calls)::float8 as calls,
  sum(total_ms_sum)::float8 as "totalMsSum",
  sum(upstream_calls)::float8 as "upstreamCalls",
  sum(upstream_ms_sum)::float8 as "upstreamMsSum",
  sum(prompt_tokens)::float8 as "promptTokens",
  sum(completion_tokens)::float8 as "completionTokens",
  sum(cached_tokens)::float8 as "cachedTokens",
  sum(cost_micros)::float8 as "costMicros",
  sum(priced_without_tokens)::float8 as "pricedWithoutTokens",
  sum(request_bytes)::float8 as "requestBytes",
  sum(response_bytes)::float8 as "responseBytes"`;

/** Element-wise sum of a histogram column over the grouped rows. */
export const histogramSum = (column: string, type: 'float8' | 'int' = 'float8') =>
  `array[${Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `coalesce(sum(${column}[${i + 1}]), 0)`).join(', ')}]::${type}[]`;

export interface AggregateQuery {
  dims: readonly UsageDimension[];
  bucket: TimeBucket | null;
  timeZone: string;
  filter: UsageFilterIds;
  intervals: Interval[];
}

/** Daily rollups are picked by their exact day starts (days of another time zone never match). */
export type RollupQuery = AggregateQuery & ({ grain: 0 | 1 } | { grain: 2 | 3; dayStarts: Date[] });

/** Sums per group, outcome and bucket over raw events in `intervals` (no histograms). */
export function rawSums(q: AggregateQuery): RawBuilder<BucketedRow> {
  return sql<BucketedRow>`
    select ${sql.raw(dimensionSelect(q.dims, RAW_COLUMNS))}, outcome,
      ${bucketExpression(q.bucket, 'at', q.timeZone)} as bucket, ${sql.raw(SUMS)},
      null::float8[] as "totalHist", null::float8[] as "upstreamHist"
    from usage_events
    where (${intervalsSql('at', q.intervals)}) and ${filterSql(q.filter, { ...RAW_COLUMNS, OUTCOME: 'outcome' })}
    group by 1, 2, 3, 4, 5, 6`;
}

export interface HistogramRow extends GroupValues {
  /** Null unless OUTCOME is grouped. */
  outcome: Outcome | null;
  bucket: Date | null;
  /** 0: total latency; 1: upstream latency. */
  kind: number;
  b: number;
  n: number;
}

/** Call counts per latency bucket, per group, outcome and time bucket, over raw events. */
export function rawHistograms(q: AggregateQuery): RawBuilder<HistogramRow> {
  const where = sql`(${intervalsSql('at', q.intervals)}) and ${filterSql(q.filter, { ...RAW_COLUMNS, OUTCOME: 'outcome' })}`;
  const outcome = q.dims.includes('OUTCOME') ? 'outcome' : 'null::text';
  const head = sql`${sql.raw(dimensionSelect(q.dims, RAW_COLUMNS))}, ${sql.raw(outcome)} as outcome, ${bucketExpression(q.bucket, 'at', q.timeZone)} as bucket`;
  return sql<HistogramRow>`
    select ${head}, 0 as kind, ${sql.raw(bucketSql('total_ms'))} as b, count(*)::float8 as n
    from usage_events where ${where} group by 1, 2, 3, 4, 5, 6, 8
    union all
    select ${head}, 1 as kind, ${sql.raw(bucketSql('upstream_ms'))} as b, count(*)::float8 as n
    from usage_events where ${where} and upstream_ms is not null group by 1, 2, 3, 4, 5, 6, 8`;
}

function rollupWhere(q: RollupQuery): RawBuilder<unknown> {
  const when =
    'dayStarts' in q ? sql`hour = any(${q.dayStarts}::timestamptz[])` : intervalsSql('hour', q.intervals);
  return sql`grain = ${q.grain} and (${when}) and ${filterSql(q.filter, { ...ROLLUP_COLUMNS, OUTCOME: 'outcome' })}`;
}

/** The same rows as rawSums, read from rollups of `grain`. */
export function rollupSums(q: RollupQuery): RawBuilder<BucketedRow> {
  return sql<BucketedRow>`
    select ${sql.raw(dimensionSelect(q.dims, ROLLUP_COLUMNS))}, outcome,
      ${bucketExpression(q.bucket, 'hour', q.timeZone)} as bucket, ${sql.raw(ROLLUP_SUMS)},
      null::float8[] as "totalHist", null::float8[] as "upstreamHist"
    from usage_rollups where ${rollupWhere(q)}
    group by 1, 2, 3, 4, 5, 6`;
}

export interface HistogramArrayRow extends GroupValues {
  outcome: Outcome | null;
  bucket: Date | null;
  totalHist: number[];
  upstreamHist: number[];
}

/**
 * Latency histograms summed from rollups per group and time bucket. Not per outcome unless
 * OUTCOME is grouped: the outcome split multiplies the rows (and their arrays) several times.
 */
export function rollupHistograms(q: RollupQuery): RawBuilder<HistogramArrayRow> {
  const outcome = q.dims.includes('OUTCOME') ? 'outcome' : 'null::text';
  return sql<HistogramArrayRow>`
    select ${sql.raw(dimensionSelect(q.dims, ROLLUP_COLUMNS))}, ${sql.raw(outcome)} as outcome,
      ${bucketExpression(q.bucket, 'hour', q.timeZone)} as bucket,
      ${sql.raw(histogramSum('total_hist'))} as "totalHist", ${sql.raw(histogramSum('upstream_hist'))} as "upstreamHist"
    from usage_rollups where ${rollupWhere(q)}
    group by 1, 2, 3, 4, 5, 6`;
}
