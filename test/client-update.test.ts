import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from './documents.ts';
import { graphql } from './generated/index.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { call, createClient, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

const UpdateClient = graphql(`
  mutation UpdateClient($input: UpdateClientInput!) {
    updateClient(input: $input) {
      __typename
      ... on ClientPayload {
        client { id name version expiresAt allowedProviders { slug } rateLimit { points periodMs } }
      }
      ... on ValidationError { code fieldErrors { path message } }
      ... on VersionMismatchError { code currentVersion }
      ... on ConflictError { code message }
      ... on NotFoundError { code }
    }
  }
`);

const ClientVersion = graphql(`
  query ClientVersion($id: ID!) {
    client(id: $id) { version name allowedProviders { slug } rateLimit { points } }
  }
`);

let t: TestApp;
let upstream: Upstream;
let admin: string;

beforeAll(async () => {
  [t, upstream] = await Promise.all([startTestApp(), startUpstream({ kind: 'json', body: { ok: true } })]);
  admin = await t.token('admin', { subject: 'client-editor' });
});
afterAll(async () => {
  await upstream?.close();
  await t?.stop();
});

async function status(key: string, path: string): Promise<number | string> {
  const response = await call(t, key, path);
  if (response.ok) return response.status;
  return ((await response.json()) as { error: { code: string } }).error.code;
}

async function versionOf(id: string): Promise<number> {
  const result = await gql(t.graphqlUrl, ClientVersion, { id }, admin);
  return result.data?.client?.version ?? -1;
}

describe('updateClient', () => {
  it('changes the providers a client may call, at once for the proxy, keeping its key; null allows all again', async () => {
    const a = await setUpProvider(t, upstream.url);
    const b = await setUpProvider(t, upstream.url);
    const client = await createClient(t, { allowedProviders: [a.slug] });
    expect(await status(client.key, `${b.slug}/x`)).toBe('PROVIDER_NOT_FOUND');

    const moved = await gql(
      t.graphqlUrl,
      UpdateClient,
      { input: { id: client.id, version: await versionOf(client.id), allowedProviders: [b.slug] } },
      admin,
    );
    const payload = moved.data?.updateClient;
    expect(payload?.__typename).toBe('ClientPayload');
    if (payload?.__typename !== 'ClientPayload') return;
    expect(payload.client.allowedProviders?.map((p) => p.slug)).toEqual([b.slug]);
    await expect.poll(() => status(client.key, `${b.slug}/x`)).toBe(200);
    await expect.poll(() => status(client.key, `${a.slug}/x`)).toBe('PROVIDER_NOT_FOUND');

    const all = await gql(
      t.graphqlUrl,
      UpdateClient,
      { input: { id: client.id, version: payload.client.version, allowedProviders: null } },
      admin,
    );
    expect(all.data?.updateClient).toMatchObject({ client: { allowedProviders: null } });
    await expect.poll(() => status(client.key, `${a.slug}/x`)).toBe(200);

    const audit = await gql(
      t.graphqlUrl,
      AuditLog,
      { first: 5, filter: { action: 'client.update', targetId: client.id } },
      admin,
    );
    expect(audit.data?.auditLog.edges.length).toBe(2);
  });

  it('sets and removes a rate limit and renames, leaving out what is not sent', async () => {
    const client = await createClient(t, { name: 'rename-me' });
    const limited = await gql(
      t.graphqlUrl,
      UpdateClient,
      {
        input: {
          id: client.id,
          version: await versionOf(client.id),
          rateLimit: { points: 5, periodMs: 1000 },
        },
      },
      admin,
    );
    expect(limited.data?.updateClient).toMatchObject({
      client: { name: 'rename-me', rateLimit: { points: 5 } },
    });
    const renamed = await gql(
      t.graphqlUrl,
      UpdateClient,
      { input: { id: client.id, version: await versionOf(client.id), name: 'renamed', rateLimit: null } },
      admin,
    );
    expect(renamed.data?.updateClient).toMatchObject({ client: { name: 'renamed', rateLimit: null } });
  });

  it('refuses a stale version, an unknown provider, a revoked client and a non-admin, changing nothing', async () => {
    const client = await createClient(t);
    const version = await versionOf(client.id);
    await gql(
      t.graphqlUrl,
      UpdateClient,
      { input: { id: client.id, version, name: `first-${client.id}` } },
      admin,
    );

    const stale = await gql(
      t.graphqlUrl,
      UpdateClient,
      { input: { id: client.id, version, name: 'second' } },
      admin,
    );
    expect(stale.data?.updateClient).toEqual({
      __typename: 'VersionMismatchError',
      code: 'VERSION_MISMATCH',
      currentVersion: version + 1,
    });

    const unknown = await gql(
      t.graphqlUrl,
      UpdateClient,
      { input: { id: client.id, version: version + 1, allowedProviders: ['no-such-provider'] } },
      admin,
    );
    expect(unknown.data?.updateClient).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [
        { path: ['input', 'allowedProviders', '0'], message: 'provider "no-such-provider" does not exist' },
      ],
    });

    const operator = await t.token('operator');
    const forbidden = await gql(
      t.graphqlUrl,
      UpdateClient,
      { input: { id: client.id, version: version + 1, name: 'by-operator' } },
      operator,
    );
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const after = await gql(t.graphqlUrl, ClientVersion, { id: client.id }, admin);
    expect(after.data?.client).toMatchObject({
      version: version + 1,
      name: `first-${client.id}`,
      allowedProviders: null,
    });

    await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query: `mutation { revokeClient(id: "${client.id}") { __typename } }` }),
    });
    const revoked = await gql(
      t.graphqlUrl,
      UpdateClient,
      { input: { id: client.id, version: await versionOf(client.id), name: 'revived' } },
      admin,
    );
    expect(revoked.data?.updateClient).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
  });
});
