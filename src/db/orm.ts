import { fileURLToPath } from 'node:url';
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../shared/logger.ts';
import { entities } from './entities.ts';

export type Orm = MikroORM;

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
/** Any constant works as long as every replica uses the same one: it names the lock in pg_locks. */
const MIGRATION_LOCK_KEY = 7_231_457_001;

export function ormConfig(clientUrl: string, poolMax = 10) {
  return defineConfig({
    clientUrl,
    entities,
    debug: false,
    // Migrations hold one connection for their transaction and need a second one beside it.
    pool: { min: 0, max: Math.max(poolMax, 2) },
    extensions: [Migrator],
    migrations: {
      path: MIGRATIONS_DIR,
      pathTs: MIGRATIONS_DIR,
      tableName: 'mikro_orm_migrations',
      emit: 'ts',
      snapshot: true,
      snapshotName: '.snapshot-tollgate',
      transactional: true,
      allOrNothing: true,
      silent: true,
    },
  });
}

export async function createOrm(clientUrl: string, poolMax: number): Promise<Orm> {
  return MikroORM.init(ormConfig(clientUrl, poolMax));
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
