import type { Pool, PoolClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './generated/index.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { gql } from './helpers/graphql.ts';

/**
 * GraphQL lists load their related rows in batches: the statements a request sends to PostgreSQL
 * do not grow with the number of parents (10 against 100 on a page, 10 against 200 through a
 * nested list). Counted on the app's own connection pool.
 */
const PROVIDERS = 200;
const CLIENTS = 100;

const ProvidersPage = graphql(`
  query SqlCountProviders($first: Int!) {
    providers(first: $first) {
      totalCount
      edges {
        node {
          slug
          keys { label }
          fallbacks { slug }
          budgets { name }
          health { status history(last: 3) { at } probes(last: 3) { at } }
        }
      }
    }
  }
`);

const ClientsPage = graphql(`
  query SqlCountClients($first: Int!) {
    clients(first: $first) {
      totalCount
      edges {
        node {
          name
          allowedProviders { slug keys { label } budgets { name } fallbacks { slug } }
        }
      }
    }
  }
`);

const BudgetsPage = graphql(`
  query SqlCountBudgets($first: Int!) {
    budgets(first: $first) {
      totalCount
      edges { node { name provider { slug } client { name } } }
    }
  }
`);

const UsageGroups = graphql(`
  query SqlCountUsage($providers: [String!]) {
    usage(range: LAST_DAY, groupBy: [PROVIDER, CLIENT], filter: { providers: $providers }) {
      __typename
      ... on UsageReport { groups { provider { slug } client { name } summary { calls } } }
    }
  }
`);

/** Counts the statements sent on the app's pool while `counting` is on. */
class StatementCounter {
  count = 0;
  counting = false;
  /** The statements of the run with the fewest, to show what a failing comparison counted. */
  texts: string[] = [];
  #current: string[] = [];
  readonly #patched = new WeakSet<PoolClient>();

  constructor(pool: Pool) {
    pool.on('acquire', (client) => {
      if (this.#patched.has(client)) return;
      this.#patched.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      Object.assign(client, {
        query: (...args: unknown[]) => {
          if (this.counting) {
            this.count++;
            const text = args[0];
            this.#current.push(
              (typeof text === 'string' ? text : String((text as { text?: unknown })?.text)).slice(0, 120),
            );
          }
          return query(...args);
        },
      });
    });
  }

  /**
   * Statements one run of `work` sends: the fewest of three runs, so that a background refresh
   * landing in one run does not count.
   */
  async of(work: () => Promise<unknown>): Promise<number> {
    let fewest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      this.count = 0;
      this.#current = [];
      this.counting = true;
      try {
        await work();
      } finally {
        this.counting = false;
      }
      if (this.count < fewest) this.texts = this.#current;
      fewest = Math.min(fewest, this.count);
    }
    return fewest;
  }
}

/** Statements for the small and the large list; on a difference, both lists are printed. */
async function compare(label: string, small: () => Promise<unknown>, large: () => Promise<unknown>) {
  const few = await counter.of(small);
  const fewTexts = counter.texts;
  const many = await counter.of(large);
  console.log(`${label}: ${few} statements for the short list, ${many} for the long one`);
  if (few !== many) console.log({ short: fewTexts, long: counter.texts });
  // N+1 shows as one statement shape repeated per parent. A batched load whose ids come out empty
  // is skipped, so a shape may appear in one list and not the other (health transitions recorded
  // by the background monitor for some providers only); what must never happen is a shape
  // running more often for the long list than for the short one.
  const longShapes = shapeCounts(counter.texts);
  const shortShapes = shapeCounts(fewTexts);
  for (const [shape, times] of longShapes)
    expect(times, shape).toBeLessThanOrEqual(Math.max(1, shortShapes.get(shape) ?? 0));
  expect(longShapes.size).toBeLessThanOrEqual(shortShapes.size + 1);
}

/** How often each statement shape ran: the text up to its id list, whitespace folded. */
function shapeCounts(texts: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    const shape = text
      .replace(/\s+/g, ' ')
      .replace(/ in \(.*$/, ' in (…)')
      .replace(/limit \d+/, 'limit n');
    counts.set(shape, (counts.get(shape) ?? 0) + 1);
  }
  return counts;
}

let t: TestApp;
let counter: StatementCounter;
let token: string;
const slugs: string[] = [];
const providerIds: string[] = [];

beforeAll(async () => {
  const setup = await startTestApp();
  t = setup;
  const actor = { subject: 'sql-count', role: 'admin' as const, requestId: undefined };
  const services = t.app.services;
  for (let i = 0; i < PROVIDERS; i++) {
    const slug = `sqlc-${i}`;
    const provider = await services.providers.create(actor, {
      slug,
      name: slug,
      baseUrl: 'https://api.example.com',
      // Each provider falls back to the one before it.
      ...(i > 0 ? { fallbacks: [slugs[i - 1]!] } : {}),
    } as never);
    slugs.push(slug);
    providerIds.push(provider.id);
    await services.providerKeys.add(actor, {
      provider: slug,
      secret: `sk-${slug}-secret-value`,
      label: `k-${i}`,
    });
  }
  const clientIds: string[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    // Client i may call providers 2i and 2i+1: the first 100 clients reach all 200 providers.
    const created = await services.clients.create(actor, {
      name: `sqlc-client-${i}`,
      allowedProviders: [slugs[2 * i]!, slugs[2 * i + 1]!],
    });
    clientIds.push(created.client.id);
  }
  for (let i = 0; i < PROVIDERS; i++) {
    await services.budgets.create(actor, {
      name: `sqlc-budget-${i}`,
      scope: 'CLIENT_PROVIDER',
      provider: slugs[i]!,
      client: clientIds[Math.floor(i / 2)]!,
      period: 'MONTH',
      limitMicros: 1_000_000,
    } as never);
  }
  // One call per provider in the last hour, by the client allowed to call it.
  for (let i = 0; i < PROVIDERS; i++) {
    t.app.usage.record({
      requestId: `sqlc-${i}`,
      providerId: providerIds[i]!,
      providerSlug: slugs[i]!,
      servedByProviderId: providerIds[i]!,
      keyId: null,
      clientId: clientIds[Math.floor(i / 2)]!,
      method: 'GET',
      pathTemplate: '/',
      status: 200,
      outcome: 'SUCCESS',
      attempts: 1,
      fallback: null,
      totalMs: 5,
      upstreamMs: 4,
      requestBytes: 10,
      responseBytes: 20,
      model: null,
      promptTokens: null,
      completionTokens: null,
      cachedTokens: null,
      costMicros: null,
      pricedWithoutTokens: false,
    });
  }
  await t.app.usage.flush();
  // Measured on a fresh replica of that database, so that nothing the set-up started (cache
  // reloads after 500 changes, budget spend refreshes) is still running; its periodic work is
  // spaced out past the test.
  await setup.stop();
  t = await startTestApp({
    databaseUrl: setup.config.database.url!,
    env: { TOLLGATE_CACHE_REFRESH_INTERVAL_MS: '3600000', TOLLGATE_HEALTH_TICK_MS: '60000' },
  });
  counter = new StatementCounter(await t.app.orm.em.getConnection().getNativeClient());
  token = await t.token('admin');
}, 600_000);
afterAll(async () => {
  await t?.stop();
});

describe('statements per GraphQL list', () => {
  it('providers with keys, fallbacks, budgets and health: the same for a page of 10 and of 100', async () => {
    const page = async (first: number) => {
      const result = await gql(t.graphqlUrl, ProvidersPage, { first }, token);
      expect(result.errors).toBeUndefined();
      const edges = result.data!.providers.edges;
      expect(edges).toHaveLength(first);
      expect(result.data!.providers.totalCount).toBe(PROVIDERS);
      // Each provider has its own rows, not a neighbour's.
      for (const { node } of edges) {
        const i = Number(node.slug.slice('sqlc-'.length));
        expect(node.keys.map((k) => k.label)).toEqual([`k-${i}`]);
        expect(node.fallbacks.map((f) => f.slug)).toEqual(i > 0 ? [`sqlc-${i - 1}`] : []);
        expect(node.budgets.map((b) => b.name)).toEqual([`sqlc-budget-${i}`]);
      }
    };
    await compare(
      'providers',
      () => page(10),
      () => page(100),
    );
  });

  it('clients with their allowed providers and those providers’ keys: the same for 10 providers and 200', async () => {
    const page = async (first: number) => {
      const result = await gql(t.graphqlUrl, ClientsPage, { first }, token);
      expect(result.errors).toBeUndefined();
      const edges = result.data!.clients.edges;
      expect(edges).toHaveLength(first);
      expect(result.data!.clients.totalCount).toBe(CLIENTS);
      for (const { node } of edges) {
        const i = Number(node.name.slice('sqlc-client-'.length));
        expect(node.allowedProviders!.map((p) => p.slug)).toEqual([`sqlc-${2 * i}`, `sqlc-${2 * i + 1}`]);
        expect(node.allowedProviders!.map((p) => p.keys[0]?.label)).toEqual([`k-${2 * i}`, `k-${2 * i + 1}`]);
      }
    };
    // 5 clients reach 10 providers; 100 clients reach 200.
    await compare(
      'clients',
      () => page(5),
      () => page(100),
    );
  });

  it('budgets with their provider and client: the same for 10 and 100', async () => {
    const page = async (first: number) => {
      const result = await gql(t.graphqlUrl, BudgetsPage, { first }, token);
      expect(result.errors).toBeUndefined();
      expect(result.data!.budgets.totalCount).toBe(PROVIDERS);
      for (const { node } of result.data!.budgets.edges) {
        const i = Number(node.name.slice('sqlc-budget-'.length));
        expect(node.provider?.slug).toBe(`sqlc-${i}`);
        expect(node.client?.name).toBe(`sqlc-client-${Math.floor(i / 2)}`);
      }
    };
    await compare(
      'budgets',
      () => page(10),
      () => page(100),
    );
  });

  it('usage groups with their provider and client: the same for 10 groups and 200', async () => {
    const report = async (providers: string[]) => {
      const result = await gql(t.graphqlUrl, UsageGroups, { providers }, token);
      expect(result.errors).toBeUndefined();
      if (result.data!.usage.__typename !== 'UsageReport') throw new Error(JSON.stringify(result.data));
      const groups = result.data!.usage.groups;
      expect(groups).toHaveLength(providers.length);
      for (const g of groups) {
        const i = Number(g.provider!.slug.slice('sqlc-'.length));
        expect(g.client?.name).toBe(`sqlc-client-${Math.floor(i / 2)}`);
        expect(g.summary.calls).toBe(1);
      }
    };
    await compare(
      'usage groups',
      () => report(slugs.slice(0, 10)),
      () => report(slugs),
    );
  });
});
