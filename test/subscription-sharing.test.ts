import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { wsClient, wsUrl } from './helpers/graphql.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.stop());

const JOB_ALERTS = `subscription Jobs($kinds: [GatewayEventKind!]) {
  gatewayEvents(kinds: $kinds) { __typename ... on JobAlertEvent { id message } ... on CircuitStateEvent { id } }
}`;
const CIRCUITS = `subscription Circuits($provider: String) {
  circuitStateChanged(provider: $provider) { id provider to }
}`;

type Event = { id: string; message?: string; provider?: string };

/** One graphql-ws connection per subscriber, each with one subscription; collects what arrives. */
function subscribers(count: number, token: string, query: string, variables: Record<string, unknown>) {
  return Array.from({ length: count }, () => {
    const client = wsClient(t.graphqlUrl, token);
    const received: Event[] = [];
    const errors: unknown[] = [];
    client.subscribe(
      { query, variables },
      {
        next: (r) => {
          const data = r.data as Record<string, Event> | undefined;
          if (r.errors) errors.push(...r.errors);
          if (data) received.push(Object.values(data)[0]!);
        },
        error: (e) => errors.push(e),
        complete: () => undefined,
      },
    );
    return { client, received, errors };
  });
}
type Subscriber = ReturnType<typeof subscribers>[number];

const got = (subs: Subscriber[], id: string) => subs.every((s) => s.received.some((e) => e.id === id));

/**
 * Publishes `publish()`'s event until every subscriber has received one (subscriptions start
 * asynchronously and the protocol does not acknowledge them), so that they all listen and
 * nothing is still being executed afterwards.
 */
async function untilAllListen(subs: Subscriber[], publish: () => string) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const id = publish();
    try {
      await vi.waitFor(() => expect(got(subs, id)).toBe(true), { timeout: 300, interval: 10 });
      return;
    } catch {
      // Not everyone was listening yet: try again.
    }
  }
  throw new Error('the subscribers never all received an event');
}

function jobAlert(message: string): string {
  return t.app.services.events.publish('job.alert', {
    queue: 'webhooks',
    alert: 'FAILED',
    jobId: null,
    message,
    retryRate: null,
  }).id;
}

function circuitOpened(providerSlug: string): string {
  return t.app.services.events.publish('circuit.changed', {
    providerId: randomUUID(),
    providerSlug,
    from: 'CLOSED',
    to: 'OPEN',
    reason: 'test',
    failures: 5,
    nextProbeAt: null,
  }).id;
}

async function scrapeExecutions(): Promise<number> {
  const text = await (await fetch(t.app.metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith('tollgate_subscription_executions_total '));
  return Number(line?.split(' ')[1]);
}

describe('subscriptions shared between subscribers', () => {
  it('runs one execution per event for every subscriber of the same document, variables and role; other variables and roles get their own, correct results', async () => {
    const viewer = await t.token('viewer', { subject: 'viewer-one' });
    const otherViewer = await t.token('viewer', { subject: 'viewer-two' });
    const admin = await t.token('admin');
    const jobsOnly = { kinds: ['JOB'] };
    const viewers = [
      ...subscribers(6, viewer, JOB_ALERTS, jobsOnly),
      // Another person with the same role sees the same result: same execution.
      ...subscribers(4, otherViewer, JOB_ALERTS, jobsOnly),
    ];
    const admins = subscribers(3, admin, JOB_ALERTS, jobsOnly);
    const otherVariables = subscribers(2, viewer, JOB_ALERTS, { kinds: ['JOB', 'CIRCUIT_STATE'] });
    const all = [...viewers, ...admins, ...otherVariables];
    try {
      await untilAllListen(all, () => jobAlert('warm-up'));
      const before = t.app.subscriptions.stats.executions;
      const metricBefore = await scrapeExecutions();

      const id = jobAlert('delivery to https://hooks.example.com/services/T000/B000/secret failed');
      await vi.waitFor(() => expect(got(all, id)).toBe(true));

      // 15 subscribers, three distinct (document, variables, role): three executions.
      expect(t.app.subscriptions.stats.executions - before).toBe(3);
      expect((await scrapeExecutions()) - metricBefore).toBe(3);
      const messageOf = (s: Subscriber) => s.received.find((e) => e.id === id)?.message;
      // Admins see the URL whole; viewers get it redacted (Job.lastError's rule).
      for (const s of admins) expect(messageOf(s)).toContain('/services/T000/B000/secret');
      for (const s of [...viewers, ...otherVariables]) {
        expect(messageOf(s)).toContain('hooks.example.com');
        expect(messageOf(s)).not.toContain('secret');
      }
      expect(all.flatMap((s) => s.errors)).toEqual([]);
      // Every subscriber got each event once.
      for (const s of all) expect(s.received.filter((e) => e.id === id)).toHaveLength(1);
    } finally {
      await Promise.all(all.map((s) => s.client.dispose()));
    }
  });

  it('an event that every filter excludes costs no execution; one that passes costs one for all', async () => {
    const viewer = await t.token('viewer');
    const wanted = `wanted-${randomUUID().slice(0, 8)}`;
    const subs = subscribers(8, viewer, CIRCUITS, { provider: wanted });
    try {
      await untilAllListen(subs, () => circuitOpened(wanted));
      const before = t.app.subscriptions.stats.executions;

      circuitOpened(`other-${randomUUID().slice(0, 8)}`);
      const id = circuitOpened(wanted);
      await vi.waitFor(() => expect(got(subs, id)).toBe(true));

      expect(t.app.subscriptions.stats.executions - before).toBe(1);
      for (const s of subs) expect(s.received.every((e) => e.provider === wanted)).toBe(true);
    } finally {
      await Promise.all(subs.map((s) => s.client.dispose()));
    }
  });

  it('a subscriber that leaves stops nothing for the others, and the last one ends the shared operation', async () => {
    const viewer = await t.token('viewer');
    const slug = `leave-${randomUUID().slice(0, 8)}`;
    const { shared } = t.app.subscriptions;
    // The earlier tests' subscribers have all gone (this app is this file's alone).
    const baseline = { groups: 0, members: 0 };
    await vi.waitFor(() => expect({ groups: shared.groups, members: shared.members }).toEqual(baseline));
    const subs = subscribers(3, viewer, CIRCUITS, { provider: slug });
    try {
      await untilAllListen(subs, () => circuitOpened(slug));
      expect({ groups: shared.groups, members: shared.members }).toEqual({
        groups: baseline.groups + 1,
        members: baseline.members + 3,
      });
      // The first subscriber (whose context runs the shared operation) goes.
      await subs[0]!.client.dispose();
      await vi.waitFor(() => expect(shared.members).toBe(baseline.members + 2));
      const id = circuitOpened(slug);
      await vi.waitFor(() => expect(got(subs.slice(1), id)).toBe(true));

      await Promise.all(subs.slice(1).map((s) => s.client.dispose()));
      await vi.waitFor(() => expect({ groups: shared.groups, members: shared.members }).toEqual(baseline));
    } finally {
      await Promise.all(subs.map((s) => s.client.dispose()));
    }
  });
});

describe('keep-alive', () => {
  /** A graphql-ws connection, initialised; `answersPings: false` is a peer that went away silently. */
  async function connection(token: string, answersPings: boolean) {
    const socket = new WebSocket(wsUrl(t.graphqlUrl), 'graphql-transport-ws', { autoPong: answersPings });
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await new Promise((r) => socket.once('open', r));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    await new Promise((r) => socket.once('message', r));
    return { socket, closed };
  }

  it('drops a connection that stops answering pings, and keeps one that answers', async () => {
    const token = await t.token('viewer');
    const silent = await connection(token, false);
    const alive = await connection(token, true);
    let aliveClosed = false;
    void alive.closed.then(() => (aliveClosed = true));
    // Pinged every 12 s; no answer by the next ping: terminated (the client sees no close frame).
    expect(await silent.closed).toBe(1006);
    expect(aliveClosed).toBe(false);
    expect(alive.socket.readyState).toBe(WebSocket.OPEN);
    alive.socket.close();
  }, 60_000);
});
