import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { type Kysely, sql } from 'kysely';
import { ConsoleUsageDocument } from '../console/src/gql/graphql.ts';
import { startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { TokenService } from '../src/modules/auth/token.service.ts';
import { dayOf, partitionName } from '../src/modules/usage/usage-partitions.ts';
import type { ReportInput } from '../src/modules/usage/usage-report.ts';
import { UsageRollups } from '../src/modules/usage/usage-rollup.ts';
import { usageRow, writeUsageRows } from '../src/modules/usage/usage-rows.ts';
import { createLogger } from '../src/shared/logger.ts';
import { syntheticEvents } from '../test/helpers/usage-data.ts';

/**
 * Usage at scale, in one run on this machine: 10,000,000 events over 90 days for 50 providers and
 * 200 clients, in usage_events partitioned by day.
 * - ingest: events per second the batched writer's statement persists (on a sample, the way the
 *   recorder writes), against PostgreSQL's own ceiling here (rows generated and inserted
 *   server-side, no client at all: how the rest of the history is loaded);
 * - the first rollup of that history (every hour, then every day);
 * - reports: the monthly report grouped by provider, the 48-hour hourly series of one provider,
 *   and the console's usage page (its exact request over HTTP, for each range it offers), all from
 *   rollups, against the first two computed from raw events with plain SQL;
 * - table and index sizes;
 * - a retention pass (30 days): the 60 oldest days of partitions dropped, its time, and the dead
 *   tuples left (pg_stat_user_tables), against the batched DELETE it replaces on one day's events.
 * Writes bench/results/usage.json. No thresholds: the figures go in the issue note and README.
 */
const EVENTS = Number(process.env.BENCH_USAGE_EVENTS ?? 10_000_000);
const DAYS = Number(process.env.BENCH_USAGE_DAYS ?? 90);
const INGEST_SAMPLE = Math.min(EVENTS, Number(process.env.BENCH_USAGE_INGEST_SAMPLE ?? 500_000));
const RETENTION_DAYS = 30;
const PROVIDERS = 50;
const CLIENTS = 200;
const BATCH = 2000;
const RUNS = 7;
const RAW_RUNS = 3;
const DAY_MS = 86_400_000;

const uuid = (i: number) => `00000002-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
const round = (ms: number) => Math.round(ms * 10) / 10;
const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

/** Median of `runs` timings (after one warm-up run). */
async function median(work: () => Promise<unknown>, runs = RUNS): Promise<number> {
  await work();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push((await timed(work)).ms);
  times.sort((a, b) => a - b);
  return round(times[Math.floor(times.length / 2)]!);
}

/**
 * `count` events spread evenly over [from, to), made by PostgreSQL itself: the same mix as the
 * synthetic generator (mostly successes, log-normal latencies, tokens and costs on half the calls),
 * one statement per day so that each stays short. As in that generator, each client calls three
 * providers (so an hour's rollup has a row per client, provider and outcome seen, not per event).
 */
async function generateHistory(
  db: Kysely<unknown>,
  options: { count: number; from: number; to: number; providerIds: string[]; clientIds: string[] },
): Promise<void> {
  const span = options.to - options.from;
  const perMs = options.count / span;
  for (let start = options.from; start < options.to; start += DAY_MS) {
    const end = Math.min(options.to, start + DAY_MS);
    const first = Math.round((start - options.from) * perMs);
    const last = Math.round((end - options.from) * perMs);
    if (last <= first) continue;
    const n = options.providerIds.length;
    await sql`insert into usage_events (id, at, request_id, provider_id, provider_slug, served_by_provider_id, client_id,
        method, path_template, status, outcome, attempts, total_ms, upstream_ms, request_bytes, response_bytes,
        model, prompt_tokens, completion_tokens, cached_tokens, cost_micros, priced_without_tokens)
      select gen_random_uuid(), to_timestamp((${options.from}::float8 + i * ${span}::float8 / ${options.count}::float8) / 1000),
        'bench-' || i, (${options.providerIds}::uuid[])[1 + p], 'bench-' || p, (${options.providerIds}::uuid[])[1 + p],
        (${options.clientIds}::uuid[])[1 + c], 'POST', '/v1/chat/completions',
        case when outcome = 'SUCCESS' then 200 when outcome = 'RATE_LIMITED' then 429 else 502 end,
        outcome, 1, ms + 2, case when outcome in ('RATE_LIMITED', 'BUDGET_BLOCKED') then null else ms end,
        800, 2400, case when i % 2 = 0 then 'gpt-small' end,
        case when i % 2 = 0 then 200 + i % 800 end, case when i % 2 = 0 then 50 + i % 300 end,
        case when i % 2 = 0 then 0 end, case when i % 2 = 0 then 100 + i % 900 end, false
      from (select i, c, (c + i % 3) % ${n} as p,
          case when r1 < 0.85 then 'SUCCESS' when r1 < 0.90 then 'UPSTREAM_ERROR' when r1 < 0.93 then 'TIMEOUT'
            when r1 < 0.96 then 'RATE_LIMITED' else 'BUDGET_BLOCKED' end as outcome,
          exp(5 + 0.6 * sqrt(-2 * ln(greatest(r2, 1e-9))) * cos(2 * pi() * r3)) as ms
        from (select i, (i * 104729) % ${options.clientIds.length} as c, random() as r1, random() as r2, random() as r3
          from generate_series(${first}::bigint, ${last - 1}::bigint) as i) as r) as g`.execute(db);
    process.stdout.write('.');
  }
  process.stdout.write('\n');
  // What the recorder's writes leave for the rollup job: every hour with events marked changed.
  await sql`insert into usage_hours (hour, writes)
    select h, 1 from generate_series(date_trunc('hour', ${new Date(options.from)}::timestamptz, 'UTC'),
      ${new Date(options.to)}::timestamptz, interval '1 hour') as h
    on conflict (hour) do update set writes = usage_hours.writes + 1`.execute(db);
}

async function sizes(db: Kysely<unknown>) {
  const rows = await sql<{ name: string; table: string; indexes: string; rows: string }>`
    select t.name, sum(pg_table_size(c.oid))::bigint as table, sum(pg_indexes_size(c.oid))::bigint as indexes,
      sum(case when c.relkind = 'p' then 0 else greatest(c.reltuples, 0) end)::bigint as rows
    from (values ('usage_events'), ('usage_rollups'), ('usage_hours'), ('usage_days')) as t(name)
    join pg_class c on c.relname = t.name or c.oid in (
      select inhrelid from pg_inherits where inhparent = (select oid from pg_class where relname = t.name))
    group by t.name order by t.name`.execute(db);
  return Object.fromEntries(
    rows.rows.map((r) => [
      r.name,
      { tableMiB: mib(Number(r.table)), indexesMiB: mib(Number(r.indexes)), rows: Number(r.rows) },
    ]),
  );
}

/** Dead tuples in usage_events' partitions, once the server has published its statistics. */
async function deadTuples(db: Kysely<unknown>): Promise<number> {
  // Backends publish table statistics at most once a second, and within 10 s when idle.
  await new Promise((r) => setTimeout(r, 11_000));
  const dead = await sql<{ n: string }>`select coalesce(sum(n_dead_tup), 0) as n from pg_stat_user_tables
    where relid in (select inhrelid from pg_inherits where inhparent = 'usage_events'::regclass)`.execute(db);
  return Number(dead.rows[0]?.n ?? 0);
}

export async function runUsageBench(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-usage-'));
  const config = loadConfig({
    TOLLGATE_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    TOLLGATE_EMBEDDED_PG_PORT: String(20_000 + Math.floor(Math.random() * 12_000)),
    TOLLGATE_ROLLUP_CRON: 'off',
    TOLLGATE_USAGE_RETENTION_DAYS: String(RETENTION_DAYS),
    // Loading, vacuuming and the raw-SQL baselines over millions of rows take longer than the
    // 5 s a request may.
    DATABASE_STATEMENT_TIMEOUT_MS: '3600000',
    TOLLGATE_JWT_SECRET: randomBytes(32).toString('base64url'),
  });
  const app = await startApp(config, { logger: createLogger('warn') });
  try {
    const db = app.orm.em.fork().getKysely() as Kysely<unknown>;
    const actor = { subject: 'bench', role: 'admin' as const, requestId: undefined };
    const providerIds: string[] = [];
    for (let i = 0; i < PROVIDERS; i++) {
      const provider = await app.services.providers.create(actor, {
        slug: `bench-${i}`,
        name: `bench ${i}`,
        baseUrl: 'https://api.example.com',
      });
      providerIds.push(provider.id);
    }
    const clientIds = Array.from({ length: CLIENTS }, (_, i) => uuid(i));
    const now = new Date();
    const from = new Date(now.getTime() - DAYS * DAY_MS);
    // The history's days get their partitions, as they would have had, made a week ahead each.
    await app.services.usagePartitions.ensure(dayOf(from.getTime()), dayOf(now.getTime()));
    console.log(
      `usage: ${EVENTS.toLocaleString()} events over ${DAYS} days, ${PROVIDERS} providers, ${CLIENTS} clients, daily partitions`,
    );

    // Ingest the way the recorder writes (COPY plus hour marks, one transaction), in its batch size,
    // on the last day's share of a sample.
    const sampleFrom = new Date(now.getTime() - DAY_MS);
    const events = syntheticEvents({
      count: INGEST_SAMPLE,
      from: sampleFrom,
      to: now,
      providerIds,
      clientIds,
      seed: 7,
    });
    const pool = await app.orm.em.getConnection().getNativeClient();
    const rows = events.map((e) => usageRow(e, e.at, e.id));
    events.length = 0;
    const ingest = await timed(async () => {
      for (let i = 0; i < rows.length; i += BATCH) await writeUsageRows(pool, db, rows.slice(i, i + BATCH));
    });
    rows.length = 0;
    const ingestRate = INGEST_SAMPLE / (ingest.ms / 1000);

    // The rest of the history, made server-side (PostgreSQL's ceiling here, no client at all).
    process.stdout.write(`  generating ${(EVENTS - INGEST_SAMPLE).toLocaleString()} events in SQL `);
    const history = await timed(() =>
      generateHistory(db, {
        count: EVENTS - INGEST_SAMPLE,
        from: from.getTime(),
        to: sampleFrom.getTime(),
        providerIds,
        clientIds,
      }),
    );
    const ceilingRate = (EVENTS - INGEST_SAMPLE) / (history.ms / 1000);
    await sql`vacuum analyze usage_events`.execute(db);

    const rollups = new UsageRollups({
      orm: app.orm,
      logger: createLogger('warn'),
      timeZone: config.timeZone,
    });
    const rollup = await timed(() => rollups.run(now));
    await sql`vacuum analyze usage_rollups, usage_hours, usage_days`.execute(db);
    const sizesBefore = await sizes(db);

    const reports = app.services.usageReports;
    const monthly: ReportInput = { range: 'LAST_MONTH', groupBy: ['PROVIDER'] };
    const monthlyMs = await median(() => reports.report(monthly));
    const checkReport = await reports.report(monthly);
    const busiest = providerIds[0]!;
    const hourlyFrom = new Date(now.getTime() - 48 * 3_600_000);
    const hourlyMs = await median(() =>
      reports.report({
        from: hourlyFrom,
        to: now,
        groupBy: ['PROVIDER'],
        filter: { providers: ['bench-0'] },
      }),
    );

    // The console's usage page: its exact request over HTTP, per range it offers.
    const token = await new TokenService(config.auth).mint({
      role: 'viewer',
      subject: 'bench',
      ttlSeconds: 3600,
    });
    const usageQuery = print(ConsoleUsageDocument);
    const page = async (variables: Record<string, unknown>) => {
      const response = await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ query: usageQuery, variables }),
      });
      const body = (await response.json()) as {
        errors?: unknown[];
        data?: { grouped?: { __typename: string } };
      };
      if (response.status !== 200 || body.errors || body.data?.grouped?.__typename !== 'UsageReport')
        throw new Error(
          `usage page query answered ${response.status}: ${JSON.stringify(body).slice(0, 400)}`,
        );
    };
    const usagePage: Record<string, number> = {};
    for (const range of ['LAST_HOUR', 'LAST_DAY', 'LAST_WEEK', 'LAST_MONTH']) {
      for (const groupBy of ['PROVIDER', 'CLIENT']) {
        usagePage[`${range} by ${groupBy}`] = await median(() => page({ range, groupBy: [groupBy] }));
      }
    }

    // Baselines: the same answers from raw events with plain SQL.
    const monthFrom = new Date(now.getTime() - 30 * DAY_MS);
    const rawMonthlyMs = await median(
      () =>
        sql`select coalesce(served_by_provider_id, provider_id) as provider, outcome, date_trunc('day', at, 'UTC') as day,
            count(*), sum(cost_micros), sum(prompt_tokens), sum(completion_tokens),
            percentile_cont(array[0.5, 0.95, 0.99]) within group (order by total_ms)
          from usage_events where at >= ${monthFrom} and at < ${now} group by 1, 2, 3`.execute(db),
      RAW_RUNS,
    );
    const rawHourlyMs = await median(
      () =>
        sql`select date_trunc('hour', at, 'UTC'), outcome, count(*), sum(cost_micros),
            percentile_cont(array[0.5, 0.95, 0.99]) within group (order by total_ms)
          from usage_events where coalesce(served_by_provider_id, provider_id) = ${busiest}
            and at >= ${hourlyFrom} and at < ${now} group by 1, 2`.execute(db),
      RAW_RUNS,
    );

    // What the batched DELETE that retention used to run costs, on one day's events in a plain
    // table with usage_events' indexes.
    const oneDay = partitionName(dayOf(from.getTime()) + DAY_MS);
    await sql`create table retention_baseline (like usage_events including all)`.execute(db);
    await sql`insert into retention_baseline select * from ${sql.table(oneDay)}`.execute(db);
    await sql`vacuum analyze retention_baseline`.execute(db);
    const baselineRows = Number(
      (await sql<{ n: string }>`select count(*) as n from retention_baseline`.execute(db)).rows[0]!.n,
    );
    // On one connection, which then publishes its statistics at once (they are read just after).
    const batched = await db.connection().execute((conn) =>
      timed(async () => {
        for (;;) {
          const r = await sql`delete from retention_baseline where ctid in (
            select ctid from retention_baseline where at < ${now} limit 5000)`.execute(conn);
          if (Number(r.numAffectedRows ?? 0) < 5000) break;
        }
        await sql`select pg_stat_force_next_flush()`.execute(conn);
        await sql`select 1`.execute(conn);
      }),
    );
    const baselineDead = Number(
      (
        await sql<{
          n: string;
        }>`select n_dead_tup as n from pg_stat_user_tables where relname = 'retention_baseline'`.execute(db)
      ).rows[0]?.n ?? 0,
    );
    const baselineSize = mib(
      Number(
        (await sql<{ n: string }>`select pg_total_relation_size('retention_baseline') as n`.execute(db))
          .rows[0]!.n,
      ),
    );
    await sql`drop table retention_baseline`.execute(db);

    // The retention pass over the 10,000,000 events.
    const eventsBefore = sizesBefore.usage_events?.rows ?? 0;
    const retention = await timed(() => app.services.retention.run(new Date()));
    await sql`analyze usage_events`.execute(db);
    const dead = await deadTuples(db);
    const sizesAfter = await sizes(db);

    const figures = {
      events: EVENTS,
      days: DAYS,
      partitions: 'daily',
      ingest: {
        sampleEvents: INGEST_SAMPLE,
        eventsPerSecond: Math.round(ingestRate),
        postgresCeilingPerSecond: Math.round(ceilingRate),
        ratio: Math.round((ingestRate / ceilingRate) * 1000) / 1000,
        historyLoadSeconds: Math.round(history.ms / 1000),
      },
      firstRollup: { hours: rollup.value, ms: Math.round(rollup.ms) },
      monthlyByProvider: {
        ms: monthlyMs,
        rawSqlMs: rawMonthlyMs,
        speedup: Math.round((rawMonthlyMs / monthlyMs) * 10) / 10,
        groups: checkReport.groups.length,
        rolledUpHours: checkReport.rolledUpHours,
      },
      hourlySeriesOneProvider: {
        ms: hourlyMs,
        rawSqlMs: rawHourlyMs,
        speedup: Math.round((rawHourlyMs / hourlyMs) * 10) / 10,
      },
      usagePageMs: usagePage,
      sizesBeforeRetention: sizesBefore,
      retention: {
        eventsBefore,
        partitionsDropped: retention.value['usage event partitions'],
        eventsDropped: retention.value['usage events'],
        ms: Math.round(retention.ms),
        deadTuplesAfter: dead,
        sizesAfter,
        batchedDeleteBaseline: {
          rows: baselineRows,
          ms: Math.round(batched.ms),
          deadTuplesAfter: baselineDead,
          sizeAfterMiB: baselineSize,
          msPerMillionRows: Math.round((batched.ms / baselineRows) * 1_000_000),
        },
      },
    };
    const line = (label: string, value: string) => console.log(`  ${label.padEnd(34)} ${value}`);
    line('ingest (batched writer)', `${figures.ingest.eventsPerSecond.toLocaleString()} events/s`);
    line('postgres ceiling (server)', `${figures.ingest.postgresCeilingPerSecond.toLocaleString()} rows/s`);
    line('ingest ÷ ceiling', String(figures.ingest.ratio));
    line(`first rollup (${rollup.value} hours, then days)`, `${figures.firstRollup.ms} ms`);
    line(
      'monthly report by provider',
      `${monthlyMs} ms (raw SQL ${rawMonthlyMs} ms, ×${figures.monthlyByProvider.speedup}; ${checkReport.groups.length} groups)`,
    );
    line(
      'hourly series, one provider, 48 h',
      `${hourlyMs} ms (raw SQL ${rawHourlyMs} ms, ×${figures.hourlySeriesOneProvider.speedup})`,
    );
    for (const [name, ms] of Object.entries(usagePage)) line(`usage page ${name}`, `${ms} ms`);
    for (const [name, s] of Object.entries(sizesBefore))
      line(
        `size ${name}`,
        `table ${s.tableMiB} MiB, indexes ${s.indexesMiB} MiB, ~${s.rows.toLocaleString()} rows`,
      );
    line(
      'retention pass (30 days)',
      `${figures.retention.ms} ms: ${figures.retention.partitionsDropped} partitions, ~${Number(figures.retention.eventsDropped).toLocaleString()} events dropped; ${dead} dead tuples left`,
    );
    const after = sizesAfter.usage_events;
    if (after)
      line('usage_events after retention', `table ${after.tableMiB} MiB, indexes ${after.indexesMiB} MiB`);
    line(
      'batched DELETE baseline (one day)',
      `${baselineRows.toLocaleString()} rows in ${figures.retention.batchedDeleteBaseline.ms} ms (${figures.retention.batchedDeleteBaseline.msPerMillionRows} ms per million), ${baselineDead.toLocaleString()} dead tuples, ${baselineSize} MiB left`,
    );
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('./results/usage.json', import.meta.url), `${JSON.stringify(figures, null, 2)}\n`);
  } finally {
    await app.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
