import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { DEAD_LETTER_QUEUE, DELIVERY_QUEUE } from '../src/modules/alerts/webhook-delivery.ts';
import { deadLetterOf, JobQueue } from '../src/modules/jobs/job-queue.ts';
import { insertUsageEvents } from '../src/modules/usage/usage-rows.ts';
import { createLogger } from '../src/shared/logger.ts';
import {
  CreateAlertChannel,
  JobQueues,
  Jobs,
  RedriveDeadLetters,
  RetryJob,
  TripCircuit,
} from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { setUpProvider } from './helpers/gateway.ts';
import { gql, wsClient } from './helpers/graphql.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { syntheticEvents } from './helpers/usage-data.ts';

const DAY = 86_400_000;
let t: TestApp;
let upstream: Upstream;
beforeAll(async () => {
  [t, upstream] = await Promise.all([
    // No retries: a failed webhook delivery goes straight to its dead-letter queue.
    startTestApp({ env: { TOLLGATE_WEBHOOK_RETRY_LIMIT: '0' } }),
    startUpstream(),
  ]);
});
afterAll(async () => {
  await Promise.all([t?.stop(), upstream?.close()]);
});

const count = async (db: Kysely<unknown>, table: string) =>
  Number(
    (await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]?.n ?? 0,
  );

describe('retention', () => {
  it('deletes what is older than its retention and keeps the rest; an empty database is fine', async () => {
    const empty = await startTestApp();
    try {
      const deleted = await empty.app.services.retention.run();
      expect(Object.values(deleted).every((n) => n === 0)).toBe(true);
    } finally {
      await empty.stop();
    }

    const db = t.app.orm.em.fork().getKysely() as Kysely<unknown>;
    const now = new Date();
    const { id: providerId } = await setUpProvider(t, upstream.url);
    const clientIds = ['00000000-0000-4000-8000-00000000000a'];
    // 40 days ago (past the 30-day retention) and yesterday, 6,000 events each (several batches).
    const old = syntheticEvents({
      count: 6000,
      from: new Date(now.getTime() - 41 * DAY),
      to: new Date(now.getTime() - 40 * DAY),
      providerIds: [providerId],
      clientIds,
      seed: 11,
    });
    const recent = syntheticEvents({
      count: 6000,
      from: new Date(now.getTime() - 2 * DAY),
      to: new Date(now.getTime() - DAY),
      providerIds: [providerId],
      clientIds,
      seed: 12,
    });
    for (let i = 0; i < old.length; i += 2000) {
      await insertUsageEvents(db, old.slice(i, i + 2000));
      await insertUsageEvents(db, recent.slice(i, i + 2000));
    }
    const at = (days: number) => new Date(now.getTime() - days * DAY);
    for (const days of [40, 1]) {
      await sql`insert into health_checks (id, provider_id, at, source, ok) values (gen_random_uuid(), ${providerId}, ${at(days)}, 'SCHEDULED', true)`.execute(
        db,
      );
      await sql`insert into health_transitions (id, provider_id, at, "from", "to", reason) values (gen_random_uuid(), ${providerId}, ${at(days)}, 'UNKNOWN', 'HEALTHY', 'test')`.execute(
        db,
      );
    }
    for (const days of [400, 300]) {
      await sql`insert into audit_events (id, at, actor, actor_role, action, target_type, target_id, details)
        values (gen_random_uuid(), ${at(days)}, 'test', 'admin', 'test.old', 'Test', 'x', '{}')`.execute(db);
    }
    const usageBefore = await count(db, 'usage_events');
    const auditBefore = await count(db, 'audit_events');

    const deleted = await t.app.services.retention.run(now);
    expect(deleted['usage events']).toBe(6000);
    expect(deleted['probe results']).toBe(1);
    expect(deleted['health transitions']).toBe(1);
    expect(deleted['audit events']).toBe(1);
    expect(await count(db, 'usage_events')).toBe(usageBefore - 6000);
    expect(await count(db, 'audit_events')).toBe(auditBefore - 1);
    const oldest = await sql<{ at: string }>`select min(at) as at from usage_events`.execute(db);
    expect(new Date(oldest.rows[0]!.at).getTime()).toBeGreaterThan(now.getTime() - 30 * DAY);
    expect(t.logs.text).toContain('retention cleanup done');

    // The same cleanup runs as a job (its cron schedule sends these), logged with its job id.
    const jobId = await t.app.services.jobs.send('retention', {});
    await vi.waitFor(
      async () =>
        expect((await t.app.services.jobs.jobs('retention', 'completed', 10)).map((j) => j.id)).toContain(
          jobId,
        ),
      { timeout: 10_000, interval: 250 },
    );
    expect(t.logs.lines.some((l) => l.includes('retention cleanup done') && l.includes(String(jobId)))).toBe(
      true,
    );
  });
});

describe('retries', () => {
  it('retries a failing job with growing delays until it succeeds, and dead-letters one that never does', async () => {
    const attempts: Record<string, number[]> = { flaky: [], broken: [] };
    const jobs = new JobQueue({
      databaseUrl: t.config.database.url!,
      logger: createLogger('silent'),
      retentionDays: 1,
      events: t.app.services.events,
      alerts: { retryRateThreshold: 1, minJobs: 1000 },
    });
    const define = (name: 'flaky' | 'broken', failures: number) =>
      jobs.define({
        name: `test-${name}`,
        schema: z.object({ n: z.number() }),
        retryLimit: 2,
        retryDelaySeconds: 1,
        backoff: true,
        handler: async () => {
          attempts[name]!.push(Date.now());
          if (attempts[name]!.length <= failures)
            throw new Error(`${name} attempt ${attempts[name]!.length}`);
        },
      });
    define('flaky', 2);
    define('broken', Number.POSITIVE_INFINITY);
    await jobs.start();
    try {
      // The payload is checked when sent.
      await expect(jobs.send('test-flaky', { n: 'one' })).rejects.toThrow();
      const flakyId = await jobs.send('test-flaky', { n: 1 });
      await jobs.send('test-broken', { n: 2 });
      await vi.waitFor(
        async () => {
          const [job] = await jobs.jobs('test-flaky', 'completed', 1);
          expect(job?.id).toBe(flakyId);
        },
        { timeout: 20_000, interval: 250 },
      );
      // Two failures, two retries, then success; backoff: the n-th retry waits at least 2^(n-1) s.
      expect(attempts.flaky).toHaveLength(3);
      const [first, second] = [1, 2].map((i) => attempts.flaky![i]! - attempts.flaky![i - 1]!);
      console.log(`retry delays: ${first} ms, then ${second} ms`);
      expect(first).toBeGreaterThanOrEqual(950);
      expect(second).toBeGreaterThanOrEqual(1950);

      await vi.waitFor(
        async () => expect(await jobs.jobs(deadLetterOf('test-broken'), null, 10)).toHaveLength(1),
        { timeout: 20_000, interval: 250 },
      );
      expect(attempts.broken).toHaveLength(3);
      const [failed] = await jobs.jobs('test-broken', 'failed', 1);
      expect(failed?.lastError).toBe('broken attempt 3');
    } finally {
      await jobs.stop();
    }
  }, 40_000);
});

describe('transactional enqueue', () => {
  it('writes a job only if the transaction that sends it commits', async () => {
    const jobs = t.app.services.jobs;
    const startAfter = new Date(Date.now() + 3_600_000); // far enough not to run during the test
    const queued = async () => {
      const [row] = await t.app.orm.em
        .fork()
        .execute<{ n: number }[]>(
          `select count(*)::int as n from pgboss.job where name = 'key-transitions' and start_after = ?`,
          [startAfter],
        );
      return row?.n;
    };
    await expect(
      t.app.orm.em.fork().transactional(async (em) => {
        await jobs.send('key-transitions', {}, { em, startAfter });
        throw new Error('the data change failed');
      }),
    ).rejects.toThrow('the data change failed');
    expect(await queued()).toBe(0);
    await t.app.orm.em.fork().transactional(async (em) => {
      await jobs.send('key-transitions', {}, { em, startAfter });
    });
    expect(await queued()).toBe(1);
    // Payloads are validated at enqueue: a wrong one never reaches the table.
    await expect(jobs.send('retention', 'not an object' as never)).rejects.toThrow();
  });
});

describe('job monitoring', () => {
  it('lists queues and jobs to operators, retries failed jobs and redrives dead letters', async () => {
    let healthy = false;
    const received: string[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        if (healthy) received.push(body);
        res.writeHead(healthy ? 200 : 500).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const operator = await t.token('operator');
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
      await gql(
        t.graphqlUrl,
        CreateAlertChannel,
        { input: { name: 'monitored', url, kinds: ['CIRCUIT_STATE'], allowPrivateNetwork: true } },
        await t.token('admin'),
      );
      const { slug } = await setUpProvider(t, upstream.url);
      const alerts: { queue: string; alert: string; message: string }[] = [];
      const ws = wsClient(t.graphqlUrl, operator);
      const iterator = ws.iterate({
        query:
          'subscription { gatewayEvents(kinds: [JOB]) { ... on JobAlertEvent { queue alert message } } }',
      });
      const collecting = (async () => {
        for await (const r of iterator) alerts.push(r.data?.gatewayEvents as (typeof alerts)[number]);
      })();
      await new Promise((r) => setTimeout(r, 200));
      await gql(t.graphqlUrl, TripCircuit, { provider: slug }, operator);

      // Without retries the delivery fails once and lands in the dead-letter queue.
      await vi.waitFor(
        async () => {
          const dead = await gql(t.graphqlUrl, Jobs, { queue: DEAD_LETTER_QUEUE }, operator);
          expect(dead.data?.jobs).toHaveLength(1);
        },
        { timeout: 10_000, interval: 250 },
      );
      // The dead letter carries the error its delivery failed with.
      const dead = await gql(t.graphqlUrl, Jobs, { queue: DEAD_LETTER_QUEUE }, operator);
      expect(dead.data?.jobs[0]?.lastError).toMatch(/the endpoint answered 500/);
      // ...and its final failure is announced as a gateway event.
      await vi.waitFor(() => expect(alerts).toHaveLength(1));
      expect(alerts[0]).toMatchObject({ queue: DELIVERY_QUEUE, alert: 'FAILED' });
      expect(alerts[0]?.message).toMatch(/failed after 1 attempts: the endpoint answered 500/);
      await iterator.return?.();
      await collecting;
      await ws.dispose();
      const failed = await gql(t.graphqlUrl, Jobs, { queue: DELIVERY_QUEUE, state: 'FAILED' }, operator);
      expect(failed.data?.jobs[0]).toMatchObject({ state: 'FAILED', retryLimit: 0 });
      expect(failed.data?.jobs[0]?.lastError).toMatch(/answered 500/);

      const queues = await gql(t.graphqlUrl, JobQueues, {}, operator);
      const delivery = queues.data?.jobQueues.find((q) => q.name === DELIVERY_QUEUE);
      expect(delivery).toMatchObject({ deadLetter: DEAD_LETTER_QUEUE, counts: { failed: 1 } });
      expect(delivery?.failureRateLastHour).toBeGreaterThan(0);
      // Per hour, oldest first, the current hour last: the failure is in it.
      expect(delivery?.history).toHaveLength(2);
      expect(delivery?.history[1]).toMatchObject({ failed: 1 });
      expect(delivery?.history[1]?.failureRate).toBeGreaterThan(0);
      expect(Date.parse(delivery!.history[1]!.hour)).toBeLessThanOrEqual(Date.now());
      expect(queues.data?.jobQueues.map((q) => q.name)).toContain('retention');

      // The endpoint recovers: the failed job is retried, and the dead letter redriven.
      healthy = true;
      const retried = await gql(
        t.graphqlUrl,
        RetryJob,
        { queue: DELIVERY_QUEUE, id: failed.data!.jobs[0]!.id },
        operator,
      );
      expect(retried.data?.retryJob).toMatchObject({ count: 1 });
      const redriven = await gql(
        t.graphqlUrl,
        RedriveDeadLetters,
        { queue: DELIVERY_QUEUE, limit: 10 },
        operator,
      );
      expect(redriven.data?.redriveDeadLetters).toMatchObject({ count: 1 });
      await vi.waitFor(() => expect(received).toHaveLength(2), { timeout: 10_000 });
      expect(JSON.parse(received[0]!).kind).toBe('CIRCUIT_STATE');

      // Unknown queues are refused by name.
      const unknown = await gql(t.graphqlUrl, RedriveDeadLetters, { queue: 'nope' }, operator);
      expect(unknown.data?.redriveDeadLetters).toMatchObject({ __typename: 'ValidationError' });
    } finally {
      receiver.close();
    }
  }, 30_000);
});

describe('job monitoring for viewers', () => {
  it('shows viewers the queues and jobs read-only, with URLs in errors redacted; their retry and redrive are refused', async () => {
    const db = t.app.orm.em.fork().getKysely() as Kysely<unknown>;
    // A delivery whose error names its webhook URL (a credential: the token is in the path).
    const secretUrl = 'https://hooks.example.com/services/T0SECRET/B0SECRET/tokenSECRET';
    const inserted = await sql<{ id: string }>`
      insert into pgboss.job (name, data, state, retry_limit, started_on, completed_on, output)
      values (${DELIVERY_QUEUE}, ${JSON.stringify({ channelId: 'x' })}::jsonb, 'failed', 0, now(), now(),
              ${JSON.stringify({ message: `POST ${secretUrl} failed: socket hang up` })}::jsonb)
      returning id`.execute(db);
    const id = inserted.rows[0]!.id;
    const viewer = await t.token('viewer');

    const queues = await gql(t.graphqlUrl, JobQueues, {}, viewer);
    expect(queues.errors).toBeUndefined();
    const delivery = queues.data?.jobQueues.find((q) => q.name === DELIVERY_QUEUE);
    expect(delivery?.counts.failed).toBeGreaterThanOrEqual(1);

    const failed = await gql(t.graphqlUrl, Jobs, { queue: DELIVERY_QUEUE, state: 'FAILED' }, viewer);
    expect(failed.errors).toBeUndefined();
    const job = failed.data?.jobs.find((j) => j.id === id);
    expect(job?.lastError).toBe('POST https://hooks.example.com/… failed: socket hang up');
    expect(JSON.stringify(failed)).not.toContain('SECRET');
    // Operators see it redacted too; admins, who see channel URLs whole, see it whole.
    const asOperator = await gql(
      t.graphqlUrl,
      Jobs,
      { queue: DELIVERY_QUEUE, state: 'FAILED' },
      await t.token('operator'),
    );
    expect(JSON.stringify(asOperator.data)).not.toContain('SECRET');
    const asAdmin = await gql(
      t.graphqlUrl,
      Jobs,
      { queue: DELIVERY_QUEUE, state: 'FAILED' },
      await t.token('admin'),
    );
    expect(asAdmin.data?.jobs.find((j) => j.id === id)?.lastError).toContain(secretUrl);

    // Read-only: a viewer's retry and redrive are refused, and the job stays failed.
    const retried = await gql(t.graphqlUrl, RetryJob, { queue: DELIVERY_QUEUE, id }, viewer);
    expect(retried.errors?.[0]?.message).toMatch(/not authorized|role/i);
    expect(retried.data?.retryJob ?? null).toBeNull();
    const redriven = await gql(
      t.graphqlUrl,
      RedriveDeadLetters,
      { queue: DELIVERY_QUEUE, limit: 10 },
      viewer,
    );
    expect(redriven.errors?.[0]?.message).toMatch(/not authorized|role/i);
    // A job alert naming the URL reaches a viewer's event stream with the URL redacted too.
    const ws = wsClient(t.graphqlUrl, viewer);
    const iterator = ws.iterate({
      query: 'subscription { gatewayEvents(kinds: [JOB]) { ... on JobAlertEvent { jobId message } } }',
    });
    const first = iterator.next();
    await new Promise((r) => setTimeout(r, 300));
    t.app.services.events.publish('job.alert', {
      queue: DELIVERY_QUEUE,
      alert: 'FAILED',
      jobId: id,
      message: `${DELIVERY_QUEUE} job ${id} failed after 1 attempts: POST ${secretUrl} failed`,
      retryRate: null,
    });
    const alert = (await first).value as { data?: { gatewayEvents: { message: string } } };
    expect(alert.data?.gatewayEvents.message).toContain('POST https://hooks.example.com/… failed');
    expect(JSON.stringify(alert)).not.toContain('SECRET');
    await iterator.return?.();
    await ws.dispose();

    const after = await sql<{
      state: string;
    }>`select state::text as state from pgboss.job where id = ${id}::uuid`.execute(db);
    expect(after.rows[0]?.state).toBe('failed');
  });
});
