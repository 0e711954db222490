import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, CreateClient, CreateProvider, GetProvider, ImportConfig, Viewer } from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { gql } from './helpers/graphql.ts';

/**
 * PostgreSQL text holds neither NUL nor half a surrogate pair. Such strings are refused where
 * they enter, as validation errors naming the field: never "Unexpected error." and never "the
 * database is unavailable".
 */
let t: TestApp;
let admin: string;
let viewer: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.token('admin');
  viewer = await t.token('viewer');
});
afterAll(() => t?.stop());

const BAD = [
  ['NUL', 'a\u0000b', /NUL/],
  ['a lone high surrogate', '\ud800x', /surrogate/],
  ['a lone low surrogate', 'c\udfff', /surrogate/],
] as const;

describe('strings PostgreSQL cannot store', () => {
  it.each(BAD)('createProvider refuses %s in the name, in the result union', async (_what, text, message) => {
    const input = {
      slug: `txt-${Math.random().toString(16).slice(2, 8)}`,
      name: text,
      baseUrl: 'https://api.example.com',
    };
    const result = await gql(t.graphqlUrl, CreateProvider, { input }, admin);
    expect(result.errors).toBeUndefined();
    const payload = result.data?.createProvider;
    expect(payload?.__typename).toBe('ValidationError');
    if (payload?.__typename !== 'ValidationError') return;
    expect(payload.fieldErrors).toEqual([
      { path: ['input', 'name'], message: expect.stringMatching(message) },
    ]);
    expect((await gql(t.graphqlUrl, GetProvider, { slug: input.slug }, admin)).data?.provider).toBeNull();
  });

  it.each(BAD)('createClient refuses %s in the name', async (_what, text, message) => {
    const result = await gql(t.graphqlUrl, CreateClient, { input: { name: text } }, admin);
    expect(result.errors).toBeUndefined();
    const payload = result.data?.createClient;
    expect(payload?.__typename).toBe('ValidationError');
    if (payload?.__typename !== 'ValidationError') return;
    expect(payload.fieldErrors).toEqual([
      { path: ['input', 'name'], message: expect.stringMatching(message) },
    ]);
  });

  it.each(BAD)('a viewer query with %s gets a validation error, not an outage', async (_what, text) => {
    const provider = await gql(t.graphqlUrl, GetProvider, { slug: text }, viewer);
    expect(provider.data?.provider ?? null).toBeNull();
    expect(provider.errors).toHaveLength(1);
    expect(provider.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_FAILED',
      fieldErrors: [{ path: ['slug'] }],
    });

    const audit = await gql(t.graphqlUrl, AuditLog, { filter: { actor: text } }, viewer);
    expect(audit.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_FAILED',
      fieldErrors: [{ path: ['filter', 'actor'] }],
    });
  });

  it('an inline literal is checked like a variable', async () => {
    const response = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${viewer}` },
      body: JSON.stringify({ query: '{ provider(slug: "a\\u0000b") { slug } }' }),
    });
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(body.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });

  it('importConfig refuses NUL written as a YAML escape', async () => {
    const document = 'clients:\n  - name: "a\\0b"\n';
    const result = await gql(t.graphqlUrl, ImportConfig, { document, dryRun: false }, admin);
    expect(result.errors).toBeUndefined();
    const payload = result.data?.importConfig;
    expect(payload?.__typename).toBe('ValidationError');
    if (payload?.__typename !== 'ValidationError') return;
    expect(payload.fieldErrors.map((e) => e.path)).toContainEqual(['document', 'clients', '0', 'name']);
  });

  it('a token whose subject holds NUL is refused as unauthenticated', async () => {
    const token = await t.token('admin', { subject: 'ops\u0000\ud800' });
    const result = await gql(t.graphqlUrl, Viewer, {}, token);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
