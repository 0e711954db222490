import { builder } from '../../graphql/builder.ts';
import { ValidationError } from '../../shared/errors.ts';
import { isUuid } from '../../shared/ids.ts';
import { redactUrlsInText } from '../alerts/webhook-url.ts';
import { JOB_STATES, type JobRow, type JobState, type QueueCounts, type QueueHour } from './job-queue.ts';

const JobStateEnum = builder.enumType('JobState', {
  values: JOB_STATES.map((s) => s.toUpperCase()) as Uppercase<JobState>[],
});
const toEnum = (state: JobState) => state.toUpperCase() as Uppercase<JobState>;

const JobCountsRef = builder.objectRef<Record<JobState, number>>('JobCounts').implement({
  fields: (t) => ({
    created: t.exposeInt('created', { description: 'Waiting to run.' }),
    retry: t.exposeInt('retry', { description: 'Failed, waiting for their next attempt.' }),
    active: t.exposeInt('active'),
    completed: t.exposeInt('completed'),
    cancelled: t.exposeInt('cancelled'),
    failed: t.exposeInt('failed', { description: 'Out of attempts (and copied to the dead-letter queue).' }),
  }),
});

const QueueHourRef = builder.objectRef<QueueHour>('JobQueueHour').implement({
  fields: (t) => ({
    hour: t.field({ type: 'DateTime', description: 'Start of the hour.', resolve: (h) => h.hour }),
    completed: t.exposeInt('completed'),
    failed: t.exposeInt('failed', { description: 'Jobs that ran out of attempts in this hour.' }),
    failureRate: t.float({
      description: 'Failed ÷ finished, 0–1 (0 when nothing finished).',
      resolve: (h) =>
        h.completed + h.failed === 0
          ? 0
          : Math.round((h.failed / (h.completed + h.failed)) * 10_000) / 10_000,
    }),
  }),
});

const JobQueueRef = builder.objectRef<QueueCounts>('JobQueue').implement({
  fields: (t) => ({
    history: t.field({
      type: [QueueHourRef],
      description: 'Throughput and failure rate per hour, oldest first (1–720 hours).',
      args: { hours: t.arg.int({ defaultValue: 24 }) },
      resolve: (q, args, ctx) => {
        const hours = args.hours ?? 24;
        if (hours < 1 || hours > 720) {
          throw new ValidationError([{ path: ['hours'], message: 'must be between 1 and 720' }]);
        }
        return ctx.services.jobs.history(q.name, hours);
      },
    }),
    name: t.exposeString('name'),
    deadLetter: t.string({ nullable: true, resolve: (q) => q.deadLetter }),
    counts: t.field({ type: JobCountsRef, resolve: (q) => q.counts }),
    finishedLastHour: t.exposeInt('finishedLastHour'),
    failureRateLastHour: t.exposeFloat('failureRateLastHour', { description: 'Failed ÷ finished, 0–1.' }),
  }),
});

const JobRef = builder.objectRef<JobRow>('Job').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    queue: t.exposeString('queue'),
    state: t.field({ type: JobStateEnum, resolve: (j) => toEnum(j.state) }),
    attempts: t.int({
      description: 'Attempts made so far.',
      resolve: (j) => j.retryCount + (j.startedOn ? 1 : 0),
    }),
    retryLimit: t.exposeInt('retryLimit'),
    createdOn: t.field({ type: 'DateTime', resolve: (j) => j.createdOn }),
    startedOn: t.field({ type: 'DateTime', nullable: true, resolve: (j) => j.startedOn }),
    completedOn: t.field({ type: 'DateTime', nullable: true, resolve: (j) => j.completedOn }),
    lastError: t.string({
      nullable: true,
      description:
        "The last attempt's error. URLs in it are whole for admins only (a webhook URL may be a credential): scheme and host otherwise, as alert channels show them.",
      resolve: (j, _args, ctx) =>
        j.lastError === null || ctx.operator?.role === 'admin' ? j.lastError : redactUrlsInText(j.lastError),
    }),
  }),
});

builder.queryField('jobQueues', (t) =>
  t.field({
    type: [JobQueueRef],
    authScopes: { viewer: true },
    description: 'Every background queue and its dead-letter queue (every role: counts only).',
    resolve: (_root, _args, ctx) => ctx.services.jobs.queues(),
  }),
);

const knownQueue = (name: string, names: string[]) => {
  if (!names.includes(name)) {
    throw new ValidationError([
      { path: ['queue'], message: `no queue "${name}"; one of ${names.join(', ')}` },
    ]);
  }
};

builder.queryField('jobs', (t) =>
  t.field({
    type: [JobRef],
    authScopes: { viewer: true },
    description:
      'The newest jobs of a queue, optionally in one state (every role: never a payload; URLs in errors whole for admins only).',
    args: {
      queue: t.arg.string({ required: true }),
      state: t.arg({ type: JobStateEnum }),
      first: t.arg.int({ defaultValue: 50 }),
    },
    resolve: (_root, args, ctx) => {
      knownQueue(args.queue, ctx.services.jobs.names());
      return ctx.services.jobs.jobs(
        args.queue,
        (args.state?.toLowerCase() as JobState) ?? null,
        args.first ?? 50,
      );
    },
  }),
);

const CountPayload = builder.objectRef<{ count: number }>('JobCountPayload').implement({
  fields: (t) => ({ count: t.exposeInt('count') }),
});

builder.mutationField('retryJob', (t) =>
  t.field({
    type: CountPayload,
    skipTypeScopes: true,
    authScopes: { operator: true },
    description: 'Runs a failed job again (operator and above).',
    args: { queue: t.arg.string({ required: true }), id: t.arg.id({ required: true }) },
    errors: { types: [ValidationError], directResult: true },
    resolve: async (_root, args, ctx) => {
      knownQueue(args.queue, ctx.services.jobs.names());
      // pg-boss hands the id to PostgreSQL as a uuid: anything else would fail there, unexpectedly.
      if (!isUuid(args.id)) {
        throw new ValidationError([{ path: ['id'], message: 'is not a job id (a UUID)' }]);
      }
      return { count: await ctx.services.jobs.retry(args.queue, args.id) };
    },
  }),
);

builder.mutationField('redriveDeadLetters', (t) =>
  t.field({
    type: CountPayload,
    skipTypeScopes: true,
    authScopes: { operator: true },
    description: 'Moves up to `limit` dead-lettered jobs back to `queue`, oldest first (operator and above).',
    args: { queue: t.arg.string({ required: true }), limit: t.arg.int({ defaultValue: 100 }) },
    errors: { types: [ValidationError], directResult: true },
    resolve: async (_root, args, ctx) => {
      knownQueue(args.queue, ctx.services.jobs.names());
      const limit = args.limit ?? 100;
      if (limit < 1 || limit > 10_000) {
        throw new ValidationError([{ path: ['limit'], message: 'must be between 1 and 10000' }]);
      }
      return { count: await ctx.services.jobs.redrive(args.queue, limit) };
    },
  }),
);
