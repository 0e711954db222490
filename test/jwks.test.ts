import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Viewer } from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { gql } from './helpers/graphql.ts';
import { initOutcome, openRawSocket } from './helpers/raw-ws.ts';

/** Operator tokens from an OIDC provider: a local JWKS endpoint stands in for the identity provider. */
let idp: Server;
let t: TestApp;
let privateKey: CryptoKey;
let publicKey: CryptoKey;
let jwksUrl: string;
const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'tollgate-control-plane';

beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  privateKey = pair.privateKey;
  publicKey = pair.publicKey;
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
      // These tests send dozens of bad tokens from one address on purpose.
      TOLLGATE_AUTH_FAILURE_LIMIT: '0',
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

  it('refuses hostile and malformed tokens over HTTP and at WebSocket init, all alike', async () => {
    const attacker = await generateKeyPair('RS256', { extractable: true });
    const attackerJwk = await exportJWK(attacker.publicKey);
    const pem = new TextEncoder().encode(await exportSPKI(publicKey));
    const base = (claims: Record<string, unknown> = { tollgate_role: 'admin' }) =>
      new SignJWT(claims).setSubject('oidc-user').setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt();
    const now = Math.floor(Date.now() / 1000);
    const tokens: [string, string][] = [
      [
        'alg none',
        new UnsecuredJWT({ tollgate_role: 'admin' })
          .setSubject('x')
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setExpirationTime('5m')
          .encode(),
      ],
      [
        'HS256 keyed with the public key (algorithm confusion)',
        await base().setProtectedHeader({ alg: 'HS256', kid: 'idp-key-1' }).setExpirationTime('5m').sign(pem),
      ],
      [
        "embedded jwk with the attacker's key",
        await base()
          .setProtectedHeader({ alg: 'RS256', jwk: attackerJwk })
          .setExpirationTime('5m')
          .sign(attacker.privateKey),
      ],
      [
        'jku pointing elsewhere',
        await base()
          .setProtectedHeader({ alg: 'RS256', kid: 'idp-key-1', jku: 'https://evil.example/jwks.json' })
          .setExpirationTime('5m')
          .sign(attacker.privateKey),
      ],
      [
        'wrong issuer',
        await base()
          .setIssuer('https://evil.example/')
          .setProtectedHeader({ alg: 'RS256', kid: 'idp-key-1' })
          .setExpirationTime('5m')
          .sign(privateKey),
      ],
      [
        'wrong audience',
        await base()
          .setAudience('other')
          .setProtectedHeader({ alg: 'RS256', kid: 'idp-key-1' })
          .setExpirationTime('5m')
          .sign(privateKey),
      ],
      ['no exp', await base().setProtectedHeader({ alg: 'RS256', kid: 'idp-key-1' }).sign(privateKey)],
      [
        'expired',
        await base()
          .setProtectedHeader({ alg: 'RS256', kid: 'idp-key-1' })
          .setExpirationTime(now - 3600)
          .sign(privateKey),
      ],
      [
        'nbf in the future',
        await base()
          .setProtectedHeader({ alg: 'RS256', kid: 'idp-key-1' })
          .setNotBefore(now + 3600)
          .setExpirationTime(now + 7200)
          .sign(privateKey),
      ],
      ['very long kid', await sign({ tollgate_role: 'admin' }, { alg: 'RS256', kid: 'k'.repeat(4000) })],
      ['path-like kid', await sign({ tollgate_role: 'admin' }, { alg: 'RS256', kid: '../../idp-key-1' })],
      ['numeric kid', await sign({ tollgate_role: 'admin' }, { alg: 'RS256', kid: 1 as unknown as string })],
    ];
    for (const [name, token] of tokens) {
      const result = await gql(t.graphqlUrl, Viewer, {}, token);
      expect(result.errors?.[0]?.extensions?.code, name).toBe('UNAUTHENTICATED');
      expect(result.errors?.[0]?.message, name).toBe('Authentication required: send a valid bearer token.');
      expect(result.data ?? null, name).toBeNull();
      const raw = await openRawSocket(t.graphqlUrl);
      raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
      expect(await initOutcome(raw), name).toEqual({ code: 4403, reason: 'Forbidden' });
      raw.socket.close();
    }
  });
});
