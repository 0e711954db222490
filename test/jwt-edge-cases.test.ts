import { generateKeyPairSync } from 'node:crypto';
import { base64url, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from './helpers/app.ts';
import { wsClient } from './helpers/graphql.ts';
import { initOutcome, openRawSocket } from './helpers/raw-ws.ts';

/**
 * Odd and hostile HS256 tokens, over HTTP and WebSocket (at connection_init and per operation):
 * every one is refused the same way, with nothing that tells an attacker which check failed.
 * (JWKS-specific cases are in jwks.test.ts.)
 */
let t: TestApp;
const secret = new TextEncoder().encode(TEST_JWT_SECRET);
const now = () => Math.floor(Date.now() / 1000);
const GENERIC = 'Authentication required: send a valid bearer token.';

beforeAll(async () => {
  // The refused-token limit is off here: this file sends dozens of bad tokens on purpose.
  t = await startTestApp({ env: { TOLLGATE_AUTH_FAILURE_LIMIT: '0' } });
});
afterAll(() => t?.stop());

const { privateKey: rsaKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const { privateKey: ecKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** Tollgate's own claims, signed with the real secret, with `change` applied. */
function sign(
  change: { claims?: Record<string, unknown>; header?: Record<string, unknown>; key?: unknown } = {},
): Promise<string> {
  const claims = {
    role: 'admin',
    sub: 'mallory',
    iss: 'tollgate',
    aud: 'tollgate',
    iat: now() - 10,
    exp: now() + 600,
    ...change.claims,
  };
  for (const [k, v] of Object.entries(claims))
    if (v === undefined) delete (claims as Record<string, unknown>)[k];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', ...change.header } as { alg: string })
    .sign((change.key ?? secret) as Uint8Array);
}

/** A token whose header says one thing and whose signature is HMAC-SHA256 (by default with the real secret). */
async function withHeader(
  header: Record<string, unknown>,
  hmacKey: Uint8Array<ArrayBuffer> = secret,
): Promise<string> {
  const payload = { role: 'admin', sub: 'mallory', iss: 'tollgate', aud: 'tollgate', exp: now() + 600 };
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}`;
  const key = await crypto.subtle.importKey('raw', hmacKey, { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(input)));
  return `${input}.${base64url.encode(signature)}`;
}

const BAD_TOKENS: [string, () => Promise<string>][] = [
  [
    'unsigned (alg none)',
    async () =>
      new UnsecuredJWT({ role: 'admin' })
        .setSubject('mallory')
        .setIssuer('tollgate')
        .setAudience('tollgate')
        .setExpirationTime(now() + 600)
        .encode(),
  ],
  ['alg none in the header, HMAC signature kept', () => withHeader({ alg: 'none' })],
  ['alg "NONE" spelt otherwise', () => withHeader({ alg: 'None' })],
  ['HS384 (same family, other algorithm)', () => sign({ header: { alg: 'HS384' } })],
  ['HS512', () => sign({ header: { alg: 'HS512' } })],
  ['RS256 (asymmetric family)', () => sign({ header: { alg: 'RS256' }, key: rsaKey })],
  ['ES256', () => sign({ header: { alg: 'ES256' }, key: ecKey })],
  ['RS256 in the header, HMAC signature (algorithm confusion)', () => withHeader({ alg: 'RS256' })],
  ['signed with another secret', () => sign({ key: new TextEncoder().encode('x'.repeat(48)) })],
  ['wrong issuer', () => sign({ claims: { iss: 'evil' } })],
  ['no issuer', () => sign({ claims: { iss: undefined } })],
  ['wrong audience', () => sign({ claims: { aud: 'another-api' } })],
  ['no audience', () => sign({ claims: { aud: undefined } })],
  ['no exp', () => sign({ claims: { exp: undefined } })],
  ['exp as a string', () => sign({ claims: { exp: String(now() + 600) } })],
  ['exp beyond any date', () => sign({ claims: { exp: 1e15 } })],
  ['expired an hour ago', () => sign({ claims: { exp: now() - 3600 } })],
  ['expired past the clock tolerance', () => sign({ claims: { exp: now() - 30 } })],
  ['nbf in the future', () => sign({ claims: { nbf: now() + 3600 } })],
  ['no sub', () => sign({ claims: { sub: undefined } })],
  ['sub that is not a string', () => sign({ claims: { sub: 12345 } })],
  ['empty sub', () => sign({ claims: { sub: '' } })],
  ['unknown role', () => sign({ claims: { role: 'root' } })],
  ['role as a list', () => sign({ claims: { role: ['admin'] } })],
  ['very long kid', () => sign({ header: { kid: 'k'.repeat(5000) } })],
  ['path-like kid', () => sign({ header: { kid: '../../../../dev/null' } })],
  ['URL kid', () => sign({ header: { kid: 'https://evil.example/key' } })],
  ['SQL in the kid', () => sign({ header: { kid: "x' OR '1'='1" } })],
  ['numeric kid', () => sign({ header: { kid: 7 } })],
  ['object kid', () => sign({ header: { kid: { $ne: null } } })],
  [
    'unknown critical header',
    () => withHeader({ alg: 'HS256', crit: ['x-must-understand'], 'x-must-understand': 1 }),
  ],
  [
    "an embedded jwk header carrying the attacker's own key",
    () => {
      const attacker = new TextEncoder().encode('attacker-chosen-secret-0123456789abcdef');
      return withHeader({ alg: 'HS256', jwk: { kty: 'oct', k: base64url.encode(attacker) } }, attacker);
    },
  ],
  ['garbage', async () => 'not.a.jwt'],
  ['two parts', async () => 'eyJhbGciOiJIUzI1NiJ9.e30'],
  ['50 KB of token', async () => `${await sign()}${'A'.repeat(50_000)}`],
];

describe('JWT edge cases (HS256)', () => {
  it('accepts the control token, so the refusals below are about the change alone', async () => {
    const response = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await sign()}` },
      body: JSON.stringify({ query: '{ viewer { subject role } }' }),
    });
    expect(await response.json()).toEqual({ data: { viewer: { subject: 'mallory', role: 'ADMIN' } } });
  });

  it.each(BAD_TOKENS)(
    'refuses a token that is %s over HTTP, with the generic message',
    async (_name, make) => {
      const token = await make();
      const response = await fetch(t.graphqlUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ query: '{ viewer { subject role } }' }),
      });
      // Over 16 KB the header is refused by Node itself (431) before Tollgate sees it.
      if (token.length > 16_000) {
        expect(response.status).toBe(431);
        return;
      }
      const body = (await response.json()) as {
        data?: unknown;
        errors?: { message: string; extensions?: unknown }[];
      };
      expect(body.data ?? null).toBeNull();
      expect(body.errors).toEqual([
        expect.objectContaining({ message: GENERIC, extensions: { code: 'UNAUTHENTICATED' } }),
      ]);
    },
  );

  it.each(BAD_TOKENS)(
    'refuses a token that is %s at WebSocket connection_init with 4403 Forbidden',
    async (_name, make) => {
      const raw = await openRawSocket(t.graphqlUrl);
      raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${await make()}` } });
      // Fails at once (not at the test timeout) if the token is accepted.
      expect(await initOutcome(raw)).toEqual({ code: 4403, reason: 'Forbidden' });
      raw.socket.close();
      expect(raw.messages).toEqual([]);
    },
  );

  it('refuses every bad token sent with a WebSocket operation (as GraphiQL does) with the generic message', async () => {
    const client = wsClient(t.graphqlUrl);
    try {
      for (const [name, make] of BAD_TOKENS) {
        const iterator = client.iterate({
          query: '{ viewer { subject } }',
          extensions: { headers: { authorization: `Bearer ${await make()}` } },
        });
        const result = (await iterator.next()).value as { data?: unknown; errors?: { message: string }[] };
        await iterator.return?.();
        expect(result.data ?? null, name).toBeNull();
        expect(
          result.errors?.map((e) => e.message),
          name,
        ).toEqual([GENERIC]);
      }
    } finally {
      await client.dispose();
    }
  });

  it('never echoes a refused token, its kid or the reason in a log line above debug', async () => {
    const lines = t.logs.lines.map((l) => JSON.parse(l) as { level: string; msg: string });
    const loud = lines.filter((l) => l.level !== 'debug').map((l) => JSON.stringify(l));
    expect(loud.join('\n')).not.toMatch(/dev\/null|evil\.example|OR '1'='1|kkkkkkkkkk/);
    expect(t.logs.text).not.toContain(TEST_JWT_SECRET);
  });
});
