import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigError, loadConfig } from '../src/config.ts';
import { startTestApp, TEST_JWT_SECRET, TEST_MASTER_KEY_1, type TestApp } from './helpers/app.ts';

/**
 * The session endpoints under /auth without a browser: what a foreign page or a planted cookie
 * can do with them (nothing), and the settings' validation.
 */
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({
    env: {
      // Discovery happens at the first sign-in: nothing here needs the provider to answer.
      TOLLGATE_OIDC_ISSUER: 'http://127.0.0.1:9/unused',
      TOLLGATE_OIDC_CLIENT_ID: 'tollgate',
      TOLLGATE_OIDC_NAME: 'Acme SSO',
      TOLLGATE_OIDC_VIEWER_VALUES: 'staff',
    },
  });
});
afterAll(async () => {
  await t?.stop();
});

const post = (path: string, headers: Record<string, string>) =>
  fetch(`${t.url}${path}`, { method: 'POST', headers, redirect: 'manual' });

describe('console session endpoints', () => {
  it('tells the console whether single sign-on is offered, and under which name', async () => {
    const response = await fetch(`${t.url}/auth/config`);
    expect(await response.json()).toEqual({ oidc: { name: 'Acme SSO', loginUrl: '/auth/login' } });
  });

  it('refuses session requests from another origin, or without one, with 403', async () => {
    for (const path of ['/auth/session', '/auth/logout']) {
      for (const headers of [{ origin: 'https://evil.example' }, {}] as Record<string, string>[]) {
        const response = await post(path, { ...headers, cookie: 'tollgate_session=whatever' });
        expect(response.status).toBe(403);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
        expect(response.headers.get('set-cookie')).toBeNull();
      }
    }
    const own = await post('/auth/session', { origin: t.url });
    expect(own.status).toBe(401);
  });

  it('adopts no cookie it did not issue: an unknown session cookie is refused and cleared', async () => {
    const response = await post('/auth/session', {
      origin: t.url,
      cookie: 'tollgate_session=attacker-chosen-value',
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED', reason: 'NO_SESSION' } });
    expect(response.headers.get('set-cookie')).toMatch(
      /^tollgate_session=; Path=\/auth; Max-Age=0; HttpOnly; SameSite=Strict/,
    );
  });

  it('lists no sessions to a viewer', async () => {
    const viewer = await t.token('viewer');
    const listed = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${viewer}` },
      body: JSON.stringify({ query: '{ operatorSessions(first: 5) { edges { node { id } } } }' }),
    });
    const body = (await listed.json()) as { errors?: { extensions: { code: string } }[] };
    expect(body.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });
});

describe('single sign-on settings', () => {
  const base = {
    DATABASE_URL: 'postgres://u:p@localhost:5432/db',
    TOLLGATE_JWT_SECRET: TEST_JWT_SECRET,
    TOLLGATE_MASTER_KEYS: TEST_MASTER_KEY_1,
  };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ ...base, ...env });
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it('names each missing or bad setting', () => {
    expect(problems({ TOLLGATE_OIDC_ISSUER: 'https://sso.example.com' })).toEqual([
      'TOLLGATE_OIDC_CLIENT_ID: required when TOLLGATE_OIDC_ISSUER is set',
      expect.stringMatching(/^TOLLGATE_OIDC_ADMIN_VALUES: set at least one of/),
    ]);
    expect(
      problems({
        TOLLGATE_OIDC_ISSUER: 'http://sso.example.com',
        TOLLGATE_OIDC_CLIENT_ID: 'x',
        TOLLGATE_OIDC_VIEWER_VALUES: '*',
      }),
    ).toEqual(['TOLLGATE_OIDC_ISSUER: must be an https:// URL (http:// only on loopback)']);
    expect(problems({ TOLLGATE_OIDC_CLIENT_ID: 'x' })).toEqual([
      'TOLLGATE_OIDC_CLIENT_ID: only used with TOLLGATE_OIDC_ISSUER',
    ]);
    expect(problems({ TOLLGATE_OIDC_SCOPES: 'email profile' })).toEqual([
      'TOLLGATE_OIDC_SCOPES: must include openid',
    ]);
  });

  it('reads the role mapping and email domains', () => {
    const config = loadConfig({
      ...base,
      TOLLGATE_OIDC_ISSUER: 'https://sso.example.com',
      TOLLGATE_OIDC_CLIENT_ID: 'tollgate',
      TOLLGATE_OIDC_ADMIN_VALUES: 'tg-admins, ops-leads',
      TOLLGATE_OIDC_VIEWER_VALUES: '*',
      TOLLGATE_OIDC_ALLOWED_EMAIL_DOMAINS: '@Example.com,corp.example.org',
    });
    expect(config.oidc).toMatchObject({
      clientSecret: undefined,
      roleClaim: 'groups',
      roleValues: { admin: ['tg-admins', 'ops-leads'], operator: [], viewer: ['*'] },
      allowedEmailDomains: ['example.com', 'corp.example.org'],
    });
    expect(loadConfig(base).oidc).toBeUndefined();
  });
});
