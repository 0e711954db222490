import { print } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CircuitChanges, ListProviders, ResetCircuit, TripCircuit } from '../documents.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import {
  type Cluster,
  createClientKey,
  createProvider,
  Load,
  type Replica,
  report,
  sleep,
  startCluster,
  tally,
  waitUntilServed,
} from './harness.ts';

/**
 * Scenario 7: a soak. Mixed traffic (proxied calls, streams, GraphQL queries, subscribers that
 * connect, listen and leave) for TOLLGATE_SOAK_SECONDS (60 in CI; run 600 by hand). After a
 * warm-up, each replica's heap, RSS and file descriptors and Redis's connection count must stay
 * flat: what a leak of sockets, listeners or subscriptions would break.
 */

const SECONDS = Number(process.env.TOLLGATE_SOAK_SECONDS ?? 60);
// Extra settings for replica b alone ("NAME=value,NAME=value"), to compare two settings under the
// same traffic in one run (e.g. MALLOC_ARENA_MAX): the machine's other load then blurs both alike.
const REPLICA_B_ENV = Object.fromEntries(
  (process.env.TOLLGATE_SOAK_REPLICA_B_ENV ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
const WARMUP_MS = Math.min(10_000, (SECONDS * 1000) / 5);

let cluster: Cluster;
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
  upstream.behave((req) =>
    req.path.startsWith('/sse')
      ? { kind: 'sse', events: ['1', '2', '3', '4', '5'], intervalMs: 50 }
      : { kind: 'json', body: { ok: true, padding: 'x'.repeat(2_000) } },
  );
  cluster = await startCluster({ replicas: 2, replicaEnv: { b: REPLICA_B_ENV } });
}, 120_000);

afterAll(async () => {
  await cluster?.dispose();
  await upstream?.close();
});

type Figures = ReturnType<Replica['figures']> & { heapMb: number; heapTotalMb: number; externalMb: number };
interface Snapshot {
  replicas: Record<string, Figures>;
  redisClients: number;
}

async function snapshot(): Promise<Snapshot> {
  const replicas: Snapshot['replicas'] = {};
  for (const r of cluster.replicas) {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    const mb = (name: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${name} `));
      return line === undefined ? 0 : Math.round(Number(line.slice(line.lastIndexOf(' ') + 1)) / 1024 / 1024);
    };
    replicas[r.name] = {
      ...r.figures(),
      heapMb: mb('tollgate_nodejs_heap_size_used_bytes'),
      heapTotalMb: mb('tollgate_nodejs_heap_size_total_bytes'),
      externalMb: mb('tollgate_nodejs_external_memory_bytes'),
    };
  }
  return { replicas, redisClients: await cluster.redis.clients() };
}

describe('scenario 7: soak', () => {
  it(`${SECONDS} s of mixed traffic: heap, RSS, file descriptors and Redis connections stay flat`, async () => {
    const { slug } = await createProvider(cluster, upstream.url, { input: { timeoutMs: 5_000 } });
    const { slug: watched } = await createProvider(cluster, upstream.url);
    const clientKey = await createClientKey(cluster);
    await waitUntilServed(cluster, clientKey, slug);

    const calls = new Load({
      targets: () => cluster.replicas,
      clientKey,
      path: (n) => `${slug}/soak/${n}`,
      concurrency: 2,
      pauseMs: 20,
      giveUpMs: 10_000,
      prefix: 'soak-call',
    }).start();
    const streams = new Load({
      targets: () => cluster.replicas,
      clientKey,
      path: (n) => `${slug}/sse/${n}`,
      concurrency: 1,
      pauseMs: 100,
      giveUpMs: 10_000,
      keepText: true,
      prefix: 'soak-sse',
    }).start();

    let running = true;
    // Failures are tallied by what they were (status and error code, or the fetch error), so that
    // a failed soak says why.
    const graphql = { ok: 0, failed: 0, failures: {} as Record<string, number> };
    const graphqlLoop = (async () => {
      for (let i = 0; running; i++) {
        const res = await cluster
          .gql(ListProviders, {}, cluster.replicas[i % 2])
          .catch((error: Error) => ({ status: 0, errors: [{ message: error.message }] }) as const);
        if (res.status === 200 && !res.errors) graphql.ok++;
        else {
          graphql.failed++;
          const first = res.errors?.[0] as { message?: string; extensions?: { code?: string } } | undefined;
          const why = `${res.status} ${first?.extensions?.code ?? first?.message ?? ''}`.slice(0, 120);
          graphql.failures[why] = (graphql.failures[why] ?? 0) + 1;
        }
        await sleep(100);
      }
    })();
    // Dashboards come and go: each connects, subscribes, hears what happens for a while, leaves.
    const subscribers = { connected: 0, events: 0, errors: 0 };
    const churn = (async () => {
      for (let i = 0; running; i++) {
        const replica: Replica = cluster.replicas[i % 2]!;
        const client = createClient({
          url: `${replica.url.replace(/^http/, 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          connectionParams: { authorization: `Bearer ${cluster.adminToken}` },
          on: { connected: () => subscribers.connected++ },
        });
        const unsubscribe = client.subscribe(
          { query: print(CircuitChanges), variables: { provider: watched } },
          { next: () => subscribers.events++, error: () => subscribers.errors++, complete: () => undefined },
        );
        await sleep(700);
        unsubscribe();
        await client.dispose();
      }
    })();
    // Something for the subscribers to hear.
    const events = (async () => {
      for (let i = 0; running; i++) {
        const replica = cluster.replicas[i % 2];
        if (i % 2) await cluster.gql(ResetCircuit, { provider: watched }, replica);
        else await cluster.gql(TripCircuit, { provider: watched }, replica);
        await sleep(1_000);
      }
    })();

    const started = Date.now();
    await sleep(WARMUP_MS);
    const start = await snapshot();
    report('7 soak start', start);
    // Heap goes up and down with garbage collection: sample often and compare the floors of the
    // first and last thirds, which a leak raises and a collection that happened not to run does not.
    const samples: { at: number; snapshot: Snapshot }[] = [{ at: Date.now(), snapshot: start }];
    // At most a minute apart: a long soak is read as RSS per minute.
    const printEvery = Math.min(60_000, Math.max(10_000, (SECONDS * 1000) / 10));
    let printedAt = Date.now();
    while (Date.now() - started < SECONDS * 1000) {
      await sleep(Math.min(2_000, Math.max(0, SECONDS * 1000 - (Date.now() - started))));
      const sample = await snapshot();
      samples.push({ at: Date.now(), snapshot: sample });
      if (Date.now() - printedAt >= printEvery) {
        printedAt = Date.now();
        report('7 soak sample', { atS: Math.round((Date.now() - started) / 1000), ...sample });
      }
    }
    running = false;
    const outcomes = [...(await calls.stop()), ...(await streams.stop())];
    await Promise.all([graphqlLoop, churn, events]);
    // Let closed connections settle (keep-alive sockets of the load generator time out after 5 s).
    await sleep(6_000);
    const end = await snapshot();
    const third = Math.max(1, Math.floor(samples.length / 3));
    const floor = (part: typeof samples, name: string, figure: 'heapMb' | 'rssMb') =>
      Math.min(...part.map((s) => s.snapshot.replicas[name]![figure]));
    const floors: Record<
      string,
      { heapFloorStartMb: number; heapFloorEndMb: number; rssFloorStartMb: number; rssFloorEndMb: number }
    > = {};
    for (const name of Object.keys(start.replicas)) {
      const [early, late] = [samples.slice(0, third), samples.slice(-third)];
      floors[name] = {
        heapFloorStartMb: floor(early, name, 'heapMb'),
        heapFloorEndMb: floor(late, name, 'heapMb'),
        rssFloorStartMb: floor(early, name, 'rssMb'),
        rssFloorEndMb: floor(late, name, 'rssMb'),
      };
    }

    report('7 soak', {
      seconds: SECONDS,
      replicaBEnv: REPLICA_B_ENV,
      warmupS: WARMUP_MS / 1000,
      proxyCalls: outcomes.length,
      statuses: tally(outcomes, (o) => `${o.status}${o.error ? ` ${o.error}` : ''}`),
      graphql,
      subscribers,
      start,
      end,
      floors,
    });

    expect(outcomes.filter((o) => o.status !== 200 || o.error || o.bodyError)).toEqual([]);
    expect(graphql.failed).toBe(0);
    expect(subscribers.errors).toBe(0);
    expect(subscribers.connected).toBeGreaterThan(SECONDS / 2);
    expect(subscribers.events).toBeGreaterThan(0);
    expect(end.redisClients).toBe(start.redisClients);
    for (const name of Object.keys(start.replicas)) {
      const [s, e] = [start.replicas[name]!, end.replicas[name]!];
      expect(e.fds).toBeLessThanOrEqual(s.fds + 20);
      const f = floors[name]!;
      // V8 lets the old space grow for a minute or two before a full collection (then the heap
      // falls back to its start), so a short run needs generous bounds; in a 10-minute run the
      // floors come after full collections and the same bounds are tight.
      expect(f.heapFloorEndMb).toBeLessThanOrEqual(f.heapFloorStartMb + 96);
      expect(f.rssFloorEndMb).toBeLessThanOrEqual(f.rssFloorStartMb + 160);
    }
  });
});
