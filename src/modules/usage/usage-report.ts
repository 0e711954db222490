import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Orm } from '../../db/orm.ts';
import { ValidationError } from '../../shared/errors.ts';
import { periodBounds } from '../budgets/budget-period.ts';
import { ProviderEntity } from '../providers/provider.entity.ts';
import {
  addHistogram,
  addRow,
  addTotals,
  emptyTotals,
  summarize,
  type UsageSummary,
  type UsageTotals,
} from './usage-aggregate.ts';
import type { Outcome } from './usage-event.entity.ts';
import {
  type AggregateQuery,
  type BucketedRow,
  type GroupValues,
  type HistogramArrayRow,
  type Interval,
  ROLLUP_DIMENSIONS,
  type RollupQuery,
  rawHistograms,
  rawSums,
  rollupHistograms,
  rollupSums,
  type TimeBucket,
  type UsageDimension,
  type UsageFilterIds,
} from './usage-sql.ts';

export const USAGE_RANGES = ['LAST_HOUR', 'LAST_DAY', 'LAST_WEEK', 'LAST_MONTH'] as const;
export type UsageRange = (typeof USAGE_RANGES)[number];
const RANGE_MS: Record<UsageRange, number> = {
  LAST_HOUR: 3_600_000,
  LAST_DAY: 86_400_000,
  LAST_WEEK: 7 * 86_400_000,
  LAST_MONTH: 30 * 86_400_000,
};
const HOUR_MS = 3_600_000;
/** Reports cover at most this much time (rollups are kept longer than raw events). */
export const MAX_REPORT_DAYS = 400;
/** Ranges up to this long get hourly series; longer ones daily. */
const HOURLY_SERIES_UP_TO_MS = 48 * HOUR_MS;

export interface ReportInput {
  range?: UsageRange | null;
  from?: Date | null;
  to?: Date | null;
  groupBy?: UsageDimension[] | null;
  filter?: {
    providers?: string[] | null;
    clients?: string[] | null;
    keys?: string[] | null;
    models?: string[] | null;
    outcomes?: Outcome[] | null;
  } | null;
}

export interface UsageGroup extends GroupValues {
  outcome: Outcome | null;
  summary: UsageSummary;
  series: { start: Date; summary: UsageSummary }[];
}

export interface UsageReport {
  from: Date;
  to: Date;
  bucket: TimeBucket;
  groupBy: UsageDimension[];
  totals: UsageSummary;
  groups: UsageGroup[];
  /** Whole hours read from rollups; the rest came from raw events. */
  rolledUpHours: number;
}

interface Group {
  values: GroupValues & { outcome: Outcome | null };
  totals: UsageTotals;
  series: Map<number, UsageTotals>;
}

/**
 * Usage reports. Whole hours that are rolled up (and unchanged since) are read from rollups;
 * the partial hours at either end, hours changed since their rollup, and every hour when the
 * report needs a dimension rollups do not keep (key, model), are read from raw events. Both
 * give the same rows (sums and latency histograms), merged here.
 */
export class UsageReports {
  readonly #orm: Orm;
  readonly #timeZone: string;
  readonly #retentionDays: number;

  constructor(deps: { orm: Orm; timeZone: string; retentionDays: number }) {
    this.#orm = deps.orm;
    this.#timeZone = deps.timeZone;
    this.#retentionDays = deps.retentionDays;
  }

  /**
   * `providerIds`: the providers by id, for a caller that holds them already (a list of providers
   * asking for their usage), instead of `filter.providers` by slug, which costs a lookup first.
   */
  async report(
    input: ReportInput,
    options: { series?: boolean; now?: Date; providerIds?: string[] } = {},
  ): Promise<UsageReport> {
    const now = options.now ?? new Date();
    const { from, to } = this.#window(input, now);
    const groupBy = [...new Set(input.groupBy ?? [])];
    const filter = await this.#resolveFilter(input.filter ?? {});
    if (options.providerIds) filter.providerIds = options.providerIds;
    const needsRaw =
      groupBy.some((d) => !ROLLUP_DIMENSIONS.includes(d)) ||
      (filter.keyIds?.length ?? 0) > 0 ||
      (filter.models?.length ?? 0) > 0;
    const rawFloor = new Date(now.getTime() - this.#retentionDays * 86_400_000);
    if (needsRaw && from < rawFloor) {
      throw new ValidationError([
        {
          path: ['from'],
          message: `raw usage events are kept ${this.#retentionDays} days: start at or after ${rawFloor.toISOString()}, or group and filter by PROVIDER, CLIENT and OUTCOME only (hourly rollups)`,
        },
      ]);
    }
    const bucket: TimeBucket = to.getTime() - from.getTime() <= HOURLY_SERIES_UP_TO_MS ? 'HOUR' : 'DAY';
    const withSeries = options.series !== false;
    const db = this.#orm.em.fork().getKysely() as Kysely<unknown>;

    // Daily rollups can answer whole days unless the series is hourly.
    const { daily, hourly, raw, rolledUpHours } = needsRaw
      ? { daily: [], hourly: [], raw: [{ from, to }], rolledUpHours: 0 }
      : await this.#split(db, from, to, !withSeries || bucket === 'DAY');
    const base = { dims: groupBy, bucket: withSeries ? bucket : null, timeZone: this.#timeZone, filter };
    const grain = groupBy.includes('CLIENT') || (filter.clientIds?.length ?? 0) > 0 ? 1 : 0;
    const days: RollupQuery = {
      ...base,
      grain: grain === 1 ? 3 : 2,
      intervals: daily,
      dayStarts: daily.map((d) => d.from),
    };
    const hours: RollupQuery = { ...base, grain, intervals: hourly };
    const rawQuery: AggregateQuery = { ...base, intervals: raw };
    const none = { rows: [] };
    const [dailyRows, dailyHistograms, rollupRows, rollupHistogramRows, rawRows, histogramRows] =
      await Promise.all([
        daily.length > 0 ? rollupSums(days).execute(db) : none,
        daily.length > 0 ? rollupHistograms(days).execute(db) : none,
        hourly.length > 0 ? rollupSums(hours).execute(db) : none,
        hourly.length > 0 ? rollupHistograms(hours).execute(db) : none,
        raw.length > 0 ? rawSums(rawQuery).execute(db) : none,
        raw.length > 0 ? rawHistograms(rawQuery).execute(db) : none,
      ]);

    const groups = new Map<string, Group>();
    const groupOf = (row: GroupValues & { outcome: Outcome | null }): Group => {
      const values = {
        provider: row.provider,
        client: row.client,
        key: row.key,
        model: row.model,
        outcome: groupBy.includes('OUTCOME') ? row.outcome : null,
      };
      const id = `${values.provider}|${values.client}|${values.key}|${values.model}|${values.outcome}`;
      let group = groups.get(id);
      if (!group) {
        group = { values, totals: emptyTotals(), series: new Map() };
        groups.set(id, group);
      }
      return group;
    };
    const pointOf = (group: Group, start: Date | null): UsageTotals | undefined => {
      if (!start) return undefined;
      const t = new Date(start).getTime();
      let point = group.series.get(t);
      if (!point) {
        point = emptyTotals();
        group.series.set(t, point);
      }
      return point;
    };
    for (const row of [...dailyRows.rows, ...rollupRows.rows, ...rawRows.rows] as BucketedRow[]) {
      const group = groupOf(row);
      const point = pointOf(group, row.bucket);
      for (const target of point ? [group.totals, point] : [group.totals]) addRow(target, row);
    }
    for (const h of [...dailyHistograms.rows, ...rollupHistogramRows.rows] as HistogramArrayRow[]) {
      const group = groupOf(h);
      const point = pointOf(group, h.bucket);
      for (const target of point ? [group.totals, point] : [group.totals]) {
        addHistogram(target.totalHist, h.totalHist);
        addHistogram(target.upstreamHist, h.upstreamHist);
      }
    }
    for (const h of histogramRows.rows) {
      const group = groupOf(h);
      const point = pointOf(group, h.bucket);
      for (const target of point ? [group.totals, point] : [group.totals]) {
        const histogram = h.kind === 0 ? target.totalHist : target.upstreamHist;
        histogram[h.b] = (histogram[h.b] ?? 0) + Number(h.n);
      }
    }

    const totals = emptyTotals();
    for (const group of groups.values()) addTotals(totals, group.totals);
    const starts = withSeries ? this.#bucketStarts(bucket, from, to) : [];
    const report: UsageGroup[] = [...groups.values()]
      .sort((a, b) => b.totals.costMicros - a.totals.costMicros || b.totals.calls - a.totals.calls)
      .map((group) => ({
        ...group.values,
        summary: summarize(group.totals),
        series: starts.map((start) => ({
          start,
          summary: summarize(group.series.get(start.getTime()) ?? emptyTotals()),
        })),
      }));
    return { from, to, bucket, groupBy, totals: summarize(totals), groups: report, rolledUpHours };
  }

  #window(input: ReportInput, now: Date): { from: Date; to: Date } {
    const errors: { path: string[]; message: string }[] = [];
    if (input.range && (input.from || input.to)) {
      errors.push({ path: ['range'], message: 'give either range or from/to, not both' });
    }
    let from: Date;
    let to: Date;
    if (input.from || input.to) {
      if (!input.from) errors.push({ path: ['from'], message: 'is required with to' });
      to = input.to ?? now;
      from = input.from ?? to;
    } else {
      to = now;
      from = new Date(now.getTime() - RANGE_MS[input.range ?? 'LAST_DAY']);
    }
    if (input.from && from >= to) errors.push({ path: ['from'], message: 'must be before to' });
    if (to.getTime() - from.getTime() > MAX_REPORT_DAYS * 86_400_000) {
      errors.push({ path: ['to'], message: `a report covers at most ${MAX_REPORT_DAYS} days` });
    }
    if (errors.length > 0) throw new ValidationError(errors);
    return { from, to };
  }

  async #resolveFilter(filter: NonNullable<ReportInput['filter']>): Promise<UsageFilterIds> {
    const errors: { path: string[]; message: string }[] = [];
    let providerIds: string[] | undefined;
    if (filter.providers && filter.providers.length > 0) {
      const rows = await this.#orm.em
        .fork()
        .find(ProviderEntity, { slug: { $in: filter.providers } }, { fields: ['id', 'slug'] });
      const bySlug = new Map(rows.map((r) => [r.slug, r.id]));
      filter.providers.forEach((slug, i) => {
        if (!bySlug.has(slug))
          errors.push({ path: ['filter', 'providers', String(i)], message: `no provider "${slug}"` });
      });
      providerIds = [...bySlug.values()];
    }
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    (filter.clients ?? []).forEach((id, i) => {
      if (!uuid.test(id))
        errors.push({ path: ['filter', 'clients', String(i)], message: 'is not a client id' });
    });
    if (errors.length > 0) throw new ValidationError(errors);
    return {
      providerIds,
      clientIds: filter.clients ?? undefined,
      keyIds: filter.keys ?? undefined,
      models: filter.models ?? undefined,
      outcomes: filter.outcomes ?? undefined,
    };
  }

  /**
   * Which parts of [from, to) daily rollups, hourly rollups and raw events answer: whole days
   * (in the report time zone) that have daily rollups and no changed hour; other whole hours
   * that are rolled up and unchanged since; and everything else raw.
   */
  async #split(
    db: Kysely<unknown>,
    from: Date,
    to: Date,
    useDays: boolean,
  ): Promise<{ daily: Interval[]; hourly: Interval[]; raw: Interval[]; rolledUpHours: number }> {
    const firstWhole = new Date(Math.ceil(from.getTime() / HOUR_MS) * HOUR_MS);
    const lastWholeEnd = new Date(Math.floor(to.getTime() / HOUR_MS) * HOUR_MS);
    if (firstWhole >= lastWholeEnd) return { daily: [], hourly: [], raw: [{ from, to }], rolledUpHours: 0 };
    const [changed, days] = await Promise.all([
      sql<{ hour: string | Date }>`
        select hour from usage_hours
        where hour >= ${firstWhole} and hour < ${lastWholeEnd} and writes <> rolled_writes`.execute(db),
      useDays
        ? sql<{ day: string | Date; day_end: string | Date }>`
            select day, day_end from usage_days
            where time_zone = ${this.#timeZone} and day >= ${firstWhole} and day_end <= ${lastWholeEnd}`.execute(
            db,
          )
        : Promise.resolve({ rows: [] }),
    ]);
    const dirty = new Set(changed.rows.map((r) => new Date(r.hour).getTime()));
    const dayEnds = new Map<number, number>();
    for (const row of days.rows) {
      const start = new Date(row.day).getTime();
      const end = new Date(row.day_end).getTime();
      let clean = true;
      for (const hour of dirty) if (hour >= start && hour < end) clean = false;
      if (clean) dayEnds.set(start, end);
    }
    const daily: Interval[] = [];
    const hourly: Interval[] = [];
    const raw: Interval[] = [];
    if (from < firstWhole) raw.push({ from, to: firstWhole });
    let rolledUpHours = 0;
    for (let t = firstWhole.getTime(); t < lastWholeEnd.getTime(); ) {
      const dayEnd = dayEnds.get(t);
      if (dayEnd !== undefined) {
        daily.push({ from: new Date(t), to: new Date(dayEnd) });
        rolledUpHours += (dayEnd - t) / HOUR_MS;
        t = dayEnd;
        continue;
      }
      const next = t + HOUR_MS;
      if (dirty.has(t)) raw.push({ from: new Date(t), to: new Date(next) });
      else {
        hourly.push({ from: new Date(t), to: new Date(next) });
        rolledUpHours++;
      }
      t = next;
    }
    if (lastWholeEnd < to) raw.push({ from: lastWholeEnd, to });
    // Daily intervals stay one per day: they are matched by their start.
    return { daily, hourly: merge(hourly), raw: merge(raw), rolledUpHours };
  }

  #bucketStarts(bucket: TimeBucket, from: Date, to: Date): Date[] {
    const starts: Date[] = [];
    if (bucket === 'HOUR') {
      for (let t = Math.floor(from.getTime() / HOUR_MS) * HOUR_MS; t < to.getTime(); t += HOUR_MS) {
        starts.push(new Date(t));
      }
      return starts;
    }
    let day = periodBounds('DAY', this.#timeZone, from, from);
    while (day.start < to && day.end) {
      starts.push(day.start);
      day = periodBounds('DAY', this.#timeZone, day.end, day.end);
    }
    return starts;
  }
}

/** Joins touching intervals (fewer OR branches in the SQL). */
function merge(intervals: Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const interval of intervals) {
    const last = out[out.length - 1];
    if (last && last.to.getTime() === interval.from.getTime()) last.to = interval.to;
    else out.push({ ...interval });
  }
  return out;
}
