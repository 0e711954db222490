import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateClient, ListProviders } from '../documents.ts';
import { startUpstream, type Upstream } from '../helpers/upstream.ts';
import {
  type Cluster,
  createClientKey,
  createProvider,
  Load,
  percentile,
  report,
  sleep,
  startCluster,
  tally,
  waitFor,
  waitUntilServed,
} from './harness.ts';

/**
 * Scenario 2: PostgreSQL stopped under load. Proxied calls keep flowing on the in-memory
 * configuration, the control plane answers a typed SERVICE_UNAVAILABLE error (no stack, no
 * generic 500), usage waits in the buffer, and once PostgreSQL is back every call is recorded
 * exactly once.
 */

const TIMEOUT_MS = 2_000;

let cluster: Cluster;
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream({ kind: 'json', body: { ok: true } });
  cluster = await startCluster({ replicas: 2, ownPostgres: true });
}, 120_000);

afterAll(async () => {
  await cluster?.dispose();
  await upstream?.close();
});

describe('scenario 2: PostgreSQL outage under load', () => {
  it('calls keep flowing, mutations say SERVICE_UNAVAILABLE, usage is written exactly once afterwards', async () => {
    const { slug } = await createProvider(cluster, upstream.url, { input: { timeoutMs: TIMEOUT_MS } });
    const clientKey = await createClientKey(cluster);
    await waitUntilServed(cluster, clientKey, slug);
    const [a, b] = cluster.replicas as [(typeof cluster.replicas)[0], (typeof cluster.replicas)[0]];

    const load = new Load({
      targets: () => cluster.replicas,
      clientKey,
      path: (n) => `${slug}/pg/${n}`,
      concurrency: 3,
      pauseMs: 20,
      giveUpMs: 10_000,
      prefix: 'pg-outage',
    }).start();
    await sleep(1_500);
    const stoppedAt = Date.now();
    await cluster.pg.stop();
    await sleep(500);

    const mutation = await cluster.gql(CreateClient, { input: { name: 'during-outage' } }, a);
    const read = await cluster.gql(ListProviders, {}, b);
    const readyz = await Promise.all(
      cluster.replicas.map(async (r) => (await fetch(`${r.url}/readyz`)).status),
    );
    await sleep(2_500);
    const buffered = await Promise.all(cluster.replicas.map((r) => r.metric('tollgate_usage_buffered')));
    const callsDuringOutage = load.outcomes.filter((o) => o.startedAt > stoppedAt).length;
    await cluster.pg.start();
    const restartedAt = Date.now();
    await sleep(1_500);
    const outcomes = await load.stop();

    await waitFor(
      'the usage buffers to drain',
      async () =>
        (await Promise.all(cluster.replicas.map((r) => r.metric('tollgate_usage_buffered')))).every(
          (n) => n === 0,
        ),
      20_000,
    );
    const drainedMs = Date.now() - restartedAt;
    const counts = await cluster.usageCounts('pg-outage-');
    const recordedTwice = [...counts.values()].filter((n) => n > 1).length;
    const missing = outcomes.filter((o) => !counts.has(o.id)).length;
    const after = await cluster.gql(CreateClient, { input: { name: 'after-outage' } }, a);

    const mutationError = mutation.errors?.[0];
    const readError = read.errors?.[0];
    report('2 postgres stopped', {
      calls: outcomes.length,
      callsDuringOutage,
      statuses: tally(outcomes, (o) => `${o.status}${o.code ? ` ${o.code}` : ''}`),
      p99Ms: percentile(
        outcomes.map((o) => o.latencyMs),
        99,
      ),
      mutationDuringOutage: {
        status: mutation.status,
        code: mutationError?.extensions?.code,
        message: mutationError?.message,
      },
      queryDuringOutage: { status: read.status, code: readError?.extensions?.code },
      readyzDuringOutage: readyz,
      usageBufferedDuringOutage: buffered,
      usageDrainedAfterMs: drainedMs,
      usageEvents: counts.size,
      recordedTwice,
      missing,
    });

    // Nothing lost, nothing hung: every call answered 200 from the cached configuration.
    expect(callsDuringOutage).toBeGreaterThan(20);
    expect(outcomes.filter((o) => o.status !== 200 || o.error || o.bodyError)).toEqual([]);
    expect(Math.max(...outcomes.map((o) => o.latencyMs))).toBeLessThan(TIMEOUT_MS);
    // The control plane says what is wrong, in a typed way, and nothing more.
    expect(mutation.data?.createClient ?? null).toBeNull();
    expect(mutationError?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(mutationError?.message).toMatch(/unavailable/i);
    expect(JSON.stringify(mutation)).not.toMatch(/stack|ECONNREFUSED|127\.0\.0\.1|postgres:/i);
    expect(readError?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(readyz).toEqual([503, 503]);
    expect(buffered.every((n) => (n ?? 0) > 0)).toBe(true);
    // Exactly once.
    expect(missing).toBe(0);
    expect(recordedTwice).toBe(0);
    expect(counts.size).toBe(outcomes.length);
    expect(after.data?.createClient?.__typename).toBe('ClientKeyPayload');
    for (const replica of cluster.replicas) expect(replica.running).toBe(true);
  });

  it('a GraphQL query while PostgreSQL is frozen (SIGSTOP) answers SERVICE_UNAVAILABLE; queries work again after it resumes', async () => {
    const [a, b] = cluster.replicas as [(typeof cluster.replicas)[0], (typeof cluster.replicas)[0]];
    // Each replica holds pooled connections to the server that is about to freeze.
    for (const replica of [a, b])
      expect((await cluster.gql(ListProviders, {}, replica)).errors).toBeUndefined();
    /** A query, timed; `null` when no answer came within 30 s (the audit saw none after 25 s). */
    const timedQuery = async (replica: typeof a) => {
      const started = Date.now();
      const result = await Promise.race([
        cluster.gql(ListProviders, {}, replica),
        sleep(30_000).then(() => null),
      ]);
      return {
        ms: Date.now() - started,
        code: result ? (result.errors?.[0]?.extensions?.code ?? 'ok') : 'no answer within 30 s',
        result,
      };
    };

    cluster.pg.freeze();
    let frozenRounds: Awaited<ReturnType<typeof timedQuery>>[][] = [];
    let mutation: Awaited<ReturnType<typeof cluster.gql<unknown, unknown>>> | null = null;
    try {
      // Several at once (more than one pooled connection hangs), then again on connections that timed out.
      const first = Promise.all([a, a, a, b, b, b].map(timedQuery));
      mutation = await Promise.race([
        cluster.gql(CreateClient, { input: { name: 'while-frozen' } }, a),
        sleep(30_000).then(() => null),
      ]);
      frozenRounds = [await first, await Promise.all([a, b].map(timedQuery))];
    } finally {
      cluster.pg.resume();
    }
    const resumedAt = Date.now();
    await waitFor(
      'queries to work again on both replicas',
      async () =>
        (await Promise.all([a, b].map((r) => cluster.gql(ListProviders, {}, r)))).every((r) => !r.errors),
      30_000,
    );
    const recoveredMs = Date.now() - resumedAt;
    const answers = frozenRounds.flat();
    report('2b postgres frozen', {
      queryMs: frozenRounds.map((round) => round.map((q) => q.ms)),
      codes: tally(answers, (q) => String(q.code)),
      mutationCode: mutation ? (mutation.errors?.[0]?.extensions?.code ?? 'ok') : 'no answer within 30 s',
      recoveredAfterResumeMs: recoveredMs,
    });

    expect(answers.map((q) => q.code)).toEqual(answers.map(() => 'SERVICE_UNAVAILABLE'));
    for (const q of answers) {
      expect(q.result?.errors?.[0]?.message).toMatch(/unavailable/i);
      expect(JSON.stringify(q.result)).not.toMatch(/stack|timeout|127\.0\.0\.1|postgres:/i);
    }
    expect(mutation?.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    for (const replica of cluster.replicas) expect(replica.running).toBe(true);
  });
});
