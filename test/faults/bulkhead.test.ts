import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import {
  type Cluster,
  createClientKey,
  createProvider,
  Load,
  percentile,
  report,
  startCluster,
  tally,
  waitUntilServed,
} from './harness.ts';

/**
 * Scenario: one provider hangs while callers keep coming. Its bulkhead lets `maxConcurrent`
 * calls reach it, queues a few briefly, and sheds the rest at once with 503 PROVIDER_SATURATED;
 * another provider on the same replica serves as before.
 */

const TIMEOUT_MS = 3_000;
const BULKHEAD = { maxConcurrent: 4, maxQueue: 2, maxQueueWaitMs: 300 };
const FLOOD = 60;
const CALLS = 200;

let cluster: Cluster;
let upstream: Upstream;

const behave = () =>
  upstream.behave((req) =>
    req.path.startsWith('/hang') ? { kind: 'hang' } : { kind: 'slow', delayMs: 5, body: { ok: true } },
  );

beforeAll(async () => {
  upstream = await startUpstream();
  behave();
  cluster = await startCluster({ replicas: 1 });
}, 120_000);

afterAll(async () => {
  await cluster?.dispose();
  await upstream?.close();
});

describe('scenario: a hanging provider behind its bulkhead', () => {
  it('sheds the excess with fast 503s, sends at most maxConcurrent calls upstream, and leaves other providers alone', async () => {
    const hang = await createProvider(cluster, `${upstream.url}/hang`, {
      input: {
        timeoutMs: TIMEOUT_MS,
        bulkhead: BULKHEAD,
        retry: { maxAttempts: 1 },
        // The breaker would also stop the flood once calls time out; this scenario is the bulkhead's.
        breaker: { failureThreshold: 1000 },
      },
    });
    const ok = await createProvider(cluster, `${upstream.url}/ok`);
    const clientKey = await createClientKey(cluster);
    await waitUntilServed(cluster, clientKey, ok.slug);
    const okLoad = (prefix: string) =>
      new Load({
        targets: () => cluster.replicas,
        clientKey,
        path: (n) => `${ok.slug}/call/${n}`,
        concurrency: 4,
        giveUpMs: 10_000,
        prefix,
      });

    const before = await okLoad('bulkhead-ok-before').run(CALLS);
    upstream.reset();
    behave();
    const flood = new Load({
      targets: () => cluster.replicas,
      clientKey,
      path: (n) => `${hang.slug}/call/${n}`,
      concurrency: FLOOD,
      giveUpMs: 10_000,
      prefix: 'bulkhead-hang',
    }).run(FLOOD);
    const during = await okLoad('bulkhead-ok-during').run(CALLS);
    const hung = await flood;

    const latencies = (outcomes: typeof before) => outcomes.map((o) => o.latencyMs);
    const saturated = hung.filter((o) => o.code === 'PROVIDER_SATURATED');
    const hangHits = upstream.requests.filter((r) => r.path.startsWith('/hang')).length;
    report('bulkhead hang', {
      calls: hung.length,
      codes: tally(hung, (o) => `${o.status}${o.code ? ` ${o.code}` : ''}`),
      upstreamHits: hangHits,
      saturatedMs: { p50: percentile(latencies(saturated), 50), max: Math.max(...latencies(saturated)) },
      deadlineMs: TIMEOUT_MS,
    });
    report('bulkhead other provider', {
      before: { p50: percentile(latencies(before), 50), p99: percentile(latencies(before), 99) },
      during: { p50: percentile(latencies(during), 50), p99: percentile(latencies(during), 99) },
    });

    // The hanging provider got at most its cap; the rest were shed without waiting for it.
    expect(hangHits).toBeLessThanOrEqual(BULKHEAD.maxConcurrent);
    expect(new Set(hung.map((o) => `${o.status} ${o.code}`))).toEqual(
      new Set(['504 UPSTREAM_TIMEOUT', '503 PROVIDER_SATURATED']),
    );
    expect(hung.filter((o) => o.status === 504).length).toBeLessThanOrEqual(BULKHEAD.maxConcurrent);
    // Shed before the hanging calls' deadline: not one of them waited for the provider.
    expect(saturated.every((o) => o.latencyMs < TIMEOUT_MS)).toBe(true);
    expect(saturated.every((o) => Number(o.retryAfter) >= 1)).toBe(true);
    // The other provider answered every call while the hanging one was full.
    expect(during.every((o) => o.status === 200)).toBe(true);
    expect(before.every((o) => o.status === 200)).toBe(true);
  });
});
