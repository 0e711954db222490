import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { createLogger } from '../src/shared/logger.ts';
import { freePort, startRedisServer } from '../test/helpers/ports.ts';

/**
 * Configuration changes at scale, in one run on this machine: 100,000 clients and 1,000 providers
 * (inserted in bulk, one statement each), two replicas in processes of their own sharing one
 * PostgreSQL and one Redis, a local upstream.
 * - a client created on replica A: how long after A's mutation returns its key is served by
 *   replica B; a client revoked on A: how long until B refuses it (BENCH_CONFIG_TRIALS, default 10);
 * - proxied calls on B, one at a time: p50/p99 without changes against p99 while A makes a burst
 *   of 100 client changes (BENCH_CONFIG_ROUNDS alternating rounds, default 3), and B's longest
 *   event-loop stall in each;
 * - a full (paged) reload of B's client cache: its time and longest event-loop stall;
 * - B's start-up time and heap per cached client (B started with and without the clients).
 * Writes bench/results/config-scale.json. No thresholds: the figures go in the issue note.
 */
const CLIENTS = Number(process.env.BENCH_CONFIG_CLIENTS ?? 100_000);
const PROVIDERS = Number(process.env.BENCH_CONFIG_PROVIDERS ?? 1000);
const TRIALS = Number(process.env.BENCH_CONFIG_TRIALS ?? 10);
const ROUNDS = Number(process.env.BENCH_CONFIG_ROUNDS ?? 3);
const BURST = Number(process.env.BENCH_CONFIG_BURST ?? 100);
/** Calls per measured window (one at a time). */
const CALLS = Number(process.env.BENCH_CONFIG_CALLS ?? 1500);
const REPLICA = fileURLToPath(new URL('./config-scale-replica.ts', import.meta.url));

const round = (n: number) => Math.round(n * 100) / 100;
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
};

interface ReplicaHello {
  url: string;
  startupMs: number;
  heapUsed: number;
  stats: { held: number };
}

/** A replica process and the way to send it commands. */
class Replica {
  readonly #child: ChildProcess;
  readonly #lines: Interface;
  readonly #waiting: ((line: string) => void)[] = [];
  hello!: ReplicaHello;

  constructor(args: string[]) {
    this.#child = spawn(process.execPath, ['--expose-gc', REPLICA, ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.#lines = createInterface({ input: this.#child.stdout! });
    this.#lines.on('line', (line) => this.#waiting.shift()?.(line));
  }

  async ready(): Promise<this> {
    this.hello = JSON.parse(await this.#next()) as ReplicaHello;
    return this;
  }

  #next(): Promise<string> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async send<T>(command: Record<string, unknown>): Promise<T> {
    const answer = this.#next();
    this.#child.stdin!.write(`${JSON.stringify(command)}\n`);
    const parsed = JSON.parse(await answer) as T & { error?: string };
    if (parsed.error) throw new Error(`replica: ${parsed.error}`);
    return parsed;
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.kill('SIGTERM');
    await exited;
  }
}

/** One proxied call to a replica; its status and time in ms. */
async function call(url: string, key: string): Promise<{ status: number; ms: number }> {
  const at = performance.now();
  const response = await fetch(`${url}/proxy/bench/items`, { headers: { authorization: `Bearer ${key}` } });
  await response.arrayBuffer();
  return { status: response.status, ms: performance.now() - at };
}

/** Calls until `done` says so (at most 10 s); the time from the first call to the deciding answer. */
async function until(url: string, key: string, done: (status: number) => boolean): Promise<number> {
  const at = performance.now();
  while (performance.now() - at < 10_000) {
    if (done((await call(url, key)).status)) return performance.now() - at;
  }
  throw new Error('the change did not reach the other replica within 10 s');
}

/** Copies a row `count` times in one statement, with the columns `replace` names computed per copy. */
async function copyRows(
  db: pg.Client,
  table: string,
  where: string,
  count: number,
  replace: Record<string, string>,
): Promise<void> {
  const columns = (
    await db.query<{ column_name: string }>(
      'select column_name from information_schema.columns where table_name = $1 order by ordinal_position',
      [table],
    )
  ).rows.map((r) => r.column_name);
  const list = columns.map((c) => `"${c}"`).join(', ');
  const values = columns.map((c) => replace[c] ?? `t."${c}"`).join(', ');
  await db.query(
    `insert into "${table}" (${list}) select ${values} from "${table}" t, generate_series(1, ${count}) as i where ${where}`,
  );
}

async function bulkInsert(databaseUrl: string, what: 'providers' | 'clients'): Promise<number> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const at = performance.now();
  try {
    if (what === 'providers') {
      await copyRows(db, 'providers', `t.slug = 'bench'`, PROVIDERS - 1, {
        id: 'gen_random_uuid()',
        slug: `'bulk-' || i`,
        name: `'Bulk ' || i`,
      });
    } else {
      // Keys nobody holds: a prefix and a hash per client, as a creation stores them.
      await copyRows(db, 'clients', `t.name = 'bench-client'`, CLIENTS, {
        id: 'gen_random_uuid()',
        name: `'bulk-' || i`,
        key_prefix: `substr(md5(i::text || 'p'), 1, 8)`,
        key_hash: `encode(sha256(convert_to(i::text, 'UTF8')), 'hex')`,
      });
    }
    await db.query(`analyze "${what}"`);
  } finally {
    await db.end();
  }
  return performance.now() - at;
}

/** `CALLS` proxied calls one at a time while `during` runs (if given); latencies in ms. */
async function window(url: string, key: string, during?: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  // Its failure is reported after the calls (left unhandled meanwhile, it would end the process).
  const background = during?.().then(
    () => undefined,
    (error: unknown) => error,
  );
  for (let i = 0; i < CALLS; i++) {
    const { status, ms } = await call(url, key);
    if (status !== 200) throw new Error(`a proxied call answered ${status}`);
    times.push(ms);
  }
  const failed = await background;
  if (failed) throw failed;
  return times;
}

export async function runConfigScaleBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-config-pg-'));
  const postgres = await startEmbeddedPostgres({
    dataDir: dir,
    port: await freePort(),
    logger: createLogger('warn'),
  });
  const redisPort = await freePort();
  const redis = await startRedisServer(redisPort);
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const body = JSON.stringify({ items: [{ id: 1 }], total: 1 });
  const upstream = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const args = [postgres.url, redisUrl, randomBytes(32).toString('base64url')];
  const replicas: Replica[] = [];
  const start = async () => {
    const replica = await new Replica(args).ready();
    replicas.push(replica);
    return replica;
  };
  try {
    console.log(
      `config-scale: ${CLIENTS.toLocaleString()} clients, ${PROVIDERS.toLocaleString()} providers, two replicas (PostgreSQL and Redis shared); load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    const a = await start();
    const { key } = await a.send<{ key: string }>({ cmd: 'seed', upstream: upstreamUrl });
    const providersMs = await bulkInsert(postgres.url, 'providers');

    // B without the clients, then with them: start-up, and heap per cached client.
    const empty = await start();
    const emptyHello = empty.hello;
    await empty.stop();
    replicas.splice(replicas.indexOf(empty), 1);
    const clientsMs = await bulkInsert(postgres.url, 'clients');
    const b = await start();
    const bytesPerClient =
      (b.hello.heapUsed - emptyHello.heapUsed) / (b.hello.stats.held - emptyHello.stats.held);
    console.log(
      `  bulk insert: ${PROVIDERS} providers in ${Math.round(providersMs)} ms, ${CLIENTS.toLocaleString()} clients in ${Math.round(clientsMs)} ms`,
    );
    console.log(
      `  start-up of a replica: ${Math.round(emptyHello.startupMs)} ms with ${emptyHello.stats.held} client(s), ${Math.round(b.hello.startupMs)} ms with ${b.hello.stats.held.toLocaleString()}; heap per cached client ${Math.round(bytesPerClient)} bytes`,
    );

    for (let i = 0; i < 200; i++) await call(b.hello.url, key);

    // A change made on A, seen by B.
    const created: number[] = [];
    const revoked: number[] = [];
    const warmUp: number[] = [];
    // Two trials first, not counted (printed apart): the first reads after start-up pay for warm-up.
    for (let trial = 0; trial < TRIALS + 2; trial++) {
      const client = await a.send<{ id: string; key: string }>({ cmd: 'create' });
      const served = await until(b.hello.url, client.key, (status) => status === 200);
      await a.send({ cmd: 'revoke', id: client.id });
      const refused = await until(b.hello.url, client.key, (status) => status === 401);
      if (trial < 2) warmUp.push(round(served), round(refused));
      else {
        created.push(served);
        revoked.push(refused);
      }
    }
    console.log(
      `  a client created on A is served by B after: median ${round(median(created))} ms, max ${round(Math.max(...created))} ms`,
    );
    console.log(
      `  a client revoked on A is refused by B after: median ${round(median(revoked))} ms, max ${round(Math.max(...revoked))} ms (warm-up trials, created/revoked: ${warmUp.join(', ')} ms)`,
    );

    // Proxied calls on B, quiet and during a burst of changes on A, in alternating rounds.
    const rounds: {
      quietP50: number;
      quietP99: number;
      burstP50: number;
      burstP99: number;
      burstMax: number;
      quietStallMs: number;
      burstStallMs: number;
      quietCpuMs: number;
      burstCpuMs: number;
    }[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      type Stats = { maxDelayMs: number; cpuMs: number; stats: { longestStepMs: number } };
      await b.send({ cmd: 'stats' });
      const quiet = await window(b.hello.url, key);
      const quietStats = await b.send<Stats>({ cmd: 'stats' });
      const burst = await window(b.hello.url, key, () => a.send({ cmd: 'burst', n: BURST }));
      const burstStats = await b.send<Stats>({ cmd: 'stats' });
      rounds.push({
        quietP50: quantile(quiet, 0.5),
        quietP99: quantile(quiet, 0.99),
        burstP50: quantile(burst, 0.5),
        burstP99: quantile(burst, 0.99),
        burstMax: Math.max(...burst),
        quietStallMs: quietStats.maxDelayMs,
        burstStallMs: burstStats.maxDelayMs,
        quietCpuMs: quietStats.cpuMs,
        burstCpuMs: burstStats.cpuMs,
      });
    }
    const pick = (f: (x: (typeof rounds)[number]) => number) => round(median(rounds.map(f)));
    const quietP99 = pick((x) => x.quietP99);
    const burstP99 = pick((x) => x.burstP99);
    console.log(
      `  proxied calls on B (one at a time, ${CALLS} per window, median of ${ROUNDS} rounds): quiet p50 ${pick((x) => x.quietP50)} ms p99 ${quietP99} ms; during a burst of ${BURST} client changes p50 ${pick((x) => x.burstP50)} ms p99 ${burstP99} ms (max ${pick((x) => x.burstMax)} ms): p99 +${round(burstP99 - quietP99)} ms`,
    );
    console.log(
      `  B's longest event-loop stall: ${pick((x) => x.quietStallMs)} ms quiet, ${pick((x) => x.burstStallMs)} ms during a burst (B's CPU for the window: ${pick((x) => x.quietCpuMs)} ms quiet, ${pick((x) => x.burstCpuMs)} ms with the burst)`,
    );

    // The safety net: a full paged reload of 100,000 clients on B, alone and under calls.
    const reload = await b.send<{ ms: number; maxDelayMs: number }>({ cmd: 'reload' });
    const stats = await b.send<{ stats: Record<string, number> }>({ cmd: 'stats' });
    console.log(
      `  full (paged) reload of B's ${stats.stats.held?.toLocaleString()} clients: ${Math.round(reload.ms)} ms, longest event-loop stall ${round(reload.maxDelayMs)} ms; the cache's longest step (one page or batch) ${round(stats.stats.longestStepMs ?? 0)} ms wall, ${round(stats.stats.longestStepCpuMs ?? 0)} ms CPU`,
    );
    console.log(`  B's client cache: ${JSON.stringify(stats.stats)}`);

    const results = {
      clients: CLIENTS,
      providers: PROVIDERS,
      loadAverage: loadavg(),
      bulkInsertMs: { providers: Math.round(providersMs), clients: Math.round(clientsMs) },
      startupMs: {
        withoutClients: Math.round(emptyHello.startupMs),
        withClients: Math.round(b.hello.startupMs),
      },
      heapBytesPerCachedClient: Math.round(bytesPerClient),
      warmUpTrialsMs: warmUp,
      createdServedOnOtherReplicaMs: {
        median: round(median(created)),
        max: round(Math.max(...created)),
        trials: created.map(round),
      },
      revokedRefusedOnOtherReplicaMs: {
        median: round(median(revoked)),
        max: round(Math.max(...revoked)),
        trials: revoked.map(round),
      },
      proxiedCallsMs: {
        quietP99,
        burstP99,
        addedP99: round(burstP99 - quietP99),
        burst: BURST,
        calls: CALLS,
        rounds,
      },
      fullReload: { ms: Math.round(reload.ms), maxEventLoopStallMs: round(reload.maxDelayMs) },
      cacheStats: stats.stats,
    };
    const out = fileURLToPath(new URL('./results/', import.meta.url));
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'config-scale.json'), `${JSON.stringify(results, null, 2)}\n`);
  } finally {
    for (const replica of replicas.reverse()) await replica.stop();
    upstream.close();
    redis.kill('SIGTERM');
    await postgres.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
