import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createDatabase,
  startTestApp,
  TEST_JWT_SECRET,
  TEST_MASTER_KEY_1,
  type TestApp,
} from './helpers/app.ts';
import { wsClient } from './helpers/graphql.ts';

/**
 * In production mode, a database failure inside a resolver reaches the caller as "Unexpected
 * error." and nothing else: no stack trace, no SQL, no connection URL, no secret. The log has the
 * error once, with the request id, and no credential either.
 */
let t: TestApp;
let admin: string;
let databaseUrl: string;
let db: pg.Client;
const password = () => decodeURIComponent(new URL(databaseUrl).password);
const masterKeyMaterial = TEST_MASTER_KEY_1.split(':')[1]!;

beforeAll(async () => {
  databaseUrl = await createDatabase();
  t = await startTestApp({ databaseUrl, env: { NODE_ENV: 'production', LOG_LEVEL: 'info' } });
  admin = await t.token('admin');
  db = new pg.Client({ connectionString: databaseUrl });
  // The last test cuts every connection to this database, this one included.
  db.on('error', () => {});
  await db.connect();
});
afterAll(async () => {
  await db?.end().catch(() => {});
  await t?.stop();
});

async function post(query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(t.graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${admin}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    requestId: response.headers.get('x-request-id'),
    text: await response.text(),
  };
}

/** What must never be in a response body. */
function expectNothingLeaks(text: string) {
  expect(text).not.toMatch(/audit_events|providers"|select |insert |relation|syntax|duplicate key/i);
  expect(text).not.toMatch(/postgres(ql)?:\/\/|127\.0\.0\.1:\d+|ECONNREFUSED/);
  expect(text).not.toMatch(/\bat .+\(.*:\d+:\d+\)|\.ts:\d+|node_modules|"stack"|originalError/);
  expect(text).not.toContain(password());
  expect(text).not.toContain(TEST_JWT_SECRET);
  expect(text).not.toContain(masterKeyMaterial);
}

/** What must never be in the logs. */
function expectLogsClean() {
  expect(t.logs.text).not.toContain(password());
  expect(t.logs.text).not.toContain(TEST_JWT_SECRET);
  expect(t.logs.text).not.toContain(masterKeyMaterial);
  expect(t.logs.text).not.toContain(admin);
}

describe('errors in production mode', () => {
  it('masks a SQL error inside a query resolver, over HTTP and WebSocket, and logs it once with the request id', async () => {
    await db.query('alter table audit_events rename to audit_events_away');
    try {
      const { status, requestId, text } = await post('{ auditLog(first: 5) { edges { node { action } } } }');
      expect(status).toBe(200);
      const body = JSON.parse(text) as {
        data?: unknown;
        errors?: { message: string; extensions?: unknown }[];
      };
      expect(body.errors).toEqual([
        expect.objectContaining({
          message: 'Unexpected error.',
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        }),
      ]);
      expectNothingLeaks(text);

      const logged = t.logs.lines
        .map((l) => JSON.parse(l) as { msg: string; requestId?: string; level: string })
        .filter((l) => l.msg === 'unexpected error in GraphQL operation' && l.requestId === requestId);
      expect(logged).toHaveLength(1);
      expect(logged[0]?.level).toBe('error');

      const client = wsClient(t.graphqlUrl, admin);
      try {
        const result = await client
          .iterate({ query: '{ auditLog(first: 5) { edges { node { action } } } }' })
          .next();
        const wsText = JSON.stringify(result.value);
        expect(wsText).toContain('Unexpected error.');
        expectNothingLeaks(wsText);
      } finally {
        await client.dispose();
      }
    } finally {
      await db.query('alter table audit_events_away rename to audit_events');
    }
    expectLogsClean();
  });

  it('masks a failing write inside a mutation, and the data stays as it was', async () => {
    const slug = `prod-${randomBytes(3).toString('hex')}`;
    await db.query('alter table audit_events rename to audit_events_away');
    try {
      const { text } = await post(
        `mutation { createProvider(input: { slug: "${slug}", name: "x", baseUrl: "https://api.example.com" }) { __typename } }`,
      );
      expect(text).toContain('Unexpected error.');
      expectNothingLeaks(text);
    } finally {
      await db.query('alter table audit_events_away rename to audit_events');
    }
    const { rows } = await db.query('select count(*)::int as n from providers where slug = $1', [slug]);
    expect(rows[0].n).toBe(0);
    expectLogsClean();
  });

  it('masks the loss of the database connection, and /readyz names the failing part without its address', async () => {
    const name = new URL(databaseUrl).pathname.slice(1);
    // From the server's admin database: a database cannot shut itself off.
    const server = new pg.Client({ connectionString: inject('databaseUrl') });
    await server.connect();
    await server.query(`alter database "${name}" allow_connections false`);
    await server.query(
      'select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [name],
    );
    try {
      const { text } = await post('{ auditLog(first: 5) { edges { node { action } } } }');
      expect(text).toContain('Unexpected error.');
      expectNothingLeaks(text);
      const ready = await fetch(`${t.url}/readyz`);
      expect(ready.status).toBe(503);
      const readyText = await ready.text();
      expect(JSON.parse(readyText)).toMatchObject({
        status: 'unavailable',
        failures: [{ name: 'postgres' }],
      });
      expectNothingLeaks(readyText);
    } finally {
      await server.query(`alter database "${name}" allow_connections true`);
      await server.end();
    }
    expectLogsClean();
  });
});
