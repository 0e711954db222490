import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import { periodBounds } from '../budgets/budget-period.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { emptyHistogram } from './latency-histogram.ts';
import { type BucketedRow, histogramSum, rawHistograms, rawSums } from './usage-sql.ts';

const HOUR_MS = 3_600_000;
const ROLLUP_COLUMNS = [
  'hour',
  'grain',
  'provider_id',
  'client_id',
  'outcome',
  'calls',
  'total_ms_sum',
  'upstream_calls',
  'upstream_ms_sum',
  'prompt_tokens',
  'completion_tokens',
  'cached_tokens',
  'cost_micros',
  'priced_without_tokens',
  'request_bytes',
  'response_bytes',
  'total_hist',
  'upstream_hist',
].join(', ');

/**
 * Maintains hourly rollups: every finished hour whose events changed since it was last rolled
 * up (usage_hours.writes ≠ rolled_writes) is recomputed from its raw events, in one transaction
 * that locks the hour's row, so a batch of late events for that hour waits and then marks it
 * changed again. Then every finished day (in the configured time zone) whose hours are all
 * rolled up gets daily rollups summed from them, which long reports read. Replicas may all run
 * this; the row locks make them take turns.
 */
export class UsageRollups {
  readonly #orm: Orm;
  readonly #logger: Logger;
  readonly #timeZone: string;
  #running: Promise<number> | undefined;
  #stopping = false;

  constructor(deps: { orm: Orm; logger: Logger; timeZone: string }) {
    this.#orm = deps.orm;
    this.#logger = deps.logger;
    this.#timeZone = deps.timeZone;
  }

  /**
   * Runs as the `usage-rollup` job on `cron` (once per tick for the whole cluster), or only
   * when called if `cron` is undefined.
   */
  defineJob(jobs: JobQueue, cron: string | undefined): void {
    jobs.define({
      name: 'usage-rollup',
      schema: z.object({}),
      retryLimit: 3,
      retryDelaySeconds: 30,
      backoff: true,
      cron,
      handler: async () => {
        await this.run();
      },
    });
  }

  /** Lets the hour being rolled up commit; the rest waits for the next run. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#running?.catch(() => undefined);
  }

  /** Rolls up every finished hour, then day, that needs it; returns how many hours were rolled up. */
  run(now = new Date()): Promise<number> {
    this.#running ??= this.#runAll(now).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #runAll(now: Date): Promise<number> {
    const db = this.#orm.em.fork().getKysely() as Kysely<unknown>;
    const currentHour = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS);
    const pending = await sql<{ hour: string | Date }>`
      select hour from usage_hours where writes <> rolled_writes and hour < ${currentHour} order by hour`.execute(
      db,
    );
    let rolled = 0;
    let failure: unknown;
    for (const { hour } of pending.rows) {
      if (this.#stopping) return rolled;
      try {
        // The driver hands timestamps back as text.
        if (await this.#rollUp(db, new Date(hour))) rolled++;
      } catch (error) {
        this.#logger.warn({ err: (error as Error).message, hour }, 'usage rollup failed; will retry');
        failure = error;
        break;
      }
    }
    let days = 0;
    try {
      days = await this.#rollDays(db, currentHour);
    } catch (error) {
      this.#logger.warn({ err: (error as Error).message }, 'daily usage rollup failed; will retry');
      failure ??= error;
    }
    if (rolled > 0 || days > 0) this.#logger.info({ hours: rolled, days }, 'usage rolled up');
    // The job retries with backoff; what did commit stays (each hour is its own transaction).
    if (failure) throw failure;
    return rolled;
  }

  /** Builds daily rollups for finished days not built yet whose hours are all rolled up. */
  async #rollDays(db: Kysely<unknown>, currentHour: Date): Promise<number> {
    const uncovered = await sql<{ hour: string | Date }>`
      select h.hour from usage_hours h
      where h.hour < ${currentHour} and not exists (
        select 1 from usage_days d where d.time_zone = ${this.#timeZone} and h.hour >= d.day and h.hour < d.day_end)
      order by h.hour`.execute(db);
    const days = new Map<number, { start: Date; end: Date }>();
    for (const { hour } of uncovered.rows) {
      const { start, end } = periodBounds('DAY', this.#timeZone, new Date(hour), new Date(0));
      if (end && end <= currentHour) days.set(start.getTime(), { start, end });
    }
    let built = 0;
    for (const day of days.values()) {
      if (await this.#rollDay(db, day.start, day.end)) built++;
    }
    return built;
  }

  async #rollDay(db: Kysely<unknown>, start: Date, end: Date): Promise<boolean> {
    return db.transaction().execute(async (trx) => {
      const hours = await sql<{ writes: number; rolled_writes: number }>`
        select writes, rolled_writes from usage_hours where hour >= ${start} and hour < ${end} for update`.execute(
        trx,
      );
      if (hours.rows.some((h) => h.writes !== h.rolled_writes)) return false;
      const done =
        await sql`select 1 from usage_days where day = ${start} and time_zone = ${this.#timeZone}`.execute(
          trx,
        );
      if (done.rows.length > 0) return false;
      await sql`delete from usage_rollups where grain >= 2 and hour = ${start}`.execute(trx);
      await sql`insert into usage_rollups (${sql.raw(ROLLUP_COLUMNS)})
        select ${start}, grain + 2, provider_id, client_id, outcome, sum(calls), sum(total_ms_sum),
          sum(upstream_calls), sum(upstream_ms_sum), sum(prompt_tokens), sum(completion_tokens),
          sum(cached_tokens), sum(cost_micros), sum(priced_without_tokens), sum(request_bytes),
          sum(response_bytes), ${sql.raw(histogramSum('total_hist', 'int'))}, ${sql.raw(histogramSum('upstream_hist', 'int'))}
        from usage_rollups where grain < 2 and hour >= ${start} and hour < ${end}
        group by grain, provider_id, client_id, outcome`.execute(trx);
      await sql`insert into usage_days (day, time_zone, day_end, rolled_at)
        values (${start}, ${this.#timeZone}, ${end}, now())`.execute(trx);
      return true;
    });
  }

  async #rollUp(db: Kysely<unknown>, hour: Date): Promise<boolean> {
    return db.transaction().execute(async (trx) => {
      const locked = await sql<{ writes: number; rolled_writes: number }>`
        select writes, rolled_writes from usage_hours where hour = ${hour} for update`.execute(trx);
      const state = locked.rows[0];
      if (!state || state.writes === state.rolled_writes) return false;
      const query = {
        dims: ['PROVIDER', 'CLIENT', 'OUTCOME'] as const,
        bucket: null,
        timeZone: 'UTC',
        filter: {},
        intervals: [{ from: hour, to: new Date(hour.getTime() + HOUR_MS) }],
      };
      const sums = await rawSums(query).execute(trx);
      const histograms = await rawHistograms(query).execute(trx);
      const rows = toRollupRows(hour, sums.rows, histograms.rows);
      // Only this hour's rows (grains 0 and 1): daily rows (grains 2 and 3) are keyed by their day's
      // start, which is also an hour, and belong to a day this hour may not be part of.
      await sql`delete from usage_rollups where hour = ${hour} and grain < 2`.execute(trx);
      if (rows.length > 0) {
        await sql`insert into usage_rollups (${sql.raw(ROLLUP_COLUMNS)})
          select ${sql.raw(ROLLUP_COLUMNS)} from json_populate_recordset(null::usage_rollups, ${JSON.stringify(rows)}::json)`.execute(
          trx,
        );
      }
      await sql`update usage_hours set rolled_writes = ${state.writes}, rolled_at = now() where hour = ${hour}`.execute(
        trx,
      );
      // The day this hour belongs to must be summed again.
      const day = periodBounds('DAY', this.#timeZone, hour, hour).start;
      await sql`delete from usage_days where day = ${day} and time_zone = ${this.#timeZone}`.execute(trx);
      await sql`delete from usage_rollups where grain >= 2 and hour = ${day}`.execute(trx);
      return true;
    });
  }
}

type RollupRow = Record<string, unknown> & { total_hist: number[]; upstream_hist: number[] };

/** Grain 1 rows (provider × client × outcome) and grain 0 rows summed over clients. */
function toRollupRows(
  hour: Date,
  sums: BucketedRow[],
  histograms: {
    provider: string | null;
    client: string | null;
    outcome: string | null;
    kind: number;
    b: number;
    n: number;
  }[],
): RollupRow[] {
  const key = (provider: string | null, client: string | null, outcome: string) =>
    `${provider}|${client}|${outcome}`;
  const fine = new Map<string, RollupRow>();
  const coarse = new Map<string, RollupRow>();
  const blank = (
    grain: number,
    provider: string | null,
    client: string | null,
    outcome: string,
  ): RollupRow => ({
    hour,
    grain,
    provider_id: provider,
    client_id: client,
    outcome,
    calls: 0,
    total_ms_sum: 0,
    upstream_calls: 0,
    upstream_ms_sum: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    cached_tokens: 0,
    cost_micros: 0,
    priced_without_tokens: 0,
    request_bytes: 0,
    response_bytes: 0,
    total_hist: emptyHistogram(),
    upstream_hist: emptyHistogram(),
  });
  const add = (target: RollupRow, row: BucketedRow) => {
    target.calls = (target.calls as number) + row.calls;
    target.total_ms_sum = (target.total_ms_sum as number) + row.totalMsSum;
    target.upstream_calls = (target.upstream_calls as number) + row.upstreamCalls;
    target.upstream_ms_sum = (target.upstream_ms_sum as number) + row.upstreamMsSum;
    target.prompt_tokens = (target.prompt_tokens as number) + row.promptTokens;
    target.completion_tokens = (target.completion_tokens as number) + row.completionTokens;
    target.cached_tokens = (target.cached_tokens as number) + row.cachedTokens;
    target.cost_micros = (target.cost_micros as number) + row.costMicros;
    target.priced_without_tokens = (target.priced_without_tokens as number) + row.pricedWithoutTokens;
    target.request_bytes = (target.request_bytes as number) + row.requestBytes;
    target.response_bytes = (target.response_bytes as number) + row.responseBytes;
  };
  for (const row of sums) {
    const fineKey = key(row.provider, row.client, row.outcome);
    const fineRow = fine.get(fineKey) ?? blank(1, row.provider, row.client, row.outcome);
    fine.set(fineKey, fineRow);
    add(fineRow, row);
    const coarseKey = key(row.provider, null, row.outcome);
    const coarseRow = coarse.get(coarseKey) ?? blank(0, row.provider, null, row.outcome);
    coarse.set(coarseKey, coarseRow);
    add(coarseRow, row);
  }
  for (const h of histograms) {
    // The rollup query groups histograms by outcome, so it is always set here.
    const outcome = h.outcome ?? '';
    for (const row of [
      fine.get(key(h.provider, h.client, outcome)),
      coarse.get(key(h.provider, null, outcome)),
    ]) {
      if (!row) continue;
      const histogram = h.kind === 0 ? row.total_hist : row.upstream_hist;
      histogram[h.b] = (histogram[h.b] ?? 0) + h.n;
    }
  }
  return [...fine.values(), ...coarse.values()];
}
