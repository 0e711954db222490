import { randomBytes } from 'node:crypto';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateProvider, ProviderChanged, Viewer } from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { gql, wsClient } from './helpers/graphql.ts';

/** A subscription ends when the token that authorised it expires: over SSE and per WebSocket operation. */

const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/** When a token minted with `ttlSeconds` expires (its exp is whole seconds). */
function expiryOf(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
  return payload.exp * 1000;
}

async function waitPast(instant: number) {
  const wait = instant - Date.now() + 300;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

describe('subscriptions and token expiry', () => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await t.token('admin');
  });
  afterAll(() => t?.stop());

  const createProvider = (slug: string) =>
    gql(t.graphqlUrl, CreateProvider, { input: { slug, name: slug, baseUrl: 'https://a.example' } }, admin);

  it('ends an SSE subscription with UNAUTHENTICATED when its token expires, and sends nothing after', async () => {
    const shortLived = await t.token('viewer', { ttlSeconds: 4 });
    const [before, after] = [unique('before'), unique('after')];
    // Only a safety net: the stream must end by itself once the token has expired.
    const controller = new AbortController();
    const response = await fetch(t.graphqlUrl, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${shortLived}`,
      },
      body: JSON.stringify({ query: print(ProviderChanged) }),
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let text = '';
    let ended = false;
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      ended = true;
    })().catch(() => undefined);
    await new Promise((r) => setTimeout(r, 200));
    await createProvider(before);
    await waitPast(expiryOf(shortLived));
    await createProvider(after);
    const safety = setTimeout(() => controller.abort(), 10_000);
    await reading;
    clearTimeout(safety);

    expect(text).toContain(`"slug":"${before}"`);
    expect(ended, 'the stream stayed open after its token expired').toBe(true);
    expect(text).toContain('"code":"UNAUTHENTICATED"');
    expect(text).not.toContain(after);
  });

  it('ends a WebSocket operation authorised by its own headers when that token expires, and keeps the connection', async () => {
    const longLived = await t.token('viewer', { ttlSeconds: 600, subject: 'long' });
    const shortLived = await t.token('viewer', { ttlSeconds: 4, subject: 'short' });
    const [before, after] = [unique('before'), unique('after')];
    const client = wsClient(t.graphqlUrl); // no connection token: GraphiQL's way
    try {
      // A long-lived operation first, so the connection (and its first token) stays.
      let longEnded = false;
      client.subscribe(
        {
          query: print(ProviderChanged),
          variables: { slug: unique('quiet') },
          extensions: { headers: { authorization: `Bearer ${longLived}` } },
        },
        { next: () => undefined, error: () => (longEnded = true), complete: () => (longEnded = true) },
      );
      await new Promise((r) => setTimeout(r, 200));

      const received: unknown[] = [];
      const completed = new Promise<string>((resolve) => {
        client.subscribe(
          {
            query: print(ProviderChanged),
            extensions: { headers: { authorization: `Bearer ${shortLived}` } },
          },
          {
            next: (value) => received.push(value),
            error: (error) => resolve(`error ${(error as { code?: number }).code}`),
            complete: () => resolve('completed'),
          },
        );
      });
      await new Promise((r) => setTimeout(r, 200));
      await createProvider(before);
      await waitPast(expiryOf(shortLived));
      await createProvider(after);
      const outcome = await Promise.race([
        completed,
        new Promise((r) => setTimeout(() => r('still running'), 10_000)),
      ]);

      expect(outcome).toBe('completed');
      expect(JSON.stringify(received)).toContain(before);
      expect(JSON.stringify(received)).not.toContain(after);
      expect(received.at(-1)).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
      // The connection and the operation with a valid token go on.
      expect(longEnded).toBe(false);
      const again = client.iterate({
        query: print(Viewer),
        extensions: { headers: { authorization: `Bearer ${longLived}` } },
      });
      expect((await again.next()).value?.data).toMatchObject({ viewer: { subject: 'long' } });
      await again.return?.();
    } finally {
      await client.dispose();
    }
  });

  it('ends a subscription on a connection token at that token expiry too (the connection closes with 4401)', async () => {
    const shortLived = await t.token('viewer', { ttlSeconds: 3 });
    const client = wsClient(t.graphqlUrl, shortLived);
    try {
      const ended = new Promise<string>((resolve) => {
        client.subscribe(
          { query: print(ProviderChanged) },
          {
            next: () => undefined,
            error: (error) => resolve(`error ${(error as { code?: number }).code ?? JSON.stringify(error)}`),
            complete: () => resolve('completed'),
          },
        );
      });
      await waitPast(expiryOf(shortLived));
      const outcome = await Promise.race([
        ended,
        new Promise((r) => setTimeout(() => r('still running'), 10_000)),
      ]);
      expect(outcome).not.toBe('still running');
    } finally {
      await client.dispose();
    }
  });
});
