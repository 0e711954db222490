import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import type { JobQueue } from '../jobs/job-queue.ts';

const DAY_MS = 86_400_000;
/** Days of partitions kept ready past today, so a missed run or two changes nothing. */
export const PARTITION_DAYS_AHEAD = 7;
/** Hourly: each run is a few catalogue reads when nothing is missing. */
const PARTITION_CRON = '10 * * * *';
export const DEFAULT_PARTITION = 'usage_events_default';
/** Our daily partitions, and only those: `usage_events_20261204` holds that UTC day. */
const DAILY = /^usage_events_(\d{4})(\d{2})(\d{2})$/;
/** Any constant shared by the replicas: it names the lock in pg_locks. */
const PARTITION_LOCK_KEY = 7_231_457_019;

/** The UTC day (midnight, Unix ms) a time falls in. */
export const dayOf = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

export const partitionName = (day: number) =>
  `usage_events_${new Date(day).toISOString().slice(0, 10).replaceAll('-', '')}`;

/** The day a daily partition holds, from its name; undefined for any other table. */
export function partitionDay(name: string): number | undefined {
  const match = DAILY.exec(name);
  return match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : undefined;
}

export interface DroppedPartitions {
  partitions: number;
  /** Rows in them: the planner's count when the partition was analysed, otherwise counted. */
  rows: number;
}

/**
 * usage_events is partitioned by range on `at`, one partition per UTC day, plus a default
 * partition that catches an event whose day has no partition yet (so no event is ever refused).
 * This job keeps partitions ready `PARTITION_DAYS_AHEAD` days ahead; retention detaches and drops
 * whole days instead of deleting rows, which leaves no dead tuples and no bloated indexes.
 */
export class UsagePartitions {
  readonly #orm: Orm;
  readonly #logger: Logger;

  constructor(deps: { orm: Orm; logger: Logger }) {
    this.#orm = deps.orm;
    this.#logger = deps.logger;
  }

  defineJob(jobs: JobQueue): void {
    jobs.define({
      name: 'usage-partitions',
      schema: z.object({}),
      retryLimit: 3,
      retryDelaySeconds: 60,
      backoff: true,
      cron: PARTITION_CRON,
      handler: async () => {
        await this.ensureAhead();
      },
    });
  }

  #db(): Kysely<unknown> {
    return this.#orm.em.fork().getKysely() as Kysely<unknown>;
  }

  /** Names of the daily partitions that exist, oldest first. */
  async list(): Promise<string[]> {
    const rows = await sql<{ name: string }>`
      select c.relname as name from pg_inherits i
        join pg_class c on c.oid = i.inhrelid
        join pg_class p on p.oid = i.inhparent
      where p.relname = 'usage_events' and p.relnamespace = current_schema()::regnamespace
      order by c.relname`.execute(this.#db());
    return rows.rows.map((r) => r.name).filter((name) => partitionDay(name) !== undefined);
  }

  /** Creates the partitions of today and the next `days` days that are missing; returns their names. */
  async ensureAhead(now = new Date(), days = PARTITION_DAYS_AHEAD): Promise<string[]> {
    const today = dayOf(now.getTime());
    return this.ensure(today, today + days * DAY_MS);
  }

  /**
   * Creates the daily partitions for [from, to] (days, inclusive) that are missing. Events of such
   * a day already caught by the default partition move into the new partition in the same
   * transaction (PostgreSQL refuses to create a partition whose rows sit in the default one).
   */
  async ensure(fromDay: number, toDay: number): Promise<string[]> {
    const existing = new Set(await this.list());
    const created: string[] = [];
    for (let day = dayOf(fromDay); day <= toDay; day += DAY_MS) {
      const name = partitionName(day);
      if (existing.has(name)) continue;
      if (await this.#create(day)) created.push(name);
    }
    if (created.length > 0) this.#logger.info({ partitions: created }, 'usage event partitions created');
    return created;
  }

  async #create(day: number): Promise<boolean> {
    const name = partitionName(day);
    const from = new Date(day);
    const to = new Date(day + DAY_MS);
    return this.#db()
      .transaction()
      .execute(async (trx) => {
        // Replicas starting together take turns; the one that waits finds the partition made.
        await sql`select pg_advisory_xact_lock(${PARTITION_LOCK_KEY})`.execute(trx);
        const found =
          await sql`select 1 from pg_class where relname = ${name} and relnamespace = current_schema()::regnamespace`.execute(
            trx,
          );
        if (found.rows.length > 0) return false;
        await sql`create table ${sql.table(name)} (like usage_events including defaults including constraints)`.execute(
          trx,
        );
        const moved = await sql`with stray as (
            delete from ${sql.table(DEFAULT_PARTITION)} where at >= ${from} and at < ${to} returning *)
          insert into ${sql.table(name)} select * from stray`.execute(trx);
        await sql`alter table usage_events attach partition ${sql.table(name)} for values from (${sql.lit(from.toISOString())}) to (${sql.lit(to.toISOString())})`.execute(
          trx,
        );
        const n = Number(moved.numAffectedRows ?? 0);
        if (n > 0)
          this.#logger.info({ partition: name, events: n }, 'events moved out of the default partition');
        return true;
      });
  }

  /**
   * Detaches and drops every daily partition whose whole day is before `cutoff`. A day the cutoff
   * falls inside is kept until it has wholly passed (events live up to a day past their retention).
   */
  async dropBefore(cutoff: Date): Promise<DroppedPartitions> {
    const db = this.#db();
    let partitions = 0;
    let rows = 0;
    for (const name of await this.list()) {
      const day = partitionDay(name) as number;
      if (day + DAY_MS > cutoff.getTime()) continue;
      rows += await this.#rowsIn(db, name);
      await db.transaction().execute(async (trx) => {
        // DETACH takes a brief exclusive lock on usage_events: give up (and retry on the next
        // run) rather than queue every writer behind a long report that holds the table.
        await sql`set local lock_timeout = '5s'`.execute(trx);
        await sql`alter table usage_events detach partition ${sql.table(name)}`.execute(trx);
        await sql`drop table ${sql.table(name)}`.execute(trx);
      });
      partitions++;
    }
    if (partitions > 0) this.#logger.info({ partitions, rows }, 'usage event partitions dropped');
    return { partitions, rows };
  }

  async #rowsIn(db: Kysely<unknown>, name: string): Promise<number> {
    // Counting a day of a busy gateway would take longer than dropping it.
    const estimate = await sql<{ n: number }>`select reltuples::float8 as n from pg_class
      where relname = ${name} and relnamespace = current_schema()::regnamespace`.execute(db);
    const n = Number(estimate.rows[0]?.n ?? -1);
    if (n >= 0) return Math.round(n);
    const counted = await sql<{ n: string }>`select count(*) as n from ${sql.table(name)}`.execute(db);
    return Number(counted.rows[0]?.n ?? 0);
  }
}
