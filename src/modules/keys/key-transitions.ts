import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { JobQueue } from '../jobs/job-queue.ts';
import type { ProviderKeyService } from './provider-key.service.ts';

export const KEY_TRANSITIONS_QUEUE = 'key-transitions';

/**
 * Schedules the step that moves keys at their grace end or expiry. The job is written in the
 * transaction that sets the deadline, so a committed rotation always has its transition coming
 * and a rolled-back one never fires.
 */
export interface KeyTransitionScheduler {
  at(em: EntityManager, when: Date): Promise<void>;
}

export function keyTransitionScheduler(jobs: JobQueue): KeyTransitionScheduler {
  return {
    at: async (em, when) => {
      await jobs.send(KEY_TRANSITIONS_QUEUE, {}, { em, startAfter: when });
    },
  };
}

/**
 * The transition job: one sweep moves every key whose deadline passed (idempotent, so an early,
 * late or duplicate run is harmless). Besides the jobs scheduled at each deadline, a cron run
 * every minute catches deadlines set by hand in the database or missed while every replica was
 * down.
 */
export function defineKeyTransitionJob(jobs: JobQueue, keys: ProviderKeyService): void {
  jobs.define({
    name: KEY_TRANSITIONS_QUEUE,
    schema: z.object({}),
    retryLimit: 5,
    retryDelaySeconds: 5,
    backoff: true,
    cron: '* * * * *',
    handler: async () => {
      await keys.sweep();
    },
  });
}
