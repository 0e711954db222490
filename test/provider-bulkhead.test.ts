import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  CreateProvider,
  ExportConfig,
  ImportConfig,
  ProviderBulkhead,
  ProviderReplicaState,
  UpdateProvider,
} from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { call, createClientKey, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';
import { startUpstream } from './helpers/upstream.ts';

let t: TestApp;
let admin: string;
const unique = () => `bulk-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.token('admin');
});
afterAll(() => t?.stop());

const bulkheadOf = async (slug: string) =>
  (await gql(t.graphqlUrl, ProviderBulkhead, { slug }, admin)).data?.provider;

describe('a provider\u2019s bulkhead setting', () => {
  it('defaults to 128 in flight, 64 waiting for at most 1 s, and is set and merged through GraphQL', async () => {
    const slug = unique();
    await gql(
      t.graphqlUrl,
      CreateProvider,
      { input: { slug, name: slug, baseUrl: 'https://api.example.com' } },
      admin,
    );
    expect((await bulkheadOf(slug))?.bulkhead).toEqual({
      maxConcurrent: 128,
      maxQueue: 64,
      maxQueueWaitMs: 1000,
    });
    const version = (await bulkheadOf(slug))!.version;
    const updated = await gql(
      t.graphqlUrl,
      UpdateProvider,
      { input: { slug, version, bulkhead: { maxConcurrent: 8 } } },
      admin,
    );
    expect(updated.data?.updateProvider?.__typename).toBe('ProviderPayload');
    expect((await bulkheadOf(slug))?.bulkhead).toEqual({
      maxConcurrent: 8,
      maxQueue: 64,
      maxQueueWaitMs: 1000,
    });
  });

  it('refuses a bulkhead that admits nothing with a field error', async () => {
    const slug = unique();
    const result = await gql(
      t.graphqlUrl,
      CreateProvider,
      { input: { slug, name: slug, baseUrl: 'https://api.example.com', bulkhead: { maxConcurrent: 0 } } },
      admin,
    );
    const payload = result.data?.createProvider;
    expect(payload?.__typename).toBe('ValidationError');
    expect(JSON.stringify(payload)).toContain('maxConcurrent');
  });

  it('goes through configuration export and import', async () => {
    const slug = unique();
    await gql(
      t.graphqlUrl,
      CreateProvider,
      {
        input: {
          slug,
          name: slug,
          baseUrl: 'https://api.example.com',
          bulkhead: { maxConcurrent: 3, maxQueue: 1, maxQueueWaitMs: 50 },
        },
      },
      admin,
    );
    const exported = parse((await gql(t.graphqlUrl, ExportConfig, {}, admin)).data!.exportConfig) as {
      providers: { slug: string; bulkhead: unknown }[];
    };
    const entry = exported.providers.find((p) => p.slug === slug)!;
    expect(entry.bulkhead).toEqual({ maxConcurrent: 3, maxQueue: 1, maxQueueWaitMs: 50 });

    const imported = unique();
    const document = stringify({
      version: 1,
      providers: [
        {
          slug: imported,
          name: imported,
          baseUrl: 'https://api.example.com',
          bulkhead: { maxConcurrent: 5 },
        },
      ],
    });
    const applied = await gql(t.graphqlUrl, ImportConfig, { document }, admin);
    expect(applied.data?.importConfig?.__typename).toBe('ImportConfigPayload');
    expect((await bulkheadOf(imported))?.bulkhead).toEqual({
      maxConcurrent: 5,
      maxQueue: 64,
      maxQueueWaitMs: 1000,
    });
  });

  it("shows operators this replica's bulkhead occupancy, retry budget and last upstream failure", async () => {
    const upstream = await startUpstream({ kind: 'hang' });
    try {
      const { slug } = await setUpProvider(t, upstream.url, {
        input: {
          bulkhead: { maxConcurrent: 1, maxQueue: 1, maxQueueWaitMs: 30_000 },
          retry: { maxAttempts: 1 },
          timeoutMs: 20_000,
        },
      });
      const stateOf = async () =>
        (await gql(t.graphqlUrl, ProviderReplicaState, { slug }, admin)).data?.provider?.replicaState;
      expect(await stateOf()).toEqual({
        inFlight: 0,
        queued: 0,
        retryTokens: null,
        lastFailureAt: null,
        lastFailureReason: null,
      });

      const client = await createClientKey(t);
      const leaving = new AbortController();
      const calls = [1, 2].map(() =>
        call(t, client, `${slug}/slow`, { signal: leaving.signal }).catch(() => undefined),
      );
      await expect.poll(stateOf, { timeout: 10_000 }).toMatchObject({ inFlight: 1, queued: 1 });
      leaving.abort();
      await Promise.all(calls);
      await expect.poll(stateOf, { timeout: 10_000 }).toMatchObject({ inFlight: 0, queued: 0 });

      upstream.behave({ kind: 'status', status: 503 });
      const before = Date.now();
      expect((await call(t, client, `${slug}/fails`)).status).toBe(503);
      const state = await stateOf();
      expect(state?.lastFailureReason).toBe('status 503');
      expect(new Date(state!.lastFailureAt as string).getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(state?.retryTokens).toEqual(expect.any(Number));
    } finally {
      await upstream.close();
    }
  });
});
