import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { TokenService } from '../src/modules/auth/token.service.ts';
import { RedisGate } from '../src/modules/resilience/shared-state.ts';
import { ApiGuard } from '../src/server/api-guard.ts';
import { createLogger } from '../src/shared/logger.ts';
import { createRedis } from '../src/shared/redis.ts';
import { freePort, startRedisServer } from './helpers/ports.ts';

/**
 * The API guard's per-caller limit shared by replicas through Redis, under concurrent load: two
 * guards (two replicas) on one Redis server of the test's own, so its command counts are ours.
 */
const LIMIT = 60;
const logger = createLogger('silent');

let server: ChildProcess;
let port: number;
const clients: Redis[] = [];
const gates: RedisGate[] = [];

async function replica(): Promise<ApiGuard> {
  const redis = createRedis(`redis://127.0.0.1:${port}`);
  redis.on('error', () => undefined);
  await redis.connect();
  const gate = new RedisGate({ redis, logger });
  await gate.start();
  clients.push(redis);
  gates.push(gate);
  const config = loadConfig({
    TOLLGATE_DATA_DIR: '/nonexistent',
    TOLLGATE_JWT_SECRET: 'a-test-secret-that-is-long-enough-0123456789',
    TOLLGATE_GRAPHQL_RATE_LIMIT: String(LIMIT),
    TOLLGATE_GRAPHQL_RATE_WINDOW_S: '60',
  });
  return new ApiGuard({
    tokens: new TokenService(config.auth),
    gate,
    replicas: 2,
    logger,
    settings: config.apiProtection,
    publicUrl: undefined,
  });
}

async function limiterCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let calls = 0;
  for (const match of info.matchAll(/^cmdstat_(eval|evalsha):calls=(\d+)/gm)) calls += Number(match[2]);
  return calls;
}

beforeAll(async () => {
  port = await freePort();
  server = await startRedisServer(port);
});
afterAll(() => {
  for (const gate of gates) gate.stop();
  for (const redis of clients) redis.disconnect();
  server?.kill('SIGKILL');
});

describe('API guard limit across two replicas on one Redis', () => {
  it('admits exactly the limit from 400 concurrent calls split between replicas, asking Redis once per lease rather than once per call', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    const before = await limiterCalls(clients[0]!);
    const key = `sub:concurrent-${Date.now()}`;
    const outcomes = await Promise.all(Array.from({ length: 400 }, (_, i) => (i % 2 ? a : b).take(key)));
    const admitted = outcomes.filter((o) => o === undefined).length;
    const refused = outcomes.filter((o) => o !== undefined);
    const calls = (await limiterCalls(clients[0]!)) - before;
    console.log(
      `[api guard] ${admitted} admitted of 400 (limit ${LIMIT}) with ${calls} limiter scripts run in Redis`,
    );
    expect(admitted).toBe(LIMIT);
    expect(refused).toHaveLength(400 - LIMIT);
    for (const refusal of refused) {
      expect(refusal).toMatchObject({ reason: 'rate' });
      expect(refusal!.retryAfterMs).toBeGreaterThan(0);
      expect(refusal!.retryAfterMs).toBeLessThanOrEqual(60_000);
    }
    // Both replicas were refused once the window's allowance was gone, and no more was granted.
    expect(await Promise.all([a.take(key), b.take(key)])).toEqual([
      expect.objectContaining({ reason: 'rate' }),
      expect.objectContaining({ reason: 'rate' }),
    ]);
    // Leases (1, 2, 3 points a grant here: a tenth of each replica's share) instead of one
    // round trip per admitted call.
    expect(calls).toBeLessThan(LIMIT / 2);
  });

  it('keeps callers apart: one caller spending its allowance leaves another its own', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    const first = `sub:first-${Date.now()}`;
    const second = `sub:second-${Date.now()}`;
    await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).take(first)));
    // From one replica, which can use every point Redis grants it: exactly the limit, again.
    const outcomes = await Promise.all(Array.from({ length: LIMIT + 10 }, () => a.take(second)));
    expect(outcomes.filter((o) => o === undefined)).toHaveLength(LIMIT);
  });

  it('while Redis is down, each replica admits its share of the limit (limit ÷ replicas) on its own', async () => {
    const [a] = await Promise.all([replica()]);
    server.kill('SIGKILL');
    const key = `sub:outage-${Date.now()}`;
    const outcomes = await Promise.all(Array.from({ length: LIMIT }, () => a.take(key)));
    expect(outcomes.filter((o) => o === undefined)).toHaveLength(LIMIT / 2);
    expect(outcomes.filter((o) => o !== undefined)[0]).toMatchObject({ reason: 'rate' });
  });
});
