import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { inject } from 'vitest';
import { type StartedApp, startApp } from '../../src/app.ts';
import { type Config, loadConfig, type Role } from '../../src/config.ts';
import { TokenService } from '../../src/modules/auth/token.service.ts';
import { createLogger } from '../../src/shared/logger.ts';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
/** Two master keys; the first is current. Fixed so that separate processes share them. */
export const TEST_MASTER_KEY_1 = `test1:${Buffer.alloc(32, 1).toString('base64')}`;
export const TEST_MASTER_KEY_0 = `test0:${Buffer.alloc(32, 7).toString('base64')}`;

/** Creates an empty database on the shared test server and returns its URL. */
export async function createDatabase(): Promise<string> {
  const adminUrl = inject('databaseUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Every log line the app wrote, for assertions that secrets never reach the logs. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  readonly #listeners: ((line: string) => void)[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    const lines = chunk.toString('utf8').split('\n').filter(Boolean);
    this.lines.push(...lines);
    for (const line of lines) for (const listener of this.#listeners) listener(line);
    done();
  }
  /** Runs `listener` on each line from now on, as it is logged (pino writes synchronously). */
  onLine(listener: (line: string) => void): void {
    this.#listeners.push(listener);
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

export interface TestApp {
  app: StartedApp;
  config: Config;
  url: string;
  graphqlUrl: string;
  logs: LogCapture;
  token(role: Role, options?: { ttlSeconds?: number; subject?: string }): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a real Tollgate (HTTP + WebSocket) on a free port against `databaseUrl`. */
export async function startTestApp(
  options: { databaseUrl?: string; env?: Record<string, string> } = {},
): Promise<TestApp> {
  const databaseUrl = options.databaseUrl ?? (await createDatabase());
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-test-data-'));
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    TOLLGATE_JWT_SECRET: TEST_JWT_SECRET,
    TOLLGATE_MASTER_KEYS: TEST_MASTER_KEY_1,
    PORT: '0',
    HOST: '127.0.0.1',
    TOLLGATE_DATA_DIR: dataDir,
    LOG_LEVEL: 'debug',
    NODE_ENV: 'test',
    TOLLGATE_SHUTDOWN_TIMEOUT_MS: '2000',
    ...options.env,
  });
  const logs = new LogCapture();
  const app = await startApp(config, { logger: createLogger('debug', logs) });
  const tokens = new TokenService(config.auth);
  return {
    app,
    config,
    url: app.url,
    graphqlUrl: `${app.url}/graphql`,
    logs,
    token: (role, opts = {}) =>
      tokens.mint({ role, subject: opts.subject ?? `${role}-user`, ttlSeconds: opts.ttlSeconds ?? 600 }),
    stop: async () => {
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Two replicas sharing one fresh database (and whatever `env` shares, such as Redis). */
export async function startReplicas(
  env: Record<string, string>,
): Promise<{ a: TestApp; b: TestApp; databaseUrl: string }> {
  const databaseUrl = await createDatabase();
  const [a, b] = await Promise.all([startTestApp({ databaseUrl, env }), startTestApp({ databaseUrl, env })]);
  return { a, b, databaseUrl };
}
