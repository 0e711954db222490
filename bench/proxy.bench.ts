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
 *   2. a bare pass-through proxy built on the same HTTP client (undici) — the baseline,
 *   3. Tollgate with the full chain (client auth, provider rate limit, breaker, key injection,
 *      metering), with the in-process limiter, and with the Redis limiter when redis-server exists.
 * Prints requests/s and p50/p99 latency, the ratio Tollgate ÷ bare proxy, the added latency, and
 * writes bench/results/proxy.json. No thresholds here: the figures go in the issue note.
 */
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
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
  const app = await startApp(config, { logger: createLogger('warn') });
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

  console.log(
    `proxy: ${CONNECTIONS} connections, ${DURATION_S} s per target, small JSON responses, keep-alive`,
  );
  const direct = await measure('direct upstream', `${upstream.url}/items`);
  const baseline = await measure('bare proxy (undici)', `${bare.url}/items`);

  const memory = await tollgate(upstream.url, undefined);
  const inProcess = await measure('tollgate, in-process limiter', memory.url, {
    authorization: `Bearer ${memory.key}`,
  });
  await memory.app.stop();
  rmSync(memory.dir, { recursive: true, force: true });

  let redisFigures: Figures | undefined;
  const redis = await startRedis();
  if (redis) {
    const shared = await tollgate(upstream.url, redis.url);
    redisFigures = await measure('tollgate, Redis limiter', shared.url, {
      authorization: `Bearer ${shared.key}`,
    });
    await shared.app.stop();
    rmSync(shared.dir, { recursive: true, force: true });
    redis.stop();
  }

  const ratio = inProcess.rps / baseline.rps;
  console.log(
    `  throughput tollgate/bare proxy: ${ratio.toFixed(3)} (in-process)${redisFigures ? `, ${(redisFigures.rps / baseline.rps).toFixed(3)} (Redis)` : ''}`,
  );
  console.log(
    `  added latency: p50 +${inProcess.p50 - baseline.p50} ms, p99 +${inProcess.p99 - baseline.p99} ms (in-process)`,
  );
  console.log(
    `  added CPU per request: +${(inProcess.cpuMicrosPerRequest - baseline.cpuMicrosPerRequest).toFixed(0)} µs (in-process)${redisFigures ? `, +${(redisFigures.cpuMicrosPerRequest - baseline.cpuMicrosPerRequest).toFixed(0)} µs (Redis)` : ''}`,
  );

  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const results = {
    at: new Date().toISOString(),
    connections: CONNECTIONS,
    durationSeconds: DURATION_S,
    direct,
    bareProxy: baseline,
    tollgateInProcess: inProcess,
    tollgateRedis: redisFigures ?? null,
    throughputRatio: { inProcess: ratio, redis: redisFigures ? redisFigures.rps / baseline.rps : null },
    addedLatencyMs: { p50: inProcess.p50 - baseline.p50, p99: inProcess.p99 - baseline.p99 },
  };
  writeFileSync(new URL('./results/proxy.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  console.log('  wrote bench/results/proxy.json');

  upstream.close();
  bare.close();
  await agent.close();
}
