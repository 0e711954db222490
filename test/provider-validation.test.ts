import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogWithoutDetails, CreateProvider, GetProvider, UpdateProvider, Viewer } from './documents.ts';
import type { CreateProviderInput } from './generated/graphql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { gql } from './helpers/graphql.ts';

let t: TestApp;
let admin: string;
const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
const valid = (slug: string): CreateProviderInput => ({
  slug,
  name: 'Valid',
  baseUrl: 'https://api.example.com',
});

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.token('admin');
});
afterAll(() => t?.stop());

/** Each case: a change to a valid input, and the field path the error must name. */
const invalidCases: [string, (slug: string) => Partial<CreateProviderInput>, string[]][] = [
  ['slug with spaces and capitals', () => ({ slug: 'Bad Slug' }), ['input', 'slug']],
  ['slug starting with a hyphen', () => ({ slug: '-leading' }), ['input', 'slug']],
  ['slug longer than 63 characters', () => ({ slug: 'a'.repeat(64) }), ['input', 'slug']],
  ['empty name', () => ({ name: '   ' }), ['input', 'name']],
  ['ftp base URL', () => ({ baseUrl: 'ftp://files.example.com' }), ['input', 'baseUrl']],
  ['javascript base URL', () => ({ baseUrl: 'javascript:alert(1)' }), ['input', 'baseUrl']],
  ['relative base URL', () => ({ baseUrl: '/v1/chat' }), ['input', 'baseUrl']],
  [
    'credentials in the base URL',
    () => ({ baseUrl: 'https://user:hunter2@api.example.com' }),
    ['input', 'baseUrl'],
  ],
  [
    'query string in the base URL',
    () => ({ baseUrl: 'https://api.example.com/?key=1' }),
    ['input', 'baseUrl'],
  ],
  ['loopback address', () => ({ baseUrl: 'http://127.0.0.1:8080' }), ['input', 'baseUrl']],
  ['loopback in decimal', () => ({ baseUrl: 'http://2130706433/' }), ['input', 'baseUrl']],
  ['loopback in hex', () => ({ baseUrl: 'http://0x7f000001/' }), ['input', 'baseUrl']],
  ['loopback in octal', () => ({ baseUrl: 'http://0177.0.0.1/' }), ['input', 'baseUrl']],
  ['short-form loopback', () => ({ baseUrl: 'http://127.1/' }), ['input', 'baseUrl']],
  ['IPv6 loopback', () => ({ baseUrl: 'http://[::1]/' }), ['input', 'baseUrl']],
  ['IPv4-mapped IPv6 loopback', () => ({ baseUrl: 'http://[::ffff:127.0.0.1]/' }), ['input', 'baseUrl']],
  ['private 10/8', () => ({ baseUrl: 'https://10.1.2.3' }), ['input', 'baseUrl']],
  ['private 172.16/12', () => ({ baseUrl: 'https://172.20.0.1' }), ['input', 'baseUrl']],
  ['private 192.168/16', () => ({ baseUrl: 'https://192.168.1.10' }), ['input', 'baseUrl']],
  [
    'cloud metadata address',
    () => ({ baseUrl: 'http://169.254.169.254/latest/meta-data' }),
    ['input', 'baseUrl'],
  ],
  ['IPv6 link-local', () => ({ baseUrl: 'http://[fe80::1]/' }), ['input', 'baseUrl']],
  // IPv4-translated (RFC 6145) and NAT64 (RFC 6052, RFC 8215 local use) forms of private IPv4.
  [
    'IPv4-translated metadata address',
    () => ({ baseUrl: 'http://[::ffff:0:a9fe:a9fe]/' }),
    ['input', 'baseUrl'],
  ],
  ['IPv4-translated loopback', () => ({ baseUrl: 'http://[::ffff:0:127.0.0.1]/' }), ['input', 'baseUrl']],
  [
    'NAT64 local-use metadata address',
    () => ({ baseUrl: 'http://[64:ff9b:1::a9fe:a9fe]/' }),
    ['input', 'baseUrl'],
  ],
  ['NAT64 well-known loopback', () => ({ baseUrl: 'http://[64:ff9b::7f00:1]/' }), ['input', 'baseUrl']],
  ['IPv4-compatible loopback', () => ({ baseUrl: 'http://[::7f00:1]/' }), ['input', 'baseUrl']],
  [
    'Teredo address',
    () => ({ baseUrl: 'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/' }),
    ['input', 'baseUrl'],
  ],
  ['IPv6 unique-local (AWS metadata)', () => ({ baseUrl: 'http://[fd00:ec2::254]/' }), ['input', 'baseUrl']],
  ['localhost name', () => ({ baseUrl: 'http://localhost:3000' }), ['input', 'baseUrl']],
  // The URL parser drops tabs and line breaks silently: stored, they would differ from what is used.
  [
    'CR/LF in the base URL',
    () => ({ baseUrl: 'https://api.example.com/v1\r\nX-Injected: 1' }),
    ['input', 'baseUrl'],
  ],
  ['tab in the base URL host', () => ({ baseUrl: 'https://api.exa\tmple.com/' }), ['input', 'baseUrl']],
  ['CR/LF in the name', () => ({ name: 'Open\r\nAI' }), ['input', 'name']],
  ['line separator in the name', () => ({ name: 'Open\u2028AI' }), ['input', 'name']],
  ['C1 control in the name', () => ({ name: 'Open\u0085AI' }), ['input', 'name']],
  ['GCP metadata name', () => ({ baseUrl: 'http://metadata.google.internal/' }), ['input', 'baseUrl']],
  ['localhost with the root dot', () => ({ baseUrl: 'http://localhost.:3000' }), ['input', 'baseUrl']],
  // Patterns that backtrack exponentially would freeze the event loop when a key is checked.
  ['key pattern with nested quantifiers', () => ({ keyPattern: '^(a+)+$' }), ['input', 'keyPattern']],
  ['key pattern repeating an alternation', () => ({ keyPattern: '^(a|aa)*$' }), ['input', 'keyPattern']],
  ['key pattern with a backreference', () => ({ keyPattern: '^(sk)-\\1$' }), ['input', 'keyPattern']],
  [
    'header name with CR/LF',
    () => ({ auth: { style: 'HEADER', name: 'X-Key\r\nInjected: yes' } }),
    ['input', 'auth', 'name'],
  ],
  [
    'header name with a space',
    () => ({ auth: { style: 'HEADER', name: 'X Key' } }),
    ['input', 'auth', 'name'],
  ],
  ['HEADER style without a name', () => ({ auth: { style: 'HEADER' } }), ['input', 'auth', 'name']],
  ['reserved header name', () => ({ auth: { style: 'HEADER', name: 'Host' } }), ['input', 'auth', 'name']],
  ['QUERY name with &', () => ({ auth: { style: 'QUERY', name: 'a&b' } }), ['input', 'auth', 'name']],
  ['timeout too small', () => ({ timeoutMs: 5 }), ['input', 'timeoutMs']],
  ['timeout too large', () => ({ timeoutMs: 3_600_000 }), ['input', 'timeoutMs']],
  ['zero retry attempts', () => ({ retry: { maxAttempts: 0 } }), ['input', 'retry', 'maxAttempts']],
  [
    'retry max delay below base delay',
    () => ({ retry: { baseDelayMs: 5000, maxDelayMs: 100 } }),
    ['input', 'retry', 'maxDelayMs'],
  ],
  [
    'breaker threshold 0',
    () => ({ breaker: { failureThreshold: 0 } }),
    ['input', 'breaker', 'failureThreshold'],
  ],
  [
    'rate limit of 0 points',
    () => ({ rateLimit: { points: 0, periodMs: 1000 } }),
    ['input', 'rateLimit', 'points'],
  ],
  [
    'negative burst',
    () => ({ rateLimit: { points: 1, periodMs: 1000, burst: -1 } }),
    ['input', 'rateLimit', 'burst'],
  ],
  [
    'probe timeout over 5 s',
    () => ({ healthCheck: { timeoutMs: 6000 } }),
    ['input', 'healthCheck', 'timeoutMs'],
  ],
  ['probe path without slash', () => ({ healthCheck: { path: 'health' } }), ['input', 'healthCheck', 'path']],
  ['negative price', () => ({ pricing: { perRequestMicros: -1 } }), ['input', 'pricing', 'perRequestMicros']],
  ['absurd price', () => ({ pricing: { perRequestMicros: 5e12 } }), ['input', 'pricing', 'perRequestMicros']],
  ['bad currency', () => ({ pricing: { currency: 'dollars' } }), ['input', 'pricing', 'currency']],
  ['unknown fallback', () => ({ fallbacks: ['does-not-exist-anywhere'] }), ['input', 'fallbacks', '0']],
  ['itself as fallback', (slug) => ({ fallbacks: [slug] }), ['input', 'fallbacks']],
];

describe('every invalid provider input gets a field-level error and writes nothing', () => {
  it.each(invalidCases)('%s', async (_name, change, path) => {
    const slug = unique('invalid');
    const input = { ...valid(slug), ...change(slug) };
    const result = await gql(t.graphqlUrl, CreateProvider, { input }, admin);
    expect(result.errors).toBeUndefined();
    const payload = result.data?.createProvider;
    expect(payload?.__typename).toBe('ValidationError');
    if (payload?.__typename !== 'ValidationError') return;
    expect(payload.code).toBe('VALIDATION_FAILED');
    expect(payload.fieldErrors.map((e) => e.path)).toContainEqual(path);
    for (const error of payload.fieldErrors) expect(error.message.length).toBeGreaterThan(5);

    const slugs = [slug, input.slug];
    for (const s of slugs)
      expect((await gql(t.graphqlUrl, GetProvider, { slug: s }, admin)).data?.provider).toBeNull();
    const audit = await gql(
      t.graphqlUrl,
      AuditLogWithoutDetails,
      { filter: { targetId: input.slug } },
      admin,
    );
    expect(audit.data?.auditLog.edges).toEqual([]);
  });

  it('reports every problem of one input at once', async () => {
    const result = await gql(
      t.graphqlUrl,
      CreateProvider,
      { input: { slug: 'NO', name: '', baseUrl: 'ftp://x', timeoutMs: 1 } },
      admin,
    );
    const payload = result.data?.createProvider;
    if (payload?.__typename !== 'ValidationError') throw new Error(JSON.stringify(result));
    expect(payload.fieldErrors.map((e) => e.path.join('.'))).toEqual(
      expect.arrayContaining(['input.slug', 'input.name', 'input.baseUrl', 'input.timeoutMs']),
    );
  });

  it('refuses a duplicate slug on the slug field', async () => {
    const slug = unique('dup');
    await gql(t.graphqlUrl, CreateProvider, { input: valid(slug) }, admin);
    const again = await gql(
      t.graphqlUrl,
      CreateProvider,
      { input: { ...valid(slug), name: 'Second' } },
      admin,
    );
    expect(again.data?.createProvider).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'slug'], message: expect.stringContaining('already used') }],
    });
    expect((await gql(t.graphqlUrl, GetProvider, { slug }, admin)).data?.provider?.name).toBe('Valid');
  });

  it('refuses two concurrent creates of one slug: exactly one wins', async () => {
    const slug = unique('race');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        gql(t.graphqlUrl, CreateProvider, { input: { ...valid(slug), name: `n${i}` } }, admin),
      ),
    );
    const kinds = results.map((r) => r.data?.createProvider.__typename);
    expect(kinds.filter((k) => k === 'ProviderPayload')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'ValidationError')).toHaveLength(5);
  });

  it('accepts private addresses only with allowPrivateNetwork', async () => {
    const slug = unique('private');
    const result = await gql(
      t.graphqlUrl,
      CreateProvider,
      { input: { ...valid(slug), baseUrl: 'http://10.0.0.5:8080', allowPrivateNetwork: true } },
      admin,
    );
    expect(result.data?.createProvider.__typename).toBe('ProviderPayload');
    // Turning the flag off again must re-check the stored URL.
    const off = await gql(
      t.graphqlUrl,
      UpdateProvider,
      { input: { slug, version: 1, allowPrivateNetwork: false } },
      admin,
    );
    expect(off.data?.updateProvider).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'baseUrl'] }],
    });
  });

  it('validates updates with the same rules and leaves the provider unchanged', async () => {
    const slug = unique('upd-invalid');
    await gql(t.graphqlUrl, CreateProvider, { input: valid(slug) }, admin);
    const result = await gql(
      t.graphqlUrl,
      UpdateProvider,
      { input: { slug, version: 1, baseUrl: 'http://[::1]/', retry: { maxAttempts: 99 } } },
      admin,
    );
    const payload = result.data?.updateProvider;
    if (payload?.__typename !== 'ValidationError') throw new Error(JSON.stringify(result));
    expect(payload.fieldErrors.map((e) => e.path.join('.'))).toEqual(
      expect.arrayContaining(['input.baseUrl', 'input.retry.maxAttempts']),
    );
    const read = await gql(t.graphqlUrl, GetProvider, { slug }, admin);
    expect(read.data?.provider).toMatchObject({
      baseUrl: 'https://api.example.com',
      version: 1,
      retry: { maxAttempts: 3 },
    });
  });

  it('keeps serving after all of the above', async () => {
    const result = await gql(t.graphqlUrl, Viewer, {}, admin);
    expect(result.data?.viewer.role).toBe('ADMIN');
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
  });
});
