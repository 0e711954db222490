import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { HealthChangedEvent } from '../src/modules/events/event-bus.ts';
import {
  HealthChanges,
  ProviderHealthQuery,
  ResetCircuit,
  TestProvider,
  TripCircuit,
  UpdateProvider,
} from './documents.ts';
import { startReplicas, startTestApp, type TestApp } from './helpers/app.ts';
import { call, createClientKey, refreshCaches, setUpProvider } from './helpers/gateway.ts';
import { gql, wsClient } from './helpers/graphql.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

const FAST = { TOLLGATE_HEALTH_TICK_MS: '100', TOLLGATE_HEALTH_PASSIVE_INTERVAL_MS: '1000' };

let upstream: Upstream;
let healthStatus = 200;
beforeAll(async () => {
  upstream = await startUpstream();
  upstream.behave((req) =>
    req.path.endsWith('/health')
      ? { kind: 'status', status: healthStatus }
      : { kind: 'json', body: { ok: true } },
  );
});
afterAll(() => upstream?.close());

async function healthOf(t: TestApp, slug: string) {
  const result = await gql(t.graphqlUrl, ProviderHealthQuery, { slug }, await t.token('viewer'));
  const health = result.data?.provider?.health;
  if (!health) throw new Error(JSON.stringify(result));
  return health;
}

describe('active probes', () => {
  it('probe once per interval across replicas; DOWN and back reach a subscriber on the other replica; uptime shows the outage', async () => {
    const redisUrl = inject('redisUrl');
    const { a, b } = await startReplicas({ REDIS_URL: redisUrl, ...FAST });
    const ws = wsClient(b.graphqlUrl, await b.token('viewer'));
    try {
      healthStatus = 200;
      // Subscribed (on b) before the provider exists, so that its first status is seen too.
      const slug = `probed-${Date.now().toString(36)}`;
      const events: HealthChangedEvent[] = [];
      const iterator = ws.iterate({ query: print(HealthChanges), variables: { provider: slug } });
      const collecting = (async () => {
        for await (const result of iterator)
          events.push(result.data?.providerHealthChanged as HealthChangedEvent);
      })();
      await new Promise((r) => setTimeout(r, 300));
      const probes = () => upstream.requests.filter((r) => r.path.endsWith('/health')).length;
      const before = probes();
      const started = Date.now();
      // Probes are switched on once the provider has its key (without one it would be DOWN).
      await setUpProvider(a, upstream.url, { slug });
      const updated = await gql(
        a.graphqlUrl,
        UpdateProvider,
        {
          input: {
            slug,
            version: 1,
            healthCheck: { enabled: true, path: '/health', intervalMs: 5000, timeoutMs: 1000 },
          },
        },
        await a.token('admin'),
      );
      expect(updated.data?.updateProvider?.__typename).toBe('ProviderPayload');
      await Promise.all([refreshCaches(a), refreshCaches(b)]);

      await vi.waitFor(() => expect(events.map((e) => e.to)).toContain('HEALTHY'), { timeout: 8000 });
      expect((await healthOf(b, slug)).status).toBe('HEALTHY');

      // The upstream fails its probe: DOWN within one interval (5 s) and a second, on replica b.
      healthStatus = 503;
      const failedAt = Date.now();
      await vi.waitFor(() => expect(events.at(-1)?.to).toBe('DOWN'), { timeout: 6000, interval: 50 });
      expect(Date.now() - failedAt).toBeLessThanOrEqual(6000);
      expect(events.at(-1)?.reason).toMatch(/probe failed.*503/);

      healthStatus = 200;
      await vi.waitFor(() => expect(events.at(-1)?.to).toBe('HEALTHY'), { timeout: 6000, interval: 50 });

      // Two replicas, but one probe per interval in the whole cluster.
      const elapsed = Date.now() - started;
      expect(probes() - before).toBeLessThanOrEqual(Math.floor(elapsed / 5000) + 1);
      expect(probes() - before).toBeGreaterThanOrEqual(3);
      // Each change announced once, wherever it was decided.
      expect(events.map((e) => `${e.from}>${e.to}`)).toEqual([
        'UNKNOWN>HEALTHY',
        'HEALTHY>DOWN',
        'DOWN>HEALTHY',
      ]);

      const health = await healthOf(a, slug);
      expect(health.history.map((h) => h.to)).toEqual(['HEALTHY', 'DOWN', 'HEALTHY']);
      expect(health.uptime.downMs).toBeGreaterThan(0);
      expect(health.uptime.availabilityPercent).toBeLessThan(100);
      expect(health.uptime.availabilityPercent).toBeGreaterThan(0);
      expect(health.probes.some((p) => !p.ok && p.status === 503)).toBe(true);
      await iterator.return?.();
      await collecting;
    } finally {
      await ws.dispose();
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 30_000);
});

describe('testProvider, circuit and live traffic', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: FAST });
  });
  afterAll(() => t?.stop());

  it('testProvider probes on demand (operator), refuses viewers and unknown providers', async () => {
    healthStatus = 200;
    const { slug } = await setUpProvider(t, upstream.url, { input: { healthCheck: { path: '/health' } } });
    const result = await gql(t.graphqlUrl, TestProvider, { slug }, await t.token('operator'));
    expect(result.data?.testProvider).toMatchObject({
      __typename: 'TestProviderPayload',
      result: { ok: true, status: 200, skipped: false },
      health: { status: 'HEALTHY' },
    });
    healthStatus = 500;
    const failing = await gql(t.graphqlUrl, TestProvider, { slug }, await t.token('operator'));
    expect(failing.data?.testProvider).toMatchObject({
      result: { ok: false, status: 500, error: 'status 500, expected 200' },
      health: { status: 'DOWN' },
    });
    healthStatus = 200;
    const viewer = await gql(t.graphqlUrl, TestProvider, { slug }, await t.token('viewer'));
    expect(viewer.errors?.[0]?.message).toMatch(/not authorized|role/i);
    const missing = await gql(t.graphqlUrl, TestProvider, { slug: 'no-such' }, await t.token('operator'));
    expect(missing.data?.testProvider).toMatchObject({ __typename: 'NotFoundError' });
  });

  it('an open circuit is DOWN at once', async () => {
    const { slug } = await setUpProvider(t, upstream.url);
    const operator = await t.token('operator');
    await gql(t.graphqlUrl, TripCircuit, { provider: slug, reason: 'maintenance' }, operator);
    await vi.waitFor(async () => expect((await healthOf(t, slug)).status).toBe('DOWN'), { timeout: 3000 });
    expect((await healthOf(t, slug)).reason).toMatch(/circuit tripped/);
    await gql(t.graphqlUrl, ResetCircuit, { provider: slug }, operator);
    await vi.waitFor(async () => expect((await healthOf(t, slug)).status).not.toBe('DOWN'), {
      timeout: 3000,
    });
  });

  it('live traffic: most calls failing is DOWN, even without probes', async () => {
    const failing = await startUpstream({ kind: 'status', status: 502 });
    try {
      const { slug } = await setUpProvider(t, failing.url, {
        input: { retry: { maxAttempts: 1 }, breaker: { failureThreshold: 1000 } },
      });
      const key = await createClientKey(t);
      for (let i = 0; i < 8; i++) await call(t, key, `${slug}/x`);
      await t.app.usage.flush();
      await vi.waitFor(async () => expect((await healthOf(t, slug)).status).toBe('DOWN'), { timeout: 5000 });
      expect((await healthOf(t, slug)).reason).toMatch(/% of recent calls failed/);
    } finally {
      await failing.close();
    }
  });
});
