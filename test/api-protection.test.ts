import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { createClient, setUpProvider } from './helpers/gateway.ts';
import { wsClient } from './helpers/graphql.ts';
import { openRawSocket, upgradeStatus } from './helpers/raw-ws.ts';
import { startUpstream } from './helpers/upstream.ts';

/** Introspection policy, batching, body size, CSRF prevention and the WebSocket Origin check. */

type Body = { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };

async function post(
  url: string,
  body: unknown,
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Body; headers: Headers }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Body) : {}, headers: response.headers };
}

const INTROSPECTION = '{ __schema { queryType { name } types { name fields { name } } } }';
const TYPE_QUERY = '{ __type(name: "Provider") { name fields { name } } }';
const HIDDEN_IN_FRAGMENT = '{ ...Q } fragment Q on Query { __schema { types { name } } }';

/** Words that would only appear in a response if some of the schema leaked. */
const SCHEMA_WORDS = /ProviderKey|createProvider|baseUrl|__Type|"types"/;

describe('with the default settings', () => {
  let t: TestApp;
  let viewer: string;
  beforeAll(async () => {
    t = await startTestApp();
    viewer = await t.token('viewer');
  });
  afterAll(() => t?.stop());

  it('refuses introspection to anonymous callers, in every spelling, without leaking the schema', async () => {
    for (const query of [INTROSPECTION, TYPE_QUERY, HIDDEN_IN_FRAGMENT]) {
      const { status, body } = await post(t.graphqlUrl, { query });
      expect(status, query).toBe(401);
      expect(body.data ?? null, query).toBeNull();
      expect(body.errors, query).toEqual([
        expect.objectContaining({
          message: 'Introspection needs an operator token: send Authorization: Bearer <token>.',
          extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }),
        }),
      ]);
      expect(JSON.stringify(body), query).not.toMatch(SCHEMA_WORDS);
    }
    // A refused token is anonymous too.
    const forged = await post(t.graphqlUrl, { query: INTROSPECTION }, { token: 'forged.token.value' });
    expect(forged.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(JSON.stringify(forged.body)).not.toMatch(SCHEMA_WORDS);
  });

  it('names no type or field in validation errors for anonymous callers, over HTTP and WebSocket', async () => {
    const probe = '{ providers(first: 1) { edges { node { baseUrl secretThing } } } }';
    const generic = [
      expect.objectContaining({
        message: 'Authentication required: send Authorization: Bearer <token>.',
        extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }),
      }),
    ];
    for (const token of [undefined, 'forged.token.value']) {
      const { status, body } = await post(t.graphqlUrl, { query: probe }, { token });
      expect(status).toBe(401);
      expect(body.errors).toEqual(generic);
      expect(JSON.stringify(body)).not.toMatch(/secretThing|Provider|baseUrl/);
    }
    const anonymous = wsClient(t.graphqlUrl);
    try {
      const result = (await anonymous.iterate({ query: probe }).next()).value as Body;
      expect(result.errors).toEqual(generic);
    } catch (error) {
      // graphql-ws hands validation errors to the client as an error (an array of them).
      expect(JSON.stringify(error)).toContain('Authentication required');
      expect(JSON.stringify(error)).not.toMatch(/secretThing|Provider/);
    } finally {
      await anonymous.dispose();
    }
    // With a token the caller learns what is wrong.
    const { body } = await post(t.graphqlUrl, { query: probe }, { token: viewer });
    expect(body.errors?.[0]?.message).toMatch(/Cannot query field "secretThing" on type "Provider"/);
    // ...and the next anonymous caller is not served that (cached) validation result.
    const again = await post(t.graphqlUrl, { query: probe });
    expect(again.body.errors).toEqual(generic);
  });

  it('answers introspection to any operator token, and __typename to anyone', async () => {
    const { status, body } = await post(t.graphqlUrl, { query: INTROSPECTION }, { token: viewer });
    expect(status).toBe(200);
    expect(JSON.stringify(body)).toContain('ProviderKey');
    const typename = await post(t.graphqlUrl, { query: '{ __typename }' });
    expect(typename.body).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses anonymous introspection over WebSocket too, and allows it with a token', async () => {
    const anonymous = wsClient(t.graphqlUrl);
    try {
      const result = (await anonymous.iterate({ query: INTROSPECTION }).next()).value as Body;
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(JSON.stringify(result)).not.toMatch(SCHEMA_WORDS);
    } finally {
      await anonymous.dispose();
    }
    const authenticated = wsClient(t.graphqlUrl, viewer);
    try {
      const result = (await authenticated.iterate({ query: TYPE_QUERY }).next()).value as Body;
      expect(result.data).toMatchObject({ __type: { name: 'Provider' } });
    } finally {
      await authenticated.dispose();
    }
  });

  it('refuses anonymous introspection over SSE too', async () => {
    const response = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: INTROSPECTION }),
    });
    const text = await response.text();
    expect(text).toContain('UNAUTHENTICATED');
    expect(text).not.toMatch(SCHEMA_WORDS);
  });

  it('turns batching off: an array of operations is refused and none runs', async () => {
    const { status, body } = await post(
      t.graphqlUrl,
      [{ query: '{ __typename }' }, { query: '{ __typename }' }],
      {
        token: viewer,
      },
    );
    expect(status).toBe(400);
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.length).toBeGreaterThan(0);
  });

  it('refuses a body over 1 MiB with 413 and a JSON error, declared or streamed', async () => {
    const big = JSON.stringify({ query: `{ __typename } # ${'x'.repeat(1024 * 1024)}` });
    const declared = await post(t.graphqlUrl, big, { token: viewer });
    expect(declared.status).toBe(413);
    expect(declared.body.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');

    // Chunked, without a content-length: counted as it arrives.
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(t.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (let i = 0; i < 40; i++) req.write('x'.repeat(64 * 1024));
      req.end();
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');

    // Just under the limit still works.
    const fits = await post(
      t.graphqlUrl,
      { query: `{ __typename } # ${'x'.repeat(512 * 1024)}` },
      { token: viewer },
    );
    expect(fits.status).toBe(200);
  });

  it('requires a CSRF header on requests a browser could send cross-site without a preflight', async () => {
    const query = encodeURIComponent('{ viewer { subject } }');
    const get = await fetch(`${t.graphqlUrl}?query=${query}`, {
      headers: { authorization: `Bearer ${viewer}`, accept: 'application/json' },
    });
    expect(get.status).toBe(403);
    expect(((await get.json()) as Body).errors?.[0]?.extensions?.code).toBe('CSRF_PREVENTED');

    const form = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${viewer}` },
      body: `query=${query}`,
    });
    expect(form.status).toBe(403);
    expect(((await form.json()) as Body).errors?.[0]?.extensions?.code).toBe('CSRF_PREVENTED');

    for (const header of ['x-graphql-csrf', 'graphql-require-preflight']) {
      const allowed = await fetch(`${t.graphqlUrl}?query=${query}`, {
        headers: { authorization: `Bearer ${viewer}`, accept: 'application/json', [header]: '1' },
      });
      expect(allowed.status, header).toBe(200);
    }
    // JSON POSTs (every GraphQL client, GraphiQL) need nothing more.
    expect((await post(t.graphqlUrl, { query: '{ viewer { subject } }' }, { token: viewer })).status).toBe(
      200,
    );
    // GraphiQL's page itself is served to a browser's plain GET.
    const page = await fetch(t.graphqlUrl, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
  });

  it('refuses WebSocket upgrades from a foreign Origin with 403, and allows its own and non-browser clients', async () => {
    const foreign = await upgradeStatus(t.graphqlUrl, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body).errors[0].extensions.code).toBe('FORBIDDEN');
    expect((await upgradeStatus(t.graphqlUrl, { origin: 'null' })).status).toBe(403);
    expect((await upgradeStatus(t.graphqlUrl, { origin: new URL(t.url).origin })).status).toBe(101);
    expect((await upgradeStatus(t.graphqlUrl)).status).toBe(101);
    // And a non-browser client without Origin gets a working connection.
    const raw = await openRawSocket(t.graphqlUrl);
    raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${viewer}` } });
    await raw.next('connection_ack');
    raw.socket.close();
  });

  it('sends no CORS permission to a foreign origin', async () => {
    const preflight = await fetch(t.graphqlUrl, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('with introspection off, batches of 2, a 4 KiB body limit and one allowed origin', () => {
  let t: TestApp;
  let admin: string;
  const CONSOLE = 'https://console.example.com';
  beforeAll(async () => {
    t = await startTestApp({
      env: {
        TOLLGATE_GRAPHQL_INTROSPECTION: 'off',
        TOLLGATE_GRAPHQL_BATCH_LIMIT: '2',
        TOLLGATE_GRAPHQL_MAX_BODY_BYTES: '4096',
        TOLLGATE_ALLOWED_ORIGINS: `${CONSOLE}/`,
      },
    });
    admin = await t.token('admin');
  });
  afterAll(() => t?.stop());

  it('refuses introspection even to an admin', async () => {
    const { status, body } = await post(t.graphqlUrl, { query: INTROSPECTION }, { token: admin });
    expect(status).toBe(403);
    expect(body.errors?.[0]?.extensions?.code).toBe('INTROSPECTION_DISABLED');
    expect(JSON.stringify(body)).not.toMatch(SCHEMA_WORDS);
  });

  it('runs a batch up to the cap and refuses a larger one', async () => {
    const two = await post(t.graphqlUrl, [{ query: '{ viewer { role } }' }, { query: '{ __typename }' }], {
      token: admin,
    });
    expect(two.status).toBe(200);
    expect(two.body).toEqual([{ data: { viewer: { role: 'ADMIN' } } }, { data: { __typename: 'Query' } }]);
    const three = await post(
      t.graphqlUrl,
      Array.from({ length: 3 }, () => ({ query: '{ __typename }' })),
      {
        token: admin,
      },
    );
    // Yoga answers an over-long batch with 413 and says why.
    expect(three.status).toBe(413);
    expect(three.body.errors?.[0]?.message).toMatch(/batching is limited to 2/i);
    expect(JSON.stringify(three.body)).not.toContain('"data"');
  });

  it('applies the configured body limit to HTTP and to WebSocket messages', async () => {
    const over = await post(
      t.graphqlUrl,
      { query: `{ __typename } # ${'x'.repeat(5000)}` },
      { token: admin },
    );
    expect(over.status).toBe(413);
    const raw = await openRawSocket(t.graphqlUrl);
    raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${admin}` } });
    await raw.next('connection_ack');
    raw.send({ id: '1', type: 'subscribe', payload: { query: `{ __typename } # ${'x'.repeat(5000)}` } });
    expect((await raw.closed).code).toBe(1009); // message too big
  });

  it('accepts WebSocket upgrades and CORS requests from the allowed origin only', async () => {
    expect((await upgradeStatus(t.graphqlUrl, { origin: CONSOLE })).status).toBe(101);
    expect((await upgradeStatus(t.graphqlUrl, { origin: 'https://other.example.com' })).status).toBe(403);
    const preflight = await fetch(t.graphqlUrl, {
      method: 'OPTIONS',
      headers: { origin: CONSOLE, 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBe(CONSOLE);
  });
});

describe('a client that drips its request', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TOLLGATE_REQUEST_TIMEOUT_MS: '1500' } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** Sends the head of a request, then one body byte every 200 ms; resolves with what came back. */
  function drip(path: string, headers = ''): Promise<{ answer: string; afterMs: number }> {
    const { hostname, port } = new URL(t.url);
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const socket = connect(Number(port), hostname, () => {
        socket.write(
          `POST ${path} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n${headers}\r\n`,
        );
      });
      const timer = setInterval(() => socket.writable && socket.write(' '), 200);
      let answer = '';
      socket.on('data', (d) => {
        answer += d;
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ answer, afterMs: performance.now() - started });
      });
      setTimeout(() => {
        clearInterval(timer);
        socket.destroy();
        reject(new Error(`still open after 10 s: ${answer}`));
      }, 10_000).unref();
    });
  }

  it('is cut off with 408 once the request has taken longer than TOLLGATE_REQUEST_TIMEOUT_MS, on GraphQL and on the proxy', async () => {
    const upstream = await startUpstream({ kind: 'json', body: { ok: true } });
    const { slug } = await setUpProvider(t, upstream.url);
    const client = await createClient(t);
    const [graphql, proxy] = await Promise.all([
      drip('/graphql'),
      drip(`/proxy/${slug}/x`, `authorization: Bearer ${client.key}\r\n`),
    ]);
    await upstream.close();
    for (const { answer, afterMs } of [graphql, proxy]) {
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(afterMs).toBeGreaterThanOrEqual(1500);
    }
  });
});

/** A raw connection from `localAddress` that writes `data` (if any) and records what comes back until it closes. */
function rawConnection(url: string, data: string | undefined, localAddress = '127.0.0.1') {
  const { hostname, port } = new URL(url);
  let answer = '';
  const socket = connect({ port: Number(port), host: hostname, localAddress });
  const connected = new Promise<void>((resolve) => socket.once('connect', resolve));
  const closed = new Promise<string>((resolve) => {
    socket.on('data', (d) => {
      answer += d;
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve(answer));
  });
  if (data) void connected.then(() => socket.write(data));
  return { socket, connected, closed, answer: () => answer };
}

describe('a client that is slow to send its headers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TOLLGATE_HEADERS_TIMEOUT_MS: '500' } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is closed with 408 once TOLLGATE_HEADERS_TIMEOUT_MS has passed, with half a head or nothing sent', async () => {
    const partial = rawConnection(t.url, 'GET /healthz HTTP/1.1\r\nhost: tollgate\r\nx-slow: ');
    const idle = rawConnection(t.url, undefined);
    // Without the header timeout these stay open (for 30 s at least): the test's own guard says so.
    const guard = new Promise<string>((resolve) =>
      setTimeout(() => resolve('still open after 15 s'), 15_000).unref(),
    );
    for (const connection of [partial, idle]) {
      const answer = await Promise.race([connection.closed, guard]);
      connection.socket.destroy();
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      expect(answer).toContain('"code":"REQUEST_TIMEOUT"');
    }
  });
});

describe('a client address that opens too many connections', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ env: { TOLLGATE_MAX_CONNECTIONS_PER_IP: '5' } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('gets 503 TOO_MANY_CONNECTIONS beyond TOLLGATE_MAX_CONNECTIONS_PER_IP, and no request on it is served', async () => {
    // A loopback address of its own, so that no other connection of the test run counts.
    const from = '127.0.0.77';
    const held = Array.from({ length: 5 }, () => rawConnection(t.url, undefined, from));
    await Promise.all(held.map((c) => c.connected));
    const extra = rawConnection(t.url, 'GET /healthz HTTP/1.1\r\nhost: tollgate\r\n\r\n', from);
    const refused = await extra.closed;
    expect(refused).toMatch(/^HTTP\/1\.1 503/);
    expect(refused).toContain('"code":"TOO_MANY_CONNECTIONS"');
    // One answer only: the request sent on the refused connection never reached a route.
    expect(refused.match(/HTTP\/1\.1/g)).toHaveLength(1);
    // Other addresses are not affected...
    const other = rawConnection(
      t.url,
      'GET /healthz HTTP/1.1\r\nhost: tollgate\r\nconnection: close\r\n\r\n',
      '127.0.0.78',
    );
    expect(await other.closed).toMatch(/^HTTP\/1\.1 200/);
    // ...and once one of the five closes, the address may connect again.
    held[0]?.socket.destroy();
    await held[0]?.closed;
    const again = rawConnection(
      t.url,
      'GET /healthz HTTP/1.1\r\nhost: tollgate\r\nconnection: close\r\n\r\n',
      from,
    );
    expect(await again.closed).toMatch(/^HTTP\/1\.1 200/);
    for (const c of held) c.socket.destroy();
  });
});
