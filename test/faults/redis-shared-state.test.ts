import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBudget, CreateClient, GetBudget } from '../documents.ts';
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
 * Scenario 8: what Redis holds for the cluster (budgets, rate-limit counters) while it is frozen
 * (SIGSTOP) and when it wakes up, over two replicas. A budget is not overspent by replicas that
 * each decide alone; increments that ran after their callers gave up do not refuse later calls;
 * and once Redis is known to be frozen, calls stop waiting on it.
 */

const COMMAND_TIMEOUT_MS = 500;

let cluster: Cluster;
let upstream: Upstream;
let redis: Redis;

beforeAll(async () => {
  upstream = await startUpstream({ kind: 'json', body: { ok: true } });
  cluster = await startCluster({ replicas: 2 });
  redis = new Redis(cluster.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  await redis.connect();
}, 120_000);

afterAll(async () => {
  redis?.disconnect();
  await cluster?.dispose();
  await upstream?.close();
});

async function degradedFlags(): Promise<number[]> {
  return Promise.all(
    cluster.replicas.map(async (r) => (await r.metric('tollgate_rate_limit_degraded')) ?? -1),
  );
}

async function thawAndWait(): Promise<void> {
  cluster.redis.thaw();
  await waitFor('both replicas back on Redis', async () => (await degradedFlags()).every((f) => f === 0));
}

async function budget(name: string, provider: string, limitMicros: number): Promise<string> {
  const created = await cluster.gql(CreateBudget, {
    input: { name, scope: 'PROVIDER', provider, period: 'DAY', limitMicros },
  });
  const payload = created.data?.createBudget;
  if (payload?.__typename !== 'BudgetPayload') throw new Error(JSON.stringify(created));
  return payload.budget.id;
}

async function spentOf(id: string): Promise<{ spent: number; reserved: number }> {
  const result = await cluster.gql(GetBudget, { id });
  const b = result.data?.budget;
  if (!b) throw new Error(JSON.stringify(result));
  return { spent: b.spentMicros, reserved: b.reservedMicros };
}

describe('scenario 8: shared state while Redis is frozen, over two replicas', () => {
  it('a budget is not overspent while Redis is frozen: each replica spends only its share of what is left', async () => {
    const PRICE = 100;
    const { slug } = await createProvider(cluster, upstream.url, {
      input: { pricing: { perRequestMicros: PRICE } },
    });
    const id = await budget(`outage-${slug}`, slug, 10 * PRICE);
    const clientKey = await createClientKey(cluster);
    await waitUntilServed(cluster, clientKey, slug, '/warm');
    // waitUntilServed spent one call per replica: 2 of the 10 calls.
    await waitFor('the warm-up calls settled', async () => {
      const { spent, reserved } = await spentOf(id);
      return spent === 2 * PRICE && reserved === 0;
    });
    // Both replicas refresh their view of the budget (cache refresh: 1 s here).
    await sleep(1_500);
    cluster.redis.freeze();
    const outcomes = await new Load({
      targets: () => cluster.replicas,
      clientKey,
      path: (n) => `${slug}/burst/${n}`,
      concurrency: 50,
      giveUpMs: 10_000,
      prefix: 'budget-freeze',
    }).run(50);
    const admitted = outcomes.filter((o) => o.status === 200).length;
    await thawAndWait();
    // Checked below; the figures are printed first either way.
    await waitFor(
      'the spend handed over to Redis',
      async () => (await spentOf(id)).spent === (2 + admitted) * PRICE,
    ).catch(() => undefined);
    const after = await spentOf(id);
    report('8a budget while Redis is frozen', {
      limitCalls: 10,
      spentBefore: 2,
      calls: outcomes.length,
      admittedWhileFrozen: admitted,
      byReplica: tally(
        outcomes.filter((o) => o.status === 200),
        (o) => o.replica,
      ),
      statuses: tally(outcomes, (o) => `${o.status}${o.code ? ` ${o.code}` : ''}`),
      spentAfterMicros: after.spent,
      limitMicros: 10 * PRICE,
    });
    expect(outcomes.every((o) => o.status === 200 || o.code === 'BUDGET_EXCEEDED')).toBe(true);
    // Each replica had (10 − 2) ÷ 2 = 4 calls' worth: together, no more than the limit.
    expect(2 + admitted).toBeLessThanOrEqual(10);
    expect(admitted).toBeGreaterThan(0);
    expect(after.spent).toBe((2 + admitted) * PRICE);
  });

  it('increments that ran after their callers gave up do not refuse calls once Redis resumes', async () => {
    const LIMIT = 100;
    const PERIOD_MS = 2_000;
    const { slug } = await createProvider(cluster, upstream.url, {
      input: { rateLimit: { points: LIMIT, periodMs: PERIOD_MS, burst: 0, mode: 'REJECT' } },
    });
    const clientKey = await createClientKey(cluster);
    await waitUntilServed(cluster, clientKey, slug);
    // 20 calls a second, alternating replicas: 40 per period, well under the limit of 100.
    const calls: { at: number; status: number }[] = [];
    let n = 0;
    let running = true;
    const paced = (async () => {
      const inFlight: Promise<void>[] = [];
      while (running) {
        const replica = cluster.replicas[n++ % 2]!;
        inFlight.push(
          fetch(`${replica.url}/proxy/${slug}/paced/${n}`, {
            headers: { authorization: `Bearer ${clientKey}` },
          })
            .then(async (res) => {
              await res.arrayBuffer();
              calls.push({ at: Date.now(), status: res.status });
            })
            .catch(() => {
              calls.push({ at: Date.now(), status: 0 });
            }),
        );
        await sleep(50);
      }
      await Promise.all(inFlight);
    })();
    await sleep(2_000);
    cluster.redis.freeze();
    await sleep(10_000);
    cluster.redis.thaw();
    const resumedAt = Date.now();
    await sleep(150);
    const counters = await redis.keys('tg:rl:*');
    const values = counters.length > 0 ? await redis.mget(counters) : [];
    const sharedCounter = Math.max(0, ...values.map((v) => Number(v ?? 0)));
    await sleep(PERIOD_MS + 500);
    running = false;
    await paced;
    const after = calls.filter((c) => c.at >= resumedAt && c.at < resumedAt + PERIOD_MS);
    const refusedAfter = after.filter((c) => c.status === 429).length;
    report('8b counters after Redis resumes', {
      limit: `${LIMIT} per ${PERIOD_MS} ms`,
      realRatePerPeriod: after.length,
      sharedCounter150msAfterResume: sharedCounter,
      refusalsInThePeriodAfterResume: refusedAfter,
      statuses: tally(calls, (c) => String(c.status)),
    });
    expect(calls.filter((c) => c.status !== 200 && c.status !== 429)).toEqual([]);
    expect(refusedAfter).toBe(0);
    expect(sharedCounter).toBeLessThan(LIMIT);
  });

  it('a frozen Redis costs the first call its command timeout, and the calls after it almost nothing', async () => {
    const { slug } = await createProvider(cluster, upstream.url, {
      input: {
        pricing: { perRequestMicros: 1 },
        rateLimit: { points: 1_000, periodMs: 1_000, burst: 0, mode: 'REJECT' },
      },
    });
    for (const i of [1, 2, 3]) await budget(`latency-${i}-${slug}`, slug, 1_000_000);
    const created = await cluster.gql(CreateClient, {
      input: {
        name: `latency-${randomBytes(4).toString('hex')}`,
        rateLimit: { points: 1_000, periodMs: 1_000, burst: 0, mode: 'REJECT' },
      },
    });
    const payload = created.data?.createClient;
    if (payload?.__typename !== 'ClientKeyPayload') throw new Error(JSON.stringify(created));
    const clientKey = payload.key;
    await waitUntilServed(cluster, clientKey, slug);
    await sleep(1_500);
    const [a] = cluster.replicas;
    const timed = async (run: () => Promise<Response>) => {
      const started = performance.now();
      const res = await run();
      await res.arrayBuffer();
      return { status: res.status, ms: Math.round(performance.now() - started) };
    };
    const proxied = () =>
      timed(() =>
        fetch(`${a!.url}/proxy/${slug}/latency`, { headers: { authorization: `Bearer ${clientKey}` } }),
      );
    const viewer = cluster.adminToken;
    const graphql = () =>
      timed(() =>
        fetch(`${a!.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${viewer}` },
          body: JSON.stringify({ query: '{ viewer { role } }' }),
        }),
      );
    cluster.redis.freeze();
    const calls = [];
    for (let i = 0; i < 20; i++) calls.push(await proxied());
    const queries = [];
    for (let i = 0; i < 10; i++) queries.push(await graphql());
    await thawAndWait();
    const [first, ...rest] = calls;
    const restMs = rest.map((c) => c.ms);
    report('8c latency while Redis is frozen', {
      redisStepsPerCall: 'client limit, provider limit, 3 budgets',
      firstCallMs: first!.ms,
      laterCallsP50Ms: percentile(restMs, 50),
      laterCallsMaxMs: Math.max(...restMs),
      graphqlP50Ms: percentile(
        queries.map((q) => q.ms),
        50,
      ),
      graphqlMaxMs: Math.max(...queries.map((q) => q.ms)),
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    expect([...calls, ...queries].every((c) => c.status === 200)).toBe(true);
    // A call that waited on Redis would take at least one command timeout.
    expect(percentile(restMs, 50)).toBeLessThan(COMMAND_TIMEOUT_MS);
    expect(
      percentile(
        queries.map((q) => q.ms),
        50,
      ),
    ).toBeLessThan(COMMAND_TIMEOUT_MS);
  });
});
