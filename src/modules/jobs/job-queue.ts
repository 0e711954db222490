import type { EntityManager } from '@mikro-orm/postgresql';
import { CompiledQuery } from 'kysely';
import { PgBoss } from 'pg-boss';
import { z } from 'zod';
import type { Logger } from '../../shared/logger.ts';
import type { EventBus } from '../events/event-bus.ts';

export const JOB_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A kind of background work: its payload schema, retry policy, optional schedule and handler. */
export interface JobDefinition<T> {
  name: string;
  schema: z.ZodType<T>;
  retryLimit: number;
  retryDelaySeconds: number;
  /** Exponential backoff (with jitter, capped at an hour) instead of a fixed delay. */
  backoff: boolean;
  /** Cron (UTC) for periodic work: pg-boss runs it once per tick for the whole cluster. */
  cron?: string;
  handler: (data: T, job: { id: string; logger: Logger }) => Promise<void>;
  /** Whether this job's final failure is announced (default yes); see webhook deliveries. */
  announceFailure?: (data: T) => boolean;
}

export interface JobAlertSettings {
  /** Retried share of the jobs of the last 15 minutes above which RETRY_RATE is announced. */
  retryRateThreshold: number;
  /** At least this many jobs in the window before the rate means anything. */
  minJobs: number;
}

export interface QueueCounts {
  name: string;
  deadLetter: string | null;
  counts: Record<JobState, number>;
  /** Jobs finished (completed or failed) in the last hour, and the failed share of them. */
  finishedLastHour: number;
  failureRateLastHour: number;
}

export interface QueueHour {
  hour: Date;
  completed: number;
  failed: number;
}

export interface JobRow {
  id: string;
  queue: string;
  state: JobState;
  retryCount: number;
  retryLimit: number;
  createdOn: Date;
  startedOn: Date | null;
  completedOn: Date | null;
  lastError: string | null;
  data: unknown;
}

export interface SendOptions {
  /** Not before this time (pg-boss polls every half second). */
  startAfter?: Date;
  /** Write the job in this entity manager's transaction. */
  em?: EntityManager;
}

const BATCH_SIZE = 10;

export const deadLetterOf = (name: string) => `${name}-dead-letter`;

/**
 * Durable background jobs on PostgreSQL (pg-boss, schema `pgboss`), so the embedded default
 * needs nothing else. One queue per kind of work, each with its retry policy and a dead-letter
 * queue; payloads are validated with zod when sent and when run; each run logs with its job id.
 */
export class JobQueue {
  readonly #boss: PgBoss;
  readonly #logger: Logger;
  readonly #retentionSeconds: number;
  readonly #definitions = new Map<string, JobDefinition<unknown>>();
  readonly #events: EventBus;
  readonly #alerts: JobAlertSettings;
  readonly #announcedRates = new Map<string, number>();
  #started = false;

  constructor(deps: {
    databaseUrl: string;
    logger: Logger;
    retentionDays: number;
    events: EventBus;
    alerts: JobAlertSettings;
  }) {
    this.#boss = new PgBoss({ connectionString: deps.databaseUrl, schema: 'pgboss', max: 4 });
    this.#boss.on('error', (error: Error) => deps.logger.warn({ err: error.message }, 'job queue error'));
    this.#logger = deps.logger;
    this.#retentionSeconds = deps.retentionDays * 86_400;
    this.#events = deps.events;
    this.#alerts = deps.alerts;
    // Once a minute, for the whole cluster: announce queues retrying too much.
    this.define({
      name: 'job-monitor',
      schema: z.object({}),
      retryLimit: 0,
      retryDelaySeconds: 60,
      backoff: false,
      cron: '* * * * *',
      handler: () => this.checkRetryRates(),
    });
  }

  /** Declares a kind of job; all are created and their workers started by start(). */
  define<T>(definition: JobDefinition<T>): void {
    if (this.#started) throw new Error('define jobs before start()');
    this.#definitions.set(definition.name, definition as JobDefinition<unknown>);
  }

  async start(): Promise<void> {
    await this.#boss.start();
    for (const definition of this.#definitions.values()) {
      const deadLetter = deadLetterOf(definition.name);
      await this.#ensureQueue(deadLetter, { deleteAfterSeconds: this.#retentionSeconds });
      await this.#ensureQueue(definition.name, {
        retryLimit: definition.retryLimit,
        retryDelay: definition.retryDelaySeconds,
        retryBackoff: definition.backoff,
        ...(definition.backoff ? { retryDelayMax: 3600 } : {}),
        deadLetter,
        deleteAfterSeconds: this.#retentionSeconds,
      });
      // Up to 10 jobs per fetch, run side by side, each settled on its own; while fetches come
      // back full the worker fetches again at once (a backlog drains at full speed), and when
      // idle it polls every half second.
      await this.#boss.work(
        definition.name,
        {
          pollingIntervalSeconds: 0.5,
          batchSize: BATCH_SIZE,
          burstWhenBatchFull: true,
          perJobResults: true,
        },
        async (batch) =>
          Promise.all(
            batch.map(async (job) => {
              try {
                await this.#run(definition, job);
                return { id: job.id, status: 'completed' as const };
              } catch (error) {
                return {
                  id: job.id,
                  status: 'failed' as const,
                  output: { message: (error as Error).message },
                };
              }
            }),
          ),
      );
      // A schedule switched off in the configuration is taken off the cluster's schedule too.
      if (definition.cron) await this.#boss.schedule(definition.name, definition.cron, {});
      else await this.#boss.unschedule(definition.name);
    }
    this.#started = true;
  }

  async stop(): Promise<void> {
    await this.#boss.stop({ graceful: true, timeout: 5_000 });
  }

  /** Runs one job: validates its payload, logs with its id, announces its final failure. */
  async #run(definition: JobDefinition<unknown>, job: { id: string; data: unknown }): Promise<void> {
    // The child logger is made only if the job logs (most never do; this runs for every job).
    let childLogger: Logger | undefined;
    const base = this.#logger;
    const context = {
      id: job.id,
      get logger() {
        childLogger ??= base.child({ jobId: job.id, queue: definition.name });
        return childLogger;
      },
    };
    const data = definition.schema.parse(job.data);
    try {
      await definition.handler(data, context);
    } catch (error) {
      const message = (error as Error).message ?? String(error);
      const logger = context.logger;
      // Attempts are read on failure only, rather than fetched with every job.
      const attempts = await this.#boss.getJobById(definition.name, job.id).catch(() => null);
      const final = attempts !== null && attempts.retryCount >= attempts.retryLimit;
      if (final && (definition.announceFailure?.(data) ?? true)) {
        logger.error({ err: message }, 'job failed for good; it is in the dead-letter queue');
        this.#events.publish('job.alert', {
          queue: definition.name,
          alert: 'FAILED',
          jobId: job.id,
          message:
            `${definition.name} job ${job.id} failed after ${attempts.retryCount + 1} attempts: ${message}`.slice(
              0,
              500,
            ),
          retryRate: null,
        });
      } else {
        logger.warn(
          { err: message, attempt: (attempts?.retryCount ?? 0) + 1 },
          'job failed; it will be retried',
        );
      }
      throw error;
    }
  }

  /** Announces (once per queue and quarter of an hour) queues whose recent jobs retry too much. */
  async checkRetryRates(): Promise<void> {
    const result = await this.#boss.getDb().executeSql(
      `select name, count(*)::int as jobs, (count(*) filter (where retry_count > 0))::int as retried
       from pgboss.job where name = any($1::text[]) and created_on > now() - interval '15 minutes'
       group by name`,
      [[...this.#definitions.keys()]],
    );
    const window = Math.floor(Date.now() / 900_000);
    for (const row of result.rows as { name: string; jobs: number; retried: number }[]) {
      const rate = row.retried / row.jobs;
      if (row.jobs < this.#alerts.minJobs || rate <= this.#alerts.retryRateThreshold) continue;
      if (this.#announcedRates.get(row.name) === window) continue;
      this.#announcedRates.set(row.name, window);
      this.#events.publish('job.alert', {
        queue: row.name,
        alert: 'RETRY_RATE',
        jobId: null,
        message: `${Math.round(rate * 100)} % of the last 15 minutes' ${row.name} jobs needed retries`,
        retryRate: Math.round(rate * 10_000) / 10_000,
      });
    }
  }

  /**
   * Enqueues a job after validating its payload against the queue's schema. Given `em` (an
   * entity manager inside a transaction), the job is written in that transaction: it exists
   * if and only if the data change that caused it commits.
   */
  async send<T>(name: string, data: T, options: SendOptions = {}): Promise<string | null> {
    const definition = this.#definitions.get(name);
    if (!definition) throw new Error(`no job queue "${name}"`);
    return this.#boss.send(name, definition.schema.parse(data) as object, {
      ...(options.startAfter ? { startAfter: options.startAfter } : {}),
      ...(options.em ? { db: inTransaction(options.em) } : {}),
    });
  }

  names(): string[] {
    return [...this.#definitions.keys()].flatMap((name) => [name, deadLetterOf(name)]);
  }

  /** Counts per state, and the last hour's throughput and failure rate, for every queue. */
  async queues(): Promise<QueueCounts[]> {
    const names = this.names();
    const rows = await this.#boss.getDb().executeSql(
      `select name, state::text as state, count(*)::int as n,
           (count(*) filter (where completed_on > now() - interval '1 hour'))::int as recent
         from pgboss.job where name = any($1::text[]) group by 1, 2`,
      [names],
    );
    return names.map((name) => {
      const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
      let finished = 0;
      let failed = 0;
      for (const row of rows.rows as { name: string; state: JobState; n: number; recent: number }[]) {
        if (row.name !== name) continue;
        counts[row.state] = row.n;
        if (row.state === 'completed' || row.state === 'failed') finished += row.recent;
        if (row.state === 'failed') failed += row.recent;
      }
      return {
        name,
        deadLetter: this.#definitions.has(name) ? deadLetterOf(name) : null,
        counts,
        finishedLastHour: finished,
        failureRateLastHour: finished === 0 ? 0 : Math.round((failed / finished) * 10_000) / 10_000,
      };
    });
  }

  /** Jobs finished per hour over the last `hours` hours (oldest first, every hour present). */
  async history(queue: string, hours: number): Promise<QueueHour[]> {
    const result = await this.#boss.getDb().executeSql(
      `select h.hour,
           count(j.id) filter (where j.state = 'completed')::int as completed,
           count(j.id) filter (where j.state = 'failed')::int as failed
         from generate_series(date_trunc('hour', now()) - ($2::int - 1) * interval '1 hour',
                              date_trunc('hour', now()), interval '1 hour') as h(hour)
         left join pgboss.job j on j.name = $1 and j.state in ('completed', 'failed')
           and j.completed_on >= h.hour and j.completed_on < h.hour + interval '1 hour'
         group by h.hour order by h.hour`,
      [queue, Math.min(Math.max(hours, 1), 24 * 30)],
    );
    return (result.rows as { hour: string | Date; completed: number; failed: number }[]).map((r) => ({
      hour: new Date(r.hour),
      completed: r.completed,
      failed: r.failed,
    }));
  }

  /** The newest jobs of a queue, optionally in one state. */
  async jobs(queue: string, state: JobState | null, limit: number): Promise<JobRow[]> {
    const result = await this.#boss.getDb().executeSql(
      `select id, name, state::text as state, retry_count, retry_limit, created_on, started_on, completed_on, output, source_output, data
       from pgboss.job where name = $1 and ($2::text is null or state::text = $2)
       order by created_on desc limit $3`,
      [queue, state, Math.min(Math.max(limit, 1), 200)],
    );
    return (result.rows as Record<string, unknown>[]).map((r) => ({
      id: String(r.id),
      queue: String(r.name),
      state: r.state as JobState,
      retryCount: Number(r.retry_count),
      retryLimit: Number(r.retry_limit),
      createdOn: new Date(String(r.created_on)),
      startedOn: r.started_on ? new Date(String(r.started_on)) : null,
      completedOn: r.completed_on ? new Date(String(r.completed_on)) : null,
      // A dead letter has not run in its own queue: its error is the one it failed with, which
      // pg-boss copies into source_output when it moves the job.
      lastError: errorOf(r.output) ?? errorOf(r.source_output),
      data: r.data,
    }));
  }

  /** Runs a failed job again. */
  async retry(queue: string, id: string): Promise<number> {
    const result = await this.#boss.retry(queue, id);
    return (result as { affected?: number }).affected ?? 0;
  }

  /** Moves up to `limit` dead-lettered jobs of `queue` back to it. */
  async redrive(queue: string, limit: number): Promise<number> {
    return this.#boss.redrive(deadLetterOf(queue), { limit, sourceName: queue });
  }

  async #ensureQueue(name: string, options: Parameters<PgBoss['createQueue']>[1]): Promise<void> {
    if (await this.#boss.getQueue(name)) {
      await this.#boss.updateQueue(name, options as never).catch(() => undefined);
      return;
    }
    try {
      await this.#boss.createQueue(name, options);
    } catch (error) {
      if (!(await this.#boss.getQueue(name))) throw error; // another replica created it meanwhile
    }
  }
}

/** pg-boss's database adapter over the transaction an entity manager is in. */
function inTransaction(em: EntityManager) {
  if (!em.isInTransaction())
    throw new Error('a transactional job send needs an entity manager in a transaction');
  const db = em.getKysely();
  return {
    executeSql: async (text: string, values: unknown[] = []) => {
      const result = await db.executeQuery(CompiledQuery.raw(text, values));
      return { rows: result.rows as unknown[] };
    },
  };
}

function errorOf(output: unknown): string | null {
  if (!output || typeof output !== 'object') return null;
  const o = output as { message?: unknown; value?: { message?: unknown } };
  const message = o.message ?? o.value?.message;
  return typeof message === 'string' ? message.slice(0, 500) : null;
}
