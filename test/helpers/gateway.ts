import { randomBytes } from 'node:crypto';
import { AddProviderKey, CreateClient, CreateProvider } from '../documents.ts';
import type { CreateProviderInput } from '../generated/graphql.ts';
import type { TestApp } from './app.ts';
import { fromGlobalId, gql } from './graphql.ts';

/** Sets up, through GraphQL as an operator would, a provider in front of a local upstream, its keys and a client. */
export async function setUpProvider(
  t: TestApp,
  upstreamUrl: string,
  options: { input?: Partial<CreateProviderInput>; keys?: string[]; slug?: string } = {},
): Promise<{ slug: string; id: string; keyIds: string[] }> {
  const admin = await t.token('admin');
  const slug = options.slug ?? `up-${randomBytes(4).toString('hex')}`;
  const created = await gql(
    t.graphqlUrl,
    CreateProvider,
    { input: { slug, name: slug, baseUrl: upstreamUrl, allowPrivateNetwork: true, ...options.input } },
    admin,
  );
  const payload = created.data?.createProvider;
  if (payload?.__typename !== 'ProviderPayload') throw new Error(JSON.stringify(created));
  const keyIds: string[] = [];
  for (const [i, secret] of (options.keys ?? [`sk-upstream-${randomBytes(12).toString('hex')}`]).entries()) {
    const added = await gql(
      t.graphqlUrl,
      AddProviderKey,
      { input: { provider: slug, secret, label: `key-${i}` } },
      admin,
    );
    const key = added.data?.addProviderKey;
    if (key?.__typename !== 'ProviderKeyPayload') throw new Error(JSON.stringify(added));
    keyIds.push(key.key.id);
  }
  await t.app.services.keyRing.reload();
  await t.app.services.providerCache.reload();
  return { slug, id: fromGlobalId(payload.provider.id), keyIds };
}

/** Creates a client and returns its key. */
export async function createClientKey(t: TestApp, extra: Record<string, unknown> = {}): Promise<string> {
  return (await createClient(t, extra)).key;
}

/** Creates a client and returns its id and key. */
export async function createClient(
  t: TestApp,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; key: string }> {
  const admin = await t.token('admin');
  const result = await gql(
    t.graphqlUrl,
    CreateClient,
    { input: { name: `app-${randomBytes(4).toString('hex')}`, ...extra } },
    admin,
  );
  const payload = result.data?.createClient;
  if (payload?.__typename !== 'ClientKeyPayload') throw new Error(JSON.stringify(result));
  await t.app.services.clientCache.reload();
  return { id: payload.client.id, key: payload.key };
}

/** Calls the proxy with a client key. */
export function call(t: TestApp, clientKey: string, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${t.url}/proxy/${path.replace(/^\//, '')}`, {
    ...init,
    headers: { authorization: `Bearer ${clientKey}`, ...(init.headers as Record<string, string>) },
  });
}

/**
 * Makes a replica see at once what another replica just configured (events would reach it within
 * milliseconds; tests should not depend on that timing unless that is what they test).
 */
export async function refreshCaches(t: TestApp): Promise<void> {
  await Promise.all([
    t.app.services.providerCache.reload(),
    t.app.services.keyRing.reload(),
    t.app.services.clientCache.reload(),
  ]);
}
