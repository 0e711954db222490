import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { graphql } from './generated/index.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { call, createClientKey, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

/**
 * The console's overview asks for every provider's health, uptime, last hour's traffic, today's
 * spend and rate-limit headroom in one request. Those fields are batched: a list of providers
 * costs one read per field, not one per provider.
 */
const Overview = graphql(`
  query OverviewForTest($first: Int!, $today: DateTime!) {
    providers(first: $first) {
      edges {
        node {
          slug
          health { status uptime(range: LAST_DAY) { availabilityPercent } }
          circuit { state }
          lastHour: usage(range: LAST_HOUR) { calls failures errorRate latencyMs { p95 } }
          today: usage(from: $today) { calls costMicros }
          rateLimitHeadroom { limit remaining resetMs }
        }
      }
    }
  }
`);

let t: TestApp;
let upstream: Upstream;
let failing: Upstream;

beforeAll(async () => {
  [t, upstream, failing] = await Promise.all([
    startTestApp(),
    startUpstream({ kind: 'json', body: { ok: true } }),
    startUpstream({ kind: 'status', status: 500 }),
  ]);
});
afterAll(async () => {
  await Promise.all([t?.stop(), upstream?.close(), failing?.close()]);
});

describe('provider overview fields', () => {
  it('reads a list of providers with one batch per field, and the values are each provider’s own', async () => {
    const busy = await setUpProvider(t, upstream.url, {
      input: {
        pricing: { perRequestMicros: 2500 },
        rateLimit: { points: 10, periodMs: 60_000, burst: 0, mode: 'REJECT' },
      },
    });
    const broken = await setUpProvider(t, failing.url, {
      input: { retry: { maxAttempts: 1 }, breaker: { failureThreshold: 100 } },
    });
    const quiet = await Promise.all(Array.from({ length: 10 }, () => setUpProvider(t, upstream.url)));
    const key = await createClientKey(t);
    for (let i = 0; i < 3; i++) expect((await call(t, key, `${busy.slug}/ok/${i}`)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await call(t, key, `${broken.slug}/fail/${i}`)).status).toBe(500);
    await t.app.usage.flush();

    const reports = vi.spyOn(t.app.services.usageReports, 'report');
    const healthRows = vi.spyOn(t.app.services.health, 'currentMany');
    const uptimes = vi.spyOn(t.app.services.health, 'uptimeMany');
    const today = new Date(Date.now() - 3_600_000).toISOString();
    const result = await gql(t.graphqlUrl, Overview, { first: 100, today }, await t.token('viewer'));
    expect(result.errors).toBeUndefined();
    const bySlug = new Map(result.data!.providers.edges.map((e) => [e.node.slug, e.node]));
    expect(bySlug.size).toBe(12);

    // Two usage reports (one per place in the query), one health read, one uptime read.
    expect(reports).toHaveBeenCalledTimes(2);
    expect(healthRows).toHaveBeenCalledTimes(1);
    expect(uptimes).toHaveBeenCalledTimes(1);
    vi.restoreAllMocks();

    const b = bySlug.get(busy.slug)!;
    expect(b.lastHour).toMatchObject({ calls: 3, failures: 0, errorRate: 0 });
    expect(b.lastHour.latencyMs.p95).toBeGreaterThan(0);
    expect(b.today).toEqual({ calls: 3, costMicros: 7500 });
    expect(b.rateLimitHeadroom).toMatchObject({ limit: 10, remaining: 7 });
    expect(b.rateLimitHeadroom!.resetMs).toBeGreaterThan(0);
    expect(b.circuit.state).toBe('CLOSED');

    const f = bySlug.get(broken.slug)!;
    expect(f.lastHour).toMatchObject({ calls: 2, failures: 2, errorRate: 1 });
    expect(f.rateLimitHeadroom).toBeNull();

    for (const q of quiet) {
      const node = bySlug.get(q.slug)!;
      expect(node.lastHour.calls).toBe(0);
      expect(node.today.costMicros).toBe(0);
      expect(node.health.status).toBe('UNKNOWN');
    }
  });

  it('agrees with the one-provider query', async () => {
    const { slug } = await setUpProvider(t, upstream.url);
    const key = await createClientKey(t);
    expect((await call(t, key, `${slug}/one`)).status).toBe(200);
    await t.app.usage.flush();
    const One = graphql(`
      query OverviewOneForTest($slug: String!) {
        provider(slug: $slug) { usage(range: LAST_HOUR) { calls } health { uptime(range: LAST_HOUR) { from to } } }
      }
    `);
    const one = await gql(t.graphqlUrl, One, { slug }, await t.token('viewer'));
    expect(one.data?.provider?.usage.calls).toBe(1);
    const uptime = one.data?.provider?.health.uptime;
    expect(new Date(uptime!.to).getTime() - new Date(uptime!.from).getTime()).toBe(3_600_000);
  });
});
