import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { wsClient } from './helpers/graphql.ts';

/**
 * Errors raised before any resolver runs (variables that do not coerce, validation): anonymous
 * callers learn nothing of the schema from them, and nobody gets graphql-js's suggestions, over
 * HTTP, SSE and WebSocket alike.
 */

type Body = { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };

const CREATE_PROVIDER = `mutation Create($input: CreateProviderInput!) {
  createProvider(input: $input) { __typename }
}`;
// A misspelt enum value and a misspelt field of a nested input, as a schema-mapper would send.
const BAD_PROVIDER = {
  input: {
    slug: 'mapped',
    name: 'mapped',
    baseUrl: 'https://example.com',
    kind: 'OPENAI_COMPATIBL',
    rateLimit: { pointz: 1, periodMs: 1000 },
  },
};
const EVENTS = `subscription Events($kinds: [GatewayEventKind!]) {
  gatewayEvents(kinds: $kinds) { __typename }
}`;
const BAD_EVENTS = { kinds: ['CIRCUIT_STAT'] };
// The same misspelling as a literal: a validation error.
const LITERAL_ENUM = '{ usage(range: LAST_DA) { __typename } }';

/** What a schema-mapper would look for in an answer. */
const SCHEMA_WORDS =
  /CreateProviderInput|RateLimitPolicyInput|ProviderKind|GatewayEventKind|OPENAI_COMPATIBLE|CIRCUIT_STATE|points|Did you mean/;

const anonymousError = [
  expect.objectContaining({
    message: 'Authentication required: send Authorization: Bearer <token>.',
    extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }),
  }),
];

async function overHttp(url: string, query: string, variables: unknown, token?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as Body };
}

/** The results an SSE answer carried (its `next` events). */
async function overSse(url: string, query: string, variables: unknown, token?: string): Promise<Body[]> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line.length > 'data: '.length + 2)
    .map((line) => JSON.parse(line.slice('data: '.length)) as Body);
}

/** The first result of an operation over graphql-ws; an `error` message comes back as { errors }. */
async function overWs(url: string, query: string, variables: unknown, token?: string): Promise<Body> {
  const client = wsClient(url, token);
  try {
    const iterator = client.iterate({ query, variables: variables as Record<string, unknown> });
    const first = await iterator.next();
    await iterator.return?.();
    return first.value as Body;
  } catch (error) {
    return { errors: error as Body['errors'] };
  } finally {
    await client.dispose();
  }
}

describe('errors before execution', () => {
  let t: TestApp;
  let viewer: string;
  let admin: string;
  beforeAll(async () => {
    t = await startTestApp();
    viewer = await t.token('viewer');
    admin = await t.token('admin');
  });
  afterAll(() => t?.stop());

  it('tell an anonymous caller only UNAUTHENTICATED when its variables do not coerce, over HTTP, SSE and WebSocket', async () => {
    for (const [query, variables] of [
      [CREATE_PROVIDER, BAD_PROVIDER],
      [EVENTS, BAD_EVENTS],
    ] as const) {
      for (const token of [undefined, 'forged.token.value']) {
        const http = await overHttp(t.graphqlUrl, query, variables, token);
        expect(http.status, query).toBe(401);
        expect(http.body.errors, query).toEqual(anonymousError);
        expect(JSON.stringify(http.body)).not.toMatch(SCHEMA_WORDS);

        const sse = await overSse(t.graphqlUrl, query, variables, token);
        expect(sse.length, query).toBeGreaterThan(0);
        for (const result of sse) expect(result.errors, query).toEqual(anonymousError);
        expect(JSON.stringify(sse)).not.toMatch(SCHEMA_WORDS);
      }
      const ws = await overWs(t.graphqlUrl, query, variables);
      expect(ws.errors, query).toEqual(anonymousError);
      expect(JSON.stringify(ws)).not.toMatch(SCHEMA_WORDS);
    }
  });

  it('tell a viewer what is wrong with its variables, without suggestions, over HTTP, SSE and WebSocket', async () => {
    for (const [query, variables, expected] of [
      [CREATE_PROVIDER, BAD_PROVIDER, /OPENAI_COMPATIBL|pointz/],
      [EVENTS, BAD_EVENTS, /CIRCUIT_STAT/],
    ] as const) {
      for (const token of [viewer, admin]) {
        const http = await overHttp(t.graphqlUrl, query, variables, token);
        expect(http.body.errors?.length, query).toBeGreaterThan(0);
        expect(http.body.errors?.[0]?.message).toMatch(expected);
        expect(JSON.stringify(http.body)).not.toMatch(/Did you mean|Suggestion/);

        const sse = await overSse(t.graphqlUrl, query, variables, token);
        expect(sse[0]?.errors?.[0]?.message, query).toMatch(expected);
        expect(JSON.stringify(sse)).not.toMatch(/Did you mean|Suggestion/);
      }
      const ws = await overWs(t.graphqlUrl, query, variables, viewer);
      expect(ws.errors?.[0]?.message, query).toMatch(expected);
      expect(JSON.stringify(ws)).not.toMatch(/Did you mean|Suggestion/);
    }
  });

  it('send no enum suggestion in validation errors either, over HTTP, SSE and WebSocket', async () => {
    const http = await overHttp(t.graphqlUrl, LITERAL_ENUM, undefined, viewer);
    expect(http.body.errors?.[0]?.message).toMatch(/LAST_DA/);
    expect(JSON.stringify(http.body)).not.toMatch(/Did you mean|LAST_DAY/);
    const sse = await overSse(t.graphqlUrl, LITERAL_ENUM, undefined, viewer);
    expect(sse[0]?.errors?.[0]?.message).toMatch(/LAST_DA/);
    expect(JSON.stringify(sse)).not.toMatch(/Did you mean|LAST_DAY/);
    const ws = await overWs(t.graphqlUrl, LITERAL_ENUM, undefined, viewer);
    expect(JSON.stringify(ws)).toMatch(/LAST_DA/);
    expect(JSON.stringify(ws)).not.toMatch(/Did you mean|LAST_DAY/);
    // Anonymous: nothing but UNAUTHENTICATED, on every transport.
    expect((await overHttp(t.graphqlUrl, LITERAL_ENUM, undefined)).body.errors).toEqual(anonymousError);
    expect((await overSse(t.graphqlUrl, LITERAL_ENUM, undefined))[0]?.errors).toEqual(anonymousError);
    expect((await overWs(t.graphqlUrl, LITERAL_ENUM, undefined)).errors).toEqual(anonymousError);
  });

  it('still run a well-formed operation for a caller with a token', async () => {
    const ok = await overHttp(t.graphqlUrl, '{ viewer { role } }', undefined, viewer);
    expect(ok.body).toEqual({ data: { viewer: { role: 'VIEWER' } } });
  });
});
