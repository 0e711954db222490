import type { Config } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import type { Component, Module } from '../../shared/components.ts';
import type { Logger } from '../../shared/logger.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { UsageService } from './usage.service.ts';
import { UsagePartitions } from './usage-partitions.ts';
import { UsageRecorder } from './usage-recorder.ts';
import { UsageReports } from './usage-report.ts';
import { UsageRollups } from './usage-rollup.ts';

/**
 * Usage: the recorder the proxy meters into (flushed in batches; stopped after the HTTP server
 * has drained, so the last calls are written), reports, and the rollup job.
 */
export function usageModule(deps: { config: Config; orm: Orm; jobs: JobQueue; logger: Logger }): Module<
  {
    usage: UsageService;
    usageReports: UsageReports;
    recorder: UsageRecorder;
    usagePartitions: UsagePartitions;
  },
  { partitions: Component; recorder: Component; rollups: Component }
> {
  const { config, orm, logger } = deps;
  const recorder = new UsageRecorder({ orm, logger, bufferMax: config.usage.bufferMax });
  const rollups = new UsageRollups({ orm, logger, timeZone: config.timeZone });
  rollups.defineJob(deps.jobs, config.usage.rollupCron);
  const usagePartitions = new UsagePartitions({ orm, logger });
  usagePartitions.defineJob(deps.jobs);
  return {
    services: {
      usage: new UsageService(orm),
      usageReports: new UsageReports({
        orm,
        timeZone: config.timeZone,
        retentionDays: config.usage.retentionDays,
      }),
      recorder,
      usagePartitions,
    },
    components: {
      // Today's and the coming days' partitions exist before the first event is recorded; the
      // job keeps them coming.
      partitions: {
        name: 'usage partitions',
        start: async () => {
          await usagePartitions.ensureAhead();
        },
      },
      recorder: {
        name: 'usage recorder (flush)',
        start: () => recorder.start(config.usage.flushIntervalMs),
        stop: () => recorder.stop(),
      },
      // Told to stop before the job queue: the hour being rolled up commits, the rest waits.
      rollups: { name: 'usage rollups', stop: () => rollups.stop() },
    },
  };
}
