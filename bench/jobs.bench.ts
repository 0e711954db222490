import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgBoss } from 'pg-boss';
import { z } from 'zod';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { EventBus } from '../src/modules/events/event-bus.ts';
import { JobQueue } from '../src/modules/jobs/job-queue.ts';
import { createLogger } from '../src/shared/logger.ts';
import { median } from './bench-kit.ts';

/**
 * Job throughput with and without Tollgate's job monitoring, in one run on one PostgreSQL:
 * N no-op jobs through a bare pg-boss worker (the baseline) and through JobQueue with everything
 * it adds (zod validation at send and run, job-id logging, failure alerts, the once-a-minute
 * retry-rate monitor, queue counts read while the jobs run). Prints jobs/s and the overhead.
 */
const JOBS = Number(process.env.BENCH_JOBS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

async function drain(count: () => Promise<number>, total: number): Promise<void> {
  while ((await count()) < total) await new Promise((r) => setTimeout(r, 50));
}

export async function runJobsBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-jobs-'));
  const logger = createLogger('error');
  const db = await startEmbeddedPostgres({
    dataDir: dir,
    port: 20_000 + Math.floor(Math.random() * 12_000),
    logger,
  });
  try {
    const payload = { n: 0, note: 'bench' };
    const sendAll = async (send: (n: number) => Promise<unknown>) => {
      // Sent one by one, 500 at a time, as JobQueue.send does.
      for (let i = 0; i < JOBS; i += 500) {
        await Promise.all(Array.from({ length: Math.min(500, JOBS - i) }, (_, k) => send(i + k)));
      }
    };

    // Baseline: pg-boss alone, with the same fetching as JobQueue (batches of 10, burst while
    // full, per-job results). Returns seconds from the first send to the last job done.
    const bare = async (round: number): Promise<number> => {
      const boss = new PgBoss({ connectionString: db.url, schema: 'pgboss', max: 4 });
      boss.on('error', () => undefined);
      await boss.start();
      const queue = `bare-${round}`;
      await boss.createQueue(queue);
      let done = 0;
      await boss.work(
        queue,
        { pollingIntervalSeconds: 0.5, batchSize: 10, burstWhenBatchFull: true, perJobResults: true },
        async (batch) =>
          batch.map((job) => {
            done++;
            return { id: job.id, status: 'completed' as const };
          }),
      );
      const start = performance.now();
      await sendAll((n) => boss.send(queue, { ...payload, n }));
      await drain(async () => done, JOBS);
      const seconds = (performance.now() - start) / 1000;
      await boss.stop({ graceful: true, timeout: 5_000 });
      return seconds;
    };

    // Tollgate's JobQueue: validation, logging, alerts, monitor, counts read during the run.
    const monitored = async (round: number): Promise<number> => {
      const jobs = new JobQueue({
        databaseUrl: db.url,
        logger,
        retentionDays: 30,
        events: new EventBus({ logger }),
        alerts: { retryRateThreshold: 0.5, minJobs: 10 },
      });
      const queue = `monitored-${round}`;
      let done = 0;
      jobs.define({
        name: queue,
        schema: z.object({ n: z.number().int(), note: z.string() }),
        retryLimit: 2,
        retryDelaySeconds: 1,
        backoff: true,
        handler: async () => {
          done++;
        },
      });
      await jobs.start();
      const start = performance.now();
      const monitoring = setInterval(() => {
        void jobs.queues().catch(() => undefined);
        void jobs.checkRetryRates().catch(() => undefined);
      }, 1000);
      await sendAll((n) => jobs.send(queue, { ...payload, n }));
      await drain(async () => done, JOBS);
      const seconds = (performance.now() - start) / 1000;
      clearInterval(monitoring);
      await jobs.stop();
      return seconds;
    };

    // A warm-up of each (discarded), then alternating rounds, so that drift in the machine's
    // speed (caches, autovacuum, neighbours) falls on both sides; medians are compared.
    await bare(0);
    await monitored(0);
    const bareRuns: number[] = [];
    const monitoredRuns: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      bareRuns.push(await bare(round));
      monitoredRuns.push(await monitored(round));
    }
    const bareSeconds = median(bareRuns);
    const seconds = median(monitoredRuns);

    const figures = {
      jobs: JOBS,
      rounds: ROUNDS,
      bareJobsPerSecond: Math.round(JOBS / bareSeconds),
      monitoredJobsPerSecond: Math.round(JOBS / seconds),
      overheadPercent: Math.round((seconds / bareSeconds - 1) * 1000) / 10,
      perRoundOverheadPercent: bareRuns.map((b, i) => Math.round((monitoredRuns[i]! / b - 1) * 1000) / 10),
    };
    console.log(`jobs: ${JOBS} no-op jobs, one worker each, median of ${ROUNDS} alternating rounds`);
    console.log(`  bare pg-boss                 ${figures.bareJobsPerSecond} jobs/s`);
    console.log(`  tollgate JobQueue (monitored) ${figures.monitoredJobsPerSecond} jobs/s`);
    console.log(
      `  monitoring overhead          ${figures.overheadPercent} % (per round: ${figures.perRoundOverheadPercent.join(', ')})`,
    );
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('./results/jobs.json', import.meta.url), `${JSON.stringify(figures, null, 2)}\n`);
  } finally {
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
