import type { Config } from '../../config.ts';
import type { Component, Module } from '../../shared/components.ts';
import type { Logger } from '../../shared/logger.ts';
import type { EventBus } from '../events/event-bus.ts';
import { JobQueue } from './job-queue.ts';

/**
 * The job queue. Built first, so that every module can define its jobs; its component starts
 * the workers once all are defined, and stops after the components that send jobs while they run.
 */
export function jobsModule(deps: {
  config: Config;
  databaseUrl: string;
  events: EventBus;
  logger: Logger;
}): Module<{ jobs: JobQueue }, { queue: Component }> {
  const jobs = new JobQueue({
    databaseUrl: deps.databaseUrl,
    logger: deps.logger,
    retentionDays: deps.config.retention.jobDays,
    events: deps.events,
    alerts: { retryRateThreshold: deps.config.retention.jobRetryRateAlert, minJobs: 10 },
  });
  return {
    services: { jobs },
    components: { queue: { name: 'job queue', start: () => jobs.start(), stop: () => jobs.stop() } },
  };
}
