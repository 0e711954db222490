// One target of bench:graphql, in a process of its own so that the load generator (autocannon,
// another process) and the other targets share no event loop with it:
//   node bench/graphql-target.ts bare
//   node bench/graphql-target.ts tollgate [redis url]
// Prints one JSON line {"url": ..., "token": ...} when ready; stops on SIGTERM.
//
// Also the way to profile Tollgate under the benchmark's load (load the printed URL with
// autocannon, `Authorization: Bearer <token>` and the body below, then stop it with SIGTERM):
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/graphql-target.ts tollgate [redis url]
// `BENCH_CPU_PROF=<dir> npm run bench:graphql` does that for every Tollgate target of a run, and
// bench/cpu-profile-top.ts prints a profile's top self-time frames.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [kind, redisUrl] = process.argv.slice(2);

/** What the bare server answers to the benchmark's operation (`{ viewer { subject role } }`). */
const ANSWER = JSON.stringify({ data: { viewer: { subject: 'bench', role: 'ADMIN' } } });

async function start(): Promise<{ url: string; token?: string; stop: () => Promise<void> }> {
  if (kind === 'bare') {
    // What a bare node:http server does for the same request: read the body, answer JSON.
    const server = createServer({ keepAliveTimeout: 10_000 }, (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(ANSWER));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`,
      stop: async () => {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      },
    };
  }
  if (kind !== 'tollgate') throw new Error(`unknown target "${kind}"`);
  const { startApp } = await import('../src/app.ts');
  const { loadConfig } = await import('../src/config.ts');
  const { resolveAuthSecret } = await import('../src/modules/auth/auth-secret.ts');
  const { TokenService } = await import('../src/modules/auth/token.service.ts');
  const { createLogger } = await import('../src/shared/logger.ts');
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-graphql-'));
  const config = loadConfig({
    TOLLGATE_DATA_DIR: dir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    TOLLGATE_EMBEDDED_PG_PORT: String(20_000 + Math.floor(Math.random() * 12_000)),
    // The API guard on, with a per-operator limit far above the load: every request pays for
    // the guard (and, with Redis, for the shared limit), none is refused.
    TOLLGATE_GRAPHQL_RATE_LIMIT: '1000000',
    TOLLGATE_GRAPHQL_RATE_WINDOW_S: '60',
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    ...(JSON.parse(process.env.BENCH_TOLLGATE_SETTINGS ?? '{}') as Record<string, string>),
  });
  const app = await startApp(config, { logger: createLogger('error') });
  const { auth } = resolveAuthSecret(config);
  const token = await new TokenService(auth).mint({ subject: 'bench', role: 'admin', ttlSeconds: 3600 });
  return {
    url: `${app.url}/graphql`,
    token,
    stop: async () => {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const target = await start();
process.on('SIGTERM', () => {
  target.stop().finally(() => process.exit(0));
});
console.log(JSON.stringify({ url: target.url, token: target.token }));
