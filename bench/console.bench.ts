import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { print } from 'graphql';
import { type Kysely, sql } from 'kysely';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { ConsoleOverviewDocument } from '../console/src/gql/graphql.ts';
import { startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { TokenService } from '../src/modules/auth/token.service.ts';
import { dayOf } from '../src/modules/usage/usage-partitions.ts';
import { UsageRollups } from '../src/modules/usage/usage-rollup.ts';
import { usageRow, writeUsageRows } from '../src/modules/usage/usage-rows.ts';
import { createLogger } from '../src/shared/logger.ts';
import { syntheticEvents } from '../test/helpers/usage-data.ts';
import { buildConsoleIfStale } from './console-build.ts';
import { formatBreakdown, tracedLoad } from './console-trace.ts';

/**
 * The console's overview at scale: 200 providers, 1,000,000 usage events over 30 days (the usage
 * benchmark's generator, loaded with COPY and rolled up as the app does), a real Tollgate over
 * HTTP. Prints
 * - the overview's data time: the exact request the Overview page sends, median and p95, against
 *   a trivial query (`{ viewer { role } }`) measured in the same run;
 * - the time until the Overview page is usable in headless Chromium: from navigation to the
 *   provider table rendered with its first page (100 rows).
 * Writes bench/results/console.json. Targets (issue 17): data < 300 ms, usable < 1 s.
 */
const EVENTS = Number(process.env.BENCH_CONSOLE_EVENTS ?? 1_000_000);
const PROVIDERS = 200;
const CLIENTS = 200;
const BATCH = 20_000;
const DATA_RUNS = 21;
const PAGE_RUNS = Number(process.env.BENCH_CONSOLE_PAGE_RUNS ?? 5);
/** The Overview page asks for one page of providers (the largest, 100). */
const OVERVIEW_PAGE = 100;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const uuid = (i: number) => `00000003-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
const round = (ms: number) => Math.round(ms * 10) / 10;

function stats(times: number[]): { median: number; p95: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return {
    median: round(sorted[Math.floor(sorted.length / 2)]!),
    p95: round(sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!),
  };
}

async function timeRuns(runs: number, work: () => Promise<void>): Promise<number[]> {
  await work(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return times;
}

export async function runConsoleBench(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-console-'));
  const config = loadConfig({
    TOLLGATE_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    TOLLGATE_EMBEDDED_PG_PORT: String(20_000 + Math.floor(Math.random() * 12_000)),
    TOLLGATE_ROLLUP_CRON: 'off',
    TOLLGATE_USAGE_RETENTION_DAYS: '31',
    // Loading and vacuuming a million rows takes longer than a request's 5 s default.
    DATABASE_STATEMENT_TIMEOUT_MS: '600000',
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
        name: `Bench provider ${i}`,
        baseUrl: 'https://api.example.com',
        // Every other provider has a rate limit, so the overview reads headroom too.
        ...(i % 2 === 0 ? { rateLimit: { points: 600, periodMs: 60_000 } } : {}),
      } as never);
      providerIds.push(provider.id);
    }
    const now = new Date();
    const from = new Date(now.getTime() - 30 * 86_400_000);
    // The history's days get the daily partitions they would have had.
    await app.services.usagePartitions.ensure(dayOf(from.getTime()), dayOf(now.getTime()));
    console.log(
      `console: ${PROVIDERS} providers, ${EVENTS.toLocaleString()} usage events over 30 days (COPY, then rollups)`,
    );
    const events = syntheticEvents({
      count: EVENTS,
      from,
      to: now,
      providerIds,
      clientIds: Array.from({ length: CLIENTS }, (_, i) => uuid(i)),
      seed: 11,
    });
    const pool = await app.orm.em.getConnection().getNativeClient();
    const rows = events.map((e) => usageRow(e, e.at, e.id));
    events.length = 0;
    for (let i = 0; i < rows.length; i += BATCH) await writeUsageRows(pool, db, rows.slice(i, i + BATCH));
    rows.length = 0;
    await sql`vacuum analyze usage_events`.execute(db);
    await new UsageRollups({ orm: app.orm, logger: createLogger('warn'), timeZone: config.timeZone }).run(
      now,
    );
    await sql`vacuum analyze usage_rollups`.execute(db);

    const token = await new TokenService(config.auth).mint({
      role: 'admin',
      subject: 'bench-console',
      ttlSeconds: 3600,
    });
    const graphqlUrl = `${app.url}/graphql`;
    const post = async (query: string, variables: Record<string, unknown> = {}) => {
      const response = await fetch(graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { errors?: unknown[]; data?: unknown };
      if (response.status !== 200 || body.errors) {
        throw new Error(`GraphQL answered ${response.status}: ${JSON.stringify(body).slice(0, 500)}`);
      }
      return body;
    };
    const overview = print(ConsoleOverviewDocument);
    const today = new Date(now.getFullYear(), now.getMonth(), now.getDate()).toISOString();
    const overviewVariables = { first: OVERVIEW_PAGE, today };
    const check = (await post(overview, overviewVariables)) as {
      data: {
        providers: { edges: { node: { lastHour: { calls: number }; today: { costMicros: number } } }[] };
      };
    };
    const edges = check.data.providers.edges;
    const callsLastHour = edges.reduce((sum, e) => sum + e.node.lastHour.calls, 0);

    const baseline = stats(
      await timeRuns(DATA_RUNS, () => post('{ viewer { role } }').then(() => undefined)),
    );
    const data = stats(
      await timeRuns(DATA_RUNS, () => post(overview, overviewVariables).then(() => undefined)),
    );

    // The page in headless Chromium: navigation to the provider table with its first page.
    buildConsoleIfStale();
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (set CHROMIUM_PATH)`);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    let page: { median: number; p95: number };
    let cached: { median: number; p95: number };
    try {
      const expectedRows = Math.min(OVERVIEW_PAGE, PROVIDERS);
      /** One load of the page in `context`: navigation to the table with its first page of rows. */
      const load = async (context: BrowserContext) => {
        const tab = await context.newPage();
        try {
          const marks: Record<string, number> = {};
          const started = performance.now();
          tab.on('domcontentloaded', () => {
            marks.dom = Math.round(performance.now() - started);
          });
          tab.on('requestfinished', (request) => {
            const name = /query (\w+)/.exec(request.postData() ?? '')?.[1];
            if (name && !(name in marks)) marks[name] = Math.round(performance.now() - started);
          });
          await tab.goto(`${app.url}/console/#token=${token}`);
          await tab.waitForFunction(
            (n) => document.querySelectorAll('table.overview-table tbody tr').length >= n,
            expectedRows,
            { timeout: 30_000, polling: 'raf' },
          );
          marks.usable = Math.round(performance.now() - started);
          if (process.env.BENCH_CONSOLE_TRACE) console.log('   ', JSON.stringify(marks));
          return marks.usable;
        } finally {
          await tab.close();
        }
      };
      const fresh = async () => {
        const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
        try {
          return await load(context);
        } finally {
          await context.close();
        }
      };
      await fresh(); // warm-up: compression of the build, server caches
      const times: number[] = [];
      for (let i = 0; i < PAGE_RUNS; i++) times.push(await fresh());
      // A returning operator: the same browser profile, so the hashed assets come from its cache.
      const returning = await browser.newContext({ viewport: { width: 1360, height: 860 } });
      const warmTimes: number[] = [];
      try {
        await load(returning);
        for (let i = 0; i < PAGE_RUNS; i++) warmTimes.push(await load(returning));
      } finally {
        await returning.close();
      }
      cached = stats(warmTimes);
      page = stats(times);
      // Where the time goes: one traced load in a fresh profile, one with the assets cached.
      if (process.env.BENCH_CONSOLE_TRACE) {
        const rowsShown = async (tab: Page) => {
          await tab.waitForFunction(
            (n) => document.querySelectorAll('table.overview-table tbody tr').length >= n,
            expectedRows,
            { timeout: 30_000, polling: 'raf' },
          );
        };
        const traced = async (context: BrowserContext, label: string) => {
          const tab = await context.newPage();
          try {
            const breakdown = await tracedLoad(
              browser,
              tab,
              `${app.url}/console/#token=${token}`,
              expectedRows,
              () => rowsShown(tab),
              fileURLToPath(
                new URL(`./results/console-trace-${label.replace(/ /g, '-')}.json`, import.meta.url),
              ),
            );
            console.log(`  trace, ${label}:\n${formatBreakdown(breakdown)}`);
          } catch (error) {
            // A trace can come back without the navigation's events (a busy machine): say so, go on.
            console.log(`  trace, ${label}: ${(error as Error).message}`);
          } finally {
            await tab.close();
          }
        };
        mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
        const freshContext = await browser.newContext({ viewport: { width: 1360, height: 860 } });
        try {
          await traced(freshContext, 'first visit');
          await traced(freshContext, 'assets cached');
        } finally {
          await freshContext.close();
        }
      }
    } finally {
      await browser.close();
    }

    const figures = {
      providers: PROVIDERS,
      events: EVENTS,
      overviewRows: edges.length,
      callsLastHourOnPage: callsLastHour,
      overviewData: { ...data, baseline, ratio: round(data.median / baseline.median), targetMs: 300 },
      overviewUsable: { firstVisit: page, cachedAssets: cached, targetMs: 1000 },
    };
    console.log(`  overview rows on the first page   ${edges.length} (of ${PROVIDERS} providers)`);
    console.log(
      `  overview data (the page's request) median ${data.median} ms, p95 ${data.p95} ms  (target < 300 ms)`,
    );
    console.log(
      `  baseline { viewer { role } }      median ${baseline.median} ms, p95 ${baseline.p95} ms  (overview ×${figures.overviewData.ratio})`,
    );
    console.log(
      `  overview usable in Chromium       first visit median ${page.median} ms, p95 ${page.p95} ms over ${PAGE_RUNS} loads  (target < 1000 ms)`,
    );
    console.log(
      `                                    assets cached median ${cached.median} ms, p95 ${cached.p95} ms over ${PAGE_RUNS} loads`,
    );
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(
      new URL('./results/console.json', import.meta.url),
      `${JSON.stringify(figures, null, 2)}\n`,
    );
  } finally {
    await app.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
