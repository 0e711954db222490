import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { createOrm } from '../src/db/orm.ts';
import { ProviderEntity } from '../src/modules/providers/provider.entity.ts';
import { createDatabase } from './helpers/app.ts';

describe('closing the database pool', () => {
  it('completes when a query was opening a connection as the close began (it used to wait forever)', async () => {
    const url = await createDatabase();
    const migrator = await createOrm(url, 2);
    await migrator.migrator.up();
    await migrator.close();
    const orm = await createOrm(url, 2, { statementMs: 5_000, acquireMs: 5_000 });
    const pool = (await orm.em.getConnection().getNativeClient()) as Pool;
    // Keep the idle connection busy, so that the next query has to open a connection of its own.
    const held = await pool.connect();
    const opened = pool.totalCount;
    // As a webhook enqueue racing app.stop() did: its connection arrives after the pool began to end.
    const query = orm.em
      .fork()
      .find(ProviderEntity, {})
      .then(
        () => 'answered',
        (error: Error) => error.message,
      );
    while (pool.totalCount === opened) await new Promise((resolve) => setImmediate(resolve));
    const closed = orm.close().then(() => 'closed');
    held.release();
    const hung = new Promise((resolve) =>
      setTimeout(() => resolve('still closing after 20 s'), 20_000).unref(),
    );
    expect(await Promise.race([closed, hung])).toBe('closed');
    // The query that lost the race is told so, instead of a TypeError from inside the driver.
    expect(await query).toContain('the database pool is closing');
  });
});
