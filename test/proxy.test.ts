import { lookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../src/shared/network.ts';
import { AuditLog, ProviderCircuit, ProviderKeys, SetProviderEnabled } from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { dumpDatabase } from './helpers/db.ts';
import { call, createClient, createClientKey, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';
import { startFakeOpenAI, startUpstream, type Upstream } from './helpers/upstream.ts';

let t: TestApp;
let upstream: Upstream;
let clientKey: string;
let clientId: string;
let admin: string;
/** A QUERY-style key with characters that percent-encoding changes. */
const QUERY_SECRET = 'sk-audit/secret+key=1234567890';

beforeAll(async () => {
  t = await startTestApp({
    env: { TOLLGATE_MAX_REQUEST_BYTES: '65536', TOLLGATE_MAX_RESPONSE_BYTES: '1048576' },
  });
  upstream = await startUpstream();
  ({ key: clientKey, id: clientId } = await createClient(t));
  admin = await t.token('admin');
});
afterAll(async () => {
  // Provider keys used in this file (QUERY-style ones included) never reach logs or the database.
  const dump = await dumpDatabase(t.config.database.url!);
  await t?.stop();
  await upstream?.close();
  for (const secret of [
    'sk-provider-secret-1234567890',
    'nvd-key-abcdefghijklmnop',
    'sk-first-key-aaaaaaaaaaaa',
    'sk-real-openai-key-0123456789',
    QUERY_SECRET,
    encodeURIComponent(QUERY_SECRET),
  ]) {
    expect(t.logs.text).not.toContain(secret);
    expect(dump).not.toContain(secret);
  }
  expect(t.logs.text).not.toContain(clientKey);
});

/** A request sent exactly as given (no URL normalisation), with its answer's status, headers and body. */
function rawCall(
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${t.url}${path}`,
      { method: options.method ?? 'GET', headers: options.headers, path },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Bytes written straight to Tollgate's socket; resolves with everything it sent back before closing. */
function rawSocket(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const { hostname: host, port } = new URL(t.url);
    const socket = connect(Number(port), host, () => socket.write(text));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer to ${text.slice(0, 40)}`)));
  });
}

/** The status and JSON error body of a raw HTTP answer. */
function parseRaw(answer: string): { status: number; contentType: string; body: unknown } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  return {
    status: Number(head.split(' ')[1]),
    contentType: /content-type: ([^\r]+)/i.exec(head)?.[1] ?? '',
    body: body ? JSON.parse(body) : undefined,
  };
}

async function recentCalls(slug: string) {
  await t.app.usage.flush();
  return (await gql(t.graphqlUrl, ProviderCircuit, { slug }, admin)).data?.provider?.recentCalls ?? [];
}

describe('pass-through', () => {
  it('forwards method, path, query and body, injects the provider key and never forwards the caller credential', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, `${upstream.url}/base`, {
      keys: ['sk-provider-secret-1234567890'],
    });
    const response = await call(t, clientKey, `${slug}/v1/items?limit=2&q=a%20b`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-custom': 'kept', 'x-request-id': 'caller-trace-1' },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(response.status).toBe(200);
    const seen = upstream.requests[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.path).toBe('/base/v1/items');
    expect(seen.query.get('limit')).toBe('2');
    expect(seen.query.get('q')).toBe('a b');
    expect(JSON.parse(seen.body.toString())).toEqual({ hello: 'world' });
    expect(seen.headers.authorization).toBe('Bearer sk-provider-secret-1234567890');
    expect(seen.headers['x-custom']).toBe('kept');
    expect(JSON.stringify(seen.headers)).not.toContain(clientKey);
    expect(response.headers.get('x-request-id')).toBe('caller-trace-1');
    expect(response.headers.get('x-tollgate-provider')).toBe(slug);
    expect(response.headers.get('x-tollgate-attempts')).toBe('1');
    expect(Number(response.headers.get('x-tollgate-overhead-ms'))).toBeGreaterThanOrEqual(0);
  });

  it('passes every method through; a HEAD answer ends at its headers, a 204 has no body', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url);
    upstream.behave({ kind: 'json', body: { ok: true } });
    for (const method of ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const response = await call(t, clientKey, `${slug}/things/1`, { method });
      expect(response.status, method).toBe(200);
      const text = await response.text();
      expect(text, method).toBe(method === 'HEAD' ? '' : '{"ok":true}');
    }
    expect(upstream.requests.map((r) => r.method)).toEqual([
      'GET',
      'HEAD',
      'PUT',
      'PATCH',
      'DELETE',
      'OPTIONS',
    ]);
    upstream.behave({ kind: 'status', status: 204 });
    const empty = await call(t, clientKey, `${slug}/things/2`, { method: 'DELETE' });
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
  });

  it('drops hop-by-hop headers, including those the Connection header names', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${t.url}/proxy/${slug}/hop`,
        {
          headers: {
            authorization: `Bearer ${clientKey}`,
            connection: 'close, x-drop-me',
            'x-drop-me': 'hop',
            te: 'trailers',
            'proxy-authorization': 'Basic eA==',
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
    const seen = upstream.requests[0]!.headers;
    expect(seen['x-drop-me']).toBeUndefined();
    expect(seen['proxy-authorization']).toBeUndefined();
    expect(seen.te).toBeUndefined();
  });

  it.each([
    ['HEADER', { style: 'HEADER', name: 'apiKey' }, (r: Upstream['requests'][number]) => r.headers.apikey],
    [
      'QUERY',
      { style: 'QUERY', name: 'api_key' },
      (r: Upstream['requests'][number]) => r.query.get('api_key'),
    ],
  ] as const)('injects the key as a %s', async (_style, auth, read) => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url, {
      input: { auth },
      keys: ['nvd-key-abcdefghijklmnop'],
    });
    const response = await call(t, clientKey, `${slug}/rest/json/cves/2.0`, {
      headers: { 'x-tollgate-key': clientKey, authorization: '' },
    });
    expect(response.status).toBe(200);
    expect(read(upstream.requests[0]!)).toBe('nvd-key-abcdefghijklmnop');
    expect(upstream.requests[0]!.headers.authorization).toBeUndefined();
    expect(upstream.requests[0]!.headers['x-tollgate-key']).toBeUndefined();
  });

  it('passes upstream errors and redirects through untouched, without following redirects', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url);
    upstream.behave({
      kind: 'status',
      status: 404,
      body: '{"message":"no such CVE"}',
      headers: { 'content-type': 'application/json' },
    });
    const notFound = await call(t, clientKey, `${slug}/cves/CVE-1999-0001`);
    expect(notFound.status).toBe(404);
    expect(await notFound.text()).toBe('{"message":"no such CVE"}');
    upstream.behave({ kind: 'redirect', location: 'http://169.254.169.254/latest/meta-data', status: 302 });
    const redirect = await call(t, clientKey, `${slug}/x`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('http://169.254.169.254/latest/meta-data');
    expect(upstream.requests).toHaveLength(2);
  });
});

describe('gateway errors', () => {
  it('answers with the JSON error body and codes of the contract', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url);
    const check = async (response: Response, status: number, code: string) => {
      expect(response.status).toBe(status);
      const body = (await response.json()) as { error: { code: string; requestId: string; message: string } };
      expect(body.error.code).toBe(code);
      expect(body.error.requestId).toBe(response.headers.get('x-request-id'));
      expect(body.error.message.length).toBeGreaterThan(5);
    };
    await check(await fetch(`${t.url}/proxy/${slug}/x`), 401, 'UNAUTHENTICATED');
    await check(
      await call(t, 'tg_not-a-real-key-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', `${slug}/x`),
      401,
      'UNAUTHENTICATED',
    );
    await check(await call(t, clientKey, 'no-such-provider/x'), 404, 'PROVIDER_NOT_FOUND');
    await check(
      await call(t, clientKey, `${slug}/x`, { method: 'POST', body: 'x'.repeat(70_000) }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    // A provider the client may not call looks exactly like one that does not exist (no enumeration).
    const scoped = await createClientKey(t, { allowedProviders: [] });
    const answers = [];
    for (const path of [`${slug}/x`, 'up-00000000/x']) {
      const response = await call(t, scoped, path);
      const body = (await response.json()) as { error: Record<string, unknown> };
      answers.push({
        status: response.status,
        error: { ...body.error, requestId: undefined, message: undefined },
      });
      expect(body.error.message).toBe(`No provider "${path.split('/')[0]}".`);
    }
    expect(answers[0]).toEqual({
      status: 404,
      error: {
        code: 'PROVIDER_NOT_FOUND',
        provider: null,
        retryable: false,
        requestId: undefined,
        message: undefined,
      },
    });
    expect(answers[1]).toEqual(answers[0]);
    await gql(t.graphqlUrl, SetProviderEnabled, { slug, enabled: false }, admin);
    await t.app.services.providerCache.reload();
    await check(await call(t, clientKey, `${slug}/x`), 503, 'PROVIDER_DISABLED');
    expect(upstream.requests).toHaveLength(0);
    const calls = await recentCalls(slug);
    expect(calls.map((c) => c.outcome)).toEqual(
      expect.arrayContaining(['UNAUTHENTICATED', 'PAYLOAD_TOO_LARGE', 'FORBIDDEN', 'DISABLED']),
    );
  });

  it('streams request bodies over 1 MiB through (once, without retries) and refuses them past the limit', async () => {
    const big = await startTestApp({ env: { TOLLGATE_MAX_REQUEST_BYTES: String(4 * 1024 * 1024) } });
    try {
      upstream.reset();
      const { slug } = await setUpProvider(big, upstream.url, {
        input: { retry: { maxAttempts: 3, baseDelayMs: 1 } },
      });
      const key = await createClientKey(big);
      const payload = Buffer.alloc(3 * 1024 * 1024, 97);
      upstream.behave({ kind: 'json', body: { ok: true } });
      const declared = await call(big, key, `${slug}/upload`, { method: 'PUT', body: payload });
      expect(declared.status).toBe(200);
      expect(upstream.requests[0]?.body.length).toBe(payload.length);

      // Chunked (no length): read until past 1 MiB, then streamed; a 5xx is not retried.
      upstream.reset();
      upstream.behave({ kind: 'status', status: 503 });
      const chunked = await call(big, key, `${slug}/upload`, {
        method: 'PUT',
        body: new Blob([payload]).stream(),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(503);
      expect(chunked.headers.get('x-tollgate-attempts')).toBe('1');
      expect(upstream.requests).toHaveLength(1);

      upstream.reset();
      const tooBig = await call(big, key, `${slug}/upload`, {
        method: 'PUT',
        body: new Blob([Buffer.alloc(5 * 1024 * 1024, 98)]).stream(),
        duplex: 'half',
      } as RequestInit);
      expect(tooBig.status).toBe(413);
      expect(((await tooBig.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    } finally {
      await big.stop();
    }
  });

  it('answers 502 for an upstream body over the size limit, declared or not', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url);
    upstream.behave({ kind: 'huge', bytes: 5 * 1024 * 1024, declareLength: true });
    const declared = await call(t, clientKey, `${slug}/big`);
    expect(declared.status).toBe(502);
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe('UPSTREAM_UNAVAILABLE');
    upstream.behave({ kind: 'huge', bytes: 5 * 1024 * 1024, declareLength: false });
    const streamed = await call(t, clientKey, `${slug}/big`);
    // Headers were already sent: the gateway can only cut the stream short.
    await expect(streamed.arrayBuffer()).rejects.toThrow();
  });

  it('refuses, at connect time, a host name that resolves to a private address', async () => {
    const name = hostname();
    const resolved = await lookup(name);
    expect(
      isPrivateAddress(resolved.address),
      `${name} must resolve to a private address on this machine`,
    ).toBe(true);
    upstream.reset();
    const { slug } = await setUpProvider(t, `http://${name}:${upstream.port}`, {
      input: { allowPrivateNetwork: false },
    });
    const response = await call(t, clientKey, `${slug}/x`);
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain(
      'private address',
    );
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('deadlines and aborts', () => {
  it('answers 504 within the deadline when the upstream never answers, and frees the connection', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url, { input: { timeoutMs: 400 } });
    upstream.behave({ kind: 'hang' });
    const started = Date.now();
    const response = await call(t, clientKey, `${slug}/slow`);
    const elapsed = Date.now() - started;
    expect(response.status).toBe(504);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UPSTREAM_TIMEOUT');
    expect(elapsed).toBeLessThan(400 + 1500);
    await expect.poll(() => upstream.openSockets(), { timeout: 3000 }).toBe(0);
  });

  it('cuts a dripping body at the deadline', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url, { input: { timeoutMs: 500 } });
    upstream.behave({ kind: 'drip', chunks: 50, intervalMs: 100 });
    const started = Date.now();
    const response = await call(t, clientKey, `${slug}/drip`);
    await expect(response.text()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(500 + 1500);
    const calls = await recentCalls(slug);
    expect(calls[0]?.outcome).toBe('TIMEOUT');
  });

  it('a caller that leaves mid-body or sends a malformed chunk is a client abort: 499, no error log', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url);
    const head = `POST /proxy/${slug}/echo HTTP/1.1\r\nHost: tollgate\r\nAuthorization: Bearer ${clientKey}\r\n`;
    // Writes raw bytes, then closes (unless the server has closed first).
    const send = (raw: string) =>
      new Promise<void>((resolve) => {
        const socket = connect(Number(new URL(t.url).port), '127.0.0.1', () => {
          socket.write(raw);
          setTimeout(() => socket.destroy(), 300);
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve());
      });
    const before = t.logs.lines.length;
    await send(`${head}Content-Length: 100\r\n\r\nhello`);
    await send(`${head}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n`);

    await expect.poll(async () => (await recentCalls(slug)).length, { timeout: 3000 }).toBe(2);
    const calls = await recentCalls(slug);
    expect(calls.map((c) => [c.outcome, c.status])).toEqual([
      ['CLIENT_ABORTED', 499],
      ['CLIENT_ABORTED', 499],
    ]);
    expect(upstream.requests).toHaveLength(0);
    const lines = t.logs.lines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.level === 'error' || l.level === 'warn' || l.level === 'fatal')).toEqual([]);
    expect(JSON.stringify(lines)).not.toContain('stack');
    const access = lines.filter((l) => l.msg === 'request' && l.path === `/proxy/${slug}/echo`);
    expect(access.map((l) => l.status)).toEqual([499, 499]);
  });

  it('aborts the upstream request when the caller goes away mid-stream', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url);
    upstream.behave({ kind: 'drip', chunks: 100, intervalMs: 50 });
    const controller = new AbortController();
    const response = await call(t, clientKey, `${slug}/stream`, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await expect.poll(() => upstream.aborted(), { timeout: 3000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => upstream.openSockets(), { timeout: 3000 }).toBe(0);
  });
});

describe('retries and keys', () => {
  it('retries idempotent calls on 5xx with backoff, but not POST', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url, {
      input: { retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 } },
    });
    upstream.behave((_req, index) =>
      index < 2 ? { kind: 'status', status: 503 } : { kind: 'json', body: { ok: true } },
    );
    const get = await call(t, clientKey, `${slug}/flaky`);
    expect(get.status).toBe(200);
    expect(get.headers.get('x-tollgate-attempts')).toBe('3');
    upstream.reset();
    upstream.behave({ kind: 'status', status: 500 });
    const post = await call(t, clientKey, `${slug}/flaky`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(500);
    expect(post.headers.get('x-tollgate-attempts')).toBe('1');
    expect(upstream.requests).toHaveLength(1);
  });

  it('on an upstream 429 cools that key down and serves the call with another key', async () => {
    upstream.reset();
    const { slug, keyIds } = await setUpProvider(t, upstream.url, {
      keys: ['sk-first-key-aaaaaaaaaaaa', 'sk-second-key-bbbbbbbbbbb'],
    });
    upstream.behave((req) =>
      req.headers.authorization === 'Bearer sk-first-key-aaaaaaaaaaaa'
        ? { kind: 'status', status: 429, headers: { 'retry-after': '30' } }
        : { kind: 'json', body: { ok: true } },
    );
    for (let i = 0; i < 6; i++) expect((await call(t, clientKey, `${slug}/x`)).status).toBe(200);
    const firstKeyUses = upstream.requests.filter(
      (r) => r.headers.authorization === 'Bearer sk-first-key-aaaaaaaaaaaa',
    );
    expect(firstKeyUses.length).toBeLessThanOrEqual(1);
    expect(keyIds).toHaveLength(2);
  });

  it('on an upstream 401 marks the key INVALID (audited) and retries with another key', async () => {
    upstream.reset();
    const { slug, keyIds } = await setUpProvider(t, upstream.url, {
      keys: ['sk-revoked-at-provider-aaaa', 'sk-good-key-bbbbbbbbbbbbbb'],
    });
    upstream.behave((req) =>
      req.headers.authorization === 'Bearer sk-revoked-at-provider-aaaa'
        ? { kind: 'status', status: 401 }
        : { kind: 'json', body: { ok: true } },
    );
    for (let i = 0; i < 4; i++) expect((await call(t, clientKey, `${slug}/x`)).status).toBe(200);
    const bad = upstream.requests.filter(
      (r) => r.headers.authorization === 'Bearer sk-revoked-at-provider-aaaa',
    );
    expect(bad.length).toBeLessThanOrEqual(1);
    if (bad.length === 1) {
      await expect
        .poll(
          async () =>
            (await gql(t.graphqlUrl, ProviderKeys, { slug }, admin)).data?.provider?.keys.find(
              (k) => k.id === keyIds[0],
            )?.status,
          { timeout: 3000 },
        )
        .toBe('INVALID');
      const audit = await gql(
        t.graphqlUrl,
        AuditLog,
        { first: 5, filter: { targetId: keyIds[0], action: 'key.invalid' } },
        admin,
      );
      expect(audit.data?.auditLog.edges).toHaveLength(1);
    }
  });
});

describe('an upstream 401/403 marks a key INVALID only on evidence', () => {
  const keysOf = async (slug: string) =>
    (await gql(t.graphqlUrl, ProviderKeys, { slug }, admin)).data?.provider?.keys ?? [];
  const auditOf = async (keyId: string, action: string) =>
    (await gql(t.graphqlUrl, AuditLog, { first: 5, filter: { targetId: keyId, action } }, admin)).data
      ?.auditLog.edges ?? [];

  it('a 403 from a path that refuses every key marks no key and goes back as it came', async () => {
    upstream.reset();
    const { slug, keyIds } = await setUpProvider(t, upstream.url, {
      keys: ['sk-either-key-aaaaaaaaaaaaa', 'sk-either-key-bbbbbbbbbbbbb'],
    });
    upstream.behave((req) =>
      req.path.startsWith('/admin')
        ? { kind: 'json', status: 403, body: { error: 'not for this account' } }
        : { kind: 'json', body: { ok: true } },
    );
    for (let i = 0; i < 3; i++) {
      const refused = await call(t, clientKey, `${slug}/admin/users/${i}`);
      expect(refused.status).toBe(403);
      expect(refused.headers.get('x-tollgate-attempts')).toBe('2');
      expect(await refused.json()).toEqual({ error: 'not for this account' });
    }
    // Both keys were tried, and both still serve.
    expect(new Set(upstream.requests.map((r) => r.headers.authorization)).size).toBe(2);
    const ok = await Promise.all(Array.from({ length: 6 }, () => call(t, clientKey, `${slug}/x`)));
    expect(ok.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    await new Promise((r) => setTimeout(r, 300));
    expect((await keysOf(slug)).map((k) => [k.status, k.problem])).toEqual([
      ['ACTIVE', null],
      ['ACTIVE', null],
    ]);
    for (const id of keyIds) expect(await auditOf(id, 'key.invalid')).toHaveLength(0);
  });

  it('a one-key provider whose health check accepts the key keeps it ACTIVE after a 403 (refusal audited)', async () => {
    // An upstream of its own: the health monitor's scheduled probes of this provider must not
    // reach the upstream that later tests count requests on.
    const own = await startUpstream({ kind: 'json', body: { ok: true } });
    try {
      const { slug, keyIds } = await setUpProvider(t, own.url, {
        input: { healthCheck: { enabled: true, path: '/health', intervalMs: 3_600_000 } },
        keys: ['sk-lonely-key-accepted-aaaa'],
      });
      own.behave((req) =>
        req.path === '/health' ? { kind: 'json', body: { ok: true } } : { kind: 'status', status: 403 },
      );
      const refused = await call(t, clientKey, `${slug}/models/4242`);
      expect(refused.status).toBe(403);
      expect(refused.headers.get('x-tollgate-attempts')).toBe('1');
      await expect.poll(() => auditOf(keyIds[0]!, 'key.refused'), { timeout: 3000 }).toHaveLength(1);
      const [entry] = await auditOf(keyIds[0]!, 'key.refused');
      expect(entry?.node.details).toMatchObject({
        problem: expect.stringMatching(
          new RegExp(`^${slug} answered 403 to GET /models/:id; the health check accepted it`),
        ),
      });
      // The probe ran with that key.
      const probe = own.requests.find((r) => r.path === '/health');
      expect(probe?.headers.authorization).toBe('Bearer sk-lonely-key-accepted-aaaa');
      expect((await keysOf(slug)).map((k) => [k.status, k.problem])).toEqual([['ACTIVE', null]]);
      expect(await auditOf(keyIds[0]!, 'key.invalid')).toHaveLength(0);
      expect(t.logs.text).toContain('provider refused a key; not marked INVALID');
      // The key still serves, and a refusal repeated within the minute is not audited again.
      own.behave({ kind: 'json', body: { ok: true } });
      expect((await call(t, clientKey, `${slug}/x`)).status).toBe(200);
      own.behave((req) =>
        req.path === '/health' ? { kind: 'json', body: { ok: true } } : { kind: 'status', status: 403 },
      );
      expect((await call(t, clientKey, `${slug}/models/1`)).status).toBe(403);
      await new Promise((r) => setTimeout(r, 300));
      expect(await auditOf(keyIds[0]!, 'key.refused')).toHaveLength(1);
    } finally {
      await own.close();
    }
  });

  it('a one-key provider whose health check is refused too gets its key marked INVALID', async () => {
    // An upstream of its own: the health monitor's scheduled probes of this provider must not
    // reach the upstream that later tests count requests on.
    const own = await startUpstream({ kind: 'json', body: { ok: true } });
    try {
      const { slug, keyIds } = await setUpProvider(t, own.url, {
        input: { healthCheck: { enabled: true, path: '/health', intervalMs: 3_600_000 } },
        keys: ['sk-lonely-key-revoked-aaaa'],
      });
      own.behave({ kind: 'status', status: 401 });
      expect((await call(t, clientKey, `${slug}/x`)).status).toBe(401);
      await expect.poll(async () => (await keysOf(slug))[0]?.status, { timeout: 3000 }).toBe('INVALID');
      expect((await keysOf(slug))[0]?.problem).toMatch(/the health check GET \/health answered 401$/);
      expect(await auditOf(keyIds[0]!, 'key.invalid')).toHaveLength(1);
      await t.app.services.keyRing.reload();
      const after = await call(t, clientKey, `${slug}/x`);
      expect(after.status).toBe(503);
      expect(((await after.json()) as { error: { code: string } }).error.code).toBe('NO_USABLE_KEY');
    } finally {
      await own.close();
    }
  });

  it('a one-key provider without a health check keeps its key ACTIVE and records the refusal', async () => {
    upstream.reset();
    const { slug, keyIds } = await setUpProvider(t, upstream.url, { keys: ['sk-lonely-key-unprobed-aa'] });
    upstream.behave({ kind: 'status', status: 403 });
    expect(
      (await call(t, clientKey, `${slug}/projects/7/secrets`, { method: 'POST', body: '{}' })).status,
    ).toBe(403);
    await expect.poll(() => auditOf(keyIds[0]!, 'key.refused'), { timeout: 3000 }).toHaveLength(1);
    const [entry] = await auditOf(keyIds[0]!, 'key.refused');
    expect(entry?.node.details).toMatchObject({
      problem: `${slug} answered 403 to POST /projects/:id/secrets; no health check to verify the key with`,
    });
    expect((await keysOf(slug)).map((k) => k.status)).toEqual(['ACTIVE']);
    expect(upstream.requests).toHaveLength(1);
    upstream.behave({ kind: 'json', body: { ok: true } });
    expect((await call(t, clientKey, `${slug}/x`)).status).toBe(200);
  });
});

describe('OpenAI SDK through Tollgate', () => {
  it('works for plain and streaming chat completions, with tokens metered from both', async () => {
    const openai = await startFakeOpenAI();
    try {
      const { slug } = await setUpProvider(t, `${openai.url}/v1`, {
        input: {
          kind: 'OPENAI_COMPATIBLE',
          pricing: {
            perRequestMicros: 100,
            models: [
              { model: 'gpt-test', inputPerMillionMicros: 2_500_000, outputPerMillionMicros: 10_000_000 },
            ],
          },
        },
        keys: ['sk-real-openai-key-0123456789'],
      });
      const sdk = new OpenAI({ apiKey: clientKey, baseURL: `${t.url}/proxy/${slug}`, maxRetries: 0 });
      const completion = await sdk.chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'hi' }],
      });
      expect(completion.choices[0]?.message.content).toBe('Hello!');
      expect(completion.usage?.total_tokens).toBe(15);

      const stream = await sdk.chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).toBe('Hello!');
      expect(
        openai.requests.every((r) => r.headers.authorization === 'Bearer sk-real-openai-key-0123456789'),
      ).toBe(true);

      const calls = await recentCalls(slug);
      expect(calls).toHaveLength(2);

      // A stream without a usage chunk is charged its request price and says so.
      const bare = await sdk.chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      for await (const _chunk of bare) {
        // drain
      }
      const [unmetered] = await recentCalls(slug);
      expect(unmetered).toMatchObject({
        outcome: 'SUCCESS',
        promptTokens: null,
        costMicros: 100,
        pricedWithoutTokens: true,
      });

      for (const c of calls) {
        // 12 prompt tokens at $2.50/M (30 µ$) + 3 completion tokens at $10/M (30 µ$) + 100 µ$ per request.
        expect(c).toMatchObject({
          outcome: 'SUCCESS',
          promptTokens: 12,
          completionTokens: 3,
          model: 'gpt-test',
          costMicros: 160,
          pricedWithoutTokens: false,
        });
      }
    } finally {
      await openai.close();
    }
  });
});

describe('metering', () => {
  it('writes exactly one usage event per call, rejected calls included', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url);
    const statuses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call(t, i % 5 === 0 ? 'tg_wrong' : clientKey, `${slug}/m/${i}`).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(24);
    const calls = await recentCalls(slug);
    expect(calls.filter((c) => c.outcome === 'SUCCESS')).toHaveLength(24);
    const rejected = await t.app.orm.em
      .fork()
      .execute(
        "select count(*)::int as n from usage_events where provider_slug = ? and outcome = 'UNAUTHENTICATED'",
        [slug],
      );
    expect((rejected[0] as { n: number }).n).toBe(6);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain(
      `tollgate_proxy_calls_total{provider="${slug}",client="${clientId}",outcome="SUCCESS"} 24`,
    );
    expect(metrics).toContain(
      `tollgate_proxy_calls_total{provider="${slug}",client="none",outcome="UNAUTHENTICATED"} 6`,
    );
    expect(metrics).toMatch(/^tollgate_rate_limit_degraded 0$/m);
  });
  it('meters what an upstream sends as usage, however odd, without blocking later usage writes', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url, { input: { kind: 'OPENAI_COMPATIBLE' } });
    const answers = [
      // PostgreSQL text cannot hold NUL or half a surrogate pair: they must not reach the insert.
      { model: 'gpt\u0000-x\ud800', usage: { prompt_tokens: 1, completion_tokens: 2 } },
      // Beyond a 32-bit integer column: that count is not metered, rather than failing the batch.
      { model: 'gpt-big', usage: { prompt_tokens: 3_000_000_000, completion_tokens: 2 } },
      { model: 'tab\tnew\nline\\back', usage: { prompt_tokens: 5, completion_tokens: 6 } },
    ];
    upstream.behave((_req, i) => ({ kind: 'json', body: answers[i] }));
    for (const [i] of answers.entries())
      expect((await call(t, clientKey, `${slug}/v1/m/${i}`)).status).toBe(200);
    upstream.behave({
      kind: 'json',
      body: { model: 'after', usage: { prompt_tokens: 7, completion_tokens: 8 } },
    });
    expect((await call(t, clientKey, `${slug}/v1/after`)).status).toBe(200);

    const calls = await recentCalls(slug);
    expect(calls.map((c) => [c.model, c.promptTokens, c.completionTokens]).reverse()).toEqual([
      ['gpt-x\ufffd', 1, 2],
      ['gpt-big', null, 2],
      ['tab\tnew\nline\\back', 5, 6],
      ['after', 7, 8],
    ]);
    expect(t.app.usage.buffered).toBe(0);
  });
});

describe('audit hardening', () => {
  it('never lets the injected key reach the caller in a response header, raw or URL-encoded', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, `${upstream.url}/v1`, {
      input: { auth: { style: 'QUERY', name: 'api_key' } },
      keys: [QUERY_SECRET],
    });
    const encoded = encodeURIComponent(QUERY_SECRET);
    // A trailing-slash redirect that keeps the query (Django's APPEND_SLASH, nginx directories).
    upstream.behave((req) => ({
      kind: 'redirect',
      status: 301,
      location: `${req.url.replace('?', '/?')}`,
    }));
    const redirect = await call(t, clientKey, `${slug}/slashredir?q=1`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    // Found by path: a health probe left over from an earlier test may reach the upstream too.
    const forwarded = upstream.requests.find((r) => r.path === '/v1/slashredir');
    expect(forwarded?.query.get('api_key')).toBe(QUERY_SECRET);
    expect(redirect.headers.get('location')).toBe('/v1/slashredir/?q=1&api_key=REDACTED');

    // An upstream echoing the key in any header, in any of its spellings, repeated headers included.
    upstream.behave({
      kind: 'json',
      headers: {
        'x-echo-auth': QUERY_SECRET,
        'www-authenticate': `Bearer realm="${QUERY_SECRET}"`,
        'x-echo-lower': encoded.toLowerCase(),
        'set-cookie': `k=${encoded}`,
        'x-innocent': 'kept as it is',
      },
    });
    const echo = await call(t, clientKey, `${slug}/echokey`);
    expect(echo.status).toBe(200);
    const all = JSON.stringify([...echo.headers]);
    expect(all).not.toContain(QUERY_SECRET);
    expect(all.toLowerCase()).not.toContain(encoded.toLowerCase());
    expect(echo.headers.get('x-echo-auth')).toBe('REDACTED');
    expect(echo.headers.get('www-authenticate')).toBe('Bearer realm="REDACTED"');
    expect(echo.headers.get('x-echo-lower')).toBe('REDACTED');
    expect(echo.headers.get('set-cookie')).toBe('k=REDACTED');
    expect(echo.headers.get('x-innocent')).toBe('kept as it is');

    // A BEARER key echoed back is redacted as well.
    upstream.reset();
    const bearer = await setUpProvider(t, upstream.url, { keys: ['sk-provider-secret-1234567890'] });
    upstream.behave((req) => ({
      kind: 'json',
      headers: { 'x-echo-auth': String(req.headers.authorization) },
    }));
    const echoed = await call(t, clientKey, `${bearer.slug}/echo`);
    expect(echoed.headers.get('x-echo-auth')).toBe('Bearer REDACTED');
  });

  describe('a key echoed in a response header in another encoding', () => {
    const percentAll = (text: string, hex: (h: string) => string = (h) => h) =>
      [...Buffer.from(text)].map((b) => `%${hex(b.toString(16).toUpperCase().padStart(2, '0'))}`).join('');
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const b64url = (text: string) => Buffer.from(text).toString('base64url');
    const half = QUERY_SECRET.length / 2;
    const [head, tail] = [QUERY_SECRET.slice(0, half), QUERY_SECRET.slice(half)];
    /** The spellings nothing may send back, whichever row: each row's header uses one of them or more. */
    const encodings: [string, Record<string, string | string[]>][] = [
      ['with only + percent-encoded', { 'x-echo': QUERY_SECRET.replace('+', '%2B') }],
      ['fully percent-encoded', { 'x-echo': percentAll(QUERY_SECRET) }],
      [
        'fully percent-encoded, lower-case hex',
        { 'x-echo': percentAll(QUERY_SECRET, (h) => h.toLowerCase()) },
      ],
      ['URL-encoded, upper-case hex', { location: `/next?api_key=${encodeURIComponent(QUERY_SECRET)}` }],
      [
        'URL-encoded twice (a redirect inside a redirect)',
        {
          location: `/login?next=${encodeURIComponent(`/v1/x?api_key=${encodeURIComponent(QUERY_SECRET)}`)}`,
        },
      ],
      ['form-encoded', { 'x-echo': new URLSearchParams({ k: QUERY_SECRET }).toString() }],
      ['base64', { 'x-echo': b64(QUERY_SECRET) }],
      ['base64url', { 'x-echo': b64url(QUERY_SECRET) }],
      ['base64 in Basic credentials', { 'www-authenticate': `Basic ${b64(`user:${QUERY_SECRET}`)}` }],
      [
        'base64url inside a JWT-like token',
        {
          'x-session': `${b64url('{"alg":"none"}')}.${b64url(JSON.stringify({ key: QUERY_SECRET }))}.sig`,
        },
      ],
      ['base64 after a prefix', { 'set-cookie': `s=sess_${b64(`k=${QUERY_SECRET}`)}; Path=/` }],
      ['split across two headers', { 'x-part-1': head, 'x-part-2': tail }],
      ['split across a repeated header', { 'x-part': [head, tail] }],
      ['split across a joined header value', { 'x-part': `${head}, ${tail}` }],
      [
        'split across two headers, percent-encoded',
        {
          'x-part-1': encodeURIComponent(head),
          'x-part-2': encodeURIComponent(tail),
        },
      ],
    ];
    let slug: string;
    beforeAll(async () => {
      ({ slug } = await setUpProvider(t, `${upstream.url}/v1`, {
        input: { auth: { style: 'QUERY', name: 'api_key' } },
        keys: [QUERY_SECRET],
      }));
    });

    it.each(encodings)('redacts a key echoed %s', async (_name, headers) => {
      upstream.behave({ kind: 'json', headers: { ...headers, 'x-innocent': 'kept, as it is' } });
      const res = await call(t, clientKey, `${slug}/echo`);
      expect(res.status).toBe(200);
      const seen = [...res.headers].map(([, value]) => value).join('\n');
      // Whatever the spelling, decoded it is not there any more...
      const percentDecoded = (text: string) =>
        text.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
      for (const view of [seen, percentDecoded(seen), percentDecoded(percentDecoded(seen))])
        expect(view).not.toContain(QUERY_SECRET);
      for (const name of Object.keys(headers)) expect(res.headers.get(name)).toContain('REDACTED');
      for (const part of [head, tail]) expect(seen).not.toContain(encodeURIComponent(part));
      for (const encoded of [b64(QUERY_SECRET), b64url(QUERY_SECRET)]) expect(seen).not.toContain(encoded);
      // ...and what carries no key is left alone.
      expect(res.headers.get('x-innocent')).toBe('kept, as it is');
    });

    it('redacts a key with spaces echoed form-encoded, + for space', async () => {
      const spaced = 'Token sk-spaced key 0123456789';
      const spacedProvider = await setUpProvider(t, upstream.url, {
        input: { auth: { style: 'HEADER', name: 'authorization' } },
        keys: [spaced],
      });
      upstream.behave({
        kind: 'json',
        headers: { location: `/x?k=${new URLSearchParams({ spaced }).toString()}` },
      });
      const res = await call(t, clientKey, `${spacedProvider.slug}/echo`);
      expect(res.headers.get('location')).toBe('/x?k=spaced=REDACTED');
    });
  });

  it('refuses TRACE, TRACK and CONNECT with a JSON error and never forwards them', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url);
    const trace = await rawCall(`/proxy/${slug}/echo`, {
      method: 'TRACE',
      headers: { authorization: `Bearer ${clientKey}` },
    });
    expect(trace.status).toBe(405);
    expect(trace.headers['content-type']).toContain('application/json');
    expect(trace.headers.allow).toBeUndefined();
    expect(JSON.parse(trace.body)).toMatchObject({
      error: {
        code: 'METHOD_NOT_ALLOWED',
        message: 'Tollgate does not forward TRACE requests.',
        retryable: false,
      },
    });
    // node:http's parser does not know TRACK: it is refused as malformed, still with JSON.
    const track = parseRaw(
      await rawSocket(
        `TRACK /proxy/${slug}/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${clientKey}\r\n\r\n`,
      ),
    );
    expect(track.status).toBe(400);
    expect(track.body).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    const connectAnswer = parseRaw(
      await rawSocket(
        `CONNECT ${new URL(upstream.url).host} HTTP/1.1\r\nHost: ${new URL(upstream.url).host}\r\n\r\n`,
      ),
    );
    expect(connectAnswer.status).toBe(405);
    expect(connectAnswer.contentType).toContain('application/json');
    expect(connectAnswer.body).toMatchObject({ error: { code: 'METHOD_NOT_ALLOWED' } });
    expect(upstream.requests).toHaveLength(0);
    const calls = await recentCalls(slug);
    expect(calls.map((c) => [c.status, c.outcome])).toEqual([[405, 'CLIENT_ERROR']]);
  });

  it('refuses paths with . or .. segments, raw or percent-encoded, and forwards names that only contain dots', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, `${upstream.url}/v1/tenant`);
    const auth = { authorization: `Bearer ${clientKey}` };
    for (const rest of [
      '/../../graphql',
      '/..',
      '/a/./b',
      '/%2e%2e/%2e%2e/secret',
      '/%2E%2e/secret',
      '/.%2E/secret',
      '/%2e/secret',
      '/x/..%2fy',
      '/x/..%5Cy',
      '/x/%2e%2e%5c%2e%2e%5csecret',
      '/x\\..\\y',
      '/..;/secret',
      '/%2e%2e;%ZZ/x',
    ]) {
      const refused = await rawCall(`/proxy/${slug}${rest}`, { headers: auth });
      expect(refused.status, rest).toBe(400);
      expect(JSON.parse(refused.body), rest).toMatchObject({
        error: { code: 'INVALID_PATH', provider: null },
      });
    }
    expect(upstream.requests).toHaveLength(0);
    for (const rest of ['/files/a..b', '/.well-known/x', '/.../x', '/%2e%2e%2e', '/a/b.', '/.env.json']) {
      const passed = await rawCall(`/proxy/${slug}${rest}`, { headers: auth });
      expect(passed.status, rest).toBe(200);
    }
    expect(upstream.requests.map((r) => r.url)).toEqual([
      '/v1/tenant/files/a..b',
      '/v1/tenant/.well-known/x',
      '/v1/tenant/.../x',
      '/v1/tenant/%2e%2e%2e',
      '/v1/tenant/a/b.',
      '/v1/tenant/.env.json',
    ]);
  });

  it('strips the response headers that the upstream Connection header nominates', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url);
    upstream.behave({
      kind: 'json',
      headers: { connection: 'keep-alive, X-Secret-Upstream', 'x-secret-upstream': 'leak', 'x-kept': 'yes' },
    });
    const response = await rawCall(`/proxy/${slug}/hop`, {
      headers: { authorization: `Bearer ${clientKey}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers['x-secret-upstream']).toBeUndefined();
    expect(response.headers['x-kept']).toBe('yes');
  });

  it('keeps the caller query string byte for byte with a QUERY key, replacing only the key parameter', async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, `${upstream.url}/v1`, {
      input: { auth: { style: 'QUERY', name: 'api_key' } },
      keys: [QUERY_SECRET],
    });
    const query = "q=a%20b&flag&z=%ZZ&w=~!*()'&api_key=caller&api%5Fkey=caller2&e=";
    const response = await rawCall(`/proxy/${slug}/echo?${query}`, {
      headers: { authorization: `Bearer ${clientKey}` },
    });
    expect(response.status).toBe(200);
    expect(upstream.requests[0]!.url).toBe(
      `/v1/echo?q=a%20b&flag&z=%ZZ&w=~!*()'&e=&api_key=${encodeURIComponent(QUERY_SECRET)}`,
    );
    await rawCall(`/proxy/${slug}/echo`, { headers: { authorization: `Bearer ${clientKey}` } });
    expect(upstream.requests[1]!.url).toBe(`/v1/echo?api_key=${encodeURIComponent(QUERY_SECRET)}`);
  });

  it("answers with the JSON error body on the server's own edges", async () => {
    upstream.reset();
    const { slug } = await setUpProvider(t, upstream.url);
    const json = (
      answer: { status: number; contentType: string; body: unknown },
      status: number,
      code: string,
    ) => {
      expect(answer.status).toBe(status);
      expect(answer.contentType).toContain('application/json');
      expect(answer.body).toMatchObject({ error: { code } });
    };
    // A client key of 60 KB: over node:http's header limit.
    json(
      parseRaw(
        await rawSocket(
          `GET /proxy/${slug}/x HTTP/1.1\r\nHost: x\r\nx-tollgate-key: ${'k'.repeat(60_000)}\r\n\r\n`,
        ),
      ),
      431,
      'HEADERS_TOO_LARGE',
    );
    json(
      parseRaw(await rawSocket('GET /proxy/x HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n')),
      400,
      'BAD_REQUEST',
    );
    const nested = await fetch(`${t.url}/graphql/x`, { method: 'POST', body: '{}' });
    expect(nested.status).toBe(404);
    expect(((await nested.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    // Upgrade is ignored outside /graphql: the call is served (without Upgrade) like any other.
    const upgrade = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13' };
    const proxied = await rawCall(`/proxy/${slug}/ws`, {
      headers: {
        ...upgrade,
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        authorization: `Bearer ${clientKey}`,
      },
    });
    expect(proxied.status).toBe(200);
    expect(upstream.requests[0]!.headers.upgrade).toBeUndefined();
    const unauthenticated = await rawCall(`/proxy/${slug}/ws`, {
      headers: { connection: 'Upgrade', upgrade: 'h2c' },
    });
    expect(unauthenticated.status).toBe(401);
    expect(JSON.parse(unauthenticated.body)).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    const nowhere = await rawCall('/nowhere', { headers: upgrade });
    expect(nowhere.status).toBe(404);
    expect(JSON.parse(nowhere.body)).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});
