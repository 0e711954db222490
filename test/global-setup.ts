import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { createLogger } from '../src/shared/logger.ts';
import { freePort, startRedisServer } from './helpers/ports.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL server's admin URL (database "tollgate"); tests create their own databases on it. */
    databaseUrl: string;
    /** A real Redis, or '' when redis-server is not installed. */
    redisUrl: string;
  }
}

/**
 * Starts what the integration tests share, once per run: a real PostgreSQL (embedded, or the
 * one DATABASE_URL names) and a real Redis (redis-server from the system, or REDIS_URL).
 */
export default async function setup(project: TestProject) {
  const stops: (() => Promise<void> | void)[] = [];

  let databaseUrl = process.env.TEST_DATABASE_URL ?? '';
  if (!databaseUrl) {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-test-pg-'));
    const db = await startEmbeddedPostgres({
      dataDir: dir,
      port: await freePort(),
      logger: createLogger('warn'),
    });
    databaseUrl = db.url;
    stops.push(async () => {
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    });
  }

  let redisUrl = process.env.TEST_REDIS_URL ?? '';
  if (!redisUrl && spawnSync('redis-server', ['--version']).status === 0) {
    const port = await freePort();
    const redis = await startRedisServer(port);
    redisUrl = `redis://127.0.0.1:${port}`;
    stops.push(() => {
      redis.kill('SIGTERM');
    });
  }

  project.provide('databaseUrl', databaseUrl);
  project.provide('redisUrl', redisUrl);
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}
