import { fileURLToPath } from 'node:url';
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, MikroORM } from '@mikro-orm/postgresql';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from '../shared/logger.ts';
import { entities } from './entities.ts';

export type Orm = MikroORM;

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
/** Any constant works as long as every replica uses the same one: it names the lock in pg_locks. */
const MIGRATION_LOCK_KEY = 7_231_457_001;

/** Limits on database work, so that a request never waits on PostgreSQL indefinitely. */
export interface DatabaseTimeouts {
  statementMs: number;
  acquireMs: number;
}

/**
 * The client gives up this long after the server should have cancelled a statement: a live server
 * answers first (SQLSTATE 57014), while a frozen or unreachable one never does.
 */
const CLIENT_GRACE_MS = 500;

/** node-postgres pool options for the timeouts (MikroORM passes `driverOptions` to `pg.Pool`). */
function timeoutOptions(timeouts: DatabaseTimeouts) {
  return {
    statement_timeout: timeouts.statementMs,
    query_timeout: timeouts.statementMs + CLIENT_GRACE_MS,
    connectionTimeoutMillis: timeouts.acquireMs,
    keepAlive: true,
  };
}

/**
 * A connection handed out after the pool began to end goes straight back. Kysely's driver reads
 * its pool again once `connect()` resolves, and after `destroy()` that pool is gone: the query
 * fails with a TypeError and the client is never released, so `pool.end()`, and with it
 * `orm.close()` and shutdown, waited forever (a webhook enqueue racing a stop did it).
 */
export function releaseWhenEnding(pool: Pool): void {
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  const guarded = async (): Promise<PoolClient> => {
    const client = await (connect() as Promise<PoolClient>);
    if ((pool as Pool & { ending?: boolean }).ending) {
      client.release();
      throw new Error('the database pool is closing');
    }
    return client;
  };
  // Callers with a callback (none of ours) keep pg's own path.
  Object.assign(pool, { connect: (...args: unknown[]) => (args.length > 0 ? connect(...args) : guarded()) });
}

export function ormConfig(clientUrl: string, poolMax = 10, timeouts?: DatabaseTimeouts) {
  return defineConfig({
    clientUrl,
    entities,
    debug: false,
    // Migrations hold one connection for their transaction and need a second one beside it.
    pool: { min: 0, max: Math.max(poolMax, 2) },
    driverOptions: { ...(timeouts ? timeoutOptions(timeouts) : {}), onPoolCreated: releaseWhenEnding },
    extensions: [Migrator],
    migrations: {
      path: MIGRATIONS_DIR,
      pathTs: MIGRATIONS_DIR,
      tableName: 'mikro_orm_migrations',
      emit: 'ts',
      snapshot: true,
      snapshotName: '.snapshot-tollgate',
      // Applying migrations must never write into the installation: test workers migrating
      // databases side by side read the snapshot while another rewrote it (truncated JSON in CI),
      // and a production file system may be read-only. Only `migrate:create` writes it.
      snapshotOnMigrate: false,
      transactional: true,
      allOrNothing: true,
      silent: true,
    },
  });
}

/** Without `timeouts`, statements may run as long as they need (migrations, CLI commands). */
export async function createOrm(
  clientUrl: string,
  poolMax: number,
  timeouts?: DatabaseTimeouts,
): Promise<Orm> {
  return MikroORM.init(ormConfig(clientUrl, poolMax, timeouts));
}

/**
 * Applies pending migrations inside one transaction that first takes an advisory lock, so
 * replicas booting together against one database apply each migration exactly once; the ones
 * that wait find nothing left to do.
 */
export async function migrateToLatest(orm: Orm, logger: Logger): Promise<string[]> {
  const applied = await orm.em.fork().transactional(async (em) => {
    await em.execute('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY]);
    const done = await orm.migrator.up({ transaction: em.getTransactionContext() });
    return done.map((m) => m.name);
  });
  if (applied.length > 0) logger.info({ migrations: applied }, `applied ${applied.length} migration(s)`);
  return applied;
}
