import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderCircuit } from '../documents.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import {
  type Cluster,
  createClientKey,
  createProvider,
  Load,
  report,
  sleep,
  startCluster,
  tally,
  waitUntilServed,
} from './harness.ts';

/**
 * Scenario 5: `kill -9` of a replica under load. The other replica carries on (clients retry on
 * it), the killed one, started again, adopts the circuit another replica opened meanwhile (from
 * Redis), and the usage it had not flushed yet is all that is lost: calls answered within the
 * last flush interval before the kill.
 */

const FLUSH_MS = 500;

let cluster: Cluster;
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
  upstream.behave((req) =>
    req.path.startsWith('/down')
      ? { kind: 'status', status: 500, body: 'down' }
      : { kind: 'json', body: { ok: true } },
  );
  cluster = await startCluster({ replicas: 2, env: { TOLLGATE_USAGE_FLUSH_INTERVAL_MS: String(FLUSH_MS) } });
}, 120_000);

afterAll(async () => {
  await cluster?.dispose();
  await upstream?.close();
});

describe('scenario 5: kill -9 of a replica', () => {
  it('the other carries on; the restarted one adopts the shared open circuit; lost usage is bounded by the flush interval', async () => {
    const { slug } = await createProvider(cluster, upstream.url, { input: { timeoutMs: 3_000 } });
    const { slug: flaky } = await createProvider(cluster, `${upstream.url}/down`, {
      input: {
        timeoutMs: 3_000,
        retry: { maxAttempts: 1 },
        breaker: { failureThreshold: 3, halfOpenAfterMs: 120_000, successThreshold: 1 },
      },
    });
    const clientKey = await createClientKey(cluster);
    await waitUntilServed(cluster, clientKey, slug);
    const [a, b] = cluster.replicas as [(typeof cluster.replicas)[0], (typeof cluster.replicas)[0]];

    const load = new Load({
      targets: () => cluster.replicas,
      clientKey,
      path: (n) => `${slug}/kill/${n}`,
      concurrency: 4,
      pauseMs: 10,
      giveUpMs: 10_000,
      retryConnection: true,
      prefix: 'kill',
    }).start();
    await sleep(2_000);
    const killedAt = Date.now();
    const exit = await a!.kill9();

    // While a is gone, b sees the flaky provider fail and opens its circuit (shared through Redis).
    const failures = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${b!.url}/proxy/${flaky}/x`, {
        headers: { authorization: `Bearer ${clientKey}` },
      });
      failures.push(res.status);
      await res.arrayBuffer();
    }
    await sleep(1_000);
    await a!.start();
    const restartedAt = Date.now();
    await sleep(1_500);
    const outcomes = await load.stop();

    const circuitOnA = (await cluster.gql(ProviderCircuit, { slug: flaky }, a)).data?.provider?.circuit;
    const hitsBefore = upstream.requests.filter((r) => r.path.startsWith('/down')).length;
    const onA = await fetch(`${a!.url}/proxy/${flaky}/x`, {
      headers: { authorization: `Bearer ${clientKey}` },
    });
    const onABody = (await onA.json()) as { error?: { code?: string } };
    const hitsAfter = upstream.requests.filter((r) => r.path.startsWith('/down')).length;

    await sleep(FLUSH_MS * 3);
    const counts = await cluster.usageCounts('kill-');
    // Answered by the killed instance: ended before the kill, or started before it and answered by
    // a at the first connection (its answer was on the wire when the kill came, and the caller
    // finished reading it just after; a call that retried its connection met the restarted a).
    const byKilledA = (o: (typeof outcomes)[number]) =>
      o.replica === 'a' && (o.endedAt <= killedAt || (o.startedAt <= killedAt && o.connectionRetries === 0));
    const answeredByA = outcomes.filter(byKilledA);
    const lost = answeredByA.filter((o) => !counts.has(o.id));
    const oldestLostMsBeforeKill = lost.length ? killedAt - Math.min(...lost.map((o) => o.endedAt)) : 0;
    const others = outcomes.filter((o) => !byKilledA(o));
    report('5 kill -9', {
      exit,
      calls: outcomes.length,
      statuses: tally(outcomes, (o) => `${o.status}${o.error ? ` ${o.error}` : ''}`),
      answeredBy: tally(outcomes, (o) => o.replica),
      connectionRetries: outcomes.reduce((n, o) => n + o.connectionRetries, 0),
      flushIntervalMs: FLUSH_MS,
      callsAnsweredByKilledReplica: answeredByA.length,
      usageEventsLost: lost.length,
      oldestLostMsBeforeKill,
      restartMs: restartedAt - killedAt,
      circuitOpenedOnB: failures,
      circuitOnRestartedA: circuitOnA?.state,
      callOnRestartedA: `${onA.status} ${onABody.error?.code}`,
    });

    expect(exit).toBe('SIGKILL');
    // Nothing failed for callers that retry on a refused or reset connection.
    expect(outcomes.filter((o) => o.status !== 200 || o.error || o.bodyError)).toEqual([]);
    expect(outcomes.filter((o) => o.replica === 'b' && o.startedAt > killedAt).length).toBeGreaterThan(20);
    // The restarted replica adopted the circuit b opened while it was down, and keeps it open.
    expect(failures).toEqual([500, 500, 500]);
    expect(circuitOnA?.state).toBe('OPEN');
    expect(onA.status).toBe(503);
    expect(onABody.error?.code).toBe('CIRCUIT_OPEN');
    expect(hitsAfter).toBe(hitsBefore);
    // Lost usage: only calls answered within the last flush interval (plus a flush's own time).
    expect(oldestLostMsBeforeKill).toBeLessThanOrEqual(FLUSH_MS + 500);
    // Everything else is recorded exactly once.
    expect(others.filter((o) => counts.get(o.id) !== 1)).toEqual([]);
    expect([...answeredByA].filter((o) => (counts.get(o.id) ?? 0) > 1)).toEqual([]);
  });
});
