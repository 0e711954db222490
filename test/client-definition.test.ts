import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  CLIENT_SETTINGS,
  type ClientSetting,
  type ClientSpec,
} from '../src/modules/clients/client.validation.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { setUpProvider } from './helpers/gateway.ts';

// biome-ignore lint/suspicious/noExplicitAny: answers to documents given as text are read without generated types
type Loose = any;

/** Runs a GraphQL document given as text (introspection and whole-client reads). */
async function post(
  t: TestApp,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ data?: Record<string, Loose>; errors?: unknown[] }> {
  const response = await fetch(t.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${await t.token('admin')}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: Record<string, Loose>; errors?: unknown[] };
}

const SETTINGS_SELECTION =
  'name allowedProviders { slug } rateLimit { points periodMs burst mode maxQueueWaitMs maxQueueSize } expiresAt';

/** A client's settings as GraphQL shows them, in the spec's terms (sorted slugs, ISO dates). */
function settingsOf(node: Record<string, Loose>): Record<string, unknown> {
  return {
    ...node,
    allowedProviders: node.allowedProviders
      ? node.allowedProviders.map((p: { slug: string }) => p.slug).sort()
      : null,
    expiresAt: node.expiresAt ? new Date(node.expiresAt).toISOString() : null,
  };
}

async function clientByName(t: TestApp, name: string) {
  const result = await post(
    t,
    `{ clients(first: 100) { edges { node { id version ${SETTINGS_SELECTION} } } } }`,
  );
  expect(result.errors).toBeUndefined();
  const node = result
    .data!.clients.edges.map((e: { node: Record<string, Loose> }) => e.node)
    .find((n: { name: string }) => n.name === name);
  expect(node, `client ${name}`).toBeDefined();
  const { id, version, ...settings } = node;
  return { id: id as string, version: version as number, settings: settingsOf(settings) };
}

/**
 * Every client setting set to something other than its default. Typed over every setting, so a
 * new one does not compile until it has a value here; the test then checks that it survives
 * every place a client passes through.
 */
function everySetting(slugs: string[]): { [K in ClientSetting]: NonNullable<ClientSpec[K]> } {
  return {
    name: `every-setting-${randomBytes(3).toString('hex')}`,
    allowedProviders: [...slugs].sort(),
    rateLimit: {
      points: 7,
      periodMs: 3_000,
      burst: 2,
      mode: 'QUEUE',
      maxQueueWaitMs: 1_500,
      maxQueueSize: 9,
    },
    expiresAt: new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000),
  };
}
const asInput = (spec: ReturnType<typeof everySetting>) => ({
  ...spec,
  expiresAt: spec.expiresAt.toISOString(),
});

describe('one definition of a client', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    [a, b] = await Promise.all([startTestApp(), startTestApp()]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('the fixture sets every client setting there is', () => {
    expect(Object.keys(everySetting([])).sort()).toEqual([...CLIENT_SETTINGS].sort());
  });

  it('createClient and updateClient take every setting', async () => {
    const result = await post(
      a,
      `{ create: __type(name: "CreateClientInput") { inputFields { name } }
         update: __type(name: "UpdateClientInput") { inputFields { name } } }`,
    );
    expect(result.errors).toBeUndefined();
    for (const input of ['create', 'update']) {
      const fields = result.data![input].inputFields.map((f: { name: string }) => f.name);
      expect(fields, input).toEqual(expect.arrayContaining([...CLIENT_SETTINGS]));
    }
  });

  it('a client with every setting keeps each one through createClient, updateClient, export, import into another Tollgate, and its client cache', async () => {
    const slugs: string[] = [];
    for (let i = 0; i < 2; i++) slugs.push((await setUpProvider(a, 'http://127.0.0.1:9', { keys: [] })).slug);
    const created = everySetting(slugs);
    const made = await post(
      a,
      'mutation C($input: CreateClientInput!) { createClient(input: $input) { __typename ... on ValidationError { fieldErrors { path message } } } }',
      { input: asInput(created) },
    );
    expect(made.data?.createClient).toEqual({ __typename: 'ClientKeyPayload' });
    const stored = await clientByName(a, created.name);
    expect(stored.settings).toEqual(asInput(created));

    // updateClient changes every setting.
    const wanted = {
      ...everySetting([slugs[0]!]),
      rateLimit: {
        points: 11,
        periodMs: 5_000,
        burst: 1,
        mode: 'REJECT',
        maxQueueWaitMs: 100,
        maxQueueSize: 3,
      },
    } as ReturnType<typeof everySetting>;
    const updated = await post(
      a,
      'mutation U($input: UpdateClientInput!) { updateClient(input: $input) { __typename ... on ValidationError { fieldErrors { path message } } } }',
      { input: { id: stored.id, version: stored.version, ...asInput(wanted) } },
    );
    expect(updated.data?.updateClient).toEqual({ __typename: 'ClientPayload' });
    expect((await clientByName(a, wanted.name)).settings).toEqual(asInput(wanted));

    // The export holds every setting, and nothing else.
    const exported = await post(a, '{ exportConfig }');
    const document = exported.data!.exportConfig as string;
    const entry = (parse(document) as { clients: Record<string, unknown>[] }).clients.find(
      (c) => c.name === wanted.name,
    );
    expect(Object.keys(entry!)).toEqual(CLIENT_SETTINGS);
    expect(entry).toEqual(asInput(wanted));

    // Imported back where it came from, nothing changes.
    const again = await post(
      a,
      'mutation I($d: String!) { importConfig(document: $d, dryRun: true) { ... on ImportConfigPayload { plan { section key action fields } } } }',
      { d: document },
    );
    expect(again.data!.importConfig.plan).toContainEqual({
      section: 'clients',
      key: wanted.name,
      action: 'UNCHANGED',
      fields: [],
    });

    // Imported into another Tollgate, the client has every setting, in GraphQL and in its cache.
    const imported = await post(
      b,
      'mutation I($d: String!) { importConfig(document: $d) { __typename ... on ImportConfigPayload { applied clientKeys { name value } } ... on ValidationError { fieldErrors { path message } } } }',
      { d: document },
    );
    expect(imported.data!.importConfig).toMatchObject({ __typename: 'ImportConfigPayload', applied: true });
    expect((await clientByName(b, wanted.name)).settings).toEqual(asInput(wanted));
    const key = imported.data!.importConfig.clientKeys.find(
      (k: { name: string }) => k.name === wanted.name,
    ).value;
    const cached = b.app.services.clientCache.authenticate(key);
    expect(cached).toMatchObject({
      name: wanted.name,
      allowedProviderIds: new Set([b.app.services.providerCache.bySlug(slugs[0]!)!.id]),
      rateLimit: wanted.rateLimit,
      expiresAt: wanted.expiresAt.getTime(),
    });
  });
});
