import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import type { ReportInput } from '../src/modules/usage/usage-report.ts';
import { UsageRollups } from '../src/modules/usage/usage-rollup.ts';
import { usageRow, writeUsageRows } from '../src/modules/usage/usage-rows.ts';
import { createLogger } from '../src/shared/logger.ts';
import { syntheticEvents } from '../test/helpers/usage-data.ts';

/**
 * Usage at scale, in one run on this machine:
 * - ingest: events per second the batched writer's statement persists, against PostgreSQL's own
 *   ceiling here (the same number of rows generated and inserted server-side, no client at all);
 * - reports over 1,000,000 events across 30 days for 50 providers and 200 clients: the monthly
 *   report grouped by provider and the hourly series of one provider, against the same answers
 *   computed from raw events with plain SQL (what a report costs without rollups).
 * Writes bench/results/usage.json. No thresholds: the figures go in the issue note.
 */
const EVENTS = Number(process.env.BENCH_USAGE_EVENTS ?? 1_000_000);
const PROVIDERS = 50;
const CLIENTS = 200;
const BATCH = 2000;
const RUNS = 7;

const uuid = (i: number) => `00000002-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

/** Median of `RUNS` timings (after one warm-up run). */
async function median(work: () => Promise<unknown>): Promise<number> {
  await work();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push((await timed(work)).ms);
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)]! * 10) / 10;
}

export async function runUsageBench(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-usage-'));
  const config = loadConfig({
    TOLLGATE_DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'warn',
    TOLLGATE_EMBEDDED_PG_PORT: String(20_000 + Math.floor(Math.random() * 12_000)),
    TOLLGATE_ROLLUP_CRON: 'off',
    TOLLGATE_USAGE_RETENTION_DAYS: '31',
  });
  const app = await startApp(config, { logger: createLogger('warn') });
  try {
    const db = app.orm.em.fork().getKysely() as Kysely<unknown>;
    const actor = { subject: 'bench', role: 'admin' as const, requestId: undefined };
    const providers = [];
    for (let i = 0; i < PROVIDERS; i++) {
      providers.push(
        await app.services.providers.create(actor, {
          slug: `bench-${i}`,
          name: `bench ${i}`,
          baseUrl: 'https://api.example.com',
        }),
      );
    }
    const providerIds = providers.map((p) => p.id);
    const clientIds = Array.from({ length: CLIENTS }, (_, i) => uuid(i));
    const now = new Date();
    const from = new Date(now.getTime() - 30 * 86_400_000);
    console.log(
      `usage: generating ${EVENTS.toLocaleString()} events over 30 days, ${PROVIDERS} providers, ${CLIENTS} clients`,
    );
    const events = syntheticEvents({ count: EVENTS, from, to: now, providerIds, clientIds, seed: 7 });

    // Ingest the way the recorder writes (COPY plus hour marks, one transaction), in its batch size.
    const pool = await app.orm.em.getConnection().getNativeClient();
    const rows = events.map((e) => usageRow(e, e.at, e.id));
    const ingest = await timed(async () => {
      for (let i = 0; i < rows.length; i += BATCH) await writeUsageRows(pool, db, rows.slice(i, i + BATCH));
    });
    const ingestRate = EVENTS / (ingest.ms / 1000);
    // PostgreSQL's ceiling here: as many rows made and inserted by the server itself.
    await sql`create temporary table ceiling (like usage_events including defaults)`.execute(db);
    const ceiling = await timed(() =>
      sql`insert into ceiling (id, at, request_id, provider_slug, method, path_template, status, outcome, attempts, total_ms, request_bytes, response_bytes, priced_without_tokens)
        select gen_random_uuid(), now() - (i || ' seconds')::interval, 'r' || i, 'p', 'GET', '/', 200, 'SUCCESS', 1, i % 500, 200, 800, false
        from generate_series(1, ${EVENTS}) as i`.execute(db),
    );
    const ceilingRate = EVENTS / (ceiling.ms / 1000);
    await sql`drop table ceiling`.execute(db);
    await sql`vacuum analyze usage_events`.execute(db);

    const rollups = new UsageRollups({
      orm: app.orm,
      logger: createLogger('warn'),
      timeZone: config.timeZone,
    });
    const rollup = await timed(() => rollups.run(now));
    await sql`vacuum analyze usage_rollups`.execute(db);

    const reports = app.services.usageReports;
    const monthly: ReportInput = { range: 'LAST_MONTH', groupBy: ['PROVIDER'] };
    const monthlyMs = await median(() => reports.report(monthly));
    const busiest = providerIds[0]!;
    // The hourly series of one provider over its last 48 hours (the longest hourly window).
    const hourlyFrom = new Date(now.getTime() - 48 * 3_600_000);
    const hourlyMs = await median(() =>
      reports.report({
        from: hourlyFrom,
        to: now,
        groupBy: ['PROVIDER'],
        filter: { providers: ['bench-0'] },
      }),
    );
    const checkReport = await reports.report(monthly);

    // Baselines: the same answers from raw events with plain SQL.
    const rawMonthly = () =>
      sql`select coalesce(served_by_provider_id, provider_id) as provider, outcome, date_trunc('day', at, 'UTC') as day,
            count(*), sum(cost_micros), sum(prompt_tokens), sum(completion_tokens),
            percentile_cont(array[0.5, 0.95, 0.99]) within group (order by total_ms)
          from usage_events where at >= ${from} and at < ${now} group by 1, 2, 3`.execute(db);
    const rawMonthlyMs = await median(rawMonthly);
    const rawHourly = () =>
      sql`select date_trunc('hour', at, 'UTC'), outcome, count(*), sum(cost_micros),
            percentile_cont(array[0.5, 0.95, 0.99]) within group (order by total_ms)
          from usage_events where coalesce(served_by_provider_id, provider_id) = ${busiest}
            and at >= ${hourlyFrom} and at < ${now} group by 1, 2`.execute(db);
    const rawHourlyMs = await median(rawHourly);

    const figures = {
      events: EVENTS,
      ingest: {
        eventsPerSecond: Math.round(ingestRate),
        postgresCeilingPerSecond: Math.round(ceilingRate),
        ratio: Math.round((ingestRate / ceilingRate) * 1000) / 1000,
      },
      rollup: { hours: rollup.value, ms: Math.round(rollup.ms) },
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
    };
    console.log(`  ingest (batched writer)     ${figures.ingest.eventsPerSecond.toLocaleString()} events/s`);
    console.log(
      `  postgres ceiling (server)   ${figures.ingest.postgresCeilingPerSecond.toLocaleString()} rows/s`,
    );
    console.log(`  ingest ÷ ceiling            ${figures.ingest.ratio}`);
    console.log(`  rollup of ${rollup.value} hours          ${figures.rollup.ms} ms`);
    console.log(
      `  monthly report by provider  ${monthlyMs} ms (raw SQL ${rawMonthlyMs} ms, ×${figures.monthlyByProvider.speedup}; ${figures.monthlyByProvider.groups} groups, ${checkReport.rolledUpHours} rolled-up hours)`,
    );
    console.log(
      `  hourly series, one provider ${hourlyMs} ms (raw SQL ${rawHourlyMs} ms, ×${figures.hourlySeriesOneProvider.speedup})`,
    );
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('./results/usage.json', import.meta.url), `${JSON.stringify(figures, null, 2)}\n`);
  } finally {
    await app.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
