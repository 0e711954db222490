import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CircuitChanges, ResetCircuit, TripCircuit } from '../documents.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import {
  type Cluster,
  createClientKey,
  createProvider,
  isGateway5xx,
  Load,
  type Outcome,
  percentile,
  report,
  sleep,
  startCluster,
  tally,
  waitFor,
  waitUntilServed,
} from './harness.ts';

/**
 * Scenario 1: Redis killed, then Redis frozen (SIGSTOP), under steady load on two replicas. The
 * limits fall back to each replica's share and come back to the shared counter; nothing hangs
 * past its deadline, nothing answers a gateway 5xx, and a subscriber on one replica still hears
 * events published on the other once Redis is back.
 */

const LIMIT = 40; // calls per second, shared by the two replicas
const TIMEOUT_MS = 2_000;
// Generous for a shared 2-core machine; a Redis that made calls wait would cost far more.
const SLACK_MS = 1_000;

let cluster: Cluster;
let upstream: Upstream;
let slug: string;
let watched: string;
let clientKey: string;
const heard: string[] = [];
let disposeSubscriber: (() => void) | undefined;

beforeAll(async () => {
  upstream = await startUpstream({ kind: 'json', body: { ok: true } });
  cluster = await startCluster({ replicas: 2 });
  ({ slug } = await createProvider(cluster, upstream.url, {
    input: { timeoutMs: TIMEOUT_MS, rateLimit: { points: LIMIT, periodMs: 1000, burst: 0, mode: 'REJECT' } },
  }));
  ({ slug: watched } = await createProvider(cluster, upstream.url));
  clientKey = await createClientKey(cluster);
  await waitUntilServed(cluster, clientKey, slug);

  // A dashboard on replica a, watching a circuit that replica b's operator will trip.
  const [a] = cluster.replicas;
  const ws = createClient({
    url: `${a!.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${cluster.adminToken}` },
  });
  disposeSubscriber = ws.subscribe(
    { query: print(CircuitChanges), variables: { provider: watched } },
    {
      next: (message) => {
        const event = (message.data as { circuitStateChanged?: { to: string } } | undefined)
          ?.circuitStateChanged;
        if (event) heard.push(event.to);
      },
      error: (error) => heard.push(`error: ${JSON.stringify(error)}`),
      complete: () => heard.push('complete'),
    },
  );
}, 120_000);

afterAll(async () => {
  disposeSubscriber?.();
  await cluster?.dispose();
  await upstream?.close();
});

/** Trips the watched circuit through replica b and waits for replica a's subscriber to hear it. */
async function eventCrossesReplicas(): Promise<number> {
  const [, b] = cluster.replicas;
  const before = heard.length;
  const started = Date.now();
  const tripped = await cluster.gql(TripCircuit, { provider: watched, reason: 'fault suite' }, b);
  expect(tripped.data?.tripCircuit?.__typename).toBe('CircuitPayload');
  await waitFor('the subscriber on replica a to hear the trip', () =>
    heard.slice(before).includes('ISOLATED'),
  );
  const ms = Date.now() - started;
  await cluster.gql(ResetCircuit, { provider: watched }, b);
  await waitFor('the subscriber to hear the reset', () => heard.slice(before).includes('CLOSED'));
  return ms;
}

async function degradedFlags(): Promise<number[]> {
  return Promise.all(
    cluster.replicas.map(async (r) => (await r.metric('tollgate_rate_limit_degraded')) ?? -1),
  );
}

/** Calls allowed in a phase (by the time the answer came back), and the most fixed 1 s windows allow then. */
function allowed(
  outcomes: Outcome[],
  from: number,
  to: number,
): { allowed: number; max: number; seconds: number } {
  const count = outcomes.filter((o) => o.status === 200 && o.endedAt >= from && o.endedAt < to).length;
  const seconds = (to - from) / 1000;
  // Any interval of T seconds overlaps at most T + 1 fixed windows.
  return { allowed: count, max: Math.ceil(LIMIT * (seconds + 1)), seconds: Math.round(seconds * 10) / 10 };
}

function expectLimited(phase: { allowed: number; max: number; seconds: number }) {
  expect(phase.allowed).toBeLessThanOrEqual(phase.max);
  // Not stuck shut either.
  expect(phase.allowed).toBeGreaterThan(0);
}

function checkNothingHungOrBroke(name: string, outcomes: Outcome[]) {
  const latencies = outcomes.map((o) => o.latencyMs);
  report(name, {
    calls: outcomes.length,
    statuses: tally(outcomes, (o) => `${o.status}${o.code ? ` ${o.code}` : ''}`),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
    deadlineMs: TIMEOUT_MS,
  });
  expect(outcomes.filter((o) => o.error !== undefined || o.bodyError !== undefined)).toEqual([]);
  expect(outcomes.filter(isGateway5xx)).toEqual([]);
  expect(outcomes.filter((o) => o.status !== 200 && o.status !== 429)).toEqual([]);
  expect(outcomes.filter((o) => o.latencyMs > TIMEOUT_MS + SLACK_MS)).toEqual([]);
}

describe('scenario 1: Redis outage under load on two replicas', () => {
  it('Redis killed: limits fall back to each replica’s share, re-converge when it returns, subscriptions resume', async () => {
    const baselineMs = await eventCrossesReplicas();
    const load = new Load({
      targets: () => cluster.replicas,
      clientKey,
      path: (n) => `${slug}/steady/${n}`,
      concurrency: 4,
      pauseMs: 10,
      giveUpMs: 10_000,
      prefix: 'redis-kill',
    }).start();
    await sleep(2_000);
    const killedAt = Date.now();
    await cluster.redis.kill();
    await sleep(1_000);
    const duringFrom = Date.now();
    expect(await degradedFlags()).toEqual([1, 1]);
    await sleep(3_000);
    const duringTo = Date.now();
    await cluster.redis.start();
    const restartedAt = Date.now();
    // Degraded clears once the Redis gate's probe (every second) hears Redis answer again.
    await waitFor('both replicas back on the shared limits', async () =>
      (await degradedFlags()).every((f) => f === 0),
    );
    const convergedAt = Date.now();
    await sleep(3_000);
    const outcomes = await load.stop();
    const afterTo = Date.now();

    const resumedMs = await eventCrossesReplicas();
    const before = allowed(outcomes, killedAt - 1_500, killedAt);
    const during = allowed(outcomes, duringFrom, duringTo);
    const after = allowed(outcomes, convergedAt, afterTo);
    report('1a redis killed', {
      limitPerSecond: LIMIT,
      allowed: { before, duringOutage: during, afterReturn: after },
      sharedLimitsBackAfterMs: convergedAt - restartedAt,
      eventAcrossReplicasMs: { baseline: baselineMs, afterReturn: resumedMs },
    });
    checkNothingHungOrBroke('1a redis killed', outcomes);
    // Each replica allows LIMIT / 2 on its own: together still about LIMIT (a window's worth of slack).
    for (const phase of [before, during, after]) expectLimited(phase);
    expect(outcomes.filter((o) => o.status === 429).length).toBeGreaterThan(0);
  });

  it('Redis frozen (SIGSTOP): calls wait at most the command timeout, then the same recovery', async () => {
    const load = new Load({
      targets: () => cluster.replicas,
      clientKey,
      path: (n) => `${slug}/frozen/${n}`,
      concurrency: 4,
      pauseMs: 10,
      giveUpMs: 10_000,
      prefix: 'redis-freeze',
    }).start();
    await sleep(2_000);
    const frozenAt = Date.now();
    cluster.redis.freeze();
    await sleep(4_000);
    const during = await degradedFlags();
    cluster.redis.thaw();
    const thawedAt = Date.now();
    await waitFor('both replicas back on the shared limits', async () =>
      (await degradedFlags()).every((f) => f === 0),
    );
    const convergedAt = Date.now();
    await sleep(3_000);
    const outcomes = await load.stop();
    const afterTo = Date.now();
    const resumedMs = await eventCrossesReplicas();
    const frozen = outcomes.filter((o) => o.startedAt >= frozenAt + 500 && o.endedAt <= thawedAt);
    report('1b redis frozen', {
      callsWhileFrozen: frozen.length,
      frozenLatencyP50Ms: percentile(
        frozen.map((o) => o.latencyMs),
        50,
      ),
      degradedWhileFrozen: during,
      sharedLimitsBackAfterMs: convergedAt - thawedAt,
      allowedAfter: allowed(outcomes, convergedAt, afterTo),
      eventAcrossReplicasAfterThawMs: resumedMs,
    });
    checkNothingHungOrBroke('1b redis frozen', outcomes);
    expect(frozen.length).toBeGreaterThan(0);
    expect(frozen.every((o) => o.status === 200 || o.status === 429)).toBe(true);
    expect(during).toEqual([1, 1]);
    expectLimited(allowed(outcomes, convergedAt, afterTo));
  });
});
