import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { resolveAuthSecret } from '../src/modules/auth/auth-secret.ts';
import { TokenService } from '../src/modules/auth/token.service.ts';
import { createLogger } from '../src/shared/logger.ts';

/**
 * Control-plane overhead: an authenticated GraphQL query through Tollgate against a bare Node
 * HTTP server answering the same JSON, measured in the same run on the same machine. Prints
 * ratios, not absolute targets: absolute numbers depend on the machine.
 */
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = 20;

async function measure(url: string, headers: Record<string, string>, body: string) {
  const result = await autocannon({
    url,
    method: 'POST',
    headers,
    body,
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${result.non2xx} non-2xx and ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

export async function runGraphqlBench(): Promise<void> {
  const body = JSON.stringify({ query: '{ viewer { subject role } }' });
  const answer = JSON.stringify({ data: { viewer: { subject: 'bench', role: 'ADMIN' } } });
  const bare = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(answer));
  });
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/graphql`;

  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
  const config = loadConfig({
    TOLLGATE_DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'warn',
    // The load comes from one token: the per-operator limit would measure itself, not Tollgate.
    TOLLGATE_GRAPHQL_RATE_LIMIT: '0',
    TOLLGATE_EMBEDDED_PG_PORT: String(20_000 + Math.floor(Math.random() * 12_000)),
  });
  const app = await startApp(config, { logger: createLogger('warn') });
  try {
    const { auth } = resolveAuthSecret(config);
    const token = await new TokenService(auth).mint({ subject: 'bench', role: 'admin', ttlSeconds: 600 });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const baseline = await measure(bareUrl, headers, body);
    const tollgate = await measure(`${app.url}/graphql`, headers, body);
    console.log(`graphql: authenticated query, ${CONNECTIONS} connections, ${DURATION_S} s each`);
    console.log(
      `  baseline (bare node:http) ${baseline.rps.toFixed(0)} req/s  p50 ${baseline.p50} ms  p99 ${baseline.p99} ms`,
    );
    console.log(
      `  tollgate /graphql         ${tollgate.rps.toFixed(0)} req/s  p50 ${tollgate.p50} ms  p99 ${tollgate.p99} ms`,
    );
    console.log(`  throughput ratio tollgate/baseline: ${(tollgate.rps / baseline.rps).toFixed(3)}`);
  } finally {
    await app.stop();
    bare.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
