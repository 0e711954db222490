import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodBounds } from '../src/modules/budgets/budget-period.ts';
import { UsageReports } from '../src/modules/usage/usage-report.ts';
import { UsageRollups } from '../src/modules/usage/usage-rollup.ts';
import { insertUsageEvents, type StoredUsageEvent } from '../src/modules/usage/usage-rows.ts';
import { createLogger } from '../src/shared/logger.ts';
import { uuid7 } from '../src/shared/uuid7.ts';
import { ProviderUsage, UsageReportQuery } from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { call, createClient, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { syntheticEvents } from './helpers/usage-data.ts';

const HOUR = 3_600_000;
let t: TestApp;
let upstream: Upstream;
let db: Kysely<unknown>;
let rollups: UsageRollups;
const providers: { slug: string; id: string }[] = [];
const clientIds: string[] = [];
let events: StoredUsageEvent[];
const now = new Date();
const from = new Date(Math.floor(now.getTime() / HOUR) * HOUR - 6 * HOUR + 17 * 60_000);

beforeAll(async () => {
  // The rollup job runs only when a test runs it.
  [t, upstream] = await Promise.all([
    startTestApp({ env: { TOLLGATE_ROLLUP_CRON: 'off' } }),
    startUpstream({ kind: 'json', body: { ok: true } }),
  ]);
  db = t.app.orm.em.fork().getKysely() as Kysely<unknown>;
  rollups = new UsageRollups({ orm: t.app.orm, logger: createLogger('silent'), timeZone: 'UTC' });
  for (let i = 0; i < 3; i++) providers.push(await setUpProvider(t, upstream.url));
  for (let i = 0; i < 4; i++) clientIds.push((await createClient(t)).id);
  events = syntheticEvents({
    count: 3000,
    from,
    to: new Date(now.getTime() - 60_000),
    providerIds: providers.map((p) => p.id),
    clientIds,
  });
  await insertUsageEvents(db, events);
});
afterAll(async () => {
  await Promise.all([t?.stop(), upstream?.close()]);
});

async function report(variables: Parameters<typeof gql<unknown, Record<string, unknown>>>[2]) {
  const result = await gql(t.graphqlUrl, UsageReportQuery, variables as never, await t.token('viewer'));
  const payload = result.data?.usage;
  if (payload?.__typename !== 'UsageReport') throw new Error(JSON.stringify(result));
  return payload;
}

/** Nearest-rank percentile of exact values (what the histogram approximates). */
function exactPercentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

function expectWithinPrecision(estimate: number | null | undefined, exact: number) {
  expect(estimate).not.toBeNull();
  expect(Math.abs((estimate ?? 0) - exact)).toBeLessThanOrEqual(Math.max(0.5, exact * 0.1));
}

const inWindow = (e: StoredUsageEvent, start: Date, end: Date) =>
  e.at >= start.getTime() && e.at < end.getTime();
const providerOf = (e: StoredUsageEvent) => e.servedByProviderId ?? e.providerId;

describe('usage reports', () => {
  it('agree with the raw events: counts, failures by outcome, cost, tokens and percentiles', async () => {
    const to = new Date(now.getTime() + 1000);
    const result = await report({ from: from.toISOString(), to: to.toISOString(), groupBy: ['PROVIDER'] });
    expect(result.bucket).toBe('HOUR');
    expect(result.totals.calls).toBe(events.length);
    expect(result.groups).toHaveLength(3);
    for (const group of result.groups) {
      const mine = events.filter((e) => providerOf(e) === group.providerId);
      expect(group.provider?.slug).toBe(providers.find((p) => p.id === group.providerId)?.slug);
      expect(group.summary.calls).toBe(mine.length);
      expect(group.summary.costMicros).toBe(mine.reduce((n, e) => n + (e.costMicros ?? 0), 0));
      expect(group.summary.promptTokens).toBe(mine.reduce((n, e) => n + (e.promptTokens ?? 0), 0));
      const successes = mine.filter((e) => e.outcome === 'SUCCESS').length;
      expect(group.summary.successes).toBe(successes);
      expect(group.summary.errorRate).toBeCloseTo((mine.length - successes) / mine.length, 3);
      const timeouts = mine.filter((e) => e.outcome === 'TIMEOUT').length;
      expect(group.summary.failuresByOutcome).toContainEqual({ outcome: 'TIMEOUT', calls: timeouts });
      const totals = mine.map((e) => e.totalMs);
      const upstreams = mine.flatMap((e) => (e.upstreamMs === null ? [] : [e.upstreamMs]));
      expectWithinPrecision(group.summary.latencyMs.p50, exactPercentile(totals, 0.5));
      expectWithinPrecision(group.summary.latencyMs.p95, exactPercentile(totals, 0.95));
      expectWithinPrecision(group.summary.latencyMs.p99, exactPercentile(totals, 0.99));
      expectWithinPrecision(group.summary.upstreamLatencyMs.p95, exactPercentile(upstreams, 0.95));
      // The hourly series adds up to the group's totals.
      expect(group.series.reduce((n, p) => n + p.summary.calls, 0)).toBe(mine.length);
      expect(group.series.length).toBeGreaterThanOrEqual(6);
    }
  });

  it('give the same answer from hourly rollups, and see late events at once', async () => {
    const to = new Date(now.getTime() + 1000);
    const variables = { from: from.toISOString(), to: to.toISOString(), groupBy: ['PROVIDER', 'OUTCOME'] };
    const before = await report(variables);
    expect(before.rolledUpHours).toBe(0);
    expect(await rollups.run(now)).toBeGreaterThanOrEqual(5);
    const after = await report(variables);
    // The first and last hours are partial, so at least 4 whole hours come from rollups.
    expect(after.rolledUpHours).toBeGreaterThanOrEqual(4);
    const strip = (r: typeof before) =>
      r.groups.map((g) => ({
        ...g,
        summary: { ...g.summary, latencyMs: { ...g.summary.latencyMs, mean: 0 } },
      }));
    expect(strip(after)).toEqual(strip(before));

    // An event for an hour already rolled up (written late, after an outage) counts at once...
    const lateHour = new Date(Math.floor(from.getTime() / HOUR) * HOUR + 2 * HOUR);
    const late: StoredUsageEvent = {
      ...events[0]!,
      id: uuid7(lateHour.getTime() + 5),
      at: lateHour.getTime() + 5,
      costMicros: 777_777,
      outcome: 'SUCCESS',
    };
    await insertUsageEvents(db, [late]);
    const withLate = await report({ ...variables, groupBy: [] });
    expect(withLate.totals.calls).toBe(events.length + 1);
    expect(withLate.totals.costMicros).toBe(before.totals.costMicros + 777_777);
    expect(withLate.rolledUpHours).toBe(after.rolledUpHours - 1);
    // ...and the next rollup takes it in.
    expect(await rollups.run(now)).toBe(1);
    const rolledAgain = await report({ ...variables, groupBy: [] });
    expect(rolledAgain.rolledUpHours).toBe(after.rolledUpHours);
    expect(rolledAgain.totals.costMicros).toBe(withLate.totals.costMicros);
  });

  it('group by client, and by model and key from raw events', async () => {
    const byClient = await report({
      range: 'LAST_DAY',
      groupBy: ['CLIENT'],
      filter: { providers: [providers[0]!.slug] },
    });
    const expected = new Map<string, number>();
    for (const e of events) {
      if (providerOf(e) === providers[0]!.id) expected.set(e.clientId!, (expected.get(e.clientId!) ?? 0) + 1);
    }
    expect(new Map(byClient.groups.map((g) => [g.clientId!, g.summary.calls]))).toEqual(expected);

    const byModel = await report({ range: 'LAST_DAY', groupBy: ['MODEL', 'KEY'] });
    expect(byModel.rolledUpHours).toBe(0);
    const small = byModel.groups
      .filter((g) => g.model === 'gpt-small')
      .reduce((n, g) => n + g.summary.calls, 0);
    expect(small).toBe(events.filter((e) => e.model === 'gpt-small').length);
  });

  it('answer long windows from daily rollups, with days in the report time zone', async () => {
    const timeZone = 'America/New_York';
    const provider = await setUpProvider(t, upstream.url);
    const today = periodBounds('DAY', timeZone, now, now).start;
    const windowFrom = new Date(today.getTime() - 3 * 86_400_000 - 5 * HOUR);
    const mine = syntheticEvents({
      count: 2000,
      from: windowFrom,
      to: today,
      providerIds: [provider.id],
      clientIds,
      seed: 3,
    });
    await insertUsageEvents(db, mine);
    const newYork = new UsageRollups({ orm: t.app.orm, logger: createLogger('silent'), timeZone });
    await newYork.run(now);
    const days = await t.app.orm.em
      .fork()
      .execute<{ n: number }[]>('select count(*)::int as n from usage_days where time_zone = ?', [timeZone]);
    expect(days[0]?.n).toBeGreaterThanOrEqual(3);

    const input = {
      from: windowFrom,
      to: now,
      groupBy: ['PROVIDER' as const],
      filter: { providers: [provider.slug] },
    };
    const fromDays = await new UsageReports({ orm: t.app.orm, timeZone, retentionDays: 30 }).report(input);
    expect(fromDays.bucket).toBe('DAY');
    expect(fromDays.rolledUpHours).toBeGreaterThanOrEqual(72);
    const [group] = fromDays.groups;
    expect(group?.summary.calls).toBe(mine.length);
    expect(group?.summary.costMicros).toBe(mine.reduce((n, e) => n + (e.costMicros ?? 0), 0));
    // Each point is a New York day, holding that day's calls.
    for (const point of group?.series ?? []) {
      const bounds = periodBounds('DAY', timeZone, point.start, point.start);
      expect(point.start.toISOString()).toBe(bounds.start.toISOString());
      expect(point.summary.calls).toBe(mine.filter((e) => inWindow(e, bounds.start, bounds.end!)).length);
    }
    // The same histograms as the hourly rollups and raw events give: the same percentiles.
    const noDays = await new UsageReports({
      orm: t.app.orm,
      timeZone: 'Asia/Tokyo',
      retentionDays: 30,
    }).report(input);
    expect(noDays.totals.latencyMs).toEqual(fromDays.totals.latencyMs);
    expectWithinPrecision(
      fromDays.totals.latencyMs.p99,
      exactPercentile(
        mine.map((e) => e.totalMs),
        0.99,
      ),
    );
  });

  it('refuses impossible windows with field errors', async () => {
    const admin = await t.token('viewer');
    const cases: [Record<string, unknown>, string[]][] = [
      [{ from: '2026-05-02T00:00:00Z', to: '2026-05-01T00:00:00Z' }, ['from']],
      [{ range: 'LAST_DAY', from: '2026-05-01T00:00:00Z' }, ['range']],
      [{ from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, ['to']],
      [{ from: new Date(Date.now() - 40 * 86_400_000).toISOString(), groupBy: ['MODEL'] }, ['from']],
      [{ range: 'LAST_DAY', filter: { providers: ['no-such-provider'] } }, ['filter', 'providers', '0']],
      [{ range: 'LAST_DAY', filter: { clients: ['not-an-id'] } }, ['filter', 'clients', '0']],
    ];
    for (const [variables, path] of cases) {
      const result = await gql(t.graphqlUrl, UsageReportQuery, variables as never, admin);
      const payload = result.data?.usage;
      expect(payload?.__typename, JSON.stringify(variables)).toBe('ValidationError');
      if (payload?.__typename === 'ValidationError')
        expect(payload.fieldErrors.map((e) => e.path)).toContainEqual(path);
    }
    // 40 days back grouped by provider is fine: rollups are kept longer than raw events.
    const long = await report({
      from: new Date(Date.now() - 40 * 86_400_000).toISOString(),
      groupBy: ['PROVIDER'],
    });
    expect(long.bucket).toBe('DAY');
    expect(long.totals.calls).toBeGreaterThanOrEqual(events.length);
  });

  it('counts real proxied calls, per provider too', async () => {
    const provider = await setUpProvider(t, upstream.url, { input: { pricing: { perRequestMicros: 250 } } });
    const client = await createClient(t);
    for (let i = 0; i < 3; i++)
      expect((await call(t, client.key, `${provider.slug}/r/${i}`)).status).toBe(200);
    expect((await call(t, 'tg_wrong', `${provider.slug}/r`)).status).toBe(401);
    await t.app.usage.flush();
    const result = await gql(
      t.graphqlUrl,
      ProviderUsage,
      { slug: provider.slug, range: 'LAST_HOUR' },
      await t.token('viewer'),
    );
    expect(result.data?.provider?.usage).toMatchObject({
      calls: 4,
      successes: 3,
      failures: 1,
      failuresByOutcome: [{ outcome: 'UNAUTHENTICATED', calls: 1 }],
      costMicros: 750,
    });
    expect(result.data?.provider?.usage.latencyMs.p50).toBeGreaterThan(0);
  });
});
