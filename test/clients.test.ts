import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AuditLog,
  CreateClient,
  CreateProvider,
  GetClient,
  RevokeClient,
  RotateClientKey,
} from './documents.ts';
import { createDatabase, startTestApp, type TestApp } from './helpers/app.ts';
import { dumpDatabase } from './helpers/db.ts';
import { gql } from './helpers/graphql.ts';

let t: TestApp;
let admin: string;
const issuedKeys: string[] = [];

async function createClient(
  name: string,
  extra: Record<string, unknown> = {},
  app: TestApp = t,
  token = admin,
) {
  const result = await gql(app.graphqlUrl, CreateClient, { input: { name, ...extra } }, token);
  const payload = result.data?.createClient;
  if (payload?.__typename !== 'ClientKeyPayload') throw new Error(JSON.stringify(result));
  issuedKeys.push(payload.key);
  return payload;
}

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.token('admin', { subject: 'client-admin' });
});
afterAll(async () => {
  const dump = await dumpDatabase(t.config.database.url!);
  const logs = t.logs.text;
  await t?.stop();
  for (const key of issuedKeys) {
    expect(dump).not.toContain(key);
    expect(logs).not.toContain(key);
  }
});

describe('clients', () => {
  it('issues a tg_ key once; afterwards only its prefix is visible', async () => {
    const { key, client } = await createClient('billing-service');
    expect(key).toMatch(/^tg_[A-Za-z0-9_-]{43}$/);
    expect(client).toMatchObject({
      name: 'billing-service',
      status: 'ACTIVE',
      keyPrefix: key.slice(0, 11),
      allowedProviders: null,
    });
    const read = await gql(t.graphqlUrl, GetClient, { id: client.id }, admin);
    expect(JSON.stringify(read)).not.toContain(key);
    expect(read.data?.client).toMatchObject({ id: client.id, keyPrefix: key.slice(0, 11) });
    // The cache reloads on the change event, asynchronously.
    await expect
      .poll(() => t.app.services.clientCache.authenticate(key), { timeout: 5000 })
      .toMatchObject({ id: client.id, name: 'billing-service' });
    expect(t.app.services.clientCache.authenticate(`${key.slice(0, -1)}x`)).toBeUndefined();
    expect(t.app.services.clientCache.authenticate('tg_short')).toBeUndefined();
  });

  it('limits a client to the providers it names, and refuses unknown ones', async () => {
    await gql(
      t.graphqlUrl,
      CreateProvider,
      { input: { slug: 'client-allowed', name: 'A', baseUrl: 'https://a.example.com' } },
      admin,
    );
    const { client } = await createClient('scoped', { allowedProviders: ['client-allowed'] });
    expect(client.allowedProviders).toEqual([{ slug: 'client-allowed' }]);
    const bad = await gql(
      t.graphqlUrl,
      CreateClient,
      { input: { name: 'bad-scope', allowedProviders: ['nope'] } },
      admin,
    );
    expect(bad.data?.createClient).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'allowedProviders', '0'] }],
    });
    const dup = await gql(t.graphqlUrl, CreateClient, { input: { name: 'scoped' } }, admin);
    expect(dup.data?.createClient).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'name'] }],
    });
    const empty = await gql(t.graphqlUrl, CreateClient, { input: { name: ' ' } }, admin);
    expect(empty.data?.createClient.__typename).toBe('ValidationError');
  });

  it('rotates a key: the old one stops working at once, the new one works', async () => {
    const { key: oldKey, client } = await createClient('rotating');
    const rotated = await gql(t.graphqlUrl, RotateClientKey, { id: client.id }, admin);
    const payload = rotated.data?.rotateClientKey;
    if (payload?.__typename !== 'ClientKeyPayload') throw new Error(JSON.stringify(rotated));
    issuedKeys.push(payload.key);
    expect(payload.key).not.toBe(oldKey);
    await t.app.services.clientCache.reload();
    expect(t.app.services.clientCache.authenticate(oldKey)).toBeUndefined();
    expect(t.app.services.clientCache.authenticate(payload.key)?.id).toBe(client.id);
  });

  it('audits every client operation, without the key', async () => {
    const { key, client } = await createClient('audited');
    await gql(t.graphqlUrl, RotateClientKey, { id: client.id }, admin);
    await gql(t.graphqlUrl, RevokeClient, { id: client.id }, admin);
    const again = await gql(t.graphqlUrl, RevokeClient, { id: client.id }, admin);
    expect(again.data?.revokeClient.__typename).toBe('ConflictError');
    const missing = await gql(
      t.graphqlUrl,
      RevokeClient,
      { id: '00000000-0000-4000-8000-000000000000' },
      admin,
    );
    expect(missing.data?.revokeClient.__typename).toBe('NotFoundError');
    const audit = await gql(t.graphqlUrl, AuditLog, { first: 10, filter: { targetId: client.id } }, admin);
    expect(audit.data?.auditLog.edges.map((e) => e.node.action)).toEqual([
      'client.revoke',
      'client.rotate_key',
      'client.create',
    ]);
    expect(audit.data?.auditLog.edges.every((e) => e.node.actor === 'client-admin')).toBe(true);
    expect(JSON.stringify(audit)).not.toContain(key);
  });

  it('only admins manage clients', async () => {
    const viewer = await t.token('viewer');
    const attempt = await gql(t.graphqlUrl, CreateClient, { input: { name: 'sneaky' } }, viewer);
    expect(attempt.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('client revocation across replicas', () => {
  it('a key revoked on one replica is refused by another within one second (shared Redis and PostgreSQL)', async () => {
    const redisUrl = inject('redisUrl');
    expect(redisUrl, 'redis-server is needed for this test').not.toBe('');
    const databaseUrl = await createDatabase();
    const [a, b] = await Promise.all([
      startTestApp({
        databaseUrl,
        env: { REDIS_URL: redisUrl, TOLLGATE_CACHE_REFRESH_INTERVAL_MS: '600000' },
      }),
      startTestApp({
        databaseUrl,
        env: { REDIS_URL: redisUrl, TOLLGATE_CACHE_REFRESH_INTERVAL_MS: '600000' },
      }),
    ]);
    try {
      const token = await a.token('admin');
      const { key, client } = await createClient('two-replicas', {}, a, token);
      await expect
        .poll(() => b.app.services.clientCache.authenticate(key)?.id, { timeout: 1000, interval: 10 })
        .toBe(client.id);

      const revokedAt = Date.now();
      const revoked = await gql(a.graphqlUrl, RevokeClient, { id: client.id }, token);
      expect(revoked.data?.revokeClient).toMatchObject({ client: { status: 'REVOKED' } });
      await expect
        .poll(() => b.app.services.clientCache.authenticate(key), { timeout: 1000, interval: 5 })
        .toBeUndefined();
      console.log(`revocation reached the second replica in ${Date.now() - revokedAt} ms`);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
