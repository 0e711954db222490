import { z } from 'zod';
import type { Config } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { UsagePartitions } from '../usage/usage-partitions.ts';
import { RetentionService } from './retention.service.ts';

/** Retention: the `retention` job (once per cron tick for the whole cluster) deletes old rows. */
export function retentionModule(deps: {
  config: Config;
  orm: Orm;
  jobs: JobQueue;
  partitions: UsagePartitions;
  logger: Logger;
}) {
  const retention = new RetentionService({
    orm: deps.orm,
    logger: deps.logger,
    settings: deps.config.retention,
    partitions: deps.partitions,
  });
  deps.jobs.define({
    name: 'retention',
    schema: z.object({}),
    retryLimit: 3,
    retryDelaySeconds: 60,
    backoff: true,
    cron: deps.config.retention.cron,
    handler: async (_data, job) => {
      await retention.run(new Date(), job.logger);
    },
  });
  return { retention };
}
