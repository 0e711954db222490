import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent } from 'undici';
import { type StartedApp, startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/shared/logger.ts';

/**
 * Data-plane overhead, measured in one run on this machine: the same load against
 *   1. the upstream directly,
 *   2. a bare pass-through proxy on undici's request() API, as one would write it — the baseline,
 *   3. a bare pass-through proxy on undici's lower-level dispatch API (what Tollgate uses), shown
 *      beside it so the gain from the API is not mistaken for a cheap policy chain,
 *   4. Tollgate with the full chain (client auth, provider rate limit, breaker, key injection,
 *      metering), with the in-process limiter, and with the Redis limiter when redis-server exists.
 * After a warm-up, the targets are measured in alternating rounds (BENCH_ROUNDS, default 5), so a noisy moment of
 * a shared machine touches all of them; each figure is the median over the rounds, and each
 * ratio is the median of the per-round ratios. Prints requests/s and p50/p99 latency, the ratios
 * against the baseline, the added latency, and writes bench/results/proxy.json. No thresholds
 * here: the figures go in the issue note.
 */
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const AUTOCANNON = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url));

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  cpuMicrosPerRequest: number;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; close: () => void }> {
  const server = createServer({ keepAliveTimeout: 10_000 }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

/** Runs the load generator in its own process, so it does not share an event loop with the target. */
function autocannonProcess(
  url: string,
  headers: Record<string, string>,
  duration: number,
): Promise<AutocannonJson> {
  const args = [AUTOCANNON, '--json', '--connections', String(CONNECTIONS), '--duration', String(duration)];
  for (const [name, value] of Object.entries(headers)) args.push('--headers', `${name}=${value}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as AutocannonJson)
        : reject(new Error(`autocannon exited ${code}`)),
    );
  });
}

interface AutocannonJson {
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
}

async function measure(name: string, url: string, headers: Record<string, string> = {}): Promise<Figures> {
  // A short warm-up so pools and JIT are ready, then the measured run.
  await autocannonProcess(url, headers, 1);
  // CPU time of this process (the target and the upstream; the load generator runs apart) per
  // request: steadier than throughput on a shared machine, and what an optimisation changes.
  const cpuBefore = process.cpuUsage();
  const result = await autocannonProcess(url, headers, DURATION_S);
  const cpu = process.cpuUsage(cpuBefore);
  const requests = result.requests.average * DURATION_S;
  const figures = {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    cpuMicrosPerRequest: requests > 0 ? (cpu.user + cpu.system) / requests : 0,
  };
  console.log(
    `  ${name.padEnd(28)} ${figures.rps.toFixed(0).padStart(7)} req/s  p50 ${String(figures.p50).padStart(3)} ms  p99 ${String(figures.p99).padStart(3)} ms  ${figures.cpuMicrosPerRequest.toFixed(0).padStart(4)} µs CPU/req${figures.errors ? `  (${figures.errors} errors)` : ''}`,
  );
  return figures;
}

async function tollgate(
  upstreamUrl: string,
  redisUrl: string | undefined,
): Promise<{ app: StartedApp; url: string; key: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-proxy-'));
  const config = loadConfig({
    TOLLGATE_DATA_DIR: dir,
    PORT: '0',
    LOG_LEVEL: 'warn',
    TOLLGATE_EMBEDDED_PG_PORT: String(20_000 + Math.floor(Math.random() * 12_000)),
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    ...(process.env.BENCH_USAGE_FLUSH_MS
      ? { TOLLGATE_USAGE_FLUSH_INTERVAL_MS: process.env.BENCH_USAGE_FLUSH_MS }
      : {}),
  });
  const app = await startApp(config, { logger: createLogger('error') });
  const actor = { subject: 'bench', role: 'admin' as const, requestId: undefined };
  await app.services.providers.create(actor, {
    slug: 'bench',
    name: 'Bench',
    baseUrl: upstreamUrl,
    allowPrivateNetwork: true,
    // A limit far above the load: every call pays for the limiter, none is refused.
    rateLimit: { points: 1_000_000, periodMs: 60_000 },
  });
  await app.services.providerKeys.add(actor, { provider: 'bench', secret: 'sk-bench-0123456789abcdef' });
  const { key } = await app.services.clients.create(actor, { name: 'bench-client' });
  await Promise.all([
    app.services.providerCache.reload(),
    app.services.keyRing.reload(),
    app.services.clientCache.reload(),
  ]);
  return { app, url: `${app.url}/proxy/bench/items`, key, dir };
}

async function startRedis(): Promise<{ url: string; stop: () => void } | undefined> {
  if (spawnSync('redis-server', ['--version']).status !== 0) return undefined;
  const port = 16_379 + Math.floor(Math.random() * 1000);
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await new Promise((r) => setTimeout(r, 300));
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill() };
}

export async function runProxyBench(): Promise<void> {
  const body = JSON.stringify({ items: [{ id: 1, name: 'CVE-2024-0001' }], total: 1 });
  const upstream = await listen((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });

  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 128 });
  const upstreamOrigin = new URL(upstream.url).origin;
  // The baseline does what any correct pass-through proxy must: forward method, path, headers
  // (less hop-by-hop and host) and body, and return status, headers (less hop-by-hop) and body.
  const hopByHop = new Set([
    'connection',
    'keep-alive',
    'transfer-encoding',
    'te',
    'trailer',
    'upgrade',
    'host',
    'proxy-authorization',
  ]);
  const strip = (headers: Record<string, string | string[] | undefined>) => {
    const out: Record<string, string | string[]> = {};
    for (const name in headers) {
      const value = headers[name];
      if (value !== undefined && !hopByHop.has(name)) out[name] = value;
    }
    return out;
  };
  const bare = await listen(async (req, res) => {
    const response = await agent.request({
      origin: upstreamOrigin,
      path: req.url ?? '/',
      method: (req.method ?? 'GET') as 'GET',
      headers: strip(req.headers),
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req,
    });
    res.writeHead(response.statusCode, strip(response.headers));
    for await (const chunk of response.body) res.write(chunk);
    res.end();
  });
  // The same pass-through on dispatch(): chunks go straight to the caller, with backpressure.
  const bareDispatch = await listen((req, res) => {
    agent.dispatch(
      {
        origin: upstreamOrigin,
        path: req.url ?? '/',
        method: (req.method ?? 'GET') as 'GET',
        headers: strip(req.headers),
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : req,
      },
      {
        onRequestStart() {},
        onResponseStart(_controller, status, headers) {
          res.writeHead(status, strip(headers));
        },
        onResponseData(controller, chunk) {
          if (!res.write(chunk)) {
            controller.pause();
            res.once('drain', () => controller.resume());
          }
        },
        onResponseEnd() {
          res.end();
        },
        onResponseError(_controller, error) {
          res.destroy(error);
        },
      },
    );
  });

  console.log(
    `proxy: ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${DURATION_S} s per target, small JSON responses, keep-alive`,
  );
  const direct = await measure('direct upstream', `${upstream.url}/items`);

  const memory = await tollgate(upstream.url, undefined);
  const redis = await startRedis();
  const shared = redis ? await tollgate(upstream.url, redis.url) : undefined;
  const targets: { name: string; url: string; headers: Record<string, string> }[] = [
    { name: 'bare proxy (request)', url: `${bare.url}/items`, headers: {} },
    { name: 'bare proxy (dispatch)', url: `${bareDispatch.url}/items`, headers: {} },
    {
      name: 'tollgate, in-process limiter',
      url: memory.url,
      headers: { authorization: `Bearer ${memory.key}` },
    },
    ...(shared
      ? [
          {
            name: 'tollgate, Redis limiter',
            url: shared.url,
            headers: { authorization: `Bearer ${shared.key}` },
          },
        ]
      : []),
  ];
  // Each target once under load before the rounds, so every round meets warmed-up code.
  for (const target of targets) await autocannonProcess(target.url, target.headers, 3);
  const rounds: Record<string, Figures>[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`  round ${round}/${ROUNDS}`);
    // Alternate the order too, so no target always runs right after the same one.
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    const figures: Record<string, Figures> = {};
    for (const target of order) figures[target.name] = await measure(target.name, target.url, target.headers);
    rounds.push(figures);
  }
  await memory.app.stop();
  rmSync(memory.dir, { recursive: true, force: true });
  if (shared) {
    await shared.app.stop();
    rmSync(shared.dir, { recursive: true, force: true });
  }
  redis?.stop();

  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  };
  const summary = (name: string): Figures | null => {
    if (!rounds[0]?.[name]) return null;
    const of = (pick: (f: Figures) => number) => median(rounds.map((r) => pick(r[name] as Figures)));
    return {
      rps: of((f) => f.rps),
      p50: of((f) => f.p50),
      p99: of((f) => f.p99),
      errors: rounds.reduce((n, r) => n + (r[name] as Figures).errors, 0),
      cpuMicrosPerRequest: of((f) => f.cpuMicrosPerRequest),
    };
  };
  /** The median over rounds of `name`'s throughput divided by the baseline's in the same round. */
  const ratio = (name: string, base = 'bare proxy (request)') =>
    rounds[0]?.[name] ? median(rounds.map((r) => (r[name] as Figures).rps / (r[base] as Figures).rps)) : null;
  const added = (name: string, pick: (f: Figures) => number) =>
    rounds[0]?.[name]
      ? median(rounds.map((r) => pick(r[name] as Figures) - pick(r['bare proxy (request)'] as Figures)))
      : null;

  const fmt = (n: number | null, digits = 3) => (n === null ? '–' : n.toFixed(digits));
  console.log('  medians:');
  for (const target of targets) {
    const f = summary(target.name) as Figures;
    console.log(
      `  ${target.name.padEnd(28)} ${f.rps.toFixed(0).padStart(7)} req/s  p50 ${String(f.p50).padStart(3)} ms  p99 ${String(f.p99).padStart(3)} ms  ${f.cpuMicrosPerRequest.toFixed(0).padStart(4)} µs CPU/req${f.errors ? `  (${f.errors} errors)` : ''}`,
    );
  }
  console.log(
    `  throughput tollgate/bare proxy (request): ${fmt(ratio('tollgate, in-process limiter'))} (in-process), ${fmt(ratio('tollgate, Redis limiter'))} (Redis)`,
  );
  console.log(
    `  throughput tollgate/bare proxy (dispatch): ${fmt(ratio('tollgate, in-process limiter', 'bare proxy (dispatch)'))} (in-process); bare dispatch/bare request: ${fmt(ratio('bare proxy (dispatch)'))}`,
  );
  console.log(
    `  added latency: p50 +${fmt(
      added('tollgate, in-process limiter', (f) => f.p50),
      1,
    )} ms, p99 +${fmt(
      added('tollgate, in-process limiter', (f) => f.p99),
      1,
    )} ms (in-process)`,
  );
  console.log(
    `  added CPU per request: +${fmt(
      added('tollgate, in-process limiter', (f) => f.cpuMicrosPerRequest),
      0,
    )} µs (in-process), +${fmt(
      added('tollgate, Redis limiter', (f) => f.cpuMicrosPerRequest),
      0,
    )} µs (Redis)`,
  );

  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const results = {
    at: new Date().toISOString(),
    connections: CONNECTIONS,
    durationSeconds: DURATION_S,
    rounds: ROUNDS,
    direct,
    bareProxy: summary('bare proxy (request)'),
    bareProxyDispatch: summary('bare proxy (dispatch)'),
    tollgateInProcess: summary('tollgate, in-process limiter'),
    tollgateRedis: summary('tollgate, Redis limiter'),
    throughputRatio: {
      inProcess: ratio('tollgate, in-process limiter'),
      redis: ratio('tollgate, Redis limiter'),
      inProcessVsDispatch: ratio('tollgate, in-process limiter', 'bare proxy (dispatch)'),
      dispatchVsRequest: ratio('bare proxy (dispatch)'),
    },
    addedLatencyMs: {
      p50: added('tollgate, in-process limiter', (f) => f.p50),
      p99: added('tollgate, in-process limiter', (f) => f.p99),
    },
    perRound: rounds,
  };
  writeFileSync(new URL('./results/proxy.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  console.log('  wrote bench/results/proxy.json');

  upstream.close();
  bare.close();
  bareDispatch.close();
  await agent.close();
}
