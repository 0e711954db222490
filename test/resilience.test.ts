import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ProviderCircuit, ResetCircuit, TripCircuit } from './documents.ts';
import { createDatabase, startReplicas, startTestApp, type TestApp } from './helpers/app.ts';
import { call, createClientKey, refreshCaches, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';
import { freePort, startRedisServer } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(() => upstream?.close());

/** A provider that answers a failing GET from the stale cache, once, with no retry or breaker in the way. */
const staleCachingProvider = (t: TestApp) =>
  setUpProvider(t, upstream.url, {
    input: {
      retry: { maxAttempts: 1 },
      breaker: { failureThreshold: 1000 },
      degradedMode: { staleOnError: true, staleTtlMs: 60_000 },
    },
  });

const circuitOf = async (t: TestApp, slug: string) =>
  (await gql(t.graphqlUrl, ProviderCircuit, { slug }, await t.token('viewer'))).data?.provider?.circuit;

describe('provider rate limits', () => {
  it('REJECT: 5 per 2 s shared by two replicas through Redis; 50 concurrent calls, the upstream sees exactly 5', async () => {
    const redisUrl = inject('redisUrl');
    expect(redisUrl, 'redis-server is needed for this test').not.toBe('');
    const env = { REDIS_URL: redisUrl, TOLLGATE_REPLICAS: '2' };
    const { a, b } = await startReplicas(env);
    try {
      upstream.reset();
      const { slug } = await setUpProvider(a, upstream.url, {
        input: { rateLimit: { points: 5, periodMs: 2000, burst: 0, mode: 'REJECT' } },
      });
      const key = await createClientKey(a);
      await refreshCaches(b);
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) => call(i % 2 ? a : b, key, `${slug}/limited`)),
      );
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(45);
      expect(upstream.requests).toHaveLength(5);
      const refused = responses.find((r) => r.status === 429)!;
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('ratelimit-limit')).toBe('5');
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
      const body = (await refused.json()) as {
        error: { code: string; retryAfterMs: number; provider: string };
      };
      expect(body.error).toMatchObject({ code: 'RATE_LIMITED', provider: slug });
      expect(body.error.retryAfterMs).toBeGreaterThan(0);
      expect(body.error.retryAfterMs).toBeLessThanOrEqual(2000);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('QUEUE: calls over the limit wait their turn (FIFO) and then succeed', async () => {
    const t = await startTestApp();
    try {
      upstream.reset();
      const { slug } = await setUpProvider(t, upstream.url, {
        input: {
          rateLimit: {
            points: 2,
            periodMs: 500,
            burst: 0,
            mode: 'QUEUE',
            maxQueueWaitMs: 5000,
            maxQueueSize: 10,
          },
        },
      });
      const key = await createClientKey(t);
      const started = Date.now();
      const responses = await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          await new Promise((r) => setTimeout(r, i * 5)); // issue them in order
          return call(t, key, `${slug}/queued/${i}`);
        }),
      );
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(upstream.requests.map((r) => r.path)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `/queued/${i}`));
      // 6 calls at 2 per 500 ms need at least two more windows.
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      await t.stop();
    }
  });
});

describe('provider rate limits with burst', () => {
  for (const store of ['in-process', 'redis'] as const) {
    it(`RateLimit-Remaining counts the burst allowance, so it matches what is admitted (${store})`, async () => {
      const redisUrl = inject('redisUrl');
      if (store === 'redis') expect(redisUrl, 'redis-server is needed for this test').not.toBe('');
      const t = await startTestApp(store === 'redis' ? { env: { REDIS_URL: redisUrl } } : {});
      try {
        upstream.reset();
        const { slug } = await setUpProvider(t, upstream.url, {
          input: { rateLimit: { points: 1, periodMs: 6000, burst: 5, mode: 'REJECT' } },
        });
        const key = await createClientKey(t);
        const seen: [number, string | null, string | null][] = [];
        for (let i = 0; i < 8; i++) {
          const response = await call(t, key, `${slug}/b/${i}`);
          seen.push([
            response.status,
            response.headers.get('ratelimit-limit'),
            response.headers.get('ratelimit-remaining'),
          ]);
          const reset = Number(response.headers.get('ratelimit-reset'));
          expect(reset).toBeGreaterThanOrEqual(1);
          expect(reset).toBeLessThanOrEqual(6);
          if (response.status === 429) expect(response.headers.get('retry-after')).toBe(String(reset));
        }
        expect(seen).toEqual([
          [200, '6', '5'],
          [200, '6', '4'],
          [200, '6', '3'],
          [200, '6', '2'],
          [200, '6', '1'],
          [200, '6', '0'],
          [429, '6', '0'],
          [429, '6', '0'],
        ]);
        expect(upstream.requests).toHaveLength(6);

        // With points 2 and burst 2: 3, 2, 1, 0, then 429.
        const two = await setUpProvider(t, upstream.url, {
          input: { rateLimit: { points: 2, periodMs: 6000, burst: 2, mode: 'REJECT' } },
        });
        const remaining: (string | null)[] = [];
        for (let i = 0; i < 5; i++) {
          const response = await call(t, key, `${two.slug}/c`);
          remaining.push(`${response.status} ${response.headers.get('ratelimit-remaining')}`);
        }
        expect(remaining).toEqual(['200 3', '200 2', '200 1', '200 0', '429 0']);
      } finally {
        await t.stop();
      }
    });
  }
});

describe('provider rate limits, queue bounds', () => {
  it('QUEUE: a call that would wait longer than maxQueueWaitMs gets 429 instead, without waiting it out', async () => {
    const t = await startTestApp();
    try {
      upstream.reset();
      const { slug } = await setUpProvider(t, upstream.url, {
        input: {
          rateLimit: {
            points: 1,
            periodMs: 3000,
            burst: 0,
            mode: 'QUEUE',
            maxQueueWaitMs: 300,
            maxQueueSize: 10,
          },
        },
      });
      const key = await createClientKey(t);
      expect((await call(t, key, `${slug}/first`)).status).toBe(200);
      const started = Date.now();
      const second = await call(t, key, `${slug}/second`);
      expect(second.status).toBe(429);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(upstream.requests).toHaveLength(1);
    } finally {
      await t.stop();
    }
  });
});

describe('degraded mode', () => {
  it('answers a failing GET from the stale cache, and anything else with the static body', async () => {
    const t = await startTestApp();
    try {
      upstream.reset();
      const staticBody = JSON.stringify({ manual: ['https://nvd.nist.gov/vuln/search'] });
      const { slug } = await setUpProvider(t, upstream.url, {
        input: {
          retry: { maxAttempts: 1 },
          degradedMode: {
            staleOnError: true,
            staleTtlMs: 60_000,
            staticStatus: 200,
            staticContentType: 'application/json',
            staticBody,
          },
        },
      });
      const key = await createClientKey(t);
      upstream.behave({ kind: 'json', body: { cve: 'CVE-2024-0001', fresh: true } });
      const fresh = await call(t, key, `${slug}/cves?id=1`);
      expect(await fresh.json()).toEqual({ cve: 'CVE-2024-0001', fresh: true });

      upstream.behave({ kind: 'status', status: 503 });
      const stale = await call(t, key, `${slug}/cves?id=1`);
      expect(stale.status).toBe(200);
      expect(stale.headers.get('x-tollgate-fallback')).toBe('stale-cache');
      expect(Number(stale.headers.get('age'))).toBeGreaterThanOrEqual(0);
      expect(await stale.json()).toEqual({ cve: 'CVE-2024-0001', fresh: true });

      const other = await call(t, key, `${slug}/cves?id=2`); // never cached
      expect(other.headers.get('x-tollgate-fallback')).toBe('static');
      expect(await other.text()).toBe(staticBody);
      const post = await call(t, key, `${slug}/cves?id=1`, { method: 'POST', body: '{}' });
      expect(post.headers.get('x-tollgate-fallback')).toBe('static');
    } finally {
      await t.stop();
    }
  });

  it('keeps stale answers per client, and never an answer that is personal', async () => {
    const t = await startTestApp();
    try {
      upstream.reset();
      const { slug } = await staleCachingProvider(t);
      const alice = await createClientKey(t);
      const bob = await createClientKey(t);
      const fill = async (path: string, headers: Record<string, string> = {}) =>
        expect((await call(t, alice, `${slug}/${path}`, { headers })).status).toBe(200);

      upstream.behave({ kind: 'echo' });
      await fill('public?q=1');
      // The caller's own cookie or token went upstream: the echo is alice's user's alone.
      await fill('mine', { cookie: 'session=ALICE-PRIVATE' });
      await fill('token', { 'x-user-token': 'alice-private-token' });
      upstream.behave({ kind: 'json', body: { s: 1 }, headers: { 'set-cookie': 'sess=abc; HttpOnly' } });
      await fill('set-cookie');
      upstream.behave({ kind: 'json', body: { s: 2 }, headers: { 'cache-control': 'max-age=60, private' } });
      await fill('private');
      upstream.behave({ kind: 'json', body: { s: 3 }, headers: { 'cache-control': 'no-store' } });
      await fill('no-store');

      upstream.behave({ kind: 'status', status: 503, body: 'down' });
      const own = await call(t, alice, `${slug}/public?q=1`);
      expect(own.headers.get('x-tollgate-fallback')).toBe('stale-cache');
      expect(((await own.json()) as { query: unknown }).query).toEqual({ q: '1' });

      // Another client never gets what alice's call produced.
      const other = await call(t, bob, `${slug}/public?q=1`);
      expect(other.status).toBe(503);
      expect(other.headers.get('x-tollgate-fallback')).toBeNull();
      expect(await other.text()).toBe('down');

      for (const path of ['mine', 'token', 'set-cookie', 'private', 'no-store']) {
        const response = await call(t, alice, `${slug}/${path}`);
        expect(response.status, path).toBe(503);
        expect(response.headers.get('set-cookie'), path).toBeNull();
        expect(await response.text(), path).toBe('down');
      }
    } finally {
      await t.stop();
    }
  });

  it('bounds the stale cache by bytes, evicting the least recently used answer', async () => {
    // Room for two 15 kB answers, not three.
    const t = await startTestApp({ env: { TOLLGATE_STALE_CACHE_MAX_BYTES: '40000' } });
    try {
      upstream.reset();
      const { slug } = await staleCachingProvider(t);
      const key = await createClientKey(t);
      const body = (name: string) => ({ name, pad: 'x'.repeat(15_000) });
      const fresh = async (name: string) => {
        upstream.behave({ kind: 'json', body: body(name) });
        expect((await call(t, key, `${slug}/${name}`)).status).toBe(200);
      };
      const fromCache = async (name: string) => {
        upstream.behave({ kind: 'status', status: 503, body: 'down' });
        const response = await call(t, key, `${slug}/${name}`);
        return response.headers.get('x-tollgate-fallback') === 'stale-cache'
          ? ((await response.json()) as { name: string }).name
          : response.status;
      };

      await fresh('a');
      await fresh('b');
      expect(await fromCache('a')).toBe('a'); // a is now the most recently used
      await fresh('c'); // over the bound: b, the least recently used, goes
      expect(await fromCache('b')).toBe(503);
      expect(await fromCache('a')).toBe('a');
      expect(await fromCache('c')).toBe('c');
    } finally {
      await t.stop();
    }
  });

  it('passes the 5xx through when a provider has no alternative', async () => {
    const t = await startTestApp();
    try {
      upstream.reset();
      const { slug } = await setUpProvider(t, upstream.url, { input: { retry: { maxAttempts: 1 } } });
      const key = await createClientKey(t);
      upstream.behave({ kind: 'status', status: 503, body: 'upstream says no' });
      const response = await call(t, key, `${slug}/x`);
      expect(response.status).toBe(503);
      expect(await response.text()).toBe('upstream says no');
      expect(response.headers.get('x-tollgate-fallback')).toBeNull();
    } finally {
      await t.stop();
    }
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive 5xx, rejects fast, lets a fallback serve, half-opens and closes after good probes', async () => {
    const t = await startTestApp();
    const backup = await startUpstream({ kind: 'json', body: { from: 'backup' } });
    try {
      upstream.reset();
      const fallback = await setUpProvider(t, backup.url);
      const { slug } = await setUpProvider(t, upstream.url, {
        input: {
          retry: { maxAttempts: 1 },
          breaker: { failureThreshold: 5, halfOpenAfterMs: 600, successThreshold: 3 },
        },
      });
      const key = await createClientKey(t);
      upstream.behave({ kind: 'status', status: 500 });
      for (let i = 0; i < 5; i++) expect((await call(t, key, `${slug}/x`)).status).toBe(500);
      expect(await circuitOf(t, slug)).toMatchObject({ state: 'OPEN', failures: 5 });

      const started = performance.now();
      const rejected = await call(t, key, `${slug}/x`);
      const ms = performance.now() - started;
      expect(rejected.status).toBe(503);
      expect(((await rejected.json()) as { error: { code: string } }).error.code).toBe('CIRCUIT_OPEN');
      expect(Number(rejected.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      console.log(`CIRCUIT_OPEN answered in ${ms.toFixed(1)} ms`);
      expect(upstream.requests).toHaveLength(5);

      // With a fallback configured, callers are served meanwhile.
      const admin = await t.token('admin');
      const { UpdateProvider } = await import('./documents.ts');
      await gql(
        t.graphqlUrl,
        UpdateProvider,
        { input: { slug, version: 1, fallbacks: [fallback.slug] } },
        admin,
      );
      await t.app.services.providerCache.reload();
      const served = await call(t, key, `${slug}/x`);
      expect(served.status).toBe(200);
      expect(served.headers.get('x-tollgate-fallback')).toBe('provider');
      expect(served.headers.get('x-tollgate-provider')).toBe(fallback.slug);
      expect(await served.json()).toEqual({ from: 'backup' });

      // The upstream recovers; after the half-open delay, three good probes close the circuit.
      upstream.behave({ kind: 'json', body: { ok: true } });
      await new Promise((r) => setTimeout(r, 800));
      for (let i = 0; i < 3; i++)
        expect((await call(t, key, `${slug}/x`)).headers.get('x-tollgate-provider')).toBe(slug);
      expect(await circuitOf(t, slug)).toMatchObject({ state: 'CLOSED', failures: 0 });
    } finally {
      await t.stop();
      await backup.close();
    }
  });

  it('opens on both replicas when one sees the failures (shared through Redis)', async () => {
    const redisUrl = inject('redisUrl');
    const env = { REDIS_URL: redisUrl };
    const { a, b } = await startReplicas(env);
    try {
      upstream.reset();
      const { slug } = await setUpProvider(a, upstream.url, {
        input: { retry: { maxAttempts: 1 }, breaker: { failureThreshold: 3 } },
      });
      const key = await createClientKey(a);
      await refreshCaches(b);
      upstream.behave({ kind: 'status', status: 500 });
      for (let i = 0; i < 3; i++) expect((await call(a, key, `${slug}/x`)).status).toBe(500);
      const opened = Date.now();
      await expect
        .poll(async () => (await circuitOf(b, slug))?.state, { timeout: 1000, interval: 10 })
        .toBe('OPEN');
      console.log(`replica B saw the circuit open ${Date.now() - opened} ms after replica A opened it`);
      const before = upstream.requests.length;
      const response = await call(b, key, `${slug}/x`);
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('CIRCUIT_OPEN');
      expect(upstream.requests.length).toBe(before);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('half-open lets one probe through for the whole cluster: a 50-call burst over two replicas sends one call to a failing upstream', async () => {
    const redisUrl = inject('redisUrl');
    expect(redisUrl, 'redis-server is needed for this test').not.toBe('');
    const { a, b } = await startReplicas({ REDIS_URL: redisUrl });
    try {
      upstream.reset();
      const { slug } = await setUpProvider(a, upstream.url, {
        input: {
          retry: { maxAttempts: 1 },
          breaker: { failureThreshold: 3, halfOpenAfterMs: 500, successThreshold: 2 },
        },
      });
      const key = await createClientKey(a);
      await refreshCaches(b);
      // Slow enough that the whole burst arrives while the probe is still out.
      upstream.behave({ kind: 'slow', delayMs: 300, status: 500 });
      for (let i = 0; i < 3; i++) expect((await call(a, key, `${slug}/x`)).status).toBe(500);
      await expect
        .poll(async () => (await circuitOf(b, slug))?.state, { timeout: 1000, interval: 10 })
        .toBe('OPEN');
      const nextProbeAt = Date.parse(String((await circuitOf(a, slug))?.nextProbeAt));
      await new Promise((r) => setTimeout(r, Math.max(0, nextProbeAt - Date.now()) + 50));

      const before = upstream.requests.length;
      const burst = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const response = await call(i % 2 === 0 ? a : b, key, `${slug}/burst`);
          const body = (await response.json()) as { error?: { code: string } };
          return body.error?.code ?? String(response.status);
        }),
      );
      const probes = upstream.requests.length - before;
      const answers: Record<string, number> = {};
      for (const code of burst) answers[code] = (answers[code] ?? 0) + 1;
      console.log(`half-open burst of 50 over two replicas: ${probes} call(s) reached the upstream`, answers);
      expect(probes).toBe(1);
      expect(answers).toEqual({ 500: 1, CIRCUIT_OPEN: 49 });
      // The failed probe re-opened the circuit everywhere.
      expect((await circuitOf(a, slug))?.state).toBe('OPEN');
      await expect
        .poll(async () => (await circuitOf(b, slug))?.state, { timeout: 1000, interval: 10 })
        .toBe('OPEN');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('good probes are counted for the cluster: one on each replica closes a circuit that needs two', async () => {
    const redisUrl = inject('redisUrl');
    expect(redisUrl, 'redis-server is needed for this test').not.toBe('');
    const { a, b } = await startReplicas({ REDIS_URL: redisUrl });
    try {
      upstream.reset();
      const { slug } = await setUpProvider(a, upstream.url, {
        input: {
          retry: { maxAttempts: 1 },
          breaker: { failureThreshold: 2, halfOpenAfterMs: 300, successThreshold: 2 },
        },
      });
      const key = await createClientKey(a);
      await refreshCaches(b);
      upstream.behave({ kind: 'status', status: 500 });
      for (let i = 0; i < 2; i++) expect((await call(a, key, `${slug}/x`)).status).toBe(500);
      await expect
        .poll(async () => (await circuitOf(b, slug))?.state, { timeout: 1000, interval: 10 })
        .toBe('OPEN');
      upstream.behave({ kind: 'json', body: { ok: true } });
      const nextProbeAt = Date.parse(String((await circuitOf(a, slug))?.nextProbeAt));
      await new Promise((r) => setTimeout(r, Math.max(0, nextProbeAt - Date.now()) + 50));

      expect((await call(a, key, `${slug}/x`)).status).toBe(200);
      // The first good probe's slot is freed (and counted) just after its answer.
      await expect
        .poll(async () => (await call(b, key, `${slug}/x`)).status, { timeout: 2000, interval: 20 })
        .toBe(200);
      for (const replica of [a, b]) {
        await expect
          .poll(async () => (await circuitOf(replica, slug))?.state, { timeout: 1000, interval: 10 })
          .toBe('CLOSED');
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('never counts caller errors (4xx) as failures', async () => {
    const t = await startTestApp();
    try {
      upstream.reset();
      const { slug } = await setUpProvider(t, upstream.url, { input: { breaker: { failureThreshold: 2 } } });
      const key = await createClientKey(t);
      upstream.behave({ kind: 'status', status: 404 });
      for (let i = 0; i < 6; i++) expect((await call(t, key, `${slug}/x`)).status).toBe(404);
      expect(await circuitOf(t, slug)).toMatchObject({ state: 'CLOSED' });
    } finally {
      await t.stop();
    }
  });

  it('an operator trip promises no retry time: no Retry-After, not retryable, until reset', async () => {
    const t = await startTestApp();
    try {
      upstream.reset();
      const { slug } = await setUpProvider(t, upstream.url);
      const key = await createClientKey(t);
      const operator = await t.token('operator');
      await gql(t.graphqlUrl, TripCircuit, { provider: slug, reason: 'vendor incident' }, operator);
      const refused = await call(t, key, `${slug}/x`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBeNull();
      const body = (await refused.json()) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({
        code: 'CIRCUIT_OPEN',
        retryable: false,
        circuit: 'ISOLATED',
        message: expect.stringContaining('until it is reset'),
      });
      expect(body.error).not.toHaveProperty('retryAfterMs');
      expect(upstream.requests).toHaveLength(0);
      await gql(t.graphqlUrl, ResetCircuit, { provider: slug }, operator);
      expect((await call(t, key, `${slug}/x`)).status).toBe(200);
    } finally {
      await t.stop();
    }
  });

  it("an operator's trip outlives a restart with an empty Redis, and so does a reset", async () => {
    const databaseUrl = await createDatabase();
    /** A replica with a Redis of its own, started empty, as after a Redis restart or failover. */
    const startWithEmptyRedis = async () => {
      const port = await freePort();
      const redis = await startRedisServer(port);
      const t = await startTestApp({ databaseUrl, env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
      return {
        t,
        stop: async () => {
          await t.stop();
          redis.kill('SIGKILL');
        },
      };
    };
    upstream.reset();
    let replica = await startWithEmptyRedis();
    try {
      const { slug } = await setUpProvider(replica.t, upstream.url);
      const key = await createClientKey(replica.t);
      const operator = await replica.t.token('operator');
      await gql(replica.t.graphqlUrl, TripCircuit, { provider: slug, reason: 'vendor breach' }, operator);
      await replica.stop();

      replica = await startWithEmptyRedis();
      expect(await circuitOf(replica.t, slug)).toMatchObject({
        state: 'ISOLATED',
        reason: expect.stringContaining('vendor breach'),
      });
      const refused = await call(replica.t, key, `${slug}/x`);
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: unknown }).error).toMatchObject({
        code: 'CIRCUIT_OPEN',
        circuit: 'ISOLATED',
      });
      expect(upstream.requests).toHaveLength(0);
      await gql(replica.t.graphqlUrl, ResetCircuit, { provider: slug }, await replica.t.token('operator'));
      await replica.stop();

      replica = await startWithEmptyRedis();
      expect(await circuitOf(replica.t, slug)).toMatchObject({ state: 'CLOSED' });
      expect((await call(replica.t, key, `${slug}/x`)).status).toBe(200);
    } finally {
      await replica.stop();
    }
  }, 120_000);

  it('a replica that missed the trip event (no shared Redis) applies it within the refresh interval', async () => {
    const { a, b } = await startReplicas({ TOLLGATE_CACHE_REFRESH_INTERVAL_MS: '1000' });
    try {
      upstream.reset();
      const { slug } = await setUpProvider(a, upstream.url);
      const key = await createClientKey(a);
      await refreshCaches(b);
      expect((await call(b, key, `${slug}/x`)).status).toBe(200);
      const operator = await a.token('operator');
      await gql(a.graphqlUrl, TripCircuit, { provider: slug, reason: 'missed event' }, operator);
      await expect
        .poll(async () => (await call(b, key, `${slug}/x`)).status, { timeout: 5000, interval: 100 })
        .toBe(503);
      await gql(a.graphqlUrl, ResetCircuit, { provider: slug }, operator);
      await expect
        .poll(async () => (await call(b, key, `${slug}/x`)).status, { timeout: 5000, interval: 100 })
        .toBe(200);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('can be tripped and reset by an operator, on every replica', async () => {
    const redisUrl = inject('redisUrl');
    const env = { REDIS_URL: redisUrl };
    const { a, b, databaseUrl } = await startReplicas(env);
    try {
      upstream.reset();
      const { slug } = await setUpProvider(a, upstream.url);
      const key = await createClientKey(a);
      await refreshCaches(b);
      expect((await call(b, key, `${slug}/x`)).status).toBe(200); // b knows the circuit
      const operator = await a.token('operator');
      const tripped = await gql(
        a.graphqlUrl,
        TripCircuit,
        { provider: slug, reason: 'maintenance window' },
        operator,
      );
      expect(tripped.data?.tripCircuit).toMatchObject({ circuit: { state: 'ISOLATED' } });
      await expect
        .poll(async () => (await call(b, key, `${slug}/x`)).status, { timeout: 1000, interval: 20 })
        .toBe(503);
      // A replica that starts now picks up the trip (from PostgreSQL).
      const late = await startTestApp({ databaseUrl, env });
      try {
        expect(await circuitOf(late, slug)).toMatchObject({
          state: 'ISOLATED',
          reason: expect.stringContaining('maintenance window'),
        });
        expect((await call(late, key, `${slug}/x`)).status).toBe(503);
      } finally {
        await late.stop();
      }
      const viewer = await a.token('viewer');
      const refused = await gql(a.graphqlUrl, ResetCircuit, { provider: slug }, viewer);
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      await gql(a.graphqlUrl, ResetCircuit, { provider: slug }, operator);
      await expect
        .poll(async () => (await call(b, key, `${slug}/x`)).status, { timeout: 1000, interval: 20 })
        .toBe(200);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
