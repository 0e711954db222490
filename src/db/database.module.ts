import type { Config } from '../config.ts';
import type { ReadinessCheck } from '../server/http.ts';
import type { Component } from '../shared/components.ts';
import type { Logger } from '../shared/logger.ts';
import {
  type EmbeddedDatabase,
  EmbeddedPostgresInUseError,
  liveEmbeddedOwner,
  startEmbeddedPostgres,
} from './embedded-postgres.ts';
import { createOrm, migrateToLatest, type Orm } from './orm.ts';

/**
 * A second Tollgate on a data dir in use refuses before touching anything (it would find the
 * port taken anyway, but only after starting on the first one's files).
 */
export function refuseBusyDataDir(config: Config): void {
  if (config.database.url) return;
  const owner = liveEmbeddedOwner(config.dataDir);
  if (owner) throw new EmbeddedPostgresInUseError(owner, config.dataDir);
}

/** The embedded PostgreSQL under the data dir, for when DATABASE_URL is not set. */
export function embeddedPostgres(config: Config, logger: Logger): Component<EmbeddedDatabase> {
  let embedded: EmbeddedDatabase | undefined;
  return {
    name: 'embedded PostgreSQL',
    start: async () => {
      embedded = await startEmbeddedPostgres({
        dataDir: config.dataDir,
        port: config.database.embeddedPort,
        logger,
        role: 'server',
      });
      return embedded;
    },
    stop: () => embedded?.stop(),
  };
}

/** Applies pending migrations, then opens the pool every module queries through. */
export function databasePool(databaseUrl: string, config: Config, logger: Logger): Component<Orm> {
  let orm: Orm | undefined;
  return {
    name: 'database pool',
    start: async () => {
      // Migrations get a connection of their own without the statement timeout: one may take long.
      const migrationOrm = await createOrm(databaseUrl, 2);
      try {
        await migrateToLatest(migrationOrm, logger);
      } finally {
        await migrationOrm.close();
      }
      orm = await createOrm(databaseUrl, config.database.poolMax, {
        statementMs: config.database.statementTimeoutMs,
        acquireMs: config.database.acquireTimeoutMs,
      });
      return orm;
    },
    stop: () => orm?.close(),
  };
}

/** /readyz: PostgreSQL answers a query. */
export function postgresReadiness(orm: Orm): ReadinessCheck {
  return {
    name: 'postgres',
    check: async () => {
      await orm.em.fork().execute('select 1');
    },
  };
}
