import { createHash } from 'node:crypto';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { graphql } from './generated/index.ts';
import { createDatabase, startTestApp, type TestApp } from './helpers/app.ts';
import {
  type ConsolePage,
  ensureConsoleBuilt,
  expectAccessible,
  launchBrowser,
  newConsolePage,
  screenshot,
} from './helpers/console.ts';
import { gql, wsUrl } from './helpers/graphql.ts';
import { startOidcProvider, type TestOidcProvider } from './helpers/oidc-provider.ts';
import { freePort } from './helpers/ports.ts';

/**
 * Single sign-on against a real OpenID Connect provider (the `oidc-provider` package, started
 * here) and real Chromium, on two Tollgate replicas sharing PostgreSQL and Redis.
 */

const SessionViewer = graphql(`
  query SessionViewer { viewer { subject email sessionId role tokenExpiresAt } }
`);
const OperatorSessions = graphql(`
  query OperatorSessions($filter: OperatorSessionFilter) {
    operatorSessions(first: 50, filter: $filter) {
      edges { node { id subject email role status revokedBy } }
    }
  }
`);
const RevokeOperatorSession = graphql(`
  mutation RevokeOperatorSession($id: ID!) {
    revokeOperatorSession(id: $id) {
      __typename
      ... on RevokeOperatorSessionPayload { session { id status revokedBy } }
      ... on NotFoundError { message }
    }
  }
`);
const SsoCreateClient = graphql(`
  mutation SsoCreateClient($input: CreateClientInput!) {
    createClient(input: $input) {
      __typename
      ... on ClientKeyPayload { client { id } }
    }
  }
`);
const SsoAudit = graphql(`
  query SsoAudit($filter: AuditFilter) {
    auditLog(first: 20, filter: $filter) { edges { node { actor actorEmail actorRole action targetId } } }
  }
`);

const PEOPLE = {
  alice: { email: 'alice@example.com', name: 'Alice Admin', groups: ['staff', 'tg-admins'] },
  olga: { email: 'olga@example.com', name: 'Olga Operator', groups: ['staff', 'tg-ops'] },
  victor: { email: 'victor@example.com', name: 'Victor Viewer', groups: ['staff'] },
  mallory: { email: 'mallory@example.com', name: 'Mallory Marketing', groups: ['marketing'] },
  rita: { email: 'rita@example.com', name: 'Rita Refresh', groups: ['staff'] },
  sam: { email: 'sam@example.com', name: 'Sam Staff', groups: ['staff'] },
};
const CLIENT_SECRET = `oidc-client-secret-${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 24)}`;

let a: TestApp;
let b: TestApp;
let provider: TestOidcProvider;
let browser: Browser;
let databaseUrl: string;
/** Every secret the flows handled: none may reach a log line or the database. */
const secrets = new Set<string>([CLIENT_SECRET]);

beforeAll(async () => {
  const redisUrl = inject('redisUrl');
  expect(redisUrl, 'redis-server is needed for this test').not.toBe('');
  const [providerPort, portA, portB] = await Promise.all([freePort(), freePort(), freePort()]);
  databaseUrl = await createDatabase();
  const env = {
    REDIS_URL: redisUrl,
    TOLLGATE_REPLICAS: '2',
    TOLLGATE_OIDC_ISSUER: `http://127.0.0.1:${providerPort}`,
    TOLLGATE_OIDC_CLIENT_ID: 'tollgate-console',
    TOLLGATE_OIDC_CLIENT_SECRET: CLIENT_SECRET,
    TOLLGATE_OIDC_NAME: 'Example SSO',
    TOLLGATE_OIDC_SCOPES: 'openid email profile groups',
    TOLLGATE_OIDC_ADMIN_VALUES: 'tg-admins',
    TOLLGATE_OIDC_OPERATOR_VALUES: 'tg-ops',
    TOLLGATE_OIDC_VIEWER_VALUES: 'staff',
  };
  await ensureConsoleBuilt();
  [a, b, browser] = await Promise.all([
    startTestApp({ databaseUrl, env: { ...env, PORT: String(portA) } }),
    startTestApp({ databaseUrl, env: { ...env, PORT: String(portB) } }),
    launchBrowser(),
  ]);
  // Discovery is lazy (at the first sign-in): the provider can start once the ports are known.
  provider = await startOidcProvider({
    port: providerPort,
    clientSecret: CLIENT_SECRET,
    redirectUris: [`${a.url}/auth/callback`, `${b.url}/auth/callback`],
    people: PEOPLE,
  });
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([a?.stop(), b?.stop(), provider?.close()]);
});

async function openSignIn(t: TestApp = a): Promise<ConsolePage> {
  const cp = await newConsolePage(browser, t, [provider.issuer]);
  await cp.page.goto(`${t.url}/console/`);
  await cp.page.getByRole('link', { name: 'Sign in with Example SSO' }).waitFor();
  return cp;
}

/** Through the provider's own sign-in and consent pages, as a person would. */
async function signInAs(page: Page, login: keyof typeof PEOPLE): Promise<void> {
  await page.getByRole('link', { name: 'Sign in with Example SSO' }).click();
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** The callback URL the provider sent the browser to (it carries the authorization code). */
function recordCallbacks(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/auth/callback?')) seen.push(request.url());
  });
  return seen;
}

async function sessionCookie(cp: ConsolePage) {
  return (await cp.context.cookies()).find((c) => c.name === 'tollgate_session');
}

/** The page's own session renewal (what the console does): the access token, or the refusal. */
async function renewFromPage(page: Page) {
  return page.evaluate(async () => {
    const response = await fetch('/auth/session', { method: 'POST' });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  });
}

async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function sessionRows(): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return Number((await client.query('select count(*) from operator_sessions')).rows[0].count);
  } finally {
    await client.end();
  }
}

async function expectRefusal(cp: ConsolePage, code: string, text: RegExp) {
  const notice = cp.page.locator(`[data-sso-error="${code}"]`);
  await notice.waitFor({ timeout: 30_000 });
  expect(await notice.textContent()).toMatch(text);
  // Refused: no session cookie, and nothing but the sign-in page.
  expect(await sessionCookie(cp)).toBeUndefined();
  expect(await cp.page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
  expect(new URL(cp.page.url()).hash).toBe('');
}

// Each test drives a browser through the provider's pages: slow on a loaded 2-core machine.
describe('single sign-on (OIDC)', { timeout: 180_000 }, () => {
  it('signs an admin in with the provider: the console opens with the mapped role, and changes are audited with the person', async () => {
    const cp = await openSignIn();
    await expectAccessible(cp.page);
    await screenshot(cp.page, 'sso-sign-in');
    // A cookie planted before the sign-in (session fixation) is not adopted: a new one replaces it.
    await cp.context.addCookies([
      { name: 'tollgate_session', value: 'planted-by-an-attacker', domain: '127.0.0.1', path: '/auth' },
    ]);
    await signInAs(cp.page, 'alice');
    await cp.page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 30_000 });
    expect(await cp.page.locator('.viewer-subject').textContent()).toBe('alice@example.com');
    expect(await cp.page.locator('.viewer-role').textContent()).toBe('admin');
    await screenshot(cp.page, 'sso-signed-in');

    const cookie = await sessionCookie(cp);
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/auth', secure: false });
    expect(cookie!.value).not.toBe('planted-by-an-attacker');
    secrets.add(cookie!.value);

    const renewed = await renewFromPage(cp.page);
    expect(renewed.status).toBe(200);
    const token = String(renewed.body.accessToken);
    secrets.add(token);
    const viewer = await gql(a.graphqlUrl, SessionViewer, {}, token);
    expect(viewer.data?.viewer).toMatchObject({
      subject: 'alice',
      email: 'alice@example.com',
      role: 'ADMIN',
    });
    expect(viewer.data?.viewer.sessionId).toBeTruthy();

    const created = await gql(a.graphqlUrl, SsoCreateClient, { input: { name: 'made-by-alice' } }, token);
    expect(created.data?.createClient.__typename).toBe('ClientKeyPayload');
    const audit = await gql(a.graphqlUrl, SsoAudit, { filter: { action: 'client.create' } }, token);
    expect(audit.data?.auditLog.edges.map((e) => e.node)).toContainEqual(
      expect.objectContaining({ actor: 'alice', actorEmail: 'alice@example.com', actorRole: 'admin' }),
    );
    // The audit page names the person too.
    await cp.page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    const row = cp.page.locator('tr[data-audit="client.create"]').first();
    await row.waitFor({ timeout: 30_000 });
    expect(await row.textContent()).toContain('alice@example.com');
    await cp.close();
  });

  it('shows a person whose groups map to no role a page saying they have no access', async () => {
    const before = await sessionRows();
    const cp = await openSignIn();
    await signInAs(cp.page, 'mallory');
    await cp.page.getByRole('heading', { name: 'No access' }).waitFor({ timeout: 30_000 });
    expect(await cp.page.getByRole('alert').textContent()).toMatch(/not in any group that has access/);
    expect(await sessionCookie(cp)).toBeUndefined();
    expect(await sessionRows()).toBe(before);
    await expectAccessible(cp.page);
    await screenshot(cp.page, 'sso-no-access');
    await cp.close();
  });

  it('gives a viewer the viewer role: a forged mutation from its page is refused', async () => {
    const cp = await openSignIn();
    await signInAs(cp.page, 'victor');
    await cp.page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 30_000 });
    expect(await cp.page.locator('.viewer-role').textContent()).toBe('viewer');
    const { body } = await renewFromPage(cp.page);
    secrets.add(String(body.accessToken));
    const forged = await cp.page.evaluate(async (accessToken) => {
      const response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        body: JSON.stringify({
          query: 'mutation { createClient(input: { name: "forged" }) { __typename } }',
        }),
      });
      return (await response.json()) as { data: unknown; errors?: { extensions?: { code?: string } }[] };
    }, String(body.accessToken));
    expect(forged.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const sessions = await gql(a.graphqlUrl, OperatorSessions, {}, String(body.accessToken));
    expect(sessions.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    await cp.close();
  });

  it('refuses a tampered state with a clear message', async () => {
    const cp = await openSignIn();
    provider.alterAnswer({ name: 'state', value: 'a-state-this-browser-never-sent' });
    try {
      await signInAs(cp.page, 'alice');
      await expectRefusal(cp, 'STATE_MISMATCH', /does not belong to the sign-in this browser started/);
    } finally {
      provider.alterAnswer(undefined);
    }
    await screenshot(cp.page, 'sso-refused-state');
    await cp.close();
  });

  it.each([
    ['a nonce from another sign-in', 'nonce', 'NONCE_MISMATCH', /not issued for this sign-in \(nonce\)/],
    ['another audience', 'audience', 'WRONG_AUDIENCE', /issued for another application/],
    ['an expiry in the past', 'expired', 'TOKEN_EXPIRED', /ID token has expired/],
  ] as const)(
    'refuses an ID token with %s, though validly signed by the provider',
    async (_what, mode, code, text) => {
      const before = await sessionRows();
      const cp = await openSignIn();
      provider.tamper(mode);
      try {
        await signInAs(cp.page, 'alice');
        await expectRefusal(cp, code, text);
      } finally {
        provider.tamper(undefined);
      }
      expect(await sessionRows()).toBe(before);
      await cp.close();
    },
  );

  it('refuses a replayed authorization code, whether the callback is replayed or the code is used in a new sign-in', async () => {
    const cp = await openSignIn();
    const callbacks = recordCallbacks(cp.page);
    await signInAs(cp.page, 'olga');
    await cp.page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 30_000 });
    const used = callbacks[0]!;
    const code = new URL(used).searchParams.get('code')!;
    secrets.add(code);
    await cp.close();

    // The same answer again in a browser that never started a sign-in.
    const replay = await newConsolePage(browser, a, [provider.issuer]);
    await replay.page.goto(used);
    await expectRefusal(replay, 'SIGN_IN_EXPIRED', /already completed or took too long/);
    await replay.close();

    // A fresh sign-in whose answer carries the old code: the provider refuses it (invalid_grant).
    const fresh = await openSignIn();
    provider.alterAnswer({ name: 'code', value: code });
    const answered = provider.tokenResponses.length;
    await fresh.page.getByRole('link', { name: 'Sign in with Example SSO' }).click();
    // The provider remembers nothing of this new browser: sign in and consent again.
    await fresh.page.locator('input[name="login"]').fill('olga');
    await fresh.page.locator('input[name="password"]').fill('any password');
    await fresh.page.locator('button[type="submit"]').click();
    await fresh.page.getByRole('button', { name: 'Continue' }).click();
    try {
      await expectRefusal(fresh, 'CODE_REFUSED', /refused the authorization code/);
    } finally {
      provider.alterAnswer(undefined);
    }
    expect(provider.tokenResponses.slice(answered)).toEqual([{ status: 400, error: 'invalid_grant' }]);
    await fresh.close();
  }, 180_000);

  it('revoking a session on replica A ends it on replica B within a second and closes its subscriptions there', async () => {
    const cp = await openSignIn();
    await signInAs(cp.page, 'olga');
    await cp.page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 30_000 });
    const { body } = await renewFromPage(cp.page);
    const token = String(body.accessToken);
    secrets.add(token);
    const me = await gql(b.graphqlUrl, SessionViewer, {}, token);
    expect(me.data?.viewer.role).toBe('OPERATOR');
    const sessionId = me.data!.viewer.sessionId!;

    // A live subscription on replica B, authorised by the session's token in connection_init.
    let closed: { code: number; reason: string; at: number } | undefined;
    let connected!: () => void;
    const ready = new Promise<void>((resolve) => {
      connected = resolve;
    });
    const ws = createClient({
      url: wsUrl(b.graphqlUrl),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      connectionParams: { authorization: `Bearer ${token}` },
      on: {
        connected: () => connected(),
        closed: (event) => {
          const e = event as { code: number; reason: string };
          closed ??= { code: e.code, reason: e.reason, at: performance.now() };
        },
      },
    });
    const events: unknown[] = [];
    const stop = ws.subscribe(
      { query: 'subscription { gatewayEvents { __typename } }' },
      { next: (v) => events.push(v), error: () => undefined, complete: () => undefined },
    );
    await ready;

    const admin = await a.token('admin', { subject: 'security-admin' });
    const listed = await gql(a.graphqlUrl, OperatorSessions, { filter: { active: true } }, admin);
    expect(listed.data?.operatorSessions.edges.map((e) => e.node)).toContainEqual(
      expect.objectContaining({
        id: sessionId,
        subject: 'olga',
        email: 'olga@example.com',
        role: 'operator',
        status: 'ACTIVE',
      }),
    );
    const started = performance.now();
    const revoked = await gql(a.graphqlUrl, RevokeOperatorSession, { id: sessionId }, admin);
    expect(revoked.data?.revokeOperatorSession).toMatchObject({
      __typename: 'RevokeOperatorSessionPayload',
      session: { id: sessionId, status: 'REVOKED', revokedBy: 'security-admin' },
    });
    const deadline = Date.now() + 10_000;
    while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(closed).toMatchObject({ code: 4401, reason: 'Session revoked' });
    console.log(
      `[sso] replica B closed the revoked session's WebSocket ${Math.round(closed!.at - started)} ms after the revocation on A (machine loaded)`,
    );
    stop();
    await ws.dispose();

    // Replica B refuses the token; replica A's cookie renews nothing; the console on A says so.
    const after = await gql(b.graphqlUrl, SessionViewer, {}, token);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await cp.page.locator('[data-sso-error="REVOKED"]').waitFor({ timeout: 30_000 });
    expect(await cp.page.locator('[data-sso-error="REVOKED"]').textContent()).toBe(
      'Your session was ended. Sign in again.',
    );
    const renewal = await renewFromPage(cp.page);
    expect(renewal.status).toBe(401);
    expect(renewal.body.error).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'REVOKED' });
    await screenshot(cp.page, 'sso-revoked');
    await cp.close();

    const unknown = await gql(
      a.graphqlUrl,
      RevokeOperatorSession,
      { id: '00000000-0000-4000-8000-000000000000' },
      admin,
    );
    expect(unknown.data?.revokeOperatorSession.__typename).toBe('NotFoundError');
  }, 120_000);

  it('past the ID token expiry, asks the provider again with the refresh token: the role follows the groups, and no role ends the session', async () => {
    const cp = await openSignIn();
    await signInAs(cp.page, 'rita');
    await cp.page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 30_000 });
    expect(await cp.page.locator('.viewer-role').textContent()).toBe('viewer');
    // The provider's ID token lives 10 minutes: its expiry is brought forward instead of waited for.
    const expireIdToken = () =>
      sql(
        "update operator_sessions set idp_check_at = now() - interval '1 second' where subject = 'rita' and revoked_at is null",
      );

    await expireIdToken();
    PEOPLE.rita.groups = ['staff', 'tg-ops'];
    const answered = provider.tokenResponses.length;
    const promoted = await renewFromPage(cp.page);
    expect(promoted.status).toBe(200);
    expect(promoted.body.role).toBe('operator');
    expect(provider.tokenResponses.slice(answered)).toEqual([{ status: 200, error: undefined }]);
    secrets.add(String(promoted.body.accessToken));

    // Within the new ID token's life, a renewal does not ask the provider.
    expect((await renewFromPage(cp.page)).status).toBe(200);
    expect(provider.tokenResponses.length).toBe(answered + 1);

    await expireIdToken();
    PEOPLE.rita.groups = ['marketing'];
    const dropped = await renewFromPage(cp.page);
    expect(dropped.status).toBe(401);
    expect(dropped.body.error).toMatchObject({ reason: 'NO_ROLE' });
    const after = await gql(b.graphqlUrl, SessionViewer, {}, String(promoted.body.accessToken));
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    PEOPLE.rita.groups = ['staff'];
    await cp.close();
  }, 120_000);

  it('signing out ends the session and clears its cookie', async () => {
    const cp = await openSignIn();
    await signInAs(cp.page, 'alice');
    await cp.page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 30_000 });
    const { body } = await renewFromPage(cp.page);
    const token = String(body.accessToken);
    secrets.add(token);
    secrets.add((await sessionCookie(cp))!.value);
    await cp.page.getByRole('button', { name: 'Sign out' }).click();
    await cp.page.getByRole('link', { name: 'Sign in with Example SSO' }).waitFor();
    expect(await sessionCookie(cp)).toBeUndefined();
    const gone = await renewFromPage(cp.page);
    expect(gone.status).toBe(401);
    const refused = await gql(b.graphqlUrl, SessionViewer, {}, token);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // A reload does not sign back in.
    await cp.page.reload();
    await cp.page.getByRole('link', { name: 'Sign in with Example SSO' }).waitFor();
    await cp.close();
  });

  it('lets an admin end another person’s session from the Sessions page: that person’s console signs out', async () => {
    const victim = await openSignIn();
    await signInAs(victim.page, 'sam');
    await victim.page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 30_000 });
    const admin = await openSignIn();
    await signInAs(admin.page, 'alice');
    await admin.page.getByRole('link', { name: 'Sessions' }).click();
    const row = admin.page.locator('tr', { hasText: 'sam@example.com' });
    await row.waitFor({ timeout: 30_000 });
    await expectAccessible(admin.page);
    await screenshot(admin.page, 'sso-sessions');
    await row.getByRole('button', { name: 'End session' }).click();
    await row.getByRole('button', { name: 'End it' }).click();
    await admin.page.getByText('Ended the session of sam@example.com').waitFor();
    await victim.page.locator('[data-sso-error="REVOKED"]').waitFor({ timeout: 30_000 });
    // The admin's own session goes on.
    expect(await admin.page.locator('.viewer-role').textContent()).toBe('admin');
    await Promise.all([victim.close(), admin.close()]);
  });

  it('keeps no secret in the logs or the database: only hashes of session cookies', async () => {
    expect(secrets.size).toBeGreaterThan(5);
    const logs = `${a.logs.text}\n${b.logs.text}`;
    for (const secret of secrets) expect(logs.includes(secret), 'a secret reached the logs').toBe(false);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const sessions = JSON.stringify((await client.query('select * from operator_sessions')).rows);
      const audit = JSON.stringify((await client.query('select * from audit_events')).rows);
      for (const secret of secrets) {
        expect(sessions.includes(secret), 'a secret is stored in operator_sessions').toBe(false);
        expect(audit.includes(secret), 'a secret is stored in audit_events').toBe(false);
      }
      // What is stored is the cookie's hash.
      const cookieHashes = [...secrets].map((s) => createHash('sha256').update(s).digest('hex'));
      expect(cookieHashes.some((h) => sessions.includes(h))).toBe(true);
    } finally {
      await client.end();
    }
  });
});
