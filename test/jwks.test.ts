import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Viewer } from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { gql } from './helpers/graphql.ts';

/** Operator tokens from an OIDC provider: a local JWKS endpoint stands in for the identity provider. */
let idp: Server;
let t: TestApp;
let privateKey: CryptoKey;
let jwksUrl: string;
const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'tollgate-control-plane';

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'idp-key-1', alg: 'RS256', use: 'sig' };
  idp = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
  );
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(idp.address() as AddressInfo).port}/.well-known/jwks.json`;
  t = await startTestApp({
    env: {
      TOLLGATE_JWT_SECRET: '',
      TOLLGATE_JWKS_URL: jwksUrl,
      TOLLGATE_JWT_ISSUER: ISSUER,
      TOLLGATE_JWT_AUDIENCE: AUDIENCE,
      TOLLGATE_JWT_ROLE_CLAIM: 'tollgate_role',
    },
  });
});
afterAll(async () => {
  await t?.stop();
  idp?.close();
});

const sign = (
  claims: Record<string, unknown>,
  header: { alg: string; kid?: string } = { alg: 'RS256', kid: 'idp-key-1' },
) =>
  new SignJWT(claims)
    .setProtectedHeader(header)
    .setSubject('oidc-user')
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);

describe('JWKS (OIDC) operator authentication', () => {
  it('accepts a token signed by the identity provider, with the role from the configured claim', async () => {
    const result = await gql(t.graphqlUrl, Viewer, {}, await sign({ tollgate_role: 'operator' }));
    expect(result.data?.viewer).toMatchObject({ subject: 'oidc-user', role: 'OPERATOR' });
  });

  it('refuses HS256 tokens (algorithm confusion), unknown kids, and a role under the wrong claim', async () => {
    const hs = await new SignJWT({ tollgate_role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('any-secret-long-enough-for-hs256-0123456789'));
    for (const token of [
      hs,
      await sign({ tollgate_role: 'admin' }, { alg: 'RS256', kid: 'unknown' }),
      await sign({ role: 'admin' }),
    ]) {
      const result = await gql(t.graphqlUrl, Viewer, {}, token);
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });
});
