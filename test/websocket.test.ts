import { randomBytes } from 'node:crypto';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  CreateProvider,
  DeleteProvider,
  GetProvider,
  ProviderChanged,
  SetProviderEnabled,
  UpdateProvider,
  Viewer,
} from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { gql, gqlWs, wsClient, wsUrl } from './helpers/graphql.ts';

let t: TestApp;
let admin: string;
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.token('admin', { subject: 'ws-admin' });
});
afterAll(() => t?.stop());

/** Opens a raw graphql-ws socket and returns the close code the server answers `init` with. */
function closeCodeFor(connectionParams: Record<string, unknown> | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl(t.graphqlUrl), 'graphql-transport-ws');
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: connectionParams })),
    );
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'connection_ack') resolve(0);
    });
    socket.on('close', (code) => resolve(code));
    socket.on('error', reject);
  });
}

describe('GraphQL over WebSocket (graphql-ws)', () => {
  it('runs the whole provider lifecycle with an admin token', async () => {
    const client = wsClient(t.graphqlUrl, admin);
    try {
      const slug = unique('ws');
      const created = await gqlWs(client, CreateProvider, {
        input: { slug, name: 'Over WS', baseUrl: 'https://api.example.com' },
      });
      expect(created.data?.createProvider).toMatchObject({
        __typename: 'ProviderPayload',
        provider: { slug, version: 1 },
      });
      const updated = await gqlWs(client, UpdateProvider, { input: { slug, version: 1, timeoutMs: 5000 } });
      expect(updated.data?.updateProvider).toMatchObject({ provider: { timeoutMs: 5000, version: 2 } });
      const disabled = await gqlWs(client, SetProviderEnabled, { slug, enabled: false });
      expect(disabled.data?.setProviderEnabled).toMatchObject({ provider: { enabled: false } });
      const read = await gqlWs(client, GetProvider, { slug });
      expect(read.data?.provider).toMatchObject({ slug, enabled: false, timeoutMs: 5000 });
      const invalid = await gqlWs(client, CreateProvider, {
        input: { slug: 'Bad Slug', name: 'x', baseUrl: 'https://a.example' },
      });
      expect(invalid.data?.createProvider).toMatchObject({ __typename: 'ValidationError' });
      const deleted = await gqlWs(client, DeleteProvider, { slug });
      expect(deleted.data?.deleteProvider).toMatchObject({ __typename: 'DeleteProviderPayload', slug });
      expect((await gqlWs(client, GetProvider, { slug })).data?.provider).toBeNull();
    } finally {
      await client.dispose();
    }
  });

  it('refuses mutations to a viewer with FORBIDDEN, as over HTTP', async () => {
    const client = wsClient(t.graphqlUrl, await t.token('viewer'));
    try {
      const result = await gqlWs(client, CreateProvider, {
        input: { slug: unique('nope'), name: 'x', baseUrl: 'https://a.example' },
      });
      expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await gqlWs(client, Viewer, {})).data?.viewer.role).toBe('VIEWER');
    } finally {
      await client.dispose();
    }
  });

  it('closes a connection that presents an invalid token with 4403', async () => {
    expect(await closeCodeFor({ authorization: 'Bearer not-a-token' })).toBe(4403);
    expect(await closeCodeFor({ authorization: 'Basic dXNlcjpwYXNz' })).toBe(4403);
    expect(await closeCodeFor({ Authorization: `Bearer ${admin}` })).toBe(0);
  });

  it('on a connection without a token, authorises each operation by its own headers (as GraphiQL sends them)', async () => {
    const client = wsClient(t.graphqlUrl);
    try {
      const anonymous = await gqlWs(client, Viewer, {});
      expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const iterator = client.iterate({
        query: print(Viewer),
        extensions: {
          headers: { authorization: `Bearer ${await t.token('operator', { subject: 'graphiql-user' })}` },
        },
      });
      const result = (await iterator.next()).value;
      await iterator.return?.();
      expect(result?.data).toEqual({
        viewer: expect.objectContaining({ subject: 'graphiql-user', role: 'OPERATOR' }),
      });
      const forged = client.iterate({
        query: print(Viewer),
        extensions: { headers: { authorization: 'Bearer forged' } },
      });
      expect((await forged.next()).value?.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      await forged.return?.();
    } finally {
      await client.dispose();
    }
  });

  it('closes a connection when its token expires, with 4401', async () => {
    const shortLived = await t.token('viewer', { ttlSeconds: 1 });
    const code = await new Promise<number>((resolve) => {
      const socket = new WebSocket(wsUrl(t.graphqlUrl), 'graphql-transport-ws');
      socket.on('open', () =>
        socket.send(
          JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${shortLived}` } }),
        ),
      );
      socket.on('close', (c) => resolve(c));
    });
    expect(code).toBe(4401);
  });

  it('streams providerChanged events caused by HTTP mutations to a WebSocket subscriber', async () => {
    const slug = unique('sub');
    const client = wsClient(t.graphqlUrl, await t.token('viewer'));
    const events: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const unsubscribe = client.subscribe(
        { query: print(ProviderChanged), variables: { slug } },
        {
          next: (value) => {
            events.push(value.data?.providerChanged);
            if (events.length === 2) {
              unsubscribe();
              resolve();
            }
          },
          error: reject,
          complete: () => resolve(),
        },
      );
    });
    // Give the subscription a moment to be registered before the first event.
    await new Promise((r) => setTimeout(r, 200));
    await gql(
      t.graphqlUrl,
      CreateProvider,
      { input: { slug: unique('other'), name: 'other', baseUrl: 'https://a.example' } },
      admin,
    );
    await gql(
      t.graphqlUrl,
      CreateProvider,
      { input: { slug, name: 'watched', baseUrl: 'https://a.example' } },
      admin,
    );
    await gql(t.graphqlUrl, SetProviderEnabled, { slug, enabled: false }, admin);
    await done;
    await client.dispose();
    // `provider` is resolved when the event is delivered, so it shows the provider as it is then.
    expect(events).toEqual([
      expect.objectContaining({ change: 'CREATED', slug, actor: 'ws-admin' }),
      { change: 'UPDATED', slug, actor: 'ws-admin', provider: { slug, enabled: false, version: 2 } },
    ]);
  });

  it('also streams subscriptions over SSE, authorised at subscribe time', async () => {
    const slug = unique('sse');
    const viewer = await t.token('viewer');
    const controller = new AbortController();
    const response = await fetch(t.graphqlUrl, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${viewer}`,
      },
      body: JSON.stringify({ query: print(ProviderChanged), variables: { slug } }),
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await new Promise((r) => setTimeout(r, 200));
    await gql(
      t.graphqlUrl,
      CreateProvider,
      { input: { slug, name: 'sse', baseUrl: 'https://a.example' } },
      admin,
    );
    let text = '';
    while (!text.includes('"change":"CREATED"')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    expect(text).toContain(`"slug":"${slug}"`);

    const anonymous = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: print(ProviderChanged) }),
    });
    expect(await anonymous.text()).toContain('UNAUTHENTICATED');
  });
});
