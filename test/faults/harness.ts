import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Redis } from 'ioredis';
import pg from 'pg';
import { inject } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { TokenService } from '../../src/modules/auth/token.service.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { AddProviderKey, CreateClient, CreateProvider } from '../documents.ts';
import type { CreateProviderInput } from '../generated/graphql.ts';
import { type GraphqlResponse, gql } from '../helpers/graphql.ts';
import { waitForPort } from '../helpers/ports.ts';

/**
 * The fault suite's harness: real processes (Tollgate replicas as `node src/main.ts`, a
 * redis-server, an embedded PostgreSQL) that a scenario can stop, freeze, kill and restart, a
 * load generator that records every outcome, and probes of a process's memory, file
 * descriptors and Redis connections.
 */

const ROOT = resolve(import.meta.dirname, '../..');
// The same values as test/helpers/app.ts (not imported: that module loads the whole app).
const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
const TEST_MASTER_KEY_1 = `test1:${Buffer.alloc(32, 1).toString('base64')}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export { sleep };

/**
 * A port below the ephemeral range (32768+), checked free: servers restarted on the same port
 * must not find it taken by some outgoing connection's source port.
 */
export async function lowPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((r) => {
      const server = createServer();
      server.once('error', () => r(false));
      server.listen(port, '127.0.0.1', () => server.close(() => r(true)));
    });
    if (free) return port;
  }
}

/** Polls `check` until it returns a truthy value (or throws with `what` after `timeoutMs`). */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(100);
  }
}

// ---- PostgreSQL ---------------------------------------------------------------------------

export interface Postgres {
  /** Admin URL (database "tollgate"). */
  url: string;
  port: number;
  /** A fresh database on this server. */
  createDatabase(): Promise<string>;
  query<T extends pg.QueryResultRow>(url: string, sql: string, params?: unknown[]): Promise<T[]>;
  /** Shuts the server down (fast shutdown: open connections are cut). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: connections stay open, nothing answers. */
  freeze(): void;
  /** SIGCONT to what `freeze` stopped. */
  resume(): void;
  dispose(): Promise<void>;
}

/** A PostgreSQL of this scenario's own, which it may stop and start. */
export async function startPostgres(): Promise<Postgres> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-faults-pg-'));
  const port = await lowPort();
  const logger = createLogger('warn');
  let db: EmbeddedDatabase | undefined = await startEmbeddedPostgres({ dataDir: dir, port, logger });
  let frozen: number[] = [];
  return postgresAt(db.url, {
    freeze: () => {
      const postmaster = Number(readFileSync(join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
      // The postmaster first, so that it forks no new backend meanwhile.
      frozen = [postmaster, ...childrenOf(postmaster)];
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    },
    resume: () => {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
      frozen = [];
    },
    stop: async () => {
      await db?.stop();
      db = undefined;
    },
    start: async () => {
      db = await startEmbeddedPostgres({ dataDir: dir, port, logger });
    },
    dispose: async () => {
      await db?.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** The suite's shared PostgreSQL (test/faults/global-setup.ts): not to be stopped. */
export function sharedPostgres(): Postgres {
  const refuse = () =>
    Promise.reject(new Error('the shared PostgreSQL is not to be stopped; use startPostgres()'));
  return postgresAt(inject('faultsPostgresUrl'), {
    stop: refuse,
    start: refuse,
    freeze: () => {
      throw new Error('the shared PostgreSQL is not to be frozen; use startPostgres()');
    },
    resume: () => undefined,
    dispose: async () => undefined,
  });
}

/** The direct children of a process (Linux /proc). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

function postgresAt(
  url: string,
  lifecycle: Pick<Postgres, 'stop' | 'start' | 'freeze' | 'resume' | 'dispose'>,
): Postgres {
  const port = Number(new URL(url).port);
  const query = async <T extends pg.QueryResultRow>(target: string, sql: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: target });
    await client.connect();
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    url,
    port,
    query,
    createDatabase: async () => {
      const name = `f_${randomBytes(6).toString('hex')}`;
      await query(url, `create database "${name}"`);
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    ...lifecycle,
  };
}

/** Every process a scenario started, killed if the test process exits without cleaning up. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

// ---- Redis --------------------------------------------------------------------------------

export interface RedisServer {
  url: string;
  port: number;
  pid(): number;
  /** SIGKILL; the data (nothing persisted) is gone. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing answers. */
  freeze(): void;
  thaw(): void;
  /** Connections Redis has, not counting the one asking. */
  clients(): Promise<number>;
  dispose(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  const port = await lowPort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const started = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    child = started;
    children.add(started);
    started.once('exit', () => children.delete(started));
    await waitForPort(port);
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
    child = undefined;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: () => child?.pid ?? 0,
    kill,
    start,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    clients: async () => {
      const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
      await client.connect();
      try {
        const list = (await client.call('CLIENT', 'LIST')) as string;
        return list.split('\n').filter((l) => l.trim()).length - 1;
      } finally {
        client.disconnect();
      }
    },
    dispose: async () => {
      child?.kill('SIGCONT');
      await kill();
    },
  };
}

// ---- Tollgate replicas --------------------------------------------------------------------

export interface ProcessFigures {
  rssMb: number;
  fds: number;
  /** Of the RSS: anonymous memory (heaps, malloc arenas, buffers) and mapped files (code). */
  anonMb: number;
  fileMb: number;
  threads: number;
}

/** RSS (from /proc/PID/status) and open file descriptors (/proc/PID/fd) of a process. */
export function processFigures(pid: number): ProcessFigures {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (field: string) =>
    Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024);
  return {
    rssMb: mb('VmRSS'),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    anonMb: mb('RssAnon'),
    fileMb: mb('RssFile'),
    threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0),
  };
}

export class Replica {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly env: Record<string, string>;
  readonly logFile: string;
  #child: ChildProcess | undefined;
  #log: WriteStream | undefined;
  #exit: Promise<number | string> | undefined;
  /** Log lines at warn and above, for the scenario to look at (bounded). */
  readonly problems: string[] = [];

  constructor(name: string, port: number, env: Record<string, string>, logDir: string) {
    this.name = name;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.env = env;
    this.logFile = join(logDir, `${name}.log`);
  }

  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Starts `node src/main.ts` and resolves once it prints its banner and /readyz answers 200. */
  async start(): Promise<void> {
    this.#log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        ...this.env,
        PORT: String(this.port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    children.add(child);
    this.#exit = new Promise((r) =>
      child.once('exit', (code, signal) => {
        children.delete(child);
        r(code ?? signal ?? 'unknown');
      }),
    );
    let banner = false;
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.#log?.write(text);
      if (text.includes('Tollgate is ready')) banner = true;
      for (const line of text.split('\n')) {
        if (/"level":(40|50|60)/.test(line) && this.problems.length < 500) this.problems.push(line);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    await waitFor(
      `${this.name} to be ready (log: ${this.logFile})`,
      async () => {
        if (!this.running) throw new Error(`${this.name} exited: ${await this.#exit}`);
        if (!banner) return false;
        const res = await fetch(`${this.url}/readyz`);
        await res.arrayBuffer();
        return res.status === 200;
      },
      60_000,
    );
  }

  /** SIGTERM and wait for the exit code (graceful shutdown). */
  async term(): Promise<number | string> {
    this.#child?.kill('SIGTERM');
    const code = await this.waitExit();
    // A shutdown that failed or had to be forced: say why here, or the CI log shows only the code.
    if (code !== 0) {
      console.log(
        `[faults] ${this.name} exited ${code} after SIGTERM; its last warnings and errors:\n${this.problems.slice(-20).join('\n')}`,
      );
    }
    return code;
  }

  /** SIGKILL: no shutdown at all. */
  async kill9(): Promise<number | string> {
    this.#child?.kill('SIGKILL');
    return this.waitExit();
  }

  async waitExit(): Promise<number | string> {
    const code = (await this.#exit) ?? 'not started';
    this.#log?.end();
    return code;
  }

  figures(): ProcessFigures {
    return processFigures(this.pid);
  }

  /** The value of a Prometheus sample from /metrics (the first line starting with `prefix`). */
  async metric(prefix: string): Promise<number | undefined> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(prefix));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  }
}

export interface ClusterOptions {
  replicas?: number;
  env?: Record<string, string>;
  /** Start a PostgreSQL for this cluster alone (to stop it), instead of using the suite's shared one. */
  ownPostgres?: boolean;
  /** Extra settings for the first replicas by name ("a", "b", ...): to compare two settings in one run. */
  replicaEnv?: Record<string, Record<string, string>>;
}

export interface Cluster {
  pg: Postgres;
  redis: RedisServer;
  databaseUrl: string;
  replicas: Replica[];
  adminToken: string;
  /** Adds (and starts) one more replica with the cluster's settings. */
  addReplica(extraEnv?: Record<string, string>): Promise<Replica>;
  gql<R, V>(document: TypedDocumentNode<R, V>, variables: V, replica?: Replica): Promise<GraphqlResponse<R>>;
  /** Usage events whose request id starts with `prefix`, counted per request id. */
  usageCounts(prefix: string): Promise<Map<string, number>>;
  dispose(): Promise<void>;
}

/**
 * Fast settings for faults to show quickly: usage flushed every 250 ms, caches refreshed each
 * second, a short shutdown grace.
 */
export const FAST_ENV: Record<string, string> = {
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  TOLLGATE_JWT_SECRET: TEST_JWT_SECRET,
  TOLLGATE_MASTER_KEYS: TEST_MASTER_KEY_1,
  TOLLGATE_USAGE_FLUSH_INTERVAL_MS: '250',
  TOLLGATE_CACHE_REFRESH_INTERVAL_MS: '1000',
  TOLLGATE_SHUTDOWN_TIMEOUT_MS: '10000',
};

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const ownPg = options.ownPostgres === true;
  const pgServer = ownPg ? await startPostgres() : sharedPostgres();
  const redis = await startRedis();
  const databaseUrl = await pgServer.createDatabase();
  const logDir = mkdtempSync(join(tmpdir(), 'tollgate-faults-logs-'));
  const count = options.replicas ?? 2;
  const replicas: Replica[] = [];
  const baseEnv = {
    ...FAST_ENV,
    TOLLGATE_REPLICAS: String(count),
    ...options.env,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
  };
  let named = 0;
  const addReplica = async (extraEnv: Record<string, string> = {}) => {
    // Named before any await: replicas may be added side by side.
    const name = String.fromCharCode(97 + named++);
    const dataDir = join(logDir, `data-${name}`);
    const port = await lowPort();
    const replica = new Replica(name, port, { ...baseEnv, TOLLGATE_DATA_DIR: dataDir, ...extraEnv }, logDir);
    replicas.push(replica);
    replicas.sort((x, y) => x.name.localeCompare(y.name));
    await replica.start();
    return replica;
  };
  // Together, as an orchestrator would start them (migrations run under an advisory lock).
  await Promise.all(
    Array.from({ length: count }, (_, i) => addReplica(options.replicaEnv?.[String.fromCharCode(97 + i)])),
  );
  const tokens = new TokenService(loadConfig({ ...baseEnv }).auth);
  const adminToken = await tokens.mint({ role: 'admin', subject: 'fault-suite', ttlSeconds: 3600 });
  return {
    pg: pgServer,
    redis,
    databaseUrl,
    replicas,
    adminToken,
    addReplica,
    gql: (document, variables, replica) => {
      // A URL variable, not a template literal inside gql(...): codegen would parse that as GraphQL.
      const endpoint = `${(replica ?? replicas.find((r) => r.running) ?? replicas[0]!).url}/graphql`;
      return gql(endpoint, document, variables, adminToken);
    },
    usageCounts: async (prefix) => {
      const rows = await pgServer.query<{ request_id: string; n: number }>(
        databaseUrl,
        'select request_id, count(*)::int as n from usage_events where request_id like $1 group by request_id',
        [`${prefix}%`],
      );
      return new Map(rows.map((r) => [r.request_id, r.n]));
    },
    dispose: async () => {
      await Promise.all(
        replicas.map(async (r) => {
          if (r.running) await r.kill9();
        }),
      );
      await redis.dispose();
      if (ownPg) await pgServer.dispose();
      if (!process.env.TOLLGATE_FAULTS_KEEP_LOGS) rmSync(logDir, { recursive: true, force: true });
    },
  };
}

// ---- Configuration through GraphQL --------------------------------------------------------

/** Creates a provider (and its keys) through GraphQL as an admin would; returns its slug and key ids. */
export async function createProvider(
  cluster: Cluster,
  baseUrl: string,
  options: { input?: Partial<CreateProviderInput>; keys?: string[]; slug?: string } = {},
): Promise<{ slug: string; keyIds: string[] }> {
  const slug = options.slug ?? `f-${randomBytes(4).toString('hex')}`;
  const created = await cluster.gql(CreateProvider, {
    input: { slug, name: slug, baseUrl, allowPrivateNetwork: true, ...options.input },
  });
  if (created.data?.createProvider?.__typename !== 'ProviderPayload')
    throw new Error(JSON.stringify(created));
  const keyIds: string[] = [];
  for (const [i, secret] of (options.keys ?? [`sk-${randomBytes(8).toString('hex')}`]).entries()) {
    const added = await cluster.gql(AddProviderKey, { input: { provider: slug, secret, label: `key-${i}` } });
    const key = added.data?.addProviderKey;
    if (key?.__typename !== 'ProviderKeyPayload') throw new Error(JSON.stringify(added));
    keyIds.push(key.key.id);
  }
  return { slug, keyIds };
}

/** Creates a client and returns its key. */
export async function createClientKey(cluster: Cluster): Promise<string> {
  const result = await cluster.gql(CreateClient, {
    input: { name: `load-${randomBytes(4).toString('hex')}` },
  });
  const payload = result.data?.createClient;
  if (payload?.__typename !== 'ClientKeyPayload') throw new Error(JSON.stringify(result));
  return payload.key;
}

/** Waits until every running replica serves `slug` to `clientKey` (caches follow events). */
export async function waitUntilServed(
  cluster: Cluster,
  clientKey: string,
  slug: string,
  path = '/',
): Promise<void> {
  for (const replica of cluster.replicas.filter((r) => r.running)) {
    await waitFor(`${replica.name} to serve ${slug}`, async () => {
      const res = await fetch(`${replica.url}/proxy/${slug}${path}`, {
        headers: {
          authorization: `Bearer ${clientKey}`,
          'x-request-id': `warmup-${randomBytes(4).toString('hex')}`,
        },
      });
      await res.arrayBuffer();
      return res.status !== 404 && res.status !== 401;
    });
  }
}

// ---- Load ---------------------------------------------------------------------------------

export interface Outcome {
  /** The request id of the attempt that got an answer (or of the last attempt). */
  id: string;
  path: string;
  /** Replica that answered (name), or '' if none. */
  replica: string;
  status: number;
  /** Gateway-originated error code (JSON body `error.code`), if any. */
  code: string | undefined;
  provider: string | null;
  fallback: string | null;
  attempts: string | null;
  retryAfter: string | null;
  startedAt: number;
  endedAt: number;
  latencyMs: number;
  bodyBytes: number;
  /** The response body broke off (reset or cut by Tollgate mid-stream). */
  bodyError: string | undefined;
  /** Connection-level failures retried on another replica before the answer. */
  connectionRetries: number;
  /** No answer at all: the connection error of the last attempt, or 'client-timeout'. */
  error: string | undefined;
  text: string | undefined;
}

export interface LoadOptions {
  targets: () => Replica[];
  clientKey: string;
  /** Path after /proxy/, per call number. */
  path: (n: number) => string;
  concurrency: number;
  /** Pause between one worker's calls. */
  pauseMs?: number;
  /** The caller gives up after this long: an outcome with error 'client-timeout' means something hung. */
  giveUpMs: number;
  /** Retry on another replica when the connection is refused or closed before an answer. */
  retryConnection?: boolean;
  /** Request id prefix (to find the calls in usage_events). */
  prefix: string;
  /** Keep the body text of each answer. */
  keepText?: boolean;
  headers?: (n: number, replica: Replica) => Record<string, string>;
  method?: string;
}

const CONNECTION_ERRORS =
  /ECONNREFUSED|ECONNRESET|EPIPE|UND_ERR_SOCKET|other side closed|socket hang up|UND_ERR_CLOSED/;

function describeError(error: unknown): string {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'client-timeout';
  return [e?.message, e?.cause?.code, e?.cause?.message].filter(Boolean).join(' / ');
}

/** Workers calling the proxy in a loop until stopped, recording every outcome. */
export class Load {
  readonly outcomes: Outcome[] = [];
  #running = false;
  #workers: Promise<void>[] = [];
  #n = 0;
  readonly #options: LoadOptions;

  constructor(options: LoadOptions) {
    this.#options = options;
  }

  start(): this {
    this.#running = true;
    this.#workers = Array.from({ length: this.#options.concurrency }, (_, w) => this.#worker(w));
    return this;
  }

  /** Makes exactly `count` calls (with the configured concurrency) and returns their outcomes. */
  async run(count: number): Promise<Outcome[]> {
    this.#running = true;
    const limit = count;
    const before = this.outcomes.length;
    await Promise.all(
      Array.from({ length: this.#options.concurrency }, async (_, w) => {
        while (this.#n < limit) await this.#one(w);
      }),
    );
    this.#running = false;
    return this.outcomes.slice(before);
  }

  async stop(): Promise<Outcome[]> {
    this.#running = false;
    await Promise.all(this.#workers);
    return this.outcomes;
  }

  async #worker(w: number): Promise<void> {
    while (this.#running) {
      await this.#one(w);
      if (this.#options.pauseMs) await sleep(this.#options.pauseMs);
    }
  }

  async #one(_worker: number): Promise<void> {
    const o = this.#options;
    const n = this.#n++;
    const path = o.path(n);
    const startedAt = Date.now();
    let connectionRetries = 0;
    let lastError: string | undefined;
    let id = `${o.prefix}-${n}`;
    for (let attempt = 0; attempt < 20; attempt++) {
      const targets = o.targets().filter((t) => t.running);
      const pool = targets.length > 0 ? targets : o.targets();
      // Spread calls over the replicas (a retry goes to the next one).
      const replica = pool[(n + attempt) % pool.length]!;
      id = `${o.prefix}-${n}${attempt ? `.${attempt}` : ''}`;
      try {
        const res = await fetch(`${replica.url}/proxy/${path}`, {
          method: o.method ?? 'GET',
          headers: {
            authorization: `Bearer ${o.clientKey}`,
            'x-request-id': id,
            ...o.headers?.(n, replica),
          },
          signal: AbortSignal.timeout(o.giveUpMs),
        });
        let bodyBytes = 0;
        let bodyError: string | undefined;
        const chunks: Buffer[] = [];
        try {
          for await (const chunk of (res.body ?? []) as unknown as AsyncIterable<Uint8Array>) {
            bodyBytes += (chunk as Uint8Array).length;
            if (o.keepText || res.headers.get('content-type')?.includes('json'))
              if (bodyBytes < 1_000_000) chunks.push(Buffer.from(chunk as Uint8Array));
          }
        } catch (error) {
          bodyError = describeError(error);
        }
        const text = Buffer.concat(chunks).toString('utf8');
        let code: string | undefined;
        if (res.status >= 400 && res.headers.get('content-type')?.includes('json')) {
          try {
            code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
          } catch {
            // not JSON after all: an upstream body
          }
        }
        const endedAt = Date.now();
        this.outcomes.push({
          id,
          path,
          replica: replica.name,
          status: res.status,
          code,
          provider: res.headers.get('x-tollgate-provider'),
          fallback: res.headers.get('x-tollgate-fallback'),
          attempts: res.headers.get('x-tollgate-attempts'),
          retryAfter: res.headers.get('retry-after'),
          startedAt,
          endedAt,
          latencyMs: endedAt - startedAt,
          bodyBytes,
          bodyError,
          connectionRetries,
          error: undefined,
          text: o.keepText ? text : undefined,
        });
        return;
      } catch (error) {
        lastError = describeError(error);
        if (o.retryConnection && lastError !== 'client-timeout' && CONNECTION_ERRORS.test(lastError)) {
          connectionRetries++;
          await sleep(20);
          continue;
        }
        break;
      }
    }
    const endedAt = Date.now();
    this.outcomes.push({
      id,
      path,
      replica: '',
      status: 0,
      code: undefined,
      provider: null,
      fallback: null,
      attempts: null,
      retryAfter: null,
      startedAt,
      endedAt,
      latencyMs: endedAt - startedAt,
      bodyBytes: 0,
      bodyError: undefined,
      connectionRetries,
      error: lastError,
      text: undefined,
    });
  }
}

/** Counts of outcomes by a key, as a plain object for printing. */
export function tally<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const k = key(item);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

/** A gateway-originated 5xx: a 5xx answer carrying Tollgate's JSON error body. */
export function isGateway5xx(o: Outcome): boolean {
  return o.status >= 500 && o.code !== undefined;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** One line of figures, prefixed so that they stand out in the vitest output. */
export function report(scenario: string, figures: object): void {
  console.log(`[faults] ${scenario}: ${JSON.stringify(figures)}`);
}
