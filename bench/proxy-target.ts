// One target of bench:proxy, in a process of its own so that no target's garbage, timers or
// background work lands on another's measurement:
//   node bench/proxy-target.ts upstream
//   node bench/proxy-target.ts bare-request <upstream url>
//   node bench/proxy-target.ts bare-dispatch <upstream url>
//   node bench/proxy-target.ts tollgate <upstream url> [redis url]
//   node bench/proxy-target.ts tollgate-unrecorded <upstream url>
// Prints one JSON line {"url": ..., "key": ...} when ready; stops on SIGTERM.
//
// Also the way to profile a target under load (start an upstream target first, then load the
// printed URL with autocannon and the key as `Authorization: Bearer <key>`):
//   node --cpu-prof bench/proxy-target.ts tollgate <upstream url>
//   PROFILE_HEAP=heap.json node bench/proxy-target.ts tollgate <upstream url>
// The second writes, at SIGTERM, a sampling heap profile of the allocations that outlived a
// young-generation GC: what makes GC expensive (Chrome DevTools opens it as .heapprofile).
// With BENCH_TRACE_PAUSES=1 the target watches its own pauses (garbage collections by kind, the
// event loop's delay) and prints what it saw since the last time as a JSON line on each SIGUSR2.
// BENCH_TOLLGATE_SETTINGS (JSON) adds settings to a Tollgate target's, to compare them under load.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Agent } from 'undici';

const [kind, upstreamUrl = '', redisUrl] = process.argv.slice(2);

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = createServer({ keepAliveTimeout: 10_000 }, handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

// What any correct pass-through proxy must do: forward method, path, headers (less hop-by-hop
// and host) and body, and return status, headers (less hop-by-hop) and body.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'proxy-authorization',
]);
function strip(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

async function start(): Promise<{ url: string; key?: string; stop: () => Promise<void> }> {
  if (kind === 'upstream') {
    const body = JSON.stringify({ items: [{ id: 1, name: 'CVE-2024-0001' }], total: 1 });
    const server = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    return { url: server.url, stop: server.stop };
  }
  const origin = new URL(upstreamUrl).origin;
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 128 });
  const hasBody = (req: IncomingMessage) => req.method !== 'GET' && req.method !== 'HEAD';
  if (kind === 'bare-request') {
    const server = await listen(async (req, res) => {
      const response = await agent.request({
        origin,
        path: req.url ?? '/',
        method: (req.method ?? 'GET') as 'GET',
        headers: strip(req.headers),
        body: hasBody(req) ? req : undefined,
      });
      res.writeHead(response.statusCode, strip(response.headers));
      for await (const chunk of response.body) res.write(chunk);
      res.end();
    });
    return { url: `${server.url}/items`, stop: server.stop };
  }
  if (kind === 'bare-dispatch') {
    // The same pass-through on dispatch(): chunks go straight to the caller, with backpressure.
    const server = await listen((req, res) => {
      agent.dispatch(
        {
          origin,
          path: req.url ?? '/',
          method: (req.method ?? 'GET') as 'GET',
          headers: strip(req.headers),
          body: hasBody(req) ? req : undefined,
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
    return { url: `${server.url}/items`, stop: server.stop };
  }
  if (kind === 'tollgate' || kind === 'tollgate-unrecorded') {
    // Loaded only here: the other targets stay small processes.
    const { startApp } = await import('../src/app.ts');
    const { loadConfig } = await import('../src/config.ts');
    const { createLogger } = await import('../src/shared/logger.ts');
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-proxy-'));
    const app = await startApp(
      loadConfig({
        TOLLGATE_DATA_DIR: dir,
        PORT: '0',
        LOG_LEVEL: 'warn',
        TOLLGATE_EMBEDDED_PG_PORT: String(20_000 + Math.floor(Math.random() * 12_000)),
        ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
        // Settings to try under the same load (e.g. '{"TOLLGATE_USAGE_FLUSH_INTERVAL_MS":"100"}').
        ...(JSON.parse(process.env.BENCH_TOLLGATE_SETTINGS ?? '{}') as Record<string, string>),
      }),
      { logger: createLogger('error') },
    );
    const actor = { subject: 'bench', role: 'admin' as const, requestId: undefined };
    // BENCH_ADMISSION=full: every call also passes a client limit and a budget (and bursts), all
    // far above the load, so that it pays for the whole admission (with Redis: one script).
    const full = process.env.BENCH_ADMISSION === 'full';
    await app.services.providers.create(actor, {
      slug: 'bench',
      name: 'Bench',
      baseUrl: upstreamUrl,
      allowPrivateNetwork: true,
      // A limit far above the load: every call pays for the limiter, none is refused.
      rateLimit: { points: 1_000_000, periodMs: 60_000, ...(full ? { burst: 1000 } : {}) },
      ...(full ? { pricing: { perRequestMicros: 1 } } : {}),
    });
    await app.services.providerKeys.add(actor, { provider: 'bench', secret: 'sk-bench-0123456789abcdef' });
    const client = await app.services.clients.create(actor, {
      name: 'bench-client',
      ...(full ? { rateLimit: { points: 1_000_000, periodMs: 60_000, burst: 1000 } } : {}),
    });
    const { key } = client;
    if (full) {
      await app.services.budgets.create(actor, {
        name: 'bench-budget',
        scope: 'CLIENT',
        client: client.client.id,
        period: 'DAY',
        limitMicros: 1_000_000_000_000,
      });
      await app.services.budgetEnforcer.reload();
    }
    await Promise.all([
      app.services.providerCache.reload(),
      app.services.keyRing.reload(),
      app.services.clientCache.reload(),
    ]);
    // A diagnostic, never a way to run Tollgate: calls produce no usage event, so the difference
    // from the full chain is what metering costs (mostly PostgreSQL's CPU, on the same cores).
    if (kind === 'tollgate-unrecorded') app.usage.record = () => {};
    return {
      url: `${app.url}/proxy/bench/items`,
      key,
      stop: async () => {
        await app.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw new Error(`unknown target "${kind}"`);
}

const heapProfile = await startHeapSampling();
if (process.env.BENCH_TRACE_PAUSES === '1') tracePauses();
const target = await start();
process.on('SIGTERM', () => {
  target
    .stop()
    .then(() => heapProfile?.())
    .finally(() => process.exit(0));
});
console.log(JSON.stringify({ url: target.url, key: target.key }));

/** With PROFILE_HEAP=<file>: samples allocations that outlive young GCs; returns the writer. */
async function startHeapSampling(): Promise<(() => Promise<void>) | undefined> {
  const file = process.env.PROFILE_HEAP;
  if (!file) return undefined;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: false,
  });
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(file, JSON.stringify(profile));
  };
}

/** Garbage collections and event-loop delay since the last SIGUSR2, printed at each SIGUSR2. */
function tracePauses(): void {
  // perf_hooks' gc entry kinds: 1 minor (scavenge), 2 major (mark-compact), 4 incremental, 8 weak callbacks.
  const kinds: Record<number, string> = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
  let gcs: Record<string, { count: number; totalMs: number; maxMs: number; over2Ms: number }> = {};
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
      const kind = kinds[detail?.kind ?? 0] ?? 'other';
      gcs[kind] ??= { count: 0, totalMs: 0, maxMs: 0, over2Ms: 0 };
      const g = gcs[kind];
      g.count++;
      g.totalMs += entry.duration;
      g.maxMs = Math.max(g.maxMs, entry.duration);
      if (entry.duration > 2) g.over2Ms++;
    }
  }).observe({ entryTypes: ['gc'] });
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  process.on('SIGUSR2', () => {
    const round = (n: number) => Math.round(n * 100) / 100;
    const out = Object.fromEntries(
      Object.entries(gcs).map(([k, g]) => [
        k,
        { count: g.count, totalMs: round(g.totalMs), maxMs: round(g.maxMs), over2Ms: g.over2Ms },
      ]),
    );
    console.log(
      JSON.stringify({
        gc: out,
        // The histogram's figures are in ns and include the resolution (5 ms) itself.
        loopDelayMs: { p99: round(loop.percentile(99) / 1e6 - 5), max: round(loop.max / 1e6 - 5) },
      }),
    );
    gcs = {};
    loop.reset();
  });
}
