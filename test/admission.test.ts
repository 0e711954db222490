import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CreateBudget } from './documents.ts';
import type { CreateBudgetInput } from './generated/graphql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { call, createClient, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

/**
 * Admission in Redis mode (README "What shares state through Redis"): the client's rate limit,
 * the provider's and the budget holds of an admitted call are decided by one script, so the
 * call waits on one Redis round trip before it goes upstream; its settlement follows the answer.
 * The app uses a Redis database of its own (9), so that MONITOR can tell its commands apart.
 */

const DB = 9;
const redisUrl = inject('redisUrl');

interface Seen {
  /** Redis's clock, in ms. */
  at: number;
  command: string;
}

/** Every command Redis runs in database DB from now on, as MONITOR reports it. */
async function monitor(url: string): Promise<{ seen: Seen[]; stop: () => void }> {
  const redis = new Redis(url);
  const seen: Seen[] = [];
  let inMulti = false;
  const m = await redis.monitor();
  m.on('monitor', (time: string, args: string[], source: string, database: string) => {
    // A script's own commands are reported too, from source "lua": they are not round trips.
    if (Number(database) !== DB || source.includes('lua')) return;
    const command = String(args[0]).toLowerCase();
    // MULTI ... EXEC is sent as one pipeline: one round trip, counted at its EXEC.
    if (command === 'multi') inMulti = true;
    else if (command === 'exec') {
      inMulti = false;
      seen.push({ at: Number(time) * 1000, command: 'multi/exec' });
    } else if (!inMulti) seen.push({ at: Number(time) * 1000, command });
  });
  return {
    seen,
    stop: () => {
      m.disconnect();
      redis.disconnect();
    },
  };
}

async function createBudget(app: TestApp, input: CreateBudgetInput) {
  const result = await gql(app.graphqlUrl, CreateBudget, { input }, await app.token('admin'));
  const payload = result.data?.createBudget;
  if (payload?.__typename !== 'BudgetPayload') throw new Error(JSON.stringify(result));
  await app.app.services.budgetEnforcer.reload();
  return payload.budget;
}

describe.skipIf(!redisUrl)('admission over Redis', () => {
  let t: TestApp;
  let upstream: Upstream;
  beforeAll(async () => {
    [t, upstream] = await Promise.all([
      startTestApp({ env: { REDIS_URL: `${redisUrl}/${DB}` } }),
      startUpstream({ kind: 'json', body: { ok: true } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([t?.stop(), upstream?.close()]);
  });

  /** A provider and a client, each with a rate limit and a burst, and two budgets on the call. */
  async function limitedSetUp(options: { clientPoints?: number; providerPoints?: number; limit?: number }) {
    const limit = (points: number) => ({ points, periodMs: 60_000, burst: 2 });
    const provider = await setUpProvider(t, upstream.url, {
      input: { pricing: { perRequestMicros: 100 }, rateLimit: limit(options.providerPoints ?? 1000) },
    });
    const client = await createClient(t, { rateLimit: limit(options.clientPoints ?? 1000) });
    await createBudget(t, {
      name: `client-${provider.slug}`,
      scope: 'CLIENT',
      client: client.id,
      period: 'DAY',
      limitMicros: options.limit ?? 1_000_000,
    });
    await createBudget(t, {
      name: `provider-${provider.slug}`,
      scope: 'PROVIDER',
      provider: provider.slug,
      period: 'MONTH',
      limitMicros: 1_000_000_000,
    });
    return { provider, client };
  }

  it('an admitted call waits on one Redis round trip before it goes upstream (client limit, provider limit and both budget holds in one script), and settles after its answer', async () => {
    const { provider, client } = await limitedSetUp({});
    // The first call of a period seeds the budget accounts from PostgreSQL (and loads the script).
    expect((await call(t, client.key, `${provider.slug}/warm`)).status).toBe(200);
    await t.app.services.budgetEnforcer.drain();

    const m = await monitor(redisUrl);
    try {
      // The monitor is attached once it reports its own first command.
      await new Promise((r) => setTimeout(r, 100));
      m.seen.length = 0;
      upstream.reset();
      const res = await call(t, client.key, `${provider.slug}/counted`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      await t.app.services.budgetEnforcer.drain();
      await new Promise((r) => setTimeout(r, 100));
      const arrived = upstream.requests[0]!.at;
      const before = m.seen.filter((s) => s.at < arrived).map((s) => s.command);
      const all = m.seen.map((s) => s.command);
      console.log(
        `redis commands before the upstream got the call: ${before.join(', ')}; in all: ${all.join(', ')}`,
      );
      expect(before).toEqual(['evalsha']);
      // The settlement, after the answer; nothing else.
      expect(all).toEqual(['evalsha', 'evalsha']);
      expect(res.headers.get('ratelimit-limit')).toBe('1002');
      expect(res.headers.get('ratelimit-remaining')).toBe('1000');
    } finally {
      m.stop();
    }
  });

  /** What the limit named `scope` still admits (read without taking). */
  async function headroom(scope: string, providerId: string) {
    const policy = t.app.services.providerCache.byId(providerId)!.rateLimit!;
    return (await t.app.services.limits.headroom(scope, policy))?.remaining;
  }

  async function reservedOn(clientId: string) {
    await t.app.services.budgetEnforcer.drain();
    const budget = t.app.services.budgetEnforcer
      .all()
      .find((b) => b.scope === 'CLIENT' && b.clientId === clientId)!;
    return t.app.services.budgetEnforcer.status(budget);
  }

  it('a client over its limit is refused (RATE_LIMITED, its RateLimit headers, Retry-After): nothing is held for it and nothing taken from the provider', async () => {
    const { provider, client } = await limitedSetUp({ clientPoints: 1 });
    expect((await call(t, client.key, `${provider.slug}/one`)).status).toBe(200);
    // The client's window: 1 call, then its burst of 2.
    for (let i = 0; i < 2; i++)
      expect((await call(t, client.key, `${provider.slug}/burst`)).status).toBe(200);
    const refused = await call(t, client.key, `${provider.slug}/two`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('ratelimit-limit')).toBe('3');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { error: { code: string; message: string; retryAfterMs: number } };
    expect(body.error).toMatchObject({
      code: 'RATE_LIMITED',
      message: 'This client is over its rate limit.',
    });
    expect(body.error.retryAfterMs).toBeGreaterThan(0);
    expect(body.error.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await headroom(`provider:${provider.id}`, provider.id)).toBe(1002 - 3);
    expect(await reservedOn(client.id)).toMatchObject({ reservedMicros: 0, spentMicros: 300 });
  });

  it('a call its budget cannot cover is refused (BUDGET_EXCEEDED with the budget and Retry-After) and takes nothing from the provider limit', async () => {
    const { provider, client } = await limitedSetUp({ limit: 150 });
    expect((await call(t, client.key, `${provider.slug}/one`)).status).toBe(200);
    const refused = await call(t, client.key, `${provider.slug}/two`);
    expect(refused.status).toBe(402);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { error: { code: string; budget: string } };
    expect(body.error).toMatchObject({ code: 'BUDGET_EXCEEDED', budget: `client-${provider.slug}` });
    expect(await headroom(`provider:${provider.id}`, provider.id)).toBe(1002 - 1);
    expect(await reservedOn(client.id)).toMatchObject({ reservedMicros: 0, spentMicros: 100 });
  });

  it('a provider at its limit is refused with its own message and headers, holding nothing; with a fallback, the fallback serves (its limit and budgets decided step by step)', async () => {
    const { provider, client } = await limitedSetUp({ providerPoints: 1 });
    for (let i = 0; i < 3; i++) expect((await call(t, client.key, `${provider.slug}/ok`)).status).toBe(200);
    const refused = await call(t, client.key, `${provider.slug}/over`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('ratelimit-limit')).toBe('3');
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({
      code: 'RATE_LIMITED',
      message: `Provider "${provider.slug}" is at its rate limit.`,
    });
    expect(await reservedOn(client.id)).toMatchObject({ reservedMicros: 0, spentMicros: 300 });

    const fallback = await setUpProvider(t, upstream.url, {
      input: { pricing: { perRequestMicros: 100 }, rateLimit: { points: 5, periodMs: 60_000, burst: 0 } },
    });
    const primary = await setUpProvider(t, upstream.url, {
      input: {
        pricing: { perRequestMicros: 100 },
        rateLimit: { points: 1, periodMs: 60_000, burst: 0 },
        fallbacks: [fallback.slug],
      },
    });
    expect((await call(t, client.key, `${primary.slug}/first`)).status).toBe(200);
    const served = await call(t, client.key, `${primary.slug}/second`);
    expect(served.status).toBe(200);
    expect(served.headers.get('x-tollgate-fallback')).toBe('provider');
    expect(await headroom(`provider:${fallback.id}`, fallback.id)).toBe(4);
    // Five calls served, each spent once; nothing left held.
    expect(await reservedOn(client.id)).toMatchObject({ reservedMicros: 0, spentMicros: 500 });
  });
});
