import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startReplicas, startTestApp, type TestApp } from './helpers/app.ts';
import { wsClient } from './helpers/graphql.ts';
import { upgradeStatus } from './helpers/raw-ws.ts';

/** Per-caller rate limits on the GraphQL API and the stricter limit on refused tokens per IP. */

type Body = { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };

async function query(url: string, token?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: (await response.json()) as Body,
  };
}

describe('GraphQL rate limits (5 calls a minute per caller, 3 refused tokens per address)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      env: {
        TOLLGATE_GRAPHQL_RATE_LIMIT: '5',
        TOLLGATE_GRAPHQL_RATE_WINDOW_S: '60',
        TOLLGATE_AUTH_FAILURE_LIMIT: '3',
        TOLLGATE_AUTH_FAILURE_WINDOW_S: '60',
      },
    });
  });
  afterAll(() => t?.stop());

  it('refuses an operator past its limit with 429, Retry-After and RATE_LIMITED; other operators carry on', async () => {
    const alice = await t.token('viewer', { subject: 'alice' });
    for (let i = 0; i < 5; i++) expect((await query(t.graphqlUrl, alice)).status).toBe(200);
    const refused = await query(t.graphqlUrl, alice);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused.body.errors?.[0]?.message).toMatch(/Too many requests: retry in \d+ s\./);
    // The limit follows the subject, not the token: a fresh token for alice is refused too.
    expect((await query(t.graphqlUrl, await t.token('admin', { subject: 'alice' }))).status).toBe(429);
    expect((await query(t.graphqlUrl, await t.token('viewer', { subject: 'bob' }))).status).toBe(200);
  });

  it('counts WebSocket operations against the same limit', async () => {
    const carol = await t.token('viewer', { subject: 'carol' });
    for (let i = 0; i < 3; i++) expect((await query(t.graphqlUrl, carol)).status).toBe(200);
    const client = wsClient(t.graphqlUrl, carol);
    try {
      // graphql-ws sends a refused operation as an `error` message: iterate() rejects with its errors.
      const run = () =>
        client
          .iterate({ query: '{ __typename }' })
          .next()
          .then(
            (r) => r.value as Body,
            (errors: Body['errors']) => ({ errors }),
          );
      const results: Body[] = [await run(), await run(), await run()];
      expect(results.slice(0, 2)).toEqual([
        { data: { __typename: 'Query' } },
        { data: { __typename: 'Query' } },
      ]);
      expect(results[2]?.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      expect(results[2]?.errors?.[0]?.message).toMatch(/Too many requests/);
    } finally {
      await client.dispose();
    }
  });

  it('limits anonymous callers by address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await query(t.graphqlUrl)).status);
    expect(statuses.slice(0, 5).every((s) => s === 200)).toBe(true);
    expect(statuses[5]).toBe(429);
    // An operator from the same address is counted on its own.
    expect((await query(t.graphqlUrl, await t.token('viewer', { subject: 'dave' }))).status).toBe(200);
  });

  it('does not count expired tokens (signed by us, not guessed) as failed attempts', async () => {
    for (let i = 0; i < 5; i++) {
      const expired = await t.token('viewer', { subject: 'frank', ttlSeconds: -60 - i });
      const result = await query(t.graphqlUrl, expired);
      // UNAUTHENTICATED (or 429: this address's anonymous allowance was spent above).
      expect(result.body.errors?.[0]?.extensions?.code).toMatch(/^(UNAUTHENTICATED|RATE_LIMITED)$/);
      expect(result.body.errors?.[0]?.message).not.toMatch(/failed authentication/);
    }
    expect((await query(t.graphqlUrl, await t.token('viewer', { subject: 'frank' }))).status).toBe(200);
  });

  it('after 3 refused tokens, refuses every token from that address (even a valid one), over HTTP and WebSocket', async () => {
    const erin = await t.token('viewer', { subject: 'erin' });
    for (let i = 0; i < 3; i++) {
      // UNAUTHENTICATED (or 429 here: the address's anonymous allowance was spent above).
      const refused = await query(t.graphqlUrl, `forged-${i}.token.x`);
      expect(refused.body.errors?.[0]?.extensions?.code).toMatch(/^(UNAUTHENTICATED|RATE_LIMITED)$/);
    }
    const blocked = await query(t.graphqlUrl, erin);
    expect(blocked.status).toBe(429);
    expect(blocked.retryAfter).toMatch(/^\d+$/);
    expect(blocked.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(blocked.body.errors?.[0]?.message).toMatch(/failed authentication attempts/);
    const upgrade = await upgradeStatus(t.graphqlUrl);
    expect(upgrade.status).toBe(429);
    expect(upgrade.headers['retry-after']).toMatch(/^\d+$/);
    expect(JSON.parse(upgrade.body).errors[0].extensions.code).toBe('RATE_LIMITED');
  });
});

describe('GraphQL rate limits shared by two replicas through Redis', () => {
  const redisUrl = inject('redisUrl');
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    if (!redisUrl) return;
    ({ a, b } = await startReplicas({
      REDIS_URL: redisUrl,
      TOLLGATE_GRAPHQL_RATE_LIMIT: '4',
      TOLLGATE_GRAPHQL_RATE_WINDOW_S: '60',
    }));
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it.skipIf(!redisUrl)('counts one operator once across replicas', async () => {
    const subject = `shared-${Date.now()}`;
    const token = await a.token('viewer', { subject });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await query(a.graphqlUrl, token)).status);
    for (let i = 0; i < 2; i++) statuses.push((await query(b.graphqlUrl, token)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
  });
});
