// One replica of bench:config-scale, in a process of its own so that its event loop is its own:
//   node --expose-gc bench/config-scale-replica.ts <database url> <redis url> <jwt secret>
// Prints one JSON line {"url", "startupMs", "heapUsed", "stats"} when ready, then answers JSON
// commands on stdin, one per line, with one JSON line each:
//   {"cmd":"seed","upstream":url}  a provider in front of the upstream, its key and a client: {"key"}
//   {"cmd":"create"}               creates a client as the API does: {"id","key"}
//   {"cmd":"revoke","id"}          revokes it: {}
//   {"cmd":"burst","n"}            changes n clients at once (their rate limit), as the API does: {}
//   {"cmd":"stats"}                the client cache's counters, this process's heap and its longest
//                                  event-loop stall and CPU time since the last stats:
//                                  {"stats","heapUsed","maxDelayMs","cpuMs"}
//   {"cmd":"reload"}               one full (paged) reload of the client cache, timed: {"ms"}
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { ClientEntity } from '../src/modules/clients/client.entity.ts';
import { createLogger } from '../src/shared/logger.ts';

const [databaseUrl = '', redisUrl = '', jwtSecret = ''] = process.argv.slice(2);
const actor = { subject: 'bench', role: 'admin' as const, requestId: undefined };

const heap = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
};

const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-config-'));
const started = performance.now();
const app = await startApp(
  loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    TOLLGATE_JWT_SECRET: jwtSecret,
    TOLLGATE_MASTER_KEYS: `bench:${Buffer.alloc(32, 3).toString('base64')}`,
    TOLLGATE_DATA_DIR: dir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // Bulk loads and the copies below take longer than a request may.
    DATABASE_STATEMENT_TIMEOUT_MS: '600000',
    // The safety net stays out of the measurements unless asked for.
    TOLLGATE_CACHE_REFRESH_INTERVAL_MS: '3600000',
    TOLLGATE_ROLLUP_CRON: 'off',
  }),
  { logger: createLogger('error') },
);
const startupMs = performance.now() - started;
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
let cpu = process.cpuUsage();

type Command = { cmd: string; id?: string; n?: number; upstream?: string };

async function run(command: Command): Promise<unknown> {
  const { clients, clientCache } = app.services;
  switch (command.cmd) {
    case 'seed': {
      await app.services.providers.create(actor, {
        slug: 'bench',
        name: 'Bench',
        baseUrl: command.upstream!,
        allowPrivateNetwork: true,
        rateLimit: { points: 1_000_000, periodMs: 60_000 },
      });
      await app.services.providerKeys.add(actor, { provider: 'bench', secret: 'sk-bench-0123456789abcdef' });
      const { key } = await clients.create(actor, { name: 'bench-client' });
      return { key };
    }
    case 'create': {
      const { client, key } = await clients.create(actor, { name: `made-${crypto.randomUUID()}` });
      return { id: client.id, key };
    }
    case 'revoke':
      await clients.revoke(actor, command.id!);
      return {};
    case 'burst': {
      const rows = await app.orm.em
        .fork()
        .find(
          ClientEntity,
          { status: 'ACTIVE', name: { $like: 'bulk-%' } },
          { limit: command.n!, fields: ['id', 'version'] },
        );
      const points = 1000 + Math.floor(Math.random() * 1000);
      // As fast as the connection pool allows: a few mutations at a time, the next as one ends.
      const queue = [...rows];
      const worker = async () => {
        for (let row = queue.shift(); row; row = queue.shift())
          await clients.update(actor, row.id, row.version, { rateLimit: { points, periodMs: 60_000 } });
      };
      await Promise.all(Array.from({ length: 5 }, worker));
      return { changed: rows.length };
    }
    case 'stats': {
      const maxDelayMs = loop.max / 1e6;
      loop.reset();
      const used = process.cpuUsage(cpu);
      cpu = process.cpuUsage();
      return {
        stats: clientCache.stats,
        heapUsed: heap(),
        maxDelayMs,
        cpuMs: (used.user + used.system) / 1000,
      };
    }
    case 'reload': {
      loop.reset();
      const at = performance.now();
      await clientCache.reload();
      return { ms: performance.now() - at, maxDelayMs: loop.max / 1e6 };
    }
    default:
      throw new Error(`unknown command ${command.cmd}`);
  }
}

console.log(
  JSON.stringify({ url: app.url, startupMs, heapUsed: heap(), stats: app.services.clientCache.stats }),
);
createInterface({ input: process.stdin }).on('line', (line) => {
  run(JSON.parse(line) as Command).then(
    (answer) => console.log(JSON.stringify(answer)),
    (error: Error) => console.log(JSON.stringify({ error: error.message })),
  );
});
process.on('SIGTERM', () => {
  void app
    .stop()
    .then(() => rmSync(dir, { recursive: true, force: true }))
    .finally(() => process.exit(0));
});
