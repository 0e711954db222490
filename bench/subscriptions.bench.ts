import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocketServer } from 'ws';
import { type StartedApp, startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { resolveAuthSecret } from '../src/modules/auth/auth-secret.ts';
import { TokenService } from '../src/modules/auth/token.service.ts';
import { createLogger } from '../src/shared/logger.ts';

/**
 * Live-event fan-out: N WebSocket subscribers (1,000, 5,000, 10,000, in a separate process) to
 * circuitStateChanged; one event published; the time from publish to each delivery (p50, p99,
 * last) and server memory per idle connection and per subscription. Beside it, a raw `ws` server
 * broadcasting the same pre-serialised payload to the same number of sockets (the baseline), and
 * the Redis variant (published on replica A, delivered by replica B). Each round measures every
 * count in all three ways, in an order that alternates from round to round; the summary gives the
 * medians over the rounds (BENCH_ROUNDS, 3 by default), so one noisy round cannot decide it.
 * Writes bench/results/subscriptions.json. No thresholds: the figures go in the issue note.
 */
const COUNTS = (process.env.BENCH_SUBSCRIBERS ?? '1000,5000,10000').split(',').map(Number);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const CLIENT = fileURLToPath(new URL('./subscribers-client.ts', import.meta.url));
const QUERY = 'subscription { circuitStateChanged { provider from to reason failures } }';
const now = () => performance.timeOrigin + performance.now();
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Figures {
  p50: number;
  p99: number;
  last: number;
  /** Server memory (RSS after a full GC) per connection, its subscription included. */
  memoryPerConnectionKiB: number;
  /** graphql-ws only: per connection that is initialised but has no subscription... */
  idleConnectionKiB?: number;
  /** ...and what its one subscription adds. */
  subscriptionKiB?: number;
  /** The same two from the JS heap (used heap + external memory), which RSS rounding hides. */
  idleConnectionHeapKiB?: number;
  subscriptionHeapKiB?: number;
}

interface Memory {
  rss: number;
  heap: number;
}

function memory(): Memory {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external };
}

const kib = (bytes: number, count: number) => Math.round(bytes / count / 102.4) / 10;

async function subscribers(url: string, count: number, mode: 'raw' | 'graphql', token = '') {
  const child = spawn(process.execPath, [CLIENT, url, String(count), mode, token, QUERY], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const expect = async (line: string) => {
    const got = await lines.next();
    if (got.value !== line) throw new Error(`subscriber process said ${got.value}, not ${line}`);
  };
  await expect('ready');
  return {
    child,
    subscribe: async () => {
      child.stdin!.write('subscribe\n');
      await expect('subscribed');
    },
    /** Waits for every socket's arrival time. */
    arrivals: async () =>
      (JSON.parse((await lines.next()).value as string) as { arrivals: number[] }).arrivals,
  };
}

function latencies(publishedAt: number, arrivals: number[]): Pick<Figures, 'p50' | 'p99' | 'last'> {
  const sorted = arrivals.map((t) => t - publishedAt).sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]! * 100) / 100;
  return { p50: at(0.5), p99: at(0.99), last: at(1) };
}

async function rawBroadcast(count: number): Promise<Figures> {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const before = memory();
  const subs = await subscribers(url, count, 'raw');
  const used = memory().rss - before.rss;
  const payload = JSON.stringify({
    id: '1',
    type: 'next',
    payload: {
      data: {
        circuitStateChanged: { provider: 'bench', from: 'CLOSED', to: 'OPEN', reason: 'bench', failures: 5 },
      },
    },
  });
  const publishedAt = now();
  for (const client of wss.clients) client.send(payload);
  const result = {
    ...latencies(publishedAt, await subs.arrivals()),
    memoryPerConnectionKiB: kib(used, count),
  };
  subs.child.kill();
  for (const client of wss.clients) client.terminate();
  wss.close();
  server.close();
  await new Promise((r) => setTimeout(r, 500));
  return result;
}

async function tollgate(redisUrl?: string): Promise<{ app: StartedApp; token: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-subs-'));
  const config = loadConfig({
    TOLLGATE_DATA_DIR: dir,
    PORT: '0',
    LOG_LEVEL: 'error',
    TOLLGATE_EMBEDDED_PG_PORT: String(20_000 + Math.floor(Math.random() * 12_000)),
    TOLLGATE_HEALTH_TICK_MS: '60000',
    // Thousands of subscribers share one token here.
    TOLLGATE_WS_MAX_PER_OPERATOR: '0',
    // ...and one address (this machine's loopback).
    TOLLGATE_MAX_CONNECTIONS_PER_IP: '0',
    TOLLGATE_GRAPHQL_RATE_LIMIT: '0',
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
  });
  const app = await startApp(config, { logger: createLogger('error') });
  const { auth } = resolveAuthSecret(config);
  const token = await new TokenService(auth).mint({ subject: 'bench', role: 'viewer', ttlSeconds: 3600 });
  return { app, token, dir };
}

/**
 * Subscribers the server holds: one event-bus subscription each when every subscriber runs its
 * own operation, or as members of the operations they share.
 */
function listening(app: StartedApp): number {
  const shared = (app as Partial<StartedApp>).subscriptions?.shared.members ?? 0;
  return app.services.events.activeSubscriptions + shared;
}

async function throughTollgate(
  publisher: StartedApp,
  server: StartedApp,
  token: string,
  count: number,
): Promise<Figures> {
  const url = `${server.url.replace(/^http/, 'ws')}/graphql`;
  const before = memory();
  const subs = await subscribers(url, count, 'graphql', token);
  const idle = memory();
  const base = listening(server);
  await subs.subscribe();
  // graphql-ws does not acknowledge a subscription: wait until the server holds all of them.
  const deadline = Date.now() + 120_000;
  while (listening(server) - base < count) {
    if (Date.now() > deadline) throw new Error(`only ${listening(server) - base} of ${count} subscribed`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const subscribed = memory();
  const publishedAt = now();
  publisher.services.events.publish('circuit.changed', {
    providerId: '00000000-0000-4000-8000-000000000001',
    providerSlug: 'bench',
    from: 'CLOSED',
    to: 'OPEN',
    reason: 'bench',
    failures: 5,
    nextProbeAt: null,
  });
  const result = {
    ...latencies(publishedAt, await subs.arrivals()),
    memoryPerConnectionKiB: kib(subscribed.rss - before.rss, count),
    idleConnectionKiB: kib(idle.rss - before.rss, count),
    subscriptionKiB: kib(subscribed.rss - idle.rss, count),
    idleConnectionHeapKiB: kib(idle.heap - before.heap, count),
    subscriptionHeapKiB: kib(subscribed.heap - idle.heap, count),
  };
  subs.child.kill();
  await new Promise((r) => setTimeout(r, 1000));
  return result;
}

function startRedis(): { url: string; child: ChildProcess } | undefined {
  if (spawnSync('redis-server', ['--version']).status !== 0) return undefined;
  const port = 17_379 + Math.floor(Math.random() * 1000);
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  return { url: `redis://127.0.0.1:${port}`, child };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : Math.round(((sorted[mid - 1]! + sorted[mid]!) / 2) * 100) / 100;
};

/** Each figure's median over the rounds. */
function medianFigures(rounds: Figures[]): Figures {
  const keys = Object.keys(rounds[0]!) as (keyof Figures)[];
  return Object.fromEntries(
    keys.map((k) => [k, median(rounds.map((r) => r[k] as number))]),
  ) as unknown as Figures;
}

type Way = 'baseline' | 'inProcess' | 'viaRedis';
const load = () => os.loadavg().map((l) => Math.round(l * 100) / 100);

const line = (count: number, name: string, f: Figures) =>
  `  ${String(count).padStart(6)} ${name.padEnd(24)} p50 ${String(f.p50).padStart(7)} ms  p99 ${String(f.p99).padStart(7)} ms  last ${String(f.last).padStart(7)} ms  ${String(f.memoryPerConnectionKiB).padStart(6)} KiB/conn${f.idleConnectionKiB === undefined ? '' : ` (idle ${f.idleConnectionKiB} KiB + subscription ${f.subscriptionKiB} KiB; heap ${f.idleConnectionHeapKiB} + ${f.subscriptionHeapKiB} KiB)`}`;

export async function runSubscriptionsBench(): Promise<void> {
  const local = await tollgate();
  const redis = startRedis();
  await new Promise((r) => setTimeout(r, 300));
  const replicas = redis ? await Promise.all([tollgate(redis.url), tollgate(redis.url)]) : undefined;
  const measured = new Map<number, Record<Way, Figures[]>>(
    COUNTS.map((c) => [c, { baseline: [], inProcess: [], viaRedis: [] }]),
  );
  const measure: Record<Way, (count: number) => Promise<Figures> | undefined> = {
    baseline: (count) => rawBroadcast(count),
    inProcess: (count) => throughTollgate(local.app, local.app, local.token, count),
    viaRedis: (count) =>
      replicas ? throughTollgate(replicas[0].app, replicas[1].app, replicas[1].token, count) : undefined,
  };
  const names: Record<Way, string> = {
    baseline: 'raw ws broadcast',
    inProcess: 'tollgate (in-process)',
    viaRedis: 'tollgate (Redis, A→B)',
  };
  const loads: number[][] = [];
  console.log(
    `subscriptions: one event to N WebSocket subscribers (subscribers in another process), ${ROUNDS} rounds`,
  );
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      loads.push(load());
      console.log(`  round ${round} (load average ${load().join(' ')})`);
      const order: Way[] =
        round % 2 ? ['baseline', 'inProcess', 'viaRedis'] : ['viaRedis', 'inProcess', 'baseline'];
      for (const count of COUNTS) {
        for (const way of order) {
          const figures = await measure[way](count);
          if (!figures) continue;
          measured.get(count)![way].push(figures);
          console.log(line(count, names[way], figures));
        }
      }
    }
  } finally {
    await local.app.stop();
    rmSync(local.dir, { recursive: true, force: true });
    for (const replica of replicas ?? []) {
      await replica.app.stop();
      rmSync(replica.dir, { recursive: true, force: true });
    }
    redis?.child.kill();
  }
  console.log(`  medians over ${ROUNDS} rounds:`);
  const results: Record<string, unknown>[] = [];
  for (const [count, ways] of measured) {
    const baseline = medianFigures(ways.baseline);
    const inProcess = medianFigures(ways.inProcess);
    const viaRedis = ways.viaRedis.length > 0 ? medianFigures(ways.viaRedis) : null;
    console.log(line(count, names.baseline, baseline));
    console.log(line(count, names.inProcess, inProcess));
    if (viaRedis) console.log(line(count, names.viaRedis, viaRedis));
    const ratio = (f: Figures, k: 'p50' | 'last') => Math.round((f[k] / baseline[k]) * 100) / 100;
    const ratios = {
      inProcess: { p50: ratio(inProcess, 'p50'), last: ratio(inProcess, 'last') },
      viaRedis: viaRedis ? { p50: ratio(viaRedis, 'p50'), last: ratio(viaRedis, 'last') } : null,
    };
    console.log(
      `  ${String(count).padStart(6)} ratio tollgate/raw (medians): in-process p50 ×${ratios.inProcess.p50}, last ×${ratios.inProcess.last}${ratios.viaRedis ? `; Redis p50 ×${ratios.viaRedis.p50}, last ×${ratios.viaRedis.last}` : ''}`,
    );
    results.push({ subscribers: count, baseline, inProcess, viaRedis, ratios, rounds: ways });
  }
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./results/subscriptions.json', import.meta.url),
    `${JSON.stringify({ rounds: ROUNDS, loadAverages: loads, results }, null, 2)}\n`,
  );
  console.log('  wrote bench/results/subscriptions.json');
}
