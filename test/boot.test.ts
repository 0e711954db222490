import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { MIGRATIONS_DIR } from '../src/db/orm.ts';
import { createLogger } from '../src/shared/logger.ts';
import { CreateProvider, GetProvider } from './documents.ts';
import { createDatabase, startTestApp } from './helpers/app.ts';
import { gql, wsUrl } from './helpers/graphql.ts';
import { freePort } from './helpers/ports.ts';

const migrationFiles = () => readdirSync(MIGRATIONS_DIR).filter((f) => /^Migration.*\.ts$/.test(f));

async function appliedMigrations(databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ name: string }>('select name from mikro_orm_migrations order by id');
    return result.rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

describe('boot', () => {
  it('two instances booting together on one empty database both come up, with each migration applied once', async () => {
    const databaseUrl = await createDatabase();
    const [a, b] = await Promise.all([startTestApp({ databaseUrl }), startTestApp({ databaseUrl })]);
    try {
      const applied = await appliedMigrations(databaseUrl);
      expect(applied).toHaveLength(migrationFiles().length);
      expect(new Set(applied).size).toBe(applied.length);
      // Both serve, and see each other's writes.
      const slug = `boot-${randomBytes(3).toString('hex')}`;
      const created = await gql(
        a.graphqlUrl,
        CreateProvider,
        { input: { slug, name: 'Boot', baseUrl: 'https://api.example.com' } },
        await a.token('admin'),
      );
      expect(created.data?.createProvider.__typename).toBe('ProviderPayload');
      const read = await gql(b.graphqlUrl, GetProvider, { slug }, await b.token('viewer'));
      expect(read.data?.provider?.slug).toBe(slug);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('keeps data across a restart', async () => {
    const databaseUrl = await createDatabase();
    const slug = `persist-${randomBytes(3).toString('hex')}`;
    const first = await startTestApp({ databaseUrl });
    await gql(
      first.graphqlUrl,
      CreateProvider,
      { input: { slug, name: 'Persisted', baseUrl: 'https://api.example.com', timeoutMs: 1234 } },
      await first.token('admin'),
    );
    await first.stop();

    const second = await startTestApp({ databaseUrl });
    try {
      const read = await gql(second.graphqlUrl, GetProvider, { slug }, await second.token('viewer'));
      expect(read.data?.provider).toMatchObject({ slug, name: 'Persisted', timeoutMs: 1234 });
      expect(await appliedMigrations(databaseUrl)).toHaveLength(migrationFiles().length);
    } finally {
      await second.stop();
    }
  });

  it('shuts down gracefully: a request in flight when SIGTERM arrives still gets its answer', async () => {
    const app = await startTestApp();
    const token = await app.token('viewer');
    const body = JSON.stringify({ query: '{ viewer { subject } }' });
    const socket = connect(app.app.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let response = '';
    socket.on('data', (d) => {
      response += d;
    });
    // Headers and half the body now; the rest after shutdown has begun.
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 100));
    const stopped = app.stop();
    await new Promise((r) => setTimeout(r, 200));
    await expect(fetch(`${app.url}/healthz`)).rejects.toThrow();
    socket.write(body.slice(10));
    await new Promise((r) => socket.once('close', r));
    await stopped;
    expect(response).toMatch(/^HTTP\/1\.1 200/);
    expect(response).toContain('"subject":"viewer-user"');
  });

  it('shuts down gracefully: WebSocket clients get 1001 and the port is released', async () => {
    const app = await startTestApp();
    const token = await app.token('viewer');
    const socket = new WebSocket(wsUrl(app.graphqlUrl), 'graphql-transport-ws');
    await new Promise<void>((resolve) => {
      socket.on('open', () =>
        socket.send(
          JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
        ),
      );
      socket.on('message', (data) => {
        if (JSON.parse(String(data)).type === 'connection_ack') resolve();
      });
    });
    const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
    await app.stop();
    expect(await closed).toBe(1001);
    await expect(fetch(`${app.url}/healthz`)).rejects.toThrow();
  });

  it('shuts down promptly with an SSE subscription open: its stream is ended, not held until the drain timeout', async () => {
    const app = await startTestApp({ env: { TOLLGATE_SHUTDOWN_TIMEOUT_MS: '20000' } });
    const response = await fetch(app.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${await app.token('viewer')}`,
      },
      body: JSON.stringify({ query: 'subscription { budgetAlert { budgetId } }' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    // Read the stream to its end: it must end cleanly (not be cut) once shutdown begins.
    const body = response.text();
    await new Promise((r) => setTimeout(r, 200));
    const begun = Date.now();
    await app.stop();
    const took = Date.now() - begun;
    await expect(body).resolves.not.toContain('event: complete');
    expect(took).toBeLessThan(5_000);
    expect(app.logs.text).toContain('ended open SSE subscriptions');
  });

  it('reports readiness: 503 naming PostgreSQL when it goes away, and Redis when configured but down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-ready-'));
    const db = await startEmbeddedPostgres({
      dataDir: dir,
      port: await freePort(),
      logger: createLogger('silent'),
    });
    const app = await startTestApp({
      databaseUrl: db.url,
      env: { REDIS_URL: `redis://127.0.0.1:${await freePort()}` },
    });
    try {
      const withRedisDown = await fetch(`${app.url}/readyz`);
      expect(withRedisDown.status).toBe(503);
      expect(await withRedisDown.json()).toMatchObject({
        status: 'unavailable',
        failures: [{ name: 'redis' }],
      });
      await db.stop();
      const withBothDown = await fetch(`${app.url}/readyz`);
      expect(withBothDown.status).toBe(503);
      const body = (await withBothDown.json()) as { failures: { name: string; reason: string }[] };
      expect(body.failures.map((f) => f.name).sort()).toEqual(['postgres', 'redis']);
      expect(JSON.stringify(body)).not.toContain(new URL(db.url).password);
      expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    } finally {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports readiness: 200 with PostgreSQL (and Redis, when configured) up', async () => {
    const redisUrl = inject('redisUrl');
    if (redisUrl) {
      const withRedis = await startTestApp({ env: { REDIS_URL: redisUrl } });
      try {
        expect(await (await fetch(`${withRedis.url}/readyz`)).json()).toEqual({
          status: 'ready',
          checks: ['postgres', 'redis'],
        });
      } finally {
        await withRedis.stop();
      }
    }
    const app = await startTestApp();
    try {
      const ready = await fetch(`${app.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', checks: ['postgres'] });
      const live = await fetch(`${app.url}/healthz`);
      expect(await live.json()).toEqual({ status: 'ok' });
    } finally {
      await app.stop();
    }
  });
});
