// Manual helper (not part of the suite): Tollgate under autocannon load with the in-process
// limiter, for `node --cpu-prof bench/profile-proxy.ts`. Prints the URL and key, then waits.
// PROFILE_MODE=bare serves the bench's bare proxy instead; PROFILE_HEAP=<file> writes a sampling
// heap profile of the objects that outlived a young-generation GC (what makes GC expensive).
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/shared/logger.ts';

const body = JSON.stringify({ items: [{ id: 1, name: 'CVE-2024-0001' }], total: 1 });
const upstream = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
if (process.env.PROFILE_MODE === 'bare') {
  // The same pass-through as bench:proxy's baseline.
  const { Agent } = await import('undici');
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 128 });
  const origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const hop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);
  const strip = (h: Record<string, string | string[] | undefined>) =>
    Object.fromEntries(Object.entries(h).filter(([k, v]) => v !== undefined && !hop.has(k))) as Record<
      string,
      string
    >;
  const bare = createServer(async (req, res) => {
    const response = await agent.request({
      origin,
      path: req.url ?? '/',
      method: 'GET',
      headers: strip(req.headers),
    });
    res.writeHead(response.statusCode, strip(response.headers));
    for await (const chunk of response.body) res.write(chunk);
    res.end();
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  await sampleHeap();
  console.log(
    JSON.stringify({ url: `http://127.0.0.1:${(bare.address() as AddressInfo).port}/items`, key: 'none' }),
  );
  setTimeout(() => process.exit(0), Number(process.env.PROFILE_SECONDS ?? 20) * 1000);
} else {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-profile-'));
  const app = await startApp(
    loadConfig({
      TOLLGATE_DATA_DIR: dir,
      PORT: '0',
      LOG_LEVEL: 'warn',
      TOLLGATE_EMBEDDED_PG_PORT: String(20_000 + Math.floor(Math.random() * 12_000)),
      ...(process.env.TOLLGATE_USAGE_FLUSH_INTERVAL_MS
        ? { TOLLGATE_USAGE_FLUSH_INTERVAL_MS: process.env.TOLLGATE_USAGE_FLUSH_INTERVAL_MS }
        : {}),
    }),
    { logger: createLogger('warn') },
  );
  const actor = { subject: 'bench', role: 'admin' as const, requestId: undefined };
  await app.services.providers.create(actor, {
    slug: 'bench',
    name: 'Bench',
    baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
    allowPrivateNetwork: true,
    rateLimit: { points: 1_000_000, periodMs: 60_000 },
  });
  await app.services.providerKeys.add(actor, { provider: 'bench', secret: 'sk-bench-0123456789abcdef' });
  const { key } = await app.services.clients.create(actor, { name: 'bench-client' });
  await Promise.all([
    app.services.providerCache.reload(),
    app.services.keyRing.reload(),
    app.services.clientCache.reload(),
  ]);
  await sampleHeap();
  console.log(JSON.stringify({ url: `${app.url}/proxy/bench/items`, key }));
  const seconds = Number(process.env.PROFILE_SECONDS ?? 20);
  setTimeout(async () => {
    await app.stop();
    upstream.close();
    process.exit(0);
  }, seconds * 1000);
}

/** With PROFILE_HEAP=<file>: samples the allocations that outlive a young-generation GC. */
async function sampleHeap(): Promise<void> {
  if (!process.env.PROFILE_HEAP) return;
  {
    const { Session } = await import('node:inspector/promises');
    const session = new Session();
    session.connect();
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: false,
    });
    setTimeout(
      async () => {
        const { profile } = await session.post('HeapProfiler.stopSampling');
        const { writeFileSync } = await import('node:fs');
        writeFileSync(process.env.PROFILE_HEAP as string, JSON.stringify(profile));
      },
      (Number(process.env.PROFILE_SECONDS ?? 20) - 2) * 1000,
    );
  }
}
