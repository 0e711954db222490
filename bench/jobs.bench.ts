import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgBoss } from 'pg-boss';
import { z } from 'zod';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { EventBus } from '../src/modules/events/event-bus.ts';
import { JobQueue } from '../src/modules/jobs/job-queue.ts';
import { createLogger } from '../src/shared/logger.ts';

/**
 * Job throughput with and without Tollgate's job monitoring, in one run on one PostgreSQL:
 * N no-op jobs through a bare pg-boss worker (the baseline) and through JobQueue with everything
 * it adds (zod validation at send and run, job-id logging, failure alerts, the once-a-minute
 * retry-rate monitor, queue counts read while the jobs run). Prints jobs/s and the overhead.
 */
const JOBS = Number(process.env.BENCH_JOBS ?? 5000);

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
    // Baseline: pg-boss alone.
    const boss = new PgBoss({ connectionString: db.url, schema: 'pgboss', max: 4 });
    boss.on('error', () => undefined);
    await boss.start();
    await boss.createQueue('bare');
    let bareDone = 0;
    // The same fetching as JobQueue (batches of 10, burst while full, per-job results).
    await boss.work(
      'bare',
      { pollingIntervalSeconds: 0.5, batchSize: 10, burstWhenBatchFull: true, perJobResults: true },
      async (batch) =>
        batch.map((job) => {
          bareDone++;
          return { id: job.id, status: 'completed' as const };
        }),
    );
    const bareStart = performance.now();
    // Sent one by one, 500 at a time, as JobQueue.send does.
    for (let i = 0; i < JOBS; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, JOBS - i) }, (_, k) =>
          boss.send('bare', { ...payload, n: i + k }),
        ),
      );
    }
    await drain(async () => bareDone, JOBS);
    const bareSeconds = (performance.now() - bareStart) / 1000;
    await boss.stop({ graceful: true, timeout: 5_000 });

    // Tollgate's JobQueue: validation, logging, alerts, monitor, counts read during the run.
    const events = new EventBus({ logger });
    const jobs = new JobQueue({
      databaseUrl: db.url,
      logger,
      retentionDays: 30,
      events,
      alerts: { retryRateThreshold: 0.5, minJobs: 10 },
    });
    let done = 0;
    jobs.define({
      name: 'monitored',
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
    for (let i = 0; i < JOBS; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, JOBS - i) }, (_, k) =>
          jobs.send('monitored', { ...payload, n: i + k }),
        ),
      );
    }
    await drain(async () => done, JOBS);
    const seconds = (performance.now() - start) / 1000;
    clearInterval(monitoring);
    await jobs.stop();

    const figures = {
      jobs: JOBS,
      bareJobsPerSecond: Math.round(JOBS / bareSeconds),
      monitoredJobsPerSecond: Math.round(JOBS / seconds),
      overheadPercent: Math.round((seconds / bareSeconds - 1) * 1000) / 10,
    };
    console.log(`jobs: ${JOBS} no-op jobs, one worker each`);
    console.log(`  bare pg-boss                 ${figures.bareJobsPerSecond} jobs/s`);
    console.log(`  tollgate JobQueue (monitored) ${figures.monitoredJobsPerSecond} jobs/s`);
    console.log(`  monitoring overhead          ${figures.overheadPercent} %`);
    mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
    writeFileSync(new URL('./results/jobs.json', import.meta.url), `${JSON.stringify(figures, null, 2)}\n`);
  } finally {
    await db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
