import { print } from 'graphql';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import WebSocket from 'ws';
import { CircuitChanges, GatewayEvents, ResetCircuit, TripCircuit } from './documents.ts';
import { startReplicas, startTestApp, type TestApp } from './helpers/app.ts';
import { refreshCaches, setUpProvider } from './helpers/gateway.ts';
import { gql, wsClient, wsUrl } from './helpers/graphql.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

type Received = { __typename?: string; id?: string; provider?: string; to?: string };

/** Subscribes over GraphQL-over-SSE (POST, Accept: text/event-stream) and collects the events. */
function sseSubscribe(
  url: string,
  token: string | undefined,
  query: string,
  variables: Record<string, unknown>,
) {
  const controller = new AbortController();
  const received: Record<string, unknown>[] = [];
  const errors: unknown[] = [];
  const done = (async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = message
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('');
        if (data) {
          const parsed = JSON.parse(data) as { data?: Record<string, unknown>; errors?: unknown[] };
          if (parsed.errors) errors.push(...parsed.errors);
          if (parsed.data) received.push(parsed.data);
        }
        end = buffer.indexOf('\n\n');
      }
    }
  })().catch(() => undefined);
  return { received, errors, stop: () => controller.abort(), done };
}

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(() => upstream?.close());

describe('live events across replicas', () => {
  it('a circuit opened on replica a reaches subscribers on replica b within a second, over WebSocket and SSE', async () => {
    const { a, b } = await startReplicas({ REDIS_URL: inject('redisUrl') });
    const viewer = await b.token('viewer');
    const ws = wsClient(b.graphqlUrl, viewer);
    try {
      const { slug } = await setUpProvider(a, upstream.url);
      await refreshCaches(b);
      const overWs: Received[] = [];
      const iterator = ws.iterate({ query: print(GatewayEvents), variables: { kinds: ['CIRCUIT_STATE'] } });
      const collecting = (async () => {
        for await (const r of iterator) overWs.push(r.data?.gatewayEvents as Received);
      })();
      const overSse = sseSubscribe(b.graphqlUrl, viewer, print(CircuitChanges), { provider: slug });
      await new Promise((r) => setTimeout(r, 500));

      const tripped = Date.now();
      await gql(a.graphqlUrl, TripCircuit, { provider: slug, reason: 'drill' }, await a.token('operator'));
      await vi.waitFor(
        () => {
          expect(overWs.some((e) => e.provider === slug && e.to === 'ISOLATED')).toBe(true);
          expect(overSse.received.some((d) => (d.circuitStateChanged as Received).to === 'ISOLATED')).toBe(
            true,
          );
        },
        { timeout: 1000, interval: 10 },
      );
      expect(Date.now() - tripped).toBeLessThan(1000);
      // Subscriptions share each replica's one Redis subscription: these two replicas hold two
      // subscribed connections however many subscribers they serve. (Counted by connection name:
      // other test files' replicas share this Redis and its channel.)
      const redis = new Redis(inject('redisUrl'));
      const names = new Set([a.app.services.events.connectionName, b.app.services.events.connectionName]);
      const channelCount = async () =>
        ((await redis.client('LIST')) as string)
          .split('\n')
          .filter((line) => / sub=1 /.test(line) && names.has(/ name=(\S*)/.exec(line)?.[1] ?? '')).length;
      expect(await channelCount()).toBe(2);
      expect(overWs[0]?.__typename).toBe('CircuitStateEvent');
      overSse.stop();
      await iterator.return?.();
      await collecting;
      expect(await channelCount()).toBe(2);
      redis.disconnect();
    } finally {
      await ws.dispose();
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('subscriptions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TOLLGATE_SUBSCRIBER_QUEUE_MAX: '50' } });
  });
  afterAll(() => t?.stop());

  it('are refused without a valid token, over WebSocket and SSE; a viewer subscribes but cannot mutate', async () => {
    const anonymous = wsClient(t.graphqlUrl);
    try {
      const iterator = anonymous.iterate({ query: print(GatewayEvents), variables: {} });
      const first = await iterator.next();
      expect(JSON.stringify(first.value ?? first)).toMatch(/UNAUTHENTICATED|not authorized|sign in/i);
    } catch (error) {
      expect(String(JSON.stringify(error))).toMatch(/UNAUTHENTICATED|not authorized/i);
    } finally {
      await anonymous.dispose();
    }
    const sse = sseSubscribe(t.graphqlUrl, undefined, print(GatewayEvents), {});
    await vi.waitFor(() => expect(sse.errors.length + sse.received.length).toBeGreaterThan(0));
    expect(sse.received).toEqual([]);
    sse.stop();

    const { slug } = await setUpProvider(t, upstream.url);
    const viewerTrip = await gql(t.graphqlUrl, TripCircuit, { provider: slug }, await t.token('viewer'));
    expect(viewerTrip.errors?.[0]?.message).toMatch(/not authorized|role/i);
  });

  it('replay the events missed since an id, and refuse an id outside the window', async () => {
    const { slug } = await setUpProvider(t, upstream.url);
    const operator = await t.token('operator');
    const ws = wsClient(t.graphqlUrl, await t.token('viewer'));
    try {
      const first: Received[] = [];
      const iterator = ws.iterate({ query: print(GatewayEvents), variables: { kinds: ['CIRCUIT_STATE'] } });
      const collecting = (async () => {
        for await (const r of iterator) first.push(r.data?.gatewayEvents as Received);
      })();
      await new Promise((r) => setTimeout(r, 200));
      await gql(t.graphqlUrl, TripCircuit, { provider: slug }, operator);
      await vi.waitFor(() => expect(first).toHaveLength(1));
      await iterator.return?.();
      await collecting;

      // While disconnected: reset and trip again.
      await gql(t.graphqlUrl, ResetCircuit, { provider: slug }, operator);
      await gql(t.graphqlUrl, TripCircuit, { provider: slug }, operator);

      const replayed: Received[] = [];
      const again = ws.iterate({
        query: print(GatewayEvents),
        variables: { kinds: ['CIRCUIT_STATE'], since: first[0]!.id },
      });
      for await (const r of again) {
        replayed.push(r.data?.gatewayEvents as Received);
        if (replayed.length === 2) break;
      }
      expect(replayed.map((e) => e.to)).toEqual(['CLOSED', 'ISOLATED']);

      const tooOld = ws.iterate({
        query: print(GatewayEvents),
        variables: { since: '00000000-0000-4000-8000-000000000000' },
      });
      // graphql-ws hands the subscription's error to the client as a rejection.
      await expect(tooOld.next()).rejects.toSatisfy((errors) =>
        JSON.stringify(errors).includes('REPLAY_WINDOW_EXCEEDED'),
      );

      // A malformed id was never an event: a validation error naming the argument.
      const malformed = ws.iterate({ query: print(GatewayEvents), variables: { since: 'zzz' } });
      // Refused before the stream starts, so it comes as a result with errors.
      const refusal = JSON.stringify(await malformed.next().catch((errors: unknown) => errors));
      expect(refusal).toContain('VALIDATION_FAILED');
      expect(refusal).toContain('"path":["since"]');
      expect(refusal).not.toContain('REPLAY_WINDOW');
      await malformed.return?.();
    } finally {
      await gql(t.graphqlUrl, ResetCircuit, { provider: slug }, operator);
      await ws.dispose();
    }
  });

  it('1,000 subscribe/unsubscribe cycles leak no iterator and no Redis subscription', async () => {
    const bus = t.app.services.events;
    const baseline = bus.activeSubscriptions;
    const { shared } = t.app.subscriptions;
    const sharedBaseline = { groups: shared.groups, members: shared.members };
    const ws = wsClient(t.graphqlUrl, await t.token('viewer'));
    try {
      for (let i = 0; i < 1000; i++) {
        const iterator = ws.iterate({ query: print(GatewayEvents), variables: {} });
        // Half are dropped before the server has even started them.
        if (i % 2 === 0) void iterator.next();
        await iterator.return?.();
      }
      await vi.waitFor(() => expect(bus.activeSubscriptions).toBe(baseline), { timeout: 5000 });
      // ...nor a shared operation or a subscriber of one.
      expect({ groups: shared.groups, members: shared.members }).toEqual(sharedBaseline);
    } finally {
      await ws.dispose();
    }
  });

  it('disconnects a consumer that stops reading, and the others carry on', async () => {
    // Subscribers of one operation share its execution: they are counted there, not on the bus.
    const shared = t.app.subscriptions.shared;
    const token = await t.token('viewer');
    const { slug } = await setUpProvider(t, upstream.url);
    const operator = await t.token('operator');
    const baseline = shared.members;
    // A raw graphql-ws client with 200 subscriptions that then stops reading its socket.
    const slow = new WebSocket(wsUrl(t.graphqlUrl), 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => slow.on('close', (code) => resolve(code)));
    await new Promise((r) => slow.once('open', r));
    slow.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    await new Promise((r) => slow.once('message', r));
    for (let id = 1; id <= 200; id++) {
      slow.send(
        JSON.stringify({ id: String(id), type: 'subscribe', payload: { query: print(GatewayEvents) } }),
      );
    }
    await vi.waitFor(() => expect(shared.members).toBe(baseline + 200));
    (slow as unknown as { _socket: { pause(): void } })._socket.pause();

    const healthy = wsClient(t.graphqlUrl, token);
    const seen: Received[] = [];
    const iterator = healthy.iterate({
      query: print(GatewayEvents),
      variables: { kinds: ['CIRCUIT_STATE'] },
    });
    const collecting = (async () => {
      for await (const r of iterator) seen.push(r.data?.gatewayEvents as Received);
    })();
    await vi.waitFor(() => expect(shared.members).toBe(baseline + 201));

    // Events with long reasons until the slow consumer's queues overflow (50 events each here).
    const reason = 'x'.repeat(400);
    let sent = 0;
    const deadline = Date.now() + 15_000;
    while (shared.members > baseline + 1 && Date.now() < deadline) {
      await gql(t.graphqlUrl, TripCircuit, { provider: slug, reason }, operator);
      await gql(t.graphqlUrl, ResetCircuit, { provider: slug }, operator);
      sent += 2;
    }
    // The slow consumer’s subscriptions are gone; the healthy one got every event.
    expect(shared.members).toBe(baseline + 1);
    await vi.waitFor(() => expect(seen.length).toBe(sent), { timeout: 5000 });
    (slow as unknown as { _socket: { resume(): void } })._socket.resume();
    expect([1013, 1006]).toContain(await closed);
    await iterator.return?.();
    await collecting;
    await healthy.dispose();
  }, 60_000);
});
