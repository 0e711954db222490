import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';

/**
 * Verified tokens are cached (one signature check a minute, not one a request): a cached token
 * must still be refused the moment a fresh check would refuse it.
 */
type Body = {
  data?: { viewer?: { subject: string; sessionId: string | null } } | null;
  errors?: { extensions?: { code?: string } }[];
};

async function viewer(url: string, token: string): Promise<Body> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ viewer { subject sessionId } }' }),
  });
  return (await response.json()) as Body;
}

describe('cached tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    // No clock tolerance: a token is refused as soon as its exp passes.
    t = await startTestApp({ env: { TOLLGATE_JWT_CLOCK_TOLERANCE_S: '0' } });
  });
  afterAll(() => t?.stop());

  it("refuses a console session's token, used a moment before, once the session is revoked", async () => {
    const issued = await t.app.services.sessions.create(
      {
        subject: `cached-${Date.now()}`,
        email: 'cached@example.com',
        name: undefined,
        issuer: 'https://idp.example.com',
        role: 'operator',
        refreshToken: undefined,
        idpCheckAt: undefined,
      },
      {},
    );
    // Twice: the second answer comes from the cache.
    for (let i = 0; i < 2; i++) {
      const before = await viewer(t.graphqlUrl, issued.accessToken);
      expect(before.data?.viewer?.sessionId).toBe(issued.session.id);
    }
    await t.app.services.sessions.revoke(
      { subject: 'security-admin', role: 'admin', email: undefined, requestId: undefined },
      issued.session.id,
    );
    const after = await viewer(t.graphqlUrl, issued.accessToken);
    expect(after.data?.viewer ?? null).toBeNull();
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token, used a moment before, once its exp has passed', async () => {
    const token = await t.token('viewer', { subject: 'short-lived', ttlSeconds: 2 });
    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
    for (let i = 0; i < 2; i++)
      expect((await viewer(t.graphqlUrl, token)).data?.viewer?.subject).toBe('short-lived');
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
    const after = await viewer(t.graphqlUrl, token);
    expect(after.data?.viewer ?? null).toBeNull();
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
