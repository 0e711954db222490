import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditLog,
  CreateProvider,
  DeleteProvider,
  GetProvider,
  ListProviders,
  SetProviderEnabled,
  UpdateProvider,
  Viewer,
} from './documents.ts';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from './helpers/app.ts';
import { gql } from './helpers/graphql.ts';

let t: TestApp;
let admin: string;
let slug: string;
const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.token('admin');
  slug = `auth-${randomBytes(4).toString('hex')}`;
  await gql(
    t.graphqlUrl,
    CreateProvider,
    { input: { slug, name: 'Auth target', baseUrl: 'https://api.example.com' } },
    admin,
  );
});
afterAll(() => t?.stop());

const mutations = (target: string) =>
  [
    [
      'createProvider',
      CreateProvider,
      { input: { slug: `${target}-new`, name: 'x', baseUrl: 'https://api.example.com' } },
    ],
    ['updateProvider', UpdateProvider, { input: { slug: target, version: 1, name: 'hijacked' } }],
    ['setProviderEnabled', SetProviderEnabled, { slug: target, enabled: false }],
    ['deleteProvider', DeleteProvider, { slug: target }],
  ] as const;

describe('roles', () => {
  for (const role of ['viewer', 'operator'] as const) {
    it(`refuses every provider mutation to a ${role} with FORBIDDEN and changes nothing`, async () => {
      const token = await t.token(role);
      for (const [name, document, variables] of mutations(slug)) {
        // biome-ignore lint/suspicious/noExplicitAny: the tuple mixes documents of different types
        const result = await gql(t.graphqlUrl, document as any, variables as any, token);
        expect(result.errors?.[0]?.extensions?.code, name).toBe('FORBIDDEN');
        expect(result.data ?? null, name).toBeNull();
      }
      const read = await gql(t.graphqlUrl, GetProvider, { slug }, admin);
      expect(read.data?.provider).toMatchObject({ name: 'Auth target', enabled: true, version: 1 });
      expect(
        (await gql(t.graphqlUrl, GetProvider, { slug: `${slug}-new` }, admin)).data?.provider,
      ).toBeNull();
    });
  }

  it('lets a viewer read providers, but not audit details', async () => {
    const viewer = await t.token('viewer');
    expect((await gql(t.graphqlUrl, GetProvider, { slug }, viewer)).data?.provider?.slug).toBe(slug);
    expect((await gql(t.graphqlUrl, ListProviders, { first: 1 }, viewer)).data?.providers.edges).toHaveLength(
      1,
    );
    const audit = await gql(t.graphqlUrl, AuditLog, { first: 1, filter: { targetId: slug } }, viewer);
    expect(audit.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(audit.data?.auditLog.edges[0]?.node).toMatchObject({ action: 'provider.create', details: null });
  });
});

describe('authentication', () => {
  it('answers a request without a token with UNAUTHENTICATED, for queries and mutations', async () => {
    const query = await gql(t.graphqlUrl, Viewer, {}, undefined);
    expect(query.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(query.data ?? null).toBeNull();
    const [, document, variables] = mutations(slug)[0];
    const mutation = await gql(t.graphqlUrl, document, variables, undefined);
    expect(mutation.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  const { privateKey: rsaKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const claims = { role: 'admin' };
  /** A token like the ones Tollgate mints, with one thing changed. */
  const token = (options: {
    claims?: Record<string, unknown>;
    alg?: string;
    kid?: string;
    issuer?: string;
    audience?: string;
    exp?: number | null;
    nbf?: number;
    key?: Uint8Array | CryptoKey | KeyObject;
  }) => {
    const jwt = new SignJWT(options.claims ?? claims)
      .setProtectedHeader({ alg: options.alg ?? 'HS256', ...(options.kid ? { kid: options.kid } : {}) })
      .setSubject('x')
      .setIssuer(options.issuer ?? 'tollgate')
      .setAudience(options.audience ?? 'tollgate')
      .setIssuedAt(now() - 60);
    if (options.exp !== null) jwt.setExpirationTime(options.exp ?? now() + 600);
    if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
    return jwt.sign(options.key ?? secret);
  };
  const otherSecret = new TextEncoder().encode('another-secret-that-is-long-enough-0123456789');
  const badTokens: [string, () => Promise<string>][] = [
    ['expired', () => token({ exp: now() - 3600 })],
    ['without exp', () => token({ exp: null })],
    ['not valid yet (nbf in the future)', () => token({ nbf: now() + 3600, exp: now() + 7200 })],
    [
      'unsigned (alg none)',
      async () =>
        new UnsecuredJWT(claims)
          .setSubject('x')
          .setIssuer('tollgate')
          .setAudience('tollgate')
          .setExpirationTime(now() + 600)
          .encode(),
    ],
    ['HS512 instead of HS256', () => token({ alg: 'HS512' })],
    ['RS256 with an unknown key', () => token({ alg: 'RS256', key: rsaKey })],
    ['signed with another secret', () => token({ key: otherSecret })],
    ['wrong issuer', () => token({ issuer: 'someone-else' })],
    ['wrong audience', () => token({ audience: 'another-service' })],
    ['unknown role', () => token({ claims: { role: 'superuser' } })],
    ['odd kid header', () => token({ kid: '../../../../etc/passwd', key: otherSecret })],
    ['garbage', async () => 'not.a.jwt'],
  ];

  it.each(badTokens)('refuses a token that is %s, with no detail', async (_name, make) => {
    const token = await make();
    const result = await gql(t.graphqlUrl, Viewer, {}, token);
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(result.errors?.[0]?.message).toBe('Authentication required: send a valid bearer token.');
    expect(result.data ?? null).toBeNull();
  });

  it('accepts a token within the clock tolerance and answers GET queries', async () => {
    const token = await t.token('viewer');
    const url = `${t.graphqlUrl}?query=${encodeURIComponent('{ viewer { role } }')}`;
    const response = await fetch(url, {
      // A GET is a "simple" request a foreign page could make: it needs the CSRF header.
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'x-graphql-csrf': '1' },
    });
    expect(await response.json()).toEqual({ data: { viewer: { role: 'VIEWER' } } });
  });

  it('never executes a mutation sent with GET', async () => {
    const query = `mutation { setProviderEnabled(slug: "${slug}", enabled: false) { __typename } }`;
    const response = await fetch(`${t.graphqlUrl}?query=${encodeURIComponent(query)}`, {
      headers: { authorization: `Bearer ${admin}`, accept: 'application/json', 'x-graphql-csrf': '1' },
    });
    expect(response.status).toBe(405);
    expect((await gql(t.graphqlUrl, GetProvider, { slug }, admin)).data?.provider?.enabled).toBe(true);
  });

  it('never writes a token or the signing secret to the logs, and tags request lines with the request id', async () => {
    const viewer = await t.token('viewer');
    await gql(t.graphqlUrl, Viewer, {}, viewer);
    expect(t.logs.text).not.toContain(admin);
    expect(t.logs.text).not.toContain(viewer);
    expect(t.logs.text).not.toContain(TEST_JWT_SECRET);
    const requestLines = t.logs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(requestLines.length).toBeGreaterThan(0);
    for (const line of requestLines) expect(line.requestId).toEqual(expect.any(String));
  });

  it('masks unexpected errors and never sends a stack trace', async () => {
    const response = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: '{"query": "{ viewer { subject } ', // truncated JSON
    });
    const text = await response.text();
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expect(text).not.toMatch(/at .*\.ts:\d+|node_modules|stack/i);
  });
});
