import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AlertChannelEntity } from '../src/modules/alerts/alert-channel.entity.ts';
import { DEAD_LETTER_QUEUE, SIGNATURE_HEADER } from '../src/modules/alerts/webhook-delivery.ts';
import { CreateAlertChannel, CreateBudget, ResetCircuit, TripCircuit } from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { dumpDatabase } from './helpers/db.ts';
import { call, createClientKey, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

interface Received {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

/** A webhook endpoint that answers each request with what `answer` says, and records it. */
async function startReceiver(answer: (index: number, body: string) => number) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const status = answer(received.length, body);
      received.push({ at: Date.now(), headers: req.headers, body, answered: status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

let t: TestApp;
let upstream: Upstream;
beforeAll(async () => {
  [t, upstream] = await Promise.all([
    startTestApp({ env: { TOLLGATE_WEBHOOK_RETRY_LIMIT: '2', TOLLGATE_WEBHOOK_RETRY_DELAY_S: '1' } }),
    startUpstream(),
  ]);
});
afterAll(async () => {
  await Promise.all([t?.stop(), upstream?.close()]);
});

async function channel(url: string, name: string) {
  const result = await gql(
    t.graphqlUrl,
    CreateAlertChannel,
    { input: { name, url, kinds: ['CIRCUIT_STATE'], allowPrivateNetwork: true } },
    await t.token('admin'),
  );
  const payload = result.data?.createAlertChannel;
  if (payload?.__typename !== 'AlertChannelCreatedPayload') throw new Error(JSON.stringify(result));
  return payload;
}

async function circuitEvent(slug: string) {
  const operator = await t.token('operator');
  await gql(t.graphqlUrl, TripCircuit, { provider: slug, reason: 'webhook test' }, operator);
  await gql(t.graphqlUrl, ResetCircuit, { provider: slug }, operator);
}

describe('webhook alert channels', () => {
  it('refuse control characters in the name and URL at save, with field errors', async () => {
    const admin = await t.token('admin');
    const cases: [Record<string, string>, string[]][] = [
      [{ url: 'https://hooks.example.com/a\r\nX-Injected: 1' }, ['input', 'url']],
      [{ url: 'https://hooks.example.com/\tservices' }, ['input', 'url']],
      [{ url: 'https://hooks.exa\nmple.com/' }, ['input', 'url']],
      [{ name: 'ops\r\nX-Injected: 1' }, ['input', 'name']],
      [{ name: 'ops\u2028channel' }, ['input', 'name']],
    ];
    for (const [change, path] of cases) {
      const result = await gql(
        t.graphqlUrl,
        CreateAlertChannel,
        { input: { name: 'ops', url: 'https://hooks.example.com/x', kinds: ['CIRCUIT_STATE'], ...change } },
        admin,
      );
      const payload = result.data?.createAlertChannel;
      expect(payload?.__typename, JSON.stringify(change)).toBe('ValidationError');
      if (payload?.__typename === 'ValidationError')
        expect(payload.fieldErrors.map((e) => e.path)).toEqual([path]);
    }
    expect(await t.app.orm.em.fork().count(AlertChannelEntity, {})).toBe(0);
  });

  it('sign each delivery with the channel secret, shown once and never stored in clear', async () => {
    const receiver = await startReceiver(() => 200);
    try {
      const refused = await gql(
        t.graphqlUrl,
        CreateAlertChannel,
        { input: { name: 'private', url: receiver.url, kinds: ['CIRCUIT_STATE'] } },
        await t.token('admin'),
      );
      expect(refused.data?.createAlertChannel).toMatchObject({
        __typename: 'ValidationError',
        fieldErrors: [{ path: ['input', 'url'] }],
      });
      const { secret, channel: created } = await channel(receiver.url, 'signed');
      expect(secret).toMatch(/^whsec_/);
      const { slug } = await setUpProvider(t, upstream.url);
      await circuitEvent(slug);
      await vi.waitFor(() => expect(receiver.received.length).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
      for (const delivery of receiver.received) {
        const expected = `sha256=${createHmac('sha256', secret).update(delivery.body).digest('hex')}`;
        expect(delivery.headers[SIGNATURE_HEADER]).toBe(expected);
        const body = JSON.parse(delivery.body) as {
          id: string;
          kind: string;
          data: { providerSlug: string };
        };
        expect(body).toMatchObject({ kind: 'CIRCUIT_STATE', data: { providerSlug: slug } });
        expect(delivery.headers['x-tollgate-event-id']).toBe(body.id);
      }
      expect(await dumpDatabase(t.config.database.url!)).not.toContain(secret);
      const stored = await t.app.orm.em.fork().findOneOrFail(AlertChannelEntity, { id: created.id });
      expect(stored.secretCiphertext).not.toContain(secret);
    } finally {
      await receiver.close();
      await deleteChannels();
    }
  });

  it('deliver budget alerts through fan-out jobs written in the transaction that claims them', async () => {
    const receiver = await startReceiver(() => 200);
    try {
      const admin = await t.token('admin');
      await gql(
        t.graphqlUrl,
        CreateAlertChannel,
        { input: { name: 'budgets', url: receiver.url, kinds: ['BUDGET_ALERT'], allowPrivateNetwork: true } },
        admin,
      );
      const { slug } = await setUpProvider(t, upstream.url, {
        input: { pricing: { perRequestMicros: 1000 } },
      });
      const key = await createClientKey(t);
      const created = await gql(
        t.graphqlUrl,
        CreateBudget,
        {
          input: {
            name: 'two calls',
            scope: 'PROVIDER',
            provider: slug,
            period: 'MONTH',
            limitMicros: 2000,
            thresholds: [50],
            action: 'ALERT_ONLY',
          },
        },
        admin,
      );
      expect(created.data?.createBudget?.__typename).toBe('BudgetPayload');
      await t.app.services.budgetEnforcer.reload();
      for (let i = 0; i < 2; i++) expect((await call(t, key, `${slug}/spend/${i}`)).status).toBe(200);
      await t.app.services.budgetEnforcer.drain();

      await vi.waitFor(() => expect(receiver.received).toHaveLength(2), { timeout: 10_000 });
      const delivered = receiver.received.map(
        (r) => JSON.parse(r.body) as { id: string; kind: string; data: { threshold: number } },
      );
      expect(delivered.map((d) => d.kind)).toEqual(['BUDGET_ALERT', 'BUDGET_ALERT']);
      expect(delivered.map((d) => d.data.threshold).sort((a, b) => a - b)).toEqual([50, 100]);
      // Each delivered alert came from the fan-out job committed with its claim, none from elsewhere.
      const fanOuts = await t.app.orm.em
        .fork()
        .execute<{ id: string }[]>(
          `select data->'event'->>'id' as id from pgboss.job where name = 'webhook-fanout'`,
        );
      expect(fanOuts.map((f) => f.id).sort()).toEqual(delivered.map((d) => d.id).sort());
    } finally {
      await receiver.close();
      await deleteChannels();
    }
  });

  it('retry a failing endpoint with backoff, then move the delivery to the dead-letter queue', async () => {
    const receiver = await startReceiver(() => 500);
    try {
      await channel(receiver.url, 'always-failing');
      const { slug } = await setUpProvider(t, upstream.url);
      const operator = await t.token('operator');
      await gql(t.graphqlUrl, TripCircuit, { provider: slug, reason: 'one event' }, operator);
      const jobs = t.app.services.jobs;
      // One first attempt and two retries, then the dead-letter queue.
      await vi.waitFor(async () => expect(await jobs.jobs(DEAD_LETTER_QUEUE, null, 10)).toHaveLength(1), {
        timeout: 30_000,
        interval: 500,
      });
      expect(receiver.received).toHaveLength(3);
      const gaps = receiver.received.slice(1).map((r, i) => r.at - receiver.received[i]!.at);
      expect(gaps.every((gap) => gap >= 900)).toBe(true);
      const [dead] = await jobs.jobs(DEAD_LETTER_QUEUE, null, 10);
      expect(dead?.data).toMatchObject({ event: { kind: 'CIRCUIT_STATE' } });
      await gql(t.graphqlUrl, ResetCircuit, { provider: slug }, operator);
    } finally {
      await receiver.close();
      await deleteChannels();
    }
  }, 40_000);

  it('announce a queue whose jobs keep needing retries', async () => {
    const receiver = await startReceiver(() => 500);
    const alerts: { queue: string; alert: string; retryRate: number | null }[] = [];
    const stop = t.app.services.events.listen('job.alert', (e) => {
      alerts.push(e);
    });
    try {
      await channel(receiver.url, 'retrying');
      const { slug } = await setUpProvider(t, upstream.url);
      for (let i = 0; i < 5; i++) await circuitEvent(slug);
      // Ten deliveries, each retried: every one of the last 15 minutes' jobs needed a retry.
      await vi.waitFor(() => expect(receiver.received.length).toBeGreaterThanOrEqual(25), {
        timeout: 20_000,
      });
      await t.app.services.jobs.checkRetryRates();
      await vi.waitFor(() => expect(alerts.some((a) => a.alert === 'RETRY_RATE')).toBe(true));
      expect(alerts.filter((a) => a.alert === 'RETRY_RATE')).toEqual([
        expect.objectContaining({ queue: 'webhook-delivery', retryRate: expect.any(Number) }),
      ]);
      // Once per queue and quarter of an hour.
      await t.app.services.jobs.checkRetryRates();
      await new Promise((r) => setTimeout(r, 100));
      expect(alerts.filter((a) => a.alert === 'RETRY_RATE')).toHaveLength(1);
    } finally {
      stop();
      await receiver.close();
      await deleteChannels();
    }
  }, 40_000);

  it('deliver every event once to an endpoint that recovers', async () => {
    // The first two requests fail; after that the endpoint is healthy.
    const receiver = await startReceiver((index) => (index < 2 ? 503 : 200));
    try {
      await channel(receiver.url, 'recovering');
      const { slug } = await setUpProvider(t, upstream.url);
      await circuitEvent(slug);
      await circuitEvent(slug);
      await vi.waitFor(() => expect(receiver.received.filter((r) => r.answered === 200).length).toBe(4), {
        timeout: 30_000,
        interval: 200,
      });
      await new Promise((r) => setTimeout(r, 1500));
      const delivered = receiver.received.filter((r) => r.answered === 200).map((r) => JSON.parse(r.body).id);
      expect(new Set(delivered).size).toBe(4);
      expect(delivered).toHaveLength(4);
    } finally {
      await receiver.close();
      await deleteChannels();
    }
  }, 40_000);
});

async function deleteChannels() {
  const em = t.app.orm.em.fork();
  await em.nativeDelete(AlertChannelEntity, {});
}
