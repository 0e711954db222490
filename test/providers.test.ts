import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLog,
  CreateProvider,
  DeleteProvider,
  GetProvider,
  ListProviders,
  NodeById,
  SetProviderEnabled,
  UpdateProvider,
  Viewer,
} from './documents.ts';
import type { CreateProviderInput } from './generated/graphql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { gql } from './helpers/graphql.ts';

let t: TestApp;
let admin: string;

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
const minimal = (slug: string): CreateProviderInput => ({
  slug,
  name: `Provider ${slug}`,
  baseUrl: 'https://api.example.com/v1',
});

async function create(input: CreateProviderInput) {
  const result = await gql(t.graphqlUrl, CreateProvider, { input }, admin);
  const payload = result.data?.createProvider;
  if (payload?.__typename !== 'ProviderPayload') throw new Error(`create failed: ${JSON.stringify(result)}`);
  return payload.provider;
}

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.token('admin', { subject: 'alice' });
});
afterAll(() => t?.stop());

describe('provider lifecycle over HTTP (admin)', () => {
  it('creates a provider with DESIGN.md defaults when only the essentials are given', async () => {
    const slug = unique('minimal');
    const provider = await create(minimal(slug));
    expect(provider).toMatchObject({
      slug,
      kind: 'GENERIC_HTTP',
      enabled: true,
      auth: { style: 'BEARER', name: null },
      timeoutMs: 30_000,
      retry: { maxAttempts: 3, retryNonIdempotent: false, budgetPercent: 20 },
      breaker: { failureThreshold: 5, halfOpenAfterMs: 30_000, successThreshold: 3 },
      rateLimit: null,
      healthCheck: { enabled: false, timeoutMs: 5000 },
      pricing: { currency: 'USD', perRequestMicros: 0, estimateMicros: null, models: [] },
      fallbacks: [],
      allowPrivateNetwork: false,
      version: 1,
    });
  });

  it('stores every setting and reads it back by slug and by global id', async () => {
    const slug = unique('nvd');
    const created = await create({
      slug,
      name: 'NVD',
      kind: 'GENERIC_HTTP',
      baseUrl: 'https://services.nvd.nist.gov/rest/json',
      auth: { style: 'HEADER', name: 'apiKey' },
      timeoutMs: 20_000,
      retry: {
        maxAttempts: 4,
        baseDelayMs: 100,
        maxDelayMs: 2000,
        retryNonIdempotent: true,
        budgetPercent: 10,
      },
      breaker: { failureThreshold: 3, halfOpenAfterMs: 10_000, successThreshold: 2 },
      rateLimit: {
        points: 1,
        periodMs: 6000,
        burst: 5,
        mode: 'QUEUE',
        maxQueueWaitMs: 20_000,
        maxQueueSize: 10,
      },
      healthCheck: {
        enabled: true,
        path: '/cves/2.0?resultsPerPage=1',
        method: 'GET',
        expectedStatus: 200,
        intervalMs: 60_000,
        timeoutMs: 4000,
      },
      pricing: {
        currency: 'USD',
        perRequestMicros: 1500,
        estimateMicros: 2000,
        models: [{ model: 'x', inputPerMillionMicros: 2_500_000, outputPerMillionMicros: 10_000_000 }],
      },
    });
    const read = await gql(t.graphqlUrl, GetProvider, { slug }, admin);
    expect(read.data?.provider).toEqual(created);
    expect(read.data?.provider?.rateLimit).toEqual({
      points: 1,
      periodMs: 6000,
      burst: 5,
      mode: 'QUEUE',
      maxQueueWaitMs: 20_000,
      maxQueueSize: 10,
    });
    expect(read.data?.provider?.pricing.models[0]).toEqual({
      model: 'x',
      inputPerMillionMicros: 2_500_000,
      outputPerMillionMicros: 10_000_000,
      cachedInputPerMillionMicros: null,
    });
    const byNode = await gql(t.graphqlUrl, NodeById, { id: created.id }, admin);
    expect(byNode.data?.node).toEqual({ __typename: 'Provider', slug });
  });

  it('updates with optimistic concurrency, merging nested settings', async () => {
    const slug = unique('upd');
    await create({ ...minimal(slug), retry: { maxAttempts: 5, baseDelayMs: 300 } });
    const updated = await gql(
      t.graphqlUrl,
      UpdateProvider,
      {
        input: {
          slug,
          version: 1,
          name: 'Renamed',
          retry: { maxAttempts: 2 },
          rateLimit: { points: 10, periodMs: 60_000 },
        },
      },
      admin,
    );
    expect(updated.data?.updateProvider).toMatchObject({
      __typename: 'ProviderPayload',
      provider: {
        name: 'Renamed',
        version: 2,
        retry: { maxAttempts: 2, baseDelayMs: 300 },
        rateLimit: { points: 10, periodMs: 60_000, burst: 0, mode: 'REJECT' },
      },
    });

    const stale = await gql(
      t.graphqlUrl,
      UpdateProvider,
      { input: { slug, version: 1, name: 'Lost update' } },
      admin,
    );
    expect(stale.data?.updateProvider).toMatchObject({
      __typename: 'VersionMismatchError',
      code: 'VERSION_MISMATCH',
      currentVersion: 2,
    });

    const cleared = await gql(
      t.graphqlUrl,
      UpdateProvider,
      { input: { slug, version: 2, rateLimit: null } },
      admin,
    );
    expect(cleared.data?.updateProvider).toMatchObject({
      provider: { rateLimit: null, name: 'Renamed', version: 3 },
    });

    const missing = await gql(
      t.graphqlUrl,
      UpdateProvider,
      { input: { slug: unique('nope'), version: 1 } },
      admin,
    );
    expect(missing.data?.updateProvider).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
  });

  it('enables and disables', async () => {
    const slug = unique('toggle');
    await create(minimal(slug));
    const off = await gql(t.graphqlUrl, SetProviderEnabled, { slug, enabled: false }, admin);
    expect(off.data?.setProviderEnabled).toEqual({
      __typename: 'ProviderPayload',
      provider: { slug, enabled: false, version: 2 },
    });
    const stale = await gql(t.graphqlUrl, SetProviderEnabled, { slug, enabled: true, version: 1 }, admin);
    expect(stale.data?.setProviderEnabled).toMatchObject({
      __typename: 'VersionMismatchError',
      currentVersion: 2,
    });
    const on = await gql(t.graphqlUrl, SetProviderEnabled, { slug, enabled: true, version: 2 }, admin);
    expect(on.data?.setProviderEnabled).toMatchObject({ provider: { enabled: true, version: 3 } });
  });

  it('keeps fallbacks in order, refuses cycles, and refuses to delete a provider still used as a fallback', async () => {
    const [a, b, c] = [unique('fa'), unique('fb'), unique('fc')];
    await create(minimal(c));
    await create(minimal(b));
    const first = await create({ ...minimal(a), fallbacks: [b, c] });
    expect(first.fallbacks).toEqual([{ slug: b }, { slug: c }]);

    // b -> a would close the loop a -> b -> a
    const cycle = await gql(
      t.graphqlUrl,
      UpdateProvider,
      { input: { slug: b, version: 1, fallbacks: [a] } },
      admin,
    );
    expect(cycle.data?.updateProvider).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'fallbacks'], message: expect.stringContaining('cycle') }],
    });

    const blocked = await gql(t.graphqlUrl, DeleteProvider, { slug: c }, admin);
    expect(blocked.data?.deleteProvider).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
    expect((await gql(t.graphqlUrl, GetProvider, { slug: c }, admin)).data?.provider?.slug).toBe(c);
  });

  it('deletes, after which the provider is gone', async () => {
    const slug = unique('del');
    const created = await create(minimal(slug));
    const stale = await gql(t.graphqlUrl, DeleteProvider, { slug, version: 7 }, admin);
    expect(stale.data?.deleteProvider).toMatchObject({
      __typename: 'VersionMismatchError',
      currentVersion: 1,
    });
    const deleted = await gql(t.graphqlUrl, DeleteProvider, { slug, version: 1 }, admin);
    expect(deleted.data?.deleteProvider).toEqual({
      __typename: 'DeleteProviderPayload',
      deletedId: created.id,
      slug,
    });
    expect((await gql(t.graphqlUrl, GetProvider, { slug }, admin)).data?.provider).toBeNull();
    const again = await gql(t.graphqlUrl, DeleteProvider, { slug }, admin);
    expect(again.data?.deleteProvider).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
  });

  it('lists providers as a filtered Relay connection, paging both ways', async () => {
    const tag = unique('page');
    for (const n of [1, 2, 3, 4, 5]) {
      await create({ ...minimal(`${tag}-${n}`), kind: n % 2 ? 'OPENAI_COMPATIBLE' : 'GENERIC_HTTP' });
    }
    const page1 = await gql(t.graphqlUrl, ListProviders, { first: 2, filter: { search: tag } }, admin);
    expect(page1.data?.providers.edges.map((e) => e.node.slug)).toEqual([`${tag}-1`, `${tag}-2`]);
    expect(page1.data?.providers.pageInfo.hasNextPage).toBe(true);

    const page2 = await gql(
      t.graphqlUrl,
      ListProviders,
      { first: 2, after: page1.data?.providers.pageInfo.endCursor, filter: { search: tag } },
      admin,
    );
    expect(page2.data?.providers.edges.map((e) => e.node.slug)).toEqual([`${tag}-3`, `${tag}-4`]);
    expect(page2.data?.providers.pageInfo.hasPreviousPage).toBe(true);

    const back = await gql(
      t.graphqlUrl,
      ListProviders,
      { last: 2, before: page2.data?.providers.pageInfo.startCursor, filter: { search: tag } },
      admin,
    );
    expect(back.data?.providers.edges.map((e) => e.node.slug)).toEqual([`${tag}-1`, `${tag}-2`]);

    const openai = await gql(
      t.graphqlUrl,
      ListProviders,
      { first: 10, filter: { search: tag, kind: 'OPENAI_COMPATIBLE' } },
      admin,
    );
    expect(openai.data?.providers.edges.map((e) => e.node.slug)).toEqual([
      `${tag}-1`,
      `${tag}-3`,
      `${tag}-5`,
    ]);

    const badCursor = await gql(t.graphqlUrl, ListProviders, { first: 2, after: 'garbage' }, admin);
    expect(badCursor.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    const overPage = await gql(t.graphqlUrl, ListProviders, { first: 101 }, admin);
    expect(overPage.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(overPage.errors?.[0])).toContain('first');
    // A page size far beyond the limit is refused before execution by the query cost limit,
    // which counts `first: $n` at the value sent (as it does a literal).
    const tooMany = await gql(t.graphqlUrl, ListProviders, { first: 1000 }, admin);
    expect(tooMany.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('writes an audit event for every change, with actor, request id and no secrets', async () => {
    const slug = unique('audited');
    await create(minimal(slug));
    await gql(t.graphqlUrl, SetProviderEnabled, { slug, enabled: false }, admin);
    await gql(t.graphqlUrl, DeleteProvider, { slug }, admin);
    const log = await gql(t.graphqlUrl, AuditLog, { first: 10, filter: { targetId: slug } }, admin);
    const events = log.data?.auditLog.edges.map((e) => e.node) ?? [];
    expect(events.map((e) => e.action)).toEqual(['provider.delete', 'provider.disable', 'provider.create']);
    for (const event of events) {
      expect(event).toMatchObject({
        actor: 'alice',
        actorRole: 'admin',
        targetType: 'Provider',
        targetId: slug,
      });
      expect(event.requestId).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it('echoes a sane caller request id and uses it in the audit log', async () => {
    const slug = unique('reqid');
    const response = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${admin}`,
        'x-request-id': 'trace-abc-123',
      },
      body: JSON.stringify({
        query: 'mutation($i: CreateProviderInput!) { createProvider(input: $i) { __typename } }',
        variables: { i: minimal(slug) },
      }),
    });
    expect(response.headers.get('x-request-id')).toBe('trace-abc-123');
    const log = await gql(t.graphqlUrl, AuditLog, { first: 1, filter: { targetId: slug } }, admin);
    expect(log.data?.auditLog.edges[0]?.node.requestId).toBe('trace-abc-123');
  });

  it('answers the viewer query with the token subject and role', async () => {
    const result = await gql(t.graphqlUrl, Viewer, {}, admin);
    expect(result.data?.viewer).toMatchObject({ subject: 'alice', role: 'ADMIN' });
  });
});
