import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { createLogger } from '../src/shared/logger.ts';
import { startReplicas, startTestApp } from './helpers/app.ts';
import { query } from './helpers/db.ts';
import { call, createClientKey, refreshCaches, setUpProvider } from './helpers/gateway.ts';
import { freePort, startRedisServer } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(() => upstream?.close());

describe('faults on the data plane', () => {
  it('SIGTERM under load: in-flight calls complete, and every call has exactly one usage event', async () => {
    const t = await startTestApp();
    upstream.reset();
    const { slug, id } = await setUpProvider(t, upstream.url);
    const key = await createClientKey(t);
    upstream.behave({ kind: 'slow', delayMs: 1000, body: { ok: true } });
    const inFlight = Array.from({ length: 40 }, () =>
      call(t, key, `${slug}/slow`).then(
        (r) => r.status,
        (error: Error) => `failed: ${error.message}`,
      ),
    );
    // Every call is inside Tollgate (and waiting on the upstream) before the shutdown begins.
    await expect.poll(() => upstream.requests.length, { timeout: 5000, interval: 5 }).toBe(40);
    const stopped = t.stop();
    await new Promise((r) => setTimeout(r, 20));
    await expect(call(t, key, `${slug}/late`)).rejects.toThrow(); // no longer accepting
    expect(await Promise.all(inFlight)).toEqual(Array(40).fill(200));
    await stopped;
    const [row] = await query<{ n: number; distinct_requests: number }>(
      t.config.database.url!,
      'select count(*)::int as n, count(distinct request_id)::int as distinct_requests from usage_events where provider_id = $1',
      [id],
    );
    expect(row).toEqual({ n: 40, distinct_requests: 40 });
  });

  it('PostgreSQL down: calls keep flowing on cached configuration, usage is held and written exactly once when it returns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-pg-outage-'));
    const port = await freePort();
    const logger = createLogger('silent');
    let db = await startEmbeddedPostgres({ dataDir: dir, port, logger });
    const t = await startTestApp({ databaseUrl: db.url, env: { TOLLGATE_USAGE_FLUSH_INTERVAL_MS: '100' } });
    try {
      upstream.reset();
      const { slug, id } = await setUpProvider(t, upstream.url);
      const key = await createClientKey(t);
      for (let i = 0; i < 5; i++) expect((await call(t, key, `${slug}/before`)).status).toBe(200);
      await t.app.usage.flush();

      await db.stop();
      for (let i = 0; i < 20; i++) expect((await call(t, key, `${slug}/during`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 300)); // a few failed flushes
      expect(t.app.usage.buffered).toBe(20);
      const metrics = await (await fetch(`${t.url}/metrics`)).text();
      expect(metrics).toMatch(/^tollgate_usage_buffered 20$/m);

      db = await startEmbeddedPostgres({ dataDir: dir, port, logger });
      await expect.poll(() => t.app.usage.buffered, { timeout: 10_000, interval: 100 }).toBe(0);
      const rows = await query<{ n: number; during: number }>(
        db.url,
        "select count(*)::int as n, count(*) filter (where path_template = '/during')::int as during from usage_events where provider_id = $1",
        [id],
      );
      expect(rows[0]).toEqual({ n: 25, during: 20 });
      expect(t.app.usage.dropped).toBe(0);
    } finally {
      await t.stop();
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('streams a 64 MiB response without holding it: memory stays bounded', async () => {
    const t = await startTestApp({ env: { TOLLGATE_MAX_RESPONSE_BYTES: String(128 * 1024 * 1024) } });
    try {
      upstream.reset();
      const { slug } = await setUpProvider(t, upstream.url);
      const key = await createClientKey(t);
      upstream.behave({ kind: 'huge', bytes: 64 * 1024 * 1024, declareLength: false });
      const baseline = process.memoryUsage().heapUsed;
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      }, 5);
      const response = await call(t, key, `${slug}/huge`);
      let received = 0;
      const reader = response.body!.getReader();
      for (let next = await reader.read(); !next.done; next = await reader.read())
        received += next.value.length;
      clearInterval(sampler);
      const growthMb = (peak - baseline) / 1024 / 1024;
      console.log(`streamed ${received / 1024 / 1024} MiB; heap grew by at most ${growthMb.toFixed(1)} MiB`);
      expect(received).toBe(64 * 1024 * 1024);
      expect(growthMb).toBeLessThan(32);
    } finally {
      await t.stop();
    }
  });

  it('SIGTERM during a stream: the stream is drained to its end before the process lets go', async () => {
    const t = await startTestApp({ env: { TOLLGATE_SHUTDOWN_TIMEOUT_MS: '5000' } });
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url);
    const key = await createClientKey(t);
    upstream.behave({ kind: 'sse', events: ['one', 'two', 'three', 'four', 'five'], intervalMs: 150 });
    const response = await call(t, key, `${slug}/events`);
    const reader = response.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    const stopped = t.stop();
    for (let next = await reader.read(); !next.done; next = await reader.read())
      text += new TextDecoder().decode(next.value);
    await stopped;
    expect(text).toBe(['one', 'two', 'three', 'four', 'five'].map((e) => `data: ${e}\n\n`).join(''));
  });

  it('Redis killed during load: no gateway 5xx, nothing hangs, each replica keeps its share, and the shared limit returns with Redis', async () => {
    const port = await freePort();
    let redis = await startRedisServer(port);
    const env = { REDIS_URL: `redis://127.0.0.1:${port}`, TOLLGATE_REPLICAS: '2' };
    const { a, b } = await startReplicas(env);
    try {
      upstream.reset();
      const { slug } = await setUpProvider(a, upstream.url, {
        input: { rateLimit: { points: 10, periodMs: 1500, burst: 0, mode: 'REJECT' } },
      });
      const key = await createClientKey(a);
      await refreshCaches(b);
      const burst = async () => {
        const started = Date.now();
        const statuses = await Promise.all(
          Array.from({ length: 40 }, (_, i) => call(i % 2 ? a : b, key, `${slug}/x`).then((r) => r.status)),
        );
        return { statuses, ms: Date.now() - started };
      };

      const shared = await burst();
      expect(shared.statuses.filter((s) => s === 200)).toHaveLength(10);

      redis.kill('SIGKILL');
      await new Promise((r) => redis.once('exit', r));
      await new Promise((r) => setTimeout(r, 1600)); // the next window
      upstream.reset();
      const degraded = await burst();
      console.log(
        `with Redis down: ${degraded.statuses.filter((s) => s === 200).length} admitted of 40 in ${degraded.ms} ms`,
      );
      expect(degraded.statuses.every((s) => s === 200 || s === 429)).toBe(true); // no gateway-originated 5xx
      expect(degraded.ms).toBeLessThan(3000); // nothing waited on Redis
      expect(upstream.requests.length).toBeLessThanOrEqual(10); // 5 per replica
      expect(upstream.requests.length).toBeGreaterThan(0);
      const metrics = await (await fetch(`${a.url}/metrics`)).text();
      expect(metrics).toMatch(/^tollgate_rate_limit_degraded 1$/m);

      redis = await startRedisServer(port);
      await new Promise((r) => setTimeout(r, 2600)); // reconnect (retry backoff) and a fresh window
      upstream.reset();
      const back = await burst();
      expect(back.statuses.filter((s) => s === 200)).toHaveLength(10);
      expect(upstream.requests).toHaveLength(10);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      redis.kill('SIGKILL');
    }
  });
});
