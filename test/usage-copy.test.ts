import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type UsageRecord, usageRow, writeUsageRows } from '../src/modules/usage/usage-rows.ts';
import { uuid7 } from '../src/shared/uuid7.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { query } from './helpers/db.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.stop());

// pg-copy-streams 7 drops its connection when PostgreSQL ends a COPY with an error, then still
// dereferences it (sendCopyFail, flushing on 'drain', CopyDone): a TypeError thrown from a socket
// callback, outside any promise, that kills the process. Caught here so the test can assert it.
const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);
beforeAll(() => {
  process.on('uncaughtException', onUncaught);
});
afterAll(() => {
  process.off('uncaughtException', onUncaught);
});
afterEach(() => {
  uncaught.length = 0;
});
/** Gives socket callbacks (drain, late writes) time to run, where the crash happened. */
const settle = () => new Promise((r) => setTimeout(r, 500));

// Long text fields: a batch of tens of MB, far more than the socket buffers, so the client is
// still sending (waiting for 'drain') when PostgreSQL rejects the first rows.
const big = (requestId: string, slug: string): UsageRecord => ({
  requestId,
  providerId: null,
  providerSlug: slug,
  servedByProviderId: null,
  keyId: 'k'.repeat(64),
  clientId: null,
  method: 'POST',
  pathTemplate: `/${'p'.repeat(299)}`,
  status: 200,
  outcome: 'SUCCESS',
  attempts: 1,
  fallback: null,
  totalMs: 1.5,
  upstreamMs: 1.25,
  requestBytes: 0,
  responseBytes: 10,
  model: 'm'.repeat(200),
  promptTokens: 3,
  completionTokens: 4,
  cachedTokens: null,
  costMicros: 12,
  pricedWithoutTokens: false,
});
const ROWS = 20_000;

describe('usage COPY failing while the batch is still being sent', () => {
  it('a retried batch whose first rows exist goes in through the fallback, without crashing the process', async () => {
    const slug = 'copy-dup';
    const at = Date.UTC(2026, 10, 2, 10);
    const rows = Array.from({ length: ROWS }, (_, i) =>
      usageRow(big(`${'r'.repeat(100)}-${i}`, slug), at + i, uuid7(at + i)),
    );
    const pool = await t.app.orm.em.getConnection().getNativeClient();
    const db = t.app.orm.em.fork().getKysely() as Kysely<unknown>;

    // The first rows were written before; the COPY of the whole batch fails on them at once.
    await writeUsageRows(pool, db, rows.slice(0, 10));
    await writeUsageRows(pool, db, rows);
    await settle();

    expect(uncaught).toEqual([]);
    const [count] = await query<{ n: number }>(
      t.config.database.url as string,
      'select count(*)::int as n from usage_events where provider_slug = $1',
      [slug],
    );
    expect(count?.n).toBe(ROWS);
  });

  it('a COPY cut short by the statement timeout rejects with the database error and leaves the connection usable', async () => {
    const at = Date.UTC(2026, 10, 3, 10);
    const rows = Array.from({ length: ROWS }, (_, i) =>
      usageRow(big(`timeout-${i}`, 'copy-timeout'), at + i, uuid7(at + i)),
    );
    // One connection whose statements may run 5 ms: the COPY of tens of MB cannot finish.
    const pool = new pg.Pool({
      connectionString: t.config.database.url as string,
      max: 1,
      options: '-c statement_timeout=5ms',
    });
    const db = t.app.orm.em.fork().getKysely() as Kysely<unknown>;
    try {
      const backend = async () => (await pool.query('select pg_backend_pid() as pid')).rows[0].pid;
      const before = await backend();
      await expect(writeUsageRows(pool, db, rows)).rejects.toMatchObject({ code: '57014' });
      await settle();
      expect(uncaught).toEqual([]);
      // The same connection went back to the pool out of the COPY, ready for the next statement.
      expect(await backend()).toBe(before);
      const [count] = await query<{ n: number }>(
        t.config.database.url as string,
        'select count(*)::int as n from usage_events where provider_slug = $1',
        ['copy-timeout'],
      );
      expect(count?.n).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it('a COPY the client gives up on while PostgreSQL holds it behind a lock rejects, and the connection recovers', async () => {
    const url = t.config.database.url as string;
    const at = Date.UTC(2026, 10, 4, 10);
    const rows = Array.from({ length: 100 }, (_, i) =>
      usageRow(big(`locked-${i}`, 'copy-locked'), at + i, uuid7(at + i)),
    );
    // pg's client-side query timeout (the pool's query_timeout) ends the COPY stream before
    // PostgreSQL has even answered it: the table is locked, so the COPY waits to start.
    const pool = new pg.Pool({ connectionString: url, max: 1, query_timeout: 1000 });
    const db = t.app.orm.em.fork().getKysely() as Kysely<unknown>;
    const blocker = new pg.Client({ connectionString: url });
    await blocker.connect();
    try {
      const backend = async () => (await pool.query('select pg_backend_pid() as pid')).rows[0].pid;
      const before = await backend();
      await blocker.query('begin; lock table usage_events in exclusive mode');
      const write = writeUsageRows(pool, db, rows);
      // The lock goes after the COPY's timeout (1 s) and before the rollback's (2 s): PostgreSQL
      // now starts the COPY the client has given up on, on the connection the rollback waits for.
      await new Promise((r) => setTimeout(r, 1500));
      await blocker.query('commit');
      await expect(write).rejects.toThrow('Query read timeout');
      await settle();
      expect(uncaught).toEqual([]);
      // The CopyFail ended the COPY and the rollback ran: the same connection serves on.
      expect(await backend()).toBe(before);
      const [count] = await query<{ n: number }>(
        url,
        'select count(*)::int as n from usage_events where provider_slug = $1',
        ['copy-locked'],
      );
      expect(count?.n).toBe(0);
    } finally {
      await blocker.end();
      await pool.end();
    }
  });
});
