import { print } from 'graphql';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { BudgetEntity } from '../src/modules/budgets/budget.entity.ts';
import { BudgetEnforcer } from '../src/modules/budgets/budget-enforcer.ts';
import { BudgetLedger } from '../src/modules/budgets/budget-ledger.ts';
import { type BudgetAlertEvent, EventBus } from '../src/modules/events/event-bus.ts';
import { createLogger } from '../src/shared/logger.ts';
import {
  AuditLog,
  BudgetAlerts,
  CreateBudget,
  DeleteBudget,
  DeleteProvider,
  GetBudget,
  ListBudgets,
  ProviderBudgets,
  UpdateBudget,
} from './documents.ts';
import type { CreateBudgetInput } from './generated/graphql.ts';
import { startReplicas, startTestApp, type TestApp } from './helpers/app.ts';
import { call, createClient, refreshCaches, setUpProvider } from './helpers/gateway.ts';
import { gql, wsClient } from './helpers/graphql.ts';
import { startFakeOpenAI, startUpstream, type Upstream } from './helpers/upstream.ts';

let t: TestApp;
let upstream: Upstream;
beforeAll(async () => {
  [t, upstream] = await Promise.all([startTestApp(), startUpstream({ kind: 'json', body: { ok: true } })]);
});
afterAll(async () => {
  await Promise.all([t?.stop(), upstream?.close()]);
});

/** A provider that charges 1000 µ$ per call, and a client to call it. */
async function pricedProvider(app: TestApp, perRequestMicros = 1000) {
  const provider = await setUpProvider(app, upstream.url, { input: { pricing: { perRequestMicros } } });
  const client = await createClient(app);
  return { ...provider, client };
}

async function createBudget(app: TestApp, input: CreateBudgetInput) {
  const result = await gql(app.graphqlUrl, CreateBudget, { input }, await app.token('admin'));
  const payload = result.data?.createBudget;
  if (payload?.__typename !== 'BudgetPayload') throw new Error(JSON.stringify(result));
  await app.app.services.budgetEnforcer.reload();
  return payload.budget;
}

async function budgetOf(app: TestApp, id: string) {
  const result = await gql(app.graphqlUrl, GetBudget, { id }, await app.token('viewer'));
  const budget = result.data?.budget;
  if (!budget) throw new Error(JSON.stringify(result));
  return budget;
}

/** Waits until every call's settlement has reached the ledger. */
async function settled(app: TestApp, id: string) {
  await vi.waitFor(async () => expect((await budgetOf(app, id)).reservedMicros).toBe(0), { timeout: 5000 });
  return budgetOf(app, id);
}

async function budgetCount(app: TestApp): Promise<number> {
  return app.app.orm.em.fork().count(BudgetEntity, {});
}

describe('budget management', () => {
  it("a new budget's payload already counts what was spent earlier in its period", async () => {
    const { slug, client } = await pricedProvider(t);
    expect((await call(t, client.key, `${slug}/x`)).status).toBe(200);
    await t.app.usage.flush();
    // The raw mutation: the helper would reload the budgets before we look.
    const result = await gql(
      t.graphqlUrl,
      CreateBudget,
      {
        input: { name: 'late budget', scope: 'CLIENT', client: client.id, period: 'DAY', limitMicros: 5000 },
      },
      await t.token('admin'),
    );
    const payload = result.data?.createBudget;
    if (payload?.__typename !== 'BudgetPayload') throw new Error(JSON.stringify(result));
    expect(payload.budget).toMatchObject({ spentMicros: 1000, remainingMicros: 4000, percentUsed: 20 });
  });

  it('creates, lists, updates with versions and deletes budgets, each change audited', async () => {
    const admin = await t.token('admin');
    const { slug, client } = await pricedProvider(t);
    const created = await createBudget(t, {
      name: 'team-a monthly',
      scope: 'CLIENT_PROVIDER',
      provider: slug,
      client: client.id,
      period: 'MONTH',
      timeZone: 'Europe/Paris',
      limitMicros: 25_000_000,
    });
    expect(created).toMatchObject({
      scope: 'CLIENT_PROVIDER',
      provider: { slug },
      client: { id: client.id },
      thresholds: [50, 75, 90],
      action: 'BLOCK',
      spentMicros: 0,
      reservedMicros: 0,
      remainingMicros: 25_000_000,
      percentUsed: 0,
      version: 1,
    });
    expect(new Date(created.periodStart).getTime()).toBeLessThanOrEqual(Date.now());
    expect(new Date(created.periodEnd!).getTime()).toBeGreaterThan(Date.now());

    const listed = await gql(t.graphqlUrl, ListBudgets, { filter: { provider: slug } }, admin);
    expect(listed.data?.budgets.edges.map((e) => e.node.name)).toEqual(['team-a monthly']);
    const byProvider = await gql(t.graphqlUrl, ProviderBudgets, { slug }, admin);
    expect(byProvider.data?.provider?.budgets.map((b) => b.name)).toEqual(['team-a monthly']);

    const updated = await gql(
      t.graphqlUrl,
      UpdateBudget,
      {
        input: {
          id: created.id,
          version: 1,
          limitMicros: 30_000_000,
          thresholds: [80],
          action: 'ALERT_ONLY',
        },
      },
      admin,
    );
    expect(updated.data?.updateBudget).toMatchObject({
      __typename: 'BudgetPayload',
      budget: { limitMicros: 30_000_000, thresholds: [80], action: 'ALERT_ONLY', version: 2 },
    });
    const stale = await gql(
      t.graphqlUrl,
      UpdateBudget,
      { input: { id: created.id, version: 1, name: 'x' } },
      admin,
    );
    expect(stale.data?.updateBudget).toMatchObject({ __typename: 'VersionMismatchError', currentVersion: 2 });

    const deleted = await gql(t.graphqlUrl, DeleteBudget, { id: created.id, version: 2 }, admin);
    expect(deleted.data?.deleteBudget).toMatchObject({ __typename: 'BudgetPayload' });
    const gone = await gql(t.graphqlUrl, DeleteBudget, { id: created.id }, admin);
    expect(gone.data?.deleteBudget).toMatchObject({ __typename: 'NotFoundError' });

    const audit = await gql(t.graphqlUrl, AuditLog, { first: 10, filter: { targetId: created.id } }, admin);
    expect(audit.data?.auditLog.edges.map((e) => e.node.action).sort()).toEqual([
      'budget.create',
      'budget.delete',
      'budget.update',
    ]);
    // The update says what each changed field was before and is after.
    const update = audit.data?.auditLog.edges.find((e) => e.node.action === 'budget.update');
    expect(update?.node.details).toEqual({
      changes: {
        limitMicros: { from: 25_000_000, to: 30_000_000 },
        thresholds: { from: [50, 75, 90], to: [80] },
        action: { from: 'BLOCK', to: 'ALERT_ONLY' },
      },
    });
  });

  it('is admin-only', async () => {
    const result = await gql(
      t.graphqlUrl,
      CreateBudget,
      { input: { name: 'nope', scope: 'GLOBAL', period: 'DAY', limitMicros: 1 } },
      await t.token('operator'),
    );
    expect(result.data?.createBudget ?? null).toBeNull();
    expect(result.errors?.[0]?.message).toMatch(/role does not allow/i);
  });

  it('refuses bad input with a field error each and writes nothing', async () => {
    const admin = await t.token('admin');
    const { slug, client } = await pricedProvider(t);
    const base = { name: 'bad', scope: 'GLOBAL', period: 'DAY', limitMicros: 1000 } as const;
    const before = await budgetCount(t);
    const cases: [string, Partial<CreateBudgetInput>, string[]][] = [
      ['negative limit', { limitMicros: -5 }, ['input', 'limitMicros']],
      ['zero limit', { limitMicros: 0 }, ['input', 'limitMicros']],
      ['absurd limit', { limitMicros: 9_000_000_000_000_000 }, ['input', 'limitMicros']],
      ['threshold above 100', { thresholds: [50, 101] }, ['input', 'thresholds', '1']],
      ['threshold below 1', { thresholds: [0, 50] }, ['input', 'thresholds', '0']],
      ['unsorted thresholds', { thresholds: [75, 50] }, ['input', 'thresholds', '1']],
      ['repeated threshold', { thresholds: [50, 50] }, ['input', 'thresholds', '1']],
      ['unknown time zone', { timeZone: 'Mars/Olympus_Mons' }, ['input', 'timeZone']],
      ['provider scope without provider', { scope: 'PROVIDER' }, ['input', 'provider']],
      ['client scope without client', { scope: 'CLIENT' }, ['input', 'client']],
      ['global scope with a provider', { provider: slug }, ['input', 'provider']],
      ['unknown provider', { scope: 'PROVIDER', provider: 'no-such-provider' }, ['input', 'provider']],
      [
        'unknown client',
        { scope: 'CLIENT', client: '00000000-0000-4000-8000-000000000000' },
        ['input', 'client'],
      ],
      [
        'client id that is not an id',
        { scope: 'CLIENT', client: "'; drop table budgets; --" },
        ['input', 'client'],
      ],
      ['empty name', { name: '  ' }, ['input', 'name']],
    ];
    for (const [label, change, path] of cases) {
      const result = await gql(t.graphqlUrl, CreateBudget, { input: { ...base, ...change } }, admin);
      const payload = result.data?.createBudget;
      expect(payload?.__typename, label).toBe('ValidationError');
      if (payload?.__typename === 'ValidationError') {
        expect(
          payload.fieldErrors.map((e) => e.path),
          label,
        ).toContainEqual(path);
      }
    }
    // An unknown scope is refused by GraphQL itself, before any resolver runs.
    const unknownScope = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({
        query: print(CreateBudget),
        variables: { input: { ...base, scope: 'GALAXY' } },
      }),
    });
    const unknownBody = (await unknownScope.json()) as { errors: { message: string }[] };
    expect(unknownBody.errors[0]?.message).toMatch(/GALAXY.*BudgetScope/);
    expect(await budgetCount(t)).toBe(before);
    // The same budget with valid input is accepted, so the refusals were about the input.
    const valid = await createBudget(t, {
      ...base,
      name: `valid-${slug}`,
      scope: 'CLIENT',
      client: client.id,
    });
    expect(await budgetCount(t)).toBe(before + 1);
    await gql(t.graphqlUrl, DeleteBudget, { id: valid.id }, admin);
  });

  it('refuses to delete a provider that budgets refer to', async () => {
    const { slug } = await pricedProvider(t);
    const budget = await createBudget(t, {
      name: `p-${slug}`,
      scope: 'PROVIDER',
      provider: slug,
      period: 'DAY',
      limitMicros: 1000,
    });
    const admin = await t.token('admin');
    const refused = await gql(t.graphqlUrl, DeleteProvider, { slug }, admin);
    expect(refused.data?.deleteProvider).toMatchObject({ __typename: 'ConflictError' });
    await gql(t.graphqlUrl, DeleteBudget, { id: budget.id }, admin);
  });
});

describe('budget enforcement', () => {
  it('holds under concurrency: room for 10 calls, 50 at once on two replicas sharing Redis', async () => {
    const redisUrl = inject('redisUrl');
    expect(redisUrl, 'redis-server is needed for this test').not.toBe('');
    const { a, b } = await startReplicas({ REDIS_URL: redisUrl });
    const slow = await startUpstream({ kind: 'slow', delayMs: 50, body: { ok: true } });
    try {
      const { slug } = await setUpProvider(a, slow.url, { input: { pricing: { perRequestMicros: 1000 } } });
      const client = await createClient(a);
      const budget = await createBudget(a, {
        name: 'room for ten',
        scope: 'CLIENT',
        client: client.id,
        period: 'DAY',
        limitMicros: 10_000,
      });
      await Promise.all([refreshCaches(b), b.app.services.budgetEnforcer.reload()]);

      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) => call(i % 2 ? a : b, client.key, `${slug}/race/${i}`)),
      );
      const admitted = responses.filter((r) => r.status === 200);
      const refused = responses.filter((r) => r.status === 402);
      expect(admitted).toHaveLength(10);
      expect(refused).toHaveLength(40);
      expect(slow.requests).toHaveLength(10);
      const body = (await refused[0]!.json()) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({ code: 'BUDGET_EXCEEDED', budget: 'room for ten', retryable: false });
      // Nothing is spent while the ten admitted calls are in flight: their holds fill the budget.
      expect(body.error.message).toMatch(
        /^Budget "room for ten" cannot cover this call until .+what is left \(0, calls in flight included\)\.$/,
      );
      expect(Date.parse(String(body.error.resetsAt))).toBeGreaterThan(Date.now());
      expect(Number(refused[0]!.headers.get('retry-after'))).toBeGreaterThan(0);

      // Seen from either replica, the spent figure is the admitted calls' actual cost.
      const fromA = await settled(a, budget.id);
      const fromB = await settled(b, budget.id);
      await Promise.all([a.app.usage.flush(), b.app.usage.flush()]);
      const rows = await a.app.orm.em.fork().execute<{ n: number; cost: string; blocked: number }[]>(
        `select count(*) filter (where status = 200)::int as n, coalesce(sum(cost_micros), 0) as cost,
                  count(*) filter (where outcome = 'BUDGET_BLOCKED')::int as blocked
           from usage_events where provider_slug = ?`,
        [slug],
      );
      expect(rows[0]).toMatchObject({ n: 10, blocked: 40 });
      expect(fromA.spentMicros).toBe(Number(rows[0]!.cost));
      expect(fromA.spentMicros).toBe(10_000);
      expect(fromB).toMatchObject({ spentMicros: 10_000, remainingMicros: 0, percentUsed: 100 });
    } finally {
      await Promise.all([a.stop(), b.stop(), slow.close()]);
    }
  });

  it('releases the reservations of failed calls: a burst of 500s spends nothing', async () => {
    const failing = await startUpstream({ kind: 'status', status: 500 });
    try {
      const { slug } = await setUpProvider(t, failing.url, {
        input: {
          pricing: { perRequestMicros: 1000 },
          retry: { maxAttempts: 1 },
          breaker: { failureThreshold: 1000 },
        },
      });
      const client = await createClient(t);
      const budget = await createBudget(t, {
        name: `five-${slug}`,
        scope: 'CLIENT',
        client: client.id,
        period: 'DAY',
        limitMicros: 5000,
      });
      const statuses = await Promise.all(
        Array.from({ length: 30 }, (_, i) => call(t, client.key, `${slug}/fail/${i}`).then((r) => r.status)),
      );
      // Never more than five in flight at once could hold a reservation, but every one ran.
      expect(statuses.filter((s) => s === 500).length + statuses.filter((s) => s === 402).length).toBe(30);
      expect(await settled(t, budget.id)).toMatchObject({
        spentMicros: 0,
        reservedMicros: 0,
        remainingMicros: 5000,
      });

      failing.behave({ kind: 'json', body: { ok: true } });
      const after = await call(t, client.key, `${slug}/ok`);
      expect(after.status).toBe(200);
      expect(await settled(t, budget.id)).toMatchObject({ spentMicros: 1000 });
    } finally {
      await failing.close();
    }
  });

  it('sends a call that a provider budget refuses to a fallback provider whose budgets allow it', async () => {
    const fallback = await setUpProvider(t, upstream.url, { input: { pricing: { perRequestMicros: 10 } } });
    const primary = await setUpProvider(t, upstream.url, {
      input: { pricing: { perRequestMicros: 1000 }, fallbacks: [fallback.slug] },
    });
    const client = await createClient(t);
    await createBudget(t, {
      name: `primary-${primary.slug}`,
      scope: 'PROVIDER',
      provider: primary.slug,
      period: 'DAY',
      limitMicros: 1000,
    });
    const first = await call(t, client.key, `${primary.slug}/x`);
    expect(first.headers.get('x-tollgate-provider')).toBe(primary.slug);
    await vi.waitFor(async () => {
      const second = await call(t, client.key, `${primary.slug}/x`);
      expect(second.status).toBe(200);
      expect(second.headers.get('x-tollgate-provider')).toBe(fallback.slug);
      expect(second.headers.get('x-tollgate-fallback')).toBe('provider');
    });

    // Once the fallback's own budget is spent too, the call is refused.
    const fallbackBudget = await createBudget(t, {
      name: `fallback-${fallback.slug}`,
      scope: 'PROVIDER',
      provider: fallback.slug,
      period: 'DAY',
      limitMicros: 10,
    });
    await vi.waitFor(async () => {
      const refused = await call(t, client.key, `${primary.slug}/x`);
      expect(refused.status).toBe(402);
      const body = (await refused.json()) as { error: { code: string; budget: string; message: string } };
      expect(body.error.code).toBe('BUDGET_EXCEEDED');
      // Both budgets are used up (not just short of this call's estimate), and the message says so.
      expect(body.error.message).toMatch(/^Budget ".+" is spent until \S+\.$/);
    });
    expect((await settled(t, fallbackBudget.id)).spentMicros).toBe(10);
  });

  it('refuses a body too large to read for max_tokens under a BLOCK budget, instead of reserving next to nothing', async () => {
    const models = [{ model: 'gpt-x', inputPerMillionMicros: 1_000_000, outputPerMillionMicros: 2_000_000 }];
    const blocked = await setUpProvider(t, upstream.url, {
      input: { kind: 'OPENAI_COMPATIBLE', pricing: { perRequestMicros: 1, models } },
    });
    const watched = await setUpProvider(t, upstream.url, {
      input: { kind: 'OPENAI_COMPATIBLE', pricing: { perRequestMicros: 1, models } },
    });
    const client = await createClient(t);
    const budget = await createBudget(t, {
      name: `block-${blocked.slug}`,
      scope: 'PROVIDER',
      provider: blocked.slug,
      period: 'DAY',
      limitMicros: 5_000_000,
    });
    await createBudget(t, {
      name: `watch-${watched.slug}`,
      scope: 'PROVIDER',
      provider: watched.slug,
      period: 'DAY',
      limitMicros: 5_000_000,
      action: 'ALERT_ONLY',
    });
    const request = { model: 'gpt-x', max_tokens: 10_000_000, messages: [] };
    const post = (slug: string, body: string) =>
      call(t, client.key, `${slug}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    upstream.reset();
    // Readable: the stated max_tokens is reserved, and this one would take the budget over.
    const small = await post(blocked.slug, JSON.stringify(request));
    expect(small.status).toBe(402);
    // Nothing is spent yet: the message says the estimate is the problem, not the budget.
    const refusal = (await small.json()) as { error: { message: string } };
    expect(refusal.error.message).toMatch(
      new RegExp(
        `^Budget "${budget.name}" cannot cover this call until .+: its estimated cost \\(\\d+ micro-units\\) is more than what is left \\(\\d+, calls in flight included\\)\\.$`,
      ),
    );
    // The same request padded past 1 MiB is streamed: it cannot be read, so it is refused.
    const padded = `${JSON.stringify(request).slice(0, -1)}${' '.repeat(1_100_000)}}`;
    const big = await post(blocked.slug, padded);
    expect(big.status).toBe(413);
    const body = (await big.json()) as { error: { code: string; budget: string; message: string } };
    expect(body.error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', budget: budget.name });
    expect(body.error.message).toContain('1048576 bytes');
    expect(upstream.requests).toHaveLength(0);
    // A modest padded call is refused too (the reservation could not bound it), while an ALERT_ONLY
    // budget never refuses: there the body streams through.
    const modest = `${JSON.stringify({ model: 'gpt-x', max_tokens: 1, messages: [] }).slice(0, -1)}${' '.repeat(1_100_000)}}`;
    expect((await post(blocked.slug, modest)).status).toBe(413);
    const through = await post(watched.slug, padded);
    expect(through.status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]?.body.length).toBe(Buffer.byteLength(padded));
    expect((await settled(t, budget.id)).spentMicros).toBe(0);
  });

  it('ALERT_ONLY budgets never refuse a call', async () => {
    const { slug, client } = await pricedProvider(t);
    const budget = await createBudget(t, {
      name: `watch-${slug}`,
      scope: 'PROVIDER',
      provider: slug,
      period: 'WEEK',
      limitMicros: 2000,
      action: 'ALERT_ONLY',
    });
    for (let i = 0; i < 4; i++) expect((await call(t, client.key, `${slug}/w`)).status).toBe(200);
    expect(await settled(t, budget.id)).toMatchObject({
      spentMicros: 4000,
      percentUsed: 200,
      remainingMicros: 0,
    });
  });
});

describe('budget alerts', () => {
  it('fires each threshold once, cluster-wide, and not again after a restart', async () => {
    const redisUrl = inject('redisUrl');
    const { a, b, databaseUrl } = await startReplicas({ REDIS_URL: redisUrl });
    const ws = wsClient(b.graphqlUrl, await b.token('viewer'));
    let c: TestApp | undefined;
    try {
      const { slug } = await setUpProvider(a, upstream.url, {
        input: { pricing: { perRequestMicros: 1000 } },
      });
      const client = await createClient(a);
      const budget = await createBudget(a, {
        name: 'ten calls',
        scope: 'GLOBAL',
        period: 'MONTH',
        limitMicros: 10_000,
        action: 'ALERT_ONLY',
      });
      await Promise.all([refreshCaches(b), b.app.services.budgetEnforcer.reload()]);

      // Subscribed on replica b; the calls alternate between both replicas.
      const alerts: BudgetAlertEvent[] = [];
      const iterator = ws.iterate({ query: print(BudgetAlerts), variables: { budget: budget.id } });
      const collecting = (async () => {
        for await (const result of iterator) alerts.push(result.data?.budgetAlert as BudgetAlertEvent);
      })();
      await new Promise((r) => setTimeout(r, 200));

      for (let i = 0; i < 12; i++) {
        const replica = i % 2 ? a : b;
        expect((await call(replica, client.key, `${slug}/n/${i}`)).status).toBe(200);
        await settled(replica, budget.id);
      }
      // Each replica announces its own crossings in order; between replicas the order may vary.
      await vi.waitFor(() =>
        expect(alerts.map((x) => x.threshold).sort((x, y) => x - y)).toEqual([50, 75, 90, 100]),
      );
      alerts.sort((x, y) => x.threshold - y.threshold);
      expect(alerts[0]).toMatchObject({
        budgetName: 'ten calls',
        spentMicros: 5000,
        limitMicros: 10_000,
        percentUsed: 50,
      });
      expect(alerts[3]).toMatchObject({ spentMicros: 10_000, action: 'ALERT_ONLY' });

      // A replica that starts now (empty memory) sees the claims and repeats none.
      c = await startTestApp({ databaseUrl, env: { REDIS_URL: redisUrl } });
      expect((await call(c, client.key, `${slug}/after-restart`)).status).toBe(200);
      await settled(c, budget.id);
      await new Promise((r) => setTimeout(r, 300));
      expect(alerts).toHaveLength(4);
      const rows = await a.app.orm.em
        .fork()
        .execute<{ n: number }[]>('select count(*)::int as n from budget_alerts where budget_id = ?', [
          budget.id,
        ]);
      expect(rows[0]?.n).toBe(4);
      await iterator.return?.();
      await collecting;
    } finally {
      await ws.dispose();
      await Promise.all([a.stop(), b.stop(), c?.stop()]);
    }
  });
});

describe('budget periods', () => {
  it('rolls over at midnight in the budget time zone, and alerts again in the new period', async () => {
    let now = new Date('2026-03-10T14:30:00Z'); // 23:30 in Tokyo
    const events = new EventBus({ logger: silentLogger() });
    const enforcer = new BudgetEnforcer({
      orm: t.app.orm,
      events,
      ledger: new BudgetLedger({ logger: silentLogger() }),
      logger: silentLogger(),
      now: () => now,
    });
    const alerts: BudgetAlertEvent[] = [];
    events.listen('budget.alert', (e) => {
      alerts.push(e);
    });
    const { id: providerId, slug } = await setUpProvider(t, upstream.url);
    await createBudget(t, {
      name: `tokyo-${slug}`,
      scope: 'PROVIDER',
      provider: slug,
      period: 'DAY',
      timeZone: 'Asia/Tokyo',
      limitMicros: 1000,
    });
    await enforcer.start(60_000);
    try {
      const spend = async (micros: number) => {
        const result = await enforcer.reserve(null, providerId, micros, 60_000);
        if (!result.ok) return result;
        enforcer.settle(result.reservation, micros);
        await enforcer.drain();
        return result;
      };
      expect((await spend(600)).ok).toBe(true);
      expect((await spend(400)).ok).toBe(true);
      const refused = await spend(1);
      expect(refused).toMatchObject({ ok: false });
      if (!refused.ok) expect(refused.resetsAt?.toISOString()).toBe('2026-03-10T15:00:00.000Z');
      await vi.waitFor(() => expect(alerts.map((a) => a.threshold)).toEqual([50, 75, 90, 100]));
      expect(alerts[0]?.periodStart).toBe('2026-03-09T15:00:00.000Z');

      // Midnight in Tokyo: a new day, an empty budget, and the alerts again.
      now = new Date('2026-03-10T15:00:00Z');
      expect((await spend(1000)).ok).toBe(true);
      await vi.waitFor(() => expect(alerts).toHaveLength(8));
      expect(alerts.slice(4).map((a) => a.threshold)).toEqual([50, 75, 90, 100]);
      expect(alerts[4]?.periodStart).toBe('2026-03-10T15:00:00.000Z');
      expect(
        (await enforcer.status((await t.app.services.budgets.get(alerts[4]!.budgetId))!)).spentMicros,
      ).toBe(1000);
    } finally {
      await enforcer.stop();
    }
  });
});

function silentLogger() {
  return createLogger('silent');
}

describe("a provider priced by model only, called without max_tokens, over Redis (the README's openai)", () => {
  const redisUrl = inject('redisUrl');
  let app: TestApp;
  let openai: Upstream;
  let redis: Redis;
  beforeAll(async () => {
    if (!redisUrl) return;
    [app, openai] = await Promise.all([startTestApp({ env: { REDIS_URL: redisUrl } }), startFakeOpenAI()]);
    redis = new Redis(redisUrl);
  });
  afterAll(async () => {
    redis?.disconnect();
    await Promise.all([app?.stop(), openai?.close()]);
  });

  // The fake upstream reports 12 prompt and 3 completion tokens: 12 × 1 + 3 × 2 = 18 µ a call.
  const COST = 18;
  async function modelPricedBudget(limitMicros: number) {
    const { slug, id } = await setUpProvider(app, `${openai.url}/v1`, {
      input: {
        kind: 'OPENAI_COMPATIBLE',
        pricing: {
          models: [
            { model: 'gpt-test', inputPerMillionMicros: 1_000_000, outputPerMillionMicros: 2_000_000 },
          ],
        },
      },
    });
    const client = await createClient(app);
    const budget = await createBudget(app, {
      name: `model-priced-${slug}`,
      scope: 'CLIENT',
      client: client.id,
      period: 'DAY',
      limitMicros,
    });
    const sdk = new OpenAI({ apiKey: client.key, baseURL: `${app.url}/proxy/${slug}`, maxRetries: 0 });
    const ask = () =>
      sdk.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
    return { providerId: id, budget, ask };
  }

  /** What Redis and PostgreSQL say was spent on the budget's current account. */
  async function spentBoth(budgetId: string, providerId: string) {
    await app.app.usage.flush();
    const [key] = (await redis.keys(`tollgate:budget:${budgetId}:*`)).filter((k) => !k.endsWith(':holds'));
    const inRedis = Number(await redis.hget(key!, 's'));
    const result = await sql<{ spent: string }>`
      select coalesce(sum(cost_micros), 0) as spent from usage_events where served_by_provider_id = ${providerId}`.execute(
      app.app.orm.em.fork().getKysely(),
    );
    const rows = result.rows;
    return { inRedis, inPostgres: Number(rows[0]?.spent ?? 0) };
  }

  it.skipIf(!redisUrl)(
    'admits exactly the calls that fit, and Redis and PostgreSQL agree on the spend',
    async () => {
      const { budget, ask, providerId } = await modelPricedBudget(10 * COST);
      let admitted = 0;
      let refusal: unknown;
      for (let i = 0; i < 12; i++) {
        try {
          await ask();
          admitted++;
          await settled(app, budget.id);
        } catch (error) {
          refusal = error;
          break;
        }
      }
      expect(admitted).toBe(10);
      expect(refusal).toMatchObject({ status: 402 });
      // (Eventually: on a loaded machine a Redis timeout may make a call settle alone, handed over later.)
      await vi.waitFor(
        async () =>
          expect(await spentBoth(budget.id, providerId)).toEqual({
            inRedis: 10 * COST,
            inPostgres: 10 * COST,
          }),
        { timeout: 5000 },
      );
      expect((await budgetOf(app, budget.id)).spentMicros).toBe(10 * COST);
      expect(app.logs.text).not.toMatch(/not an integer|budget ledger: redis unavailable|script failed/);
    },
  );

  it.skipIf(!redisUrl)(
    '50 concurrent calls: every one that ran is spent once, in Redis as in PostgreSQL',
    async () => {
      const { budget, ask, providerId } = await modelPricedBudget(1_000_000);
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => ask()));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(50);
      await settled(app, budget.id);
      await vi.waitFor(
        async () =>
          expect(await spentBoth(budget.id, providerId)).toEqual({
            inRedis: 50 * COST,
            inPostgres: 50 * COST,
          }),
        { timeout: 5000 },
      );
      expect(app.logs.text).not.toMatch(/not an integer|budget ledger: redis unavailable|script failed/);
    },
  );
});
