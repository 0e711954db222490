import { type Kysely, sql } from 'kysely';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import { DEFAULT_PARTITION, type UsagePartitions } from '../usage/usage-partitions.ts';

export interface RetentionSettings {
  usageDays: number;
  healthDays: number;
  rollupDays: number;
  auditDays: number;
}

/** What one kind of row is kept for: its table, time column and retention. */
interface Target {
  kind: string;
  table: string;
  column: string;
  days: number;
}

const BATCH = 5_000;

/**
 * Deletes what is older than its retention, kind by kind, in batches of 5,000 rows (each its own
 * short statement, so no table is locked for long and replication keeps up). Usage events, by far
 * the most numerous, go by whole days instead: their daily partitions past the retention are
 * dropped (no dead tuples, no index bloat), and only the few events the default partition caught
 * are deleted row by row. Finished jobs are removed by the job queue itself
 * (TOLLGATE_JOB_RETENTION_DAYS).
 */
export class RetentionService {
  readonly #orm: Orm;
  readonly #logger: Logger;
  readonly #targets: Target[];
  readonly #partitions: UsagePartitions;
  readonly #usageDays: number;

  constructor(deps: { orm: Orm; logger: Logger; settings: RetentionSettings; partitions: UsagePartitions }) {
    this.#orm = deps.orm;
    this.#logger = deps.logger;
    this.#partitions = deps.partitions;
    const s = deps.settings;
    this.#usageDays = s.usageDays;
    this.#targets = [
      // Events of a day that had no partition yet; the daily partitions are dropped whole.
      { kind: 'usage events', table: DEFAULT_PARTITION, column: 'at', days: s.usageDays },
      { kind: 'probe results', table: 'health_checks', column: 'at', days: s.healthDays },
      { kind: 'health transitions', table: 'health_transitions', column: 'at', days: s.healthDays },
      { kind: 'hourly and daily rollups', table: 'usage_rollups', column: 'hour', days: s.rollupDays },
      { kind: 'rollup hours', table: 'usage_hours', column: 'hour', days: s.rollupDays },
      { kind: 'rollup days', table: 'usage_days', column: 'day', days: s.rollupDays },
      { kind: 'budget alerts', table: 'budget_alerts', column: 'at', days: s.rollupDays },
      { kind: 'audit events', table: 'audit_events', column: 'at', days: s.auditDays },
    ];
  }

  /** Runs once; returns the rows deleted per kind. */
  async run(now = new Date(), logger = this.#logger): Promise<Record<string, number>> {
    const db = this.#orm.em.fork().getKysely() as Kysely<unknown>;
    const deleted: Record<string, number> = {};
    const dropped = await this.#partitions.dropBefore(new Date(now.getTime() - this.#usageDays * 86_400_000));
    deleted['usage event partitions'] = dropped.partitions;
    deleted['usage events'] = dropped.rows;
    for (const target of this.#targets) {
      const cutoff = new Date(now.getTime() - target.days * 86_400_000);
      let total = 0;
      for (;;) {
        // ctid batches: works for every table whatever its key, and each statement stays short.
        const result = await sql`
          delete from ${sql.table(target.table)} where ctid in (
            select ctid from ${sql.table(target.table)} where ${sql.ref(target.column)} < ${cutoff} limit ${BATCH})`.execute(
          db,
        );
        const n = Number(result.numAffectedRows ?? 0);
        total += n;
        if (n < BATCH) break;
      }
      deleted[target.kind] = (deleted[target.kind] ?? 0) + total;
    }
    logger.info({ deleted }, 'retention cleanup done');
    return deleted;
  }
}
