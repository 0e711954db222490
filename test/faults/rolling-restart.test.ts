import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import {
  type Cluster,
  createClientKey,
  createProvider,
  Load,
  type Outcome,
  type Replica,
  report,
  sleep,
  startCluster,
  tally,
  waitUntilServed,
} from './harness.ts';

/**
 * Scenario 4: a rolling restart under load. Each replica in turn gets SIGTERM and is started
 * again while clients keep calling, retrying on the other replica when a connection is refused.
 * No call fails, streams in flight finish, and every call has exactly one usage event.
 */

const EVENTS = 10;

let cluster: Cluster;
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
  upstream.behave((req) =>
    req.path.startsWith('/sse')
      ? { kind: 'sse', events: Array.from({ length: EVENTS }, (_, i) => `{"n":${i}}`), intervalMs: 80 }
      : { kind: 'slow', delayMs: 30, body: { ok: true } },
  );
  cluster = await startCluster({ replicas: 2 });
}, 120_000);

afterAll(async () => {
  await cluster?.dispose();
  await upstream?.close();
});

describe('scenario 4: rolling restart', () => {
  it('SIGTERM each replica in turn under load: zero failed calls, streams drained, usage flushed', async () => {
    const { slug } = await createProvider(cluster, upstream.url, { input: { timeoutMs: 5_000 } });
    const clientKey = await createClientKey(cluster);
    await waitUntilServed(cluster, clientKey, slug);

    const calls = new Load({
      targets: () => cluster.replicas,
      clientKey,
      path: (n) => `${slug}/call/${n}`,
      concurrency: 4,
      pauseMs: 10,
      giveUpMs: 15_000,
      retryConnection: true,
      prefix: 'roll-call',
    }).start();
    const streams = new Load({
      targets: () => cluster.replicas,
      clientKey,
      path: (n) => `${slug}/sse/${n}`,
      concurrency: 2,
      giveUpMs: 15_000,
      retryConnection: true,
      keepText: true,
      prefix: 'roll-sse',
    }).start();

    const restarts: { replica: string; exitCode: number | string; termAt: number; drainMs: number }[] = [];
    const restart = async (replica: Replica) => {
      await sleep(1_500);
      const termAt = Date.now();
      const exitCode = await replica.term();
      restarts.push({ replica: replica.name, exitCode, termAt, drainMs: Date.now() - termAt });
      await replica.start();
    };
    await sleep(1_000);
    for (const replica of cluster.replicas) await restart(replica);
    await sleep(1_500);
    const outcomes: Outcome[] = [...(await calls.stop()), ...(await streams.stop())];
    const sse = outcomes.filter((o) => o.id.startsWith('roll-sse'));

    // Each replica flushed its usage when it stopped; the last ones flush on their timer.
    await sleep(1_000);
    const counts = new Map([
      ...(await cluster.usageCounts('roll-call-')),
      ...(await cluster.usageCounts('roll-sse-')),
    ]);
    const ids = new Set(outcomes.map((o) => o.id));
    const recordedTwice = [...counts.values()].filter((n) => n > 1).length;
    const missing = outcomes.filter((o) => !counts.has(o.id)).length;
    const unanswered = [...counts.keys()].filter((id) => !ids.has(id)).length;
    // Streams that were mid-way on a replica when it got SIGTERM, and finished there.
    const drained = restarts.map(
      (r) =>
        sse.filter((o) => o.replica === r.replica && o.startedAt < r.termAt && o.endedAt > r.termAt).length,
    );
    const incompleteStreams = sse.filter((o) => (o.text?.match(/^data: /gm) ?? []).length !== EVENTS).length;
    report('4 rolling restart', {
      calls: outcomes.length,
      streams: sse.length,
      statuses: tally(outcomes, (o) => `${o.status}${o.error ? ` ${o.error}` : ''}`),
      answeredBy: tally(outcomes, (o) => o.replica),
      connectionRetries: outcomes.reduce((n, o) => n + o.connectionRetries, 0),
      restarts: restarts.map(({ termAt: _, ...r }) => r),
      streamsDrainedThroughShutdown: drained,
      incompleteStreams,
      usageEvents: counts.size,
      missing,
      recordedTwice,
      recordedWithoutAnswer: unanswered,
    });

    expect(restarts.map((r) => r.exitCode)).toEqual([0, 0]);
    expect(outcomes.filter((o) => o.status !== 200 || o.error || o.bodyError)).toEqual([]);
    expect(sse.length).toBeGreaterThan(10);
    expect(incompleteStreams).toBe(0);
    expect(drained.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(missing).toBe(0);
    expect(recordedTwice).toBe(0);
    expect(unanswered).toBe(0);
  });
});
