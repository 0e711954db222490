import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { type StartedApp, startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { resolveAuthSecret } from '../src/modules/auth/auth-secret.ts';
import { TokenService } from '../src/modules/auth/token.service.ts';
import { createLogger } from '../src/shared/logger.ts';

/**
 * Live-event fan-out, measured in one run: N WebSocket subscribers (1,000, 5,000, 10,000, in a
 * separate process) to circuitStateChanged; one event published; the time from publish to each
 * delivery (p50, p99, last) and server memory per connection. Beside it, a raw `ws` server
 * broadcasting the same pre-serialised payload to the same number of sockets (the baseline), and
 * the Redis variant (published on replica A, delivered by replica B). Prints the ratios and writes
 * bench/results/subscriptions.json. No thresholds: the figures go in the issue note.
 */
const COUNTS = (process.env.BENCH_SUBSCRIBERS ?? '1000,5000,10000').split(',').map(Number);
const CLIENT = fileURLToPath(new URL('./subscribers-client.ts', import.meta.url));
const QUERY = 'subscription { circuitStateChanged { provider from to reason failures } }';
const now = () => performance.timeOrigin + performance.now();

interface Figures {
  p50: number;
  p99: number;
  last: number;
  memoryPerConnectionKiB: number;
}

async function subscribers(url: string, count: number, mode: 'raw' | 'graphql', token = '') {
  const child = spawn(process.execPath, [CLIENT, url, String(count), mode, token, QUERY], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const ready = await lines.next();
  if (ready.value !== 'ready') throw new Error(`subscriber process said ${ready.value}`);
  return {
    child,
    /** Waits for every socket's arrival time. */
    arrivals: async () =>
      (JSON.parse((await lines.next()).value as string) as { arrivals: number[] }).arrivals,
  };
}

function figures(publishedAt: number, arrivals: number[], memoryBytes: number, count: number): Figures {
  const latencies = arrivals.map((t) => t - publishedAt).sort((a, b) => a - b);
  const at = (q: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]! * 100) / 100;
  return {
    p50: at(0.5),
    p99: at(0.99),
    last: at(1),
    memoryPerConnectionKiB: Math.round(memoryBytes / count / 102.4) / 10,
  };
}

function memory(): number {
  globalThis.gc?.();
  return process.memoryUsage().rss;
}

async function rawBroadcast(count: number): Promise<Figures> {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const before = memory();
  const subs = await subscribers(url, count, 'raw');
  const used = memory() - before;
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
  const result = figures(publishedAt, await subs.arrivals(), used, count);
  subs.child.kill();
  wss.close();
  server.close();
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

async function throughTollgate(
  publisher: StartedApp,
  server: StartedApp,
  token: string,
  count: number,
): Promise<Figures> {
  const url = `${server.url.replace(/^http/, 'ws')}/graphql`;
  const before = memory();
  const subs = await subscribers(url, count, 'graphql', token);
  const used = memory() - before;
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
  const result = figures(publishedAt, await subs.arrivals(), used, count);
  subs.child.kill();
  await new Promise((r) => setTimeout(r, 500));
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

export async function runSubscriptionsBench(): Promise<void> {
  const local = await tollgate();
  const redis = startRedis();
  await new Promise((r) => setTimeout(r, 300));
  const replicas = redis ? await Promise.all([tollgate(redis.url), tollgate(redis.url)]) : undefined;
  const results: Record<string, unknown>[] = [];
  console.log('subscriptions: one event to N WebSocket subscribers (subscribers in another process)');
  try {
    for (const count of COUNTS) {
      const baseline = await rawBroadcast(count);
      const inProcess = await throughTollgate(local.app, local.app, local.token, count);
      const viaRedis = replicas
        ? await throughTollgate(replicas[0].app, replicas[1].app, replicas[1].token, count)
        : null;
      const line = (name: string, f: Figures) =>
        `  ${String(count).padStart(6)} ${name.padEnd(24)} p50 ${String(f.p50).padStart(7)} ms  p99 ${String(f.p99).padStart(7)} ms  last ${String(f.last).padStart(7)} ms  ${String(f.memoryPerConnectionKiB).padStart(6)} KiB/conn`;
      console.log(line('raw ws broadcast', baseline));
      console.log(line('tollgate (in-process)', inProcess));
      if (viaRedis) console.log(line('tollgate (Redis, A→B)', viaRedis));
      console.log(
        `  ${String(count).padStart(6)} ratio tollgate/raw: last ×${(inProcess.last / baseline.last).toFixed(1)}, p50 ×${(inProcess.p50 / baseline.p50).toFixed(1)}${viaRedis ? `; Redis last ×${(viaRedis.last / baseline.last).toFixed(1)}` : ''}`,
      );
      results.push({ subscribers: count, baseline, inProcess, viaRedis });
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
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./results/subscriptions.json', import.meta.url),
    `${JSON.stringify(results, null, 2)}\n`,
  );
  console.log('  wrote bench/results/subscriptions.json');
}
