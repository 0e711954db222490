import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOrm, migrateToLatest } from '../src/db/orm.ts';
import {
  DEFAULT_PARTITION,
  dayOf,
  PARTITION_DAYS_AHEAD,
  partitionName,
} from '../src/modules/usage/usage-partitions.ts';
import {
  insertUsageEvents,
  type StoredUsageEvent,
  usageRow,
  writeUsageRows,
} from '../src/modules/usage/usage-rows.ts';
import { createLogger } from '../src/shared/logger.ts';
import { createDatabase, startTestApp, type TestApp } from './helpers/app.ts';
import { syntheticEvents } from './helpers/usage-data.ts';

const DAY = 86_400_000;
const PROVIDER = '00000000-0000-4000-8000-0000000000a1';
const CLIENT = '00000000-0000-4000-8000-00000000000c';

let t: TestApp;
let db: Kysely<unknown>;
beforeAll(async () => {
  t = await startTestApp();
  db = t.app.orm.em.fork().getKysely() as Kysely<unknown>;
});
afterAll(async () => {
  await t?.stop();
});

const events = (count: number, from: number, to: number, seed: number): StoredUsageEvent[] =>
  syntheticEvents({
    count,
    from: new Date(from),
    to: new Date(to),
    providerIds: [PROVIDER],
    clientIds: [CLIENT],
    seed,
  });

/** Which table holds each event, by request id. */
async function homes(requestIds: string[]): Promise<Record<string, string>> {
  const rows = await sql<{ request_id: string; home: string }>`
    select request_id, tableoid::regclass::text as home from usage_events where request_id = any(${requestIds})`.execute(
    db,
  );
  return Object.fromEntries(rows.rows.map((r) => [r.request_id, r.home]));
}

const exists = async (table: string) =>
  (await sql`select 1 from pg_class where relname = ${table}`.execute(db)).rows.length > 0;

describe('usage event partitions', () => {
  it('are ready from today to a week ahead at start-up, and the job adds the missing ones', async () => {
    const today = dayOf(Date.now());
    const names = await t.app.services.usagePartitions.list();
    for (let d = 0; d <= PARTITION_DAYS_AHEAD; d++) expect(names).toContain(partitionName(today + d * DAY));

    // A partition missing ahead (a replica down for days, say) is made by the next job run.
    const ahead = partitionName(today + PARTITION_DAYS_AHEAD * DAY);
    await sql`drop table ${sql.table(ahead)}`.execute(db);
    expect(await exists(ahead)).toBe(false);
    const jobId = await t.app.services.jobs.send('usage-partitions', {});
    await vi.waitFor(
      async () =>
        expect(
          (await t.app.services.jobs.jobs('usage-partitions', 'completed', 10)).map((j) => j.id),
        ).toContain(jobId),
      { timeout: 15_000, interval: 250 },
    );
    expect(await exists(ahead)).toBe(true);
    expect(await t.app.services.usagePartitions.ensureAhead()).toEqual([]);
  });

  it('put an event at midnight in the day it begins, and keep an event with no partition in the default one until its day gets one', async () => {
    const day = dayOf(Date.now()) + 2 * DAY;
    const base = events(3, day, day + DAY, 21);
    const atBoundary: StoredUsageEvent[] = [
      { ...base[0]!, requestId: 'edge-last-ms', at: day + DAY - 1 },
      { ...base[1]!, requestId: 'edge-midnight', at: day + DAY },
      // Far beyond the days made ahead: no partition holds it.
      { ...base[2]!, requestId: 'edge-far', at: day + 400 * DAY },
    ];
    await insertUsageEvents(db, atBoundary);
    expect(await homes(atBoundary.map((e) => e.requestId))).toEqual({
      'edge-last-ms': partitionName(day),
      'edge-midnight': partitionName(day + DAY),
      'edge-far': DEFAULT_PARTITION,
    });

    // Making that day's partition moves the event out of the default partition, losing nothing.
    const farDay = dayOf(day + 400 * DAY);
    expect(await t.app.services.usagePartitions.ensure(farDay, farDay)).toEqual([partitionName(farDay)]);
    expect(await homes(['edge-far'])).toEqual({ 'edge-far': partitionName(farDay) });
    await sql`drop table ${sql.table(partitionName(farDay))}`.execute(db);
  });

  it('are dropped whole by retention once their day is past it, leaving the rest and no dead rows', async () => {
    const today = dayOf(Date.now());
    const oldDays = [45, 44, 43].map((d) => today - d * DAY);
    const partitions = t.app.services.usagePartitions;
    await partitions.ensure(oldDays[0]!, oldDays[2]!);
    await partitions.ensure(today - 29 * DAY, today - 29 * DAY);
    const old = events(3000, oldDays[0]!, oldDays[2]! + DAY, 31);
    const kept = events(1000, today - 29 * DAY, today - 28 * DAY, 32);
    await insertUsageEvents(db, old);
    await insertUsageEvents(db, kept);
    const before = await sql<{ n: string }>`select count(*) as n from usage_events`.execute(db);

    const deleted = await t.app.services.retention.run(new Date());
    expect(deleted['usage event partitions']).toBe(3);
    expect(deleted['usage events']).toBe(3000);
    for (const day of oldDays) expect(await exists(partitionName(day))).toBe(false);
    expect(await exists(partitionName(today - 29 * DAY))).toBe(true);
    const after = await sql<{ n: string }>`select count(*) as n from usage_events`.execute(db);
    expect(Number(after.rows[0]!.n)).toBe(Number(before.rows[0]!.n) - 3000);
    // Nothing was deleted row by row: the kept partition has every row it had, none dead.
    const kept29 = await sql<{ live: string; dead: string }>`
      select count(*) as live, (select coalesce(sum(n_dead_tup), 0) from pg_stat_user_tables
        where relname = ${partitionName(today - 29 * DAY)}) as dead from ${sql.table(partitionName(today - 29 * DAY))}`.execute(
      db,
    );
    expect(kept29.rows[0]).toEqual({ live: '1000', dead: '0' });
  });
});

describe('the partitioning migration', () => {
  it('converts a table that has events, keeping every row and field', async () => {
    const url = await createDatabase();
    const orm = await createOrm(url, 2);
    try {
      await orm.migrator.up({ to: 'Migration20261204174559_circuit_isolations' });
      const before = orm.em.fork().getKysely() as Kysely<unknown>;
      expect(
        (
          await sql`select 1 from pg_partitioned_table where partrelid = 'usage_events'::regclass`.execute(
            before,
          )
        ).rows,
      ).toHaveLength(0);
      const now = Date.now();
      const history = events(5000, now - 40 * DAY, now, 41);
      // As the recorder wrote them before (COPY: the old table's key is the id alone).
      const pool = await orm.em.getConnection().getNativeClient();
      const rows = history.map((e) => usageRow(e, e.at, e.id));
      await writeUsageRows(pool, before, rows.slice(0, 2500));
      await writeUsageRows(pool, before, rows.slice(2500));
      const digest = () =>
        sql<{ n: string; digest: string }>`select count(*) as n,
            md5(string_agg(to_jsonb(e)::text, '|' order by id)) as digest from usage_events e`.execute(
          orm.em.fork().getKysely() as Kysely<unknown>,
        );
      const expected = (await digest()).rows[0]!;
      expect(expected.n).toBe('5000');

      await migrateToLatest(orm, createLogger('silent'));

      const after = orm.em.fork().getKysely() as Kysely<unknown>;
      expect(
        (
          await sql`select 1 from pg_partitioned_table where partrelid = 'usage_events'::regclass`.execute(
            after,
          )
        ).rows,
      ).toHaveLength(1);
      expect((await digest()).rows[0]).toEqual(expected);
      // Every event sits in its day's partition; the default partition is empty.
      const stray = await sql<{
        n: string;
      }>`select count(*) as n from ${sql.table(DEFAULT_PARTITION)}`.execute(after);
      expect(stray.rows[0]!.n).toBe('0');
      const days = await sql<{ n: string }>`select count(distinct tableoid) as n from usage_events`.execute(
        after,
      );
      expect(Number(days.rows[0]!.n)).toBeGreaterThanOrEqual(40);
      const ahead = partitionName(dayOf(now) + 7 * DAY);
      expect((await sql`select 1 from pg_class where relname = ${ahead}`.execute(after)).rows).toHaveLength(
        1,
      );
    } finally {
      await orm.close();
    }
  });
});
