import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventBus } from '../src/modules/events/event-bus.ts';
import { CreateAlertChannel } from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { query } from './helpers/db.ts';
import { gql } from './helpers/graphql.ts';

/** A circuit event, as the breakers publish it (webhook kind CIRCUIT_STATE). */
function publishCircuitEvent(events: EventBus): string {
  return events.publish('circuit.changed', {
    providerId: randomUUID(),
    providerSlug: 'shutdown-test',
    from: 'CLOSED',
    to: 'OPEN',
    reason: 'published while stopping',
    failures: 5,
    nextProbeAt: null,
  }).id;
}

const parsed = (line: string) =>
  JSON.parse(line) as { level: string; msg: string; step?: string; eventId?: string };

describe('stopping the app', () => {
  let t: TestApp;
  let databaseUrl: string;
  beforeAll(async () => {
    t = await startTestApp();
    databaseUrl = t.config.database.url!;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('stops its components in reverse start order: the HTTP server first, the event bus after everything that publishes, the database last', () => {
    const started = t.app.components;
    const stopOrder = [...started].reverse();
    expect(stopOrder[0]).toBe('HTTP server (drain)');
    expect(stopOrder.at(-1)).toBe('database pool');
    const stopsBefore = (a: string, b: string) => stopOrder.indexOf(a) < stopOrder.indexOf(b);
    for (const publisher of [
      'health monitor',
      'webhook delivery',
      'job queue',
      'circuit breakers',
      'budget enforcer',
    ])
      expect(stopsBefore(publisher, 'event bus')).toBe(true);
    expect(stopsBefore('webhook delivery', 'job queue')).toBe(true);
    expect(stopsBefore('job queue', 'upstream connection pools')).toBe(true);
    expect(stopsBefore('usage recorder (flush)', 'database pool')).toBe(true);
  });

  it('enqueues the webhooks of events published before delivery stops, and none once the job queue has stopped (it raced the closing queue and pool)', async () => {
    const created = await gql(
      t.graphqlUrl,
      CreateAlertChannel,
      {
        input: {
          name: 'shutdown',
          url: 'http://127.0.0.1:9/hooks',
          kinds: ['CIRCUIT_STATE'],
          allowPrivateNetwork: true,
        },
      },
      await t.token('admin'),
    );
    expect(created.data?.createAlertChannel.__typename).toBe('AlertChannelCreatedPayload');
    const events = t.app.services.events;
    let before: string | undefined;
    let after: string | undefined;
    t.logs.onLine((line) => {
      const { msg, step } = parsed(line);
      if (msg !== 'stopped') return;
      // Published as each step ends, from inside the stop sequence.
      if (step === 'health monitor') before = publishCircuitEvent(events);
      if (step === 'job queue') after = publishCircuitEvent(events);
    });
    const from = t.logs.lines.length;
    await t.stop();
    const during = t.logs.lines.slice(from).map(parsed);
    expect(before).toBeDefined();
    expect(after).toBeDefined();
    // Nothing failed while stopping: no enqueue against a stopped queue or a closing pool.
    expect(during.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
    expect(during).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'webhook not enqueued: this replica is stopping',
        eventId: after,
      }),
    );
    // The event published while delivery ran was enqueued before the queue stopped (durable: any
    // replica, or this one once restarted, delivers it).
    const jobs = await query<{ id: string }>(
      databaseUrl,
      `select data->'event'->>'id' as id from pgboss.job where name = 'webhook-delivery'`,
    );
    expect(jobs.map((j) => j.id)).toContain(before);
    expect(jobs.map((j) => j.id)).not.toContain(after);
  });
});
