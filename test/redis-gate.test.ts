import type { ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createSharedLimiter } from '../src/modules/resilience/limiter.ts';
import {
  RedisGate,
  RedisScriptError,
  RedisUnavailableError,
} from '../src/modules/resilience/shared-state.ts';
import { createLogger } from '../src/shared/logger.ts';
import { createRedis } from '../src/shared/redis.ts';
import { freePort, startRedisServer } from './helpers/ports.ts';

let server: ChildProcess | undefined;
let redis: Redis | undefined;
let gate: RedisGate | undefined;
afterEach(() => {
  gate?.stop();
  redis?.disconnect();
  server?.kill('SIGKILL');
});

async function gateOnOwnRedis(): Promise<{ gate: RedisGate; redis: Redis; port: number }> {
  const port = await freePort();
  server = await startRedisServer(port);
  redis = createRedis(`redis://127.0.0.1:${port}`);
  redis.on('error', () => undefined);
  await redis.connect();
  gate = new RedisGate({ redis, logger: createLogger('silent'), probeIntervalMs: 100 });
  await gate.start();
  return { gate, redis, port };
}

async function waitUntil(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out');
}

describe('redis gate', () => {
  it('after one timeout, later commands are not sent until a probe sees Redis answer again', async () => {
    const { gate: g } = await gateOnOwnRedis();
    let recovered = 0;
    g.onRecovered(() => recovered++);
    expect(await g.run('ping', (r) => r.ping())).toBe('PONG');
    server!.kill('SIGSTOP');
    // The first command waits for its timeout, and closes the gate.
    await expect(g.run('first', (r) => r.ping())).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(g.available).toBe(false);
    expect(g.degraded).toBe(true);
    // The next ones are refused without being sent: nothing waits on the frozen Redis.
    let sent = 0;
    const attempts = Array.from({ length: 20 }, () =>
      g.run('later', (r) => {
        sent++;
        return r.ping();
      }),
    );
    for (const attempt of attempts) await expect(attempt).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(sent).toBe(0);
    server!.kill('SIGCONT');
    await waitUntil(() => g.available);
    expect(recovered).toBe(1);
    expect(g.degraded).toBe(false);
    expect(await g.run('ping', (r) => r.ping())).toBe('PONG');
  });

  it('an error reply is a bug, not an outage: the gate stays open', async () => {
    const { gate: g } = await gateOnOwnRedis();
    const failure = g.run('broken script', (r) =>
      r.eval('return redis.call("INCRBY", KEYS[1], "-0")', 1, 'k'),
    );
    await expect(failure).rejects.toBeInstanceOf(RedisScriptError);
    await expect(failure).rejects.toMatchObject({ script: 'broken script' });
    await expect(
      g.run('our own code', () => {
        throw new TypeError('a bug before the command');
      }),
    ).rejects.toBeInstanceOf(RedisScriptError);
    expect(g.available).toBe(true);
  });

  it('a rate-limit increment that Redis runs after its caller gave up does not count', async () => {
    const { gate: g, redis: client } = await gateOnOwnRedis();
    const limiter = createSharedLimiter({
      gate: g,
      logger: createLogger('silent'),
      keyPrefix: 'late',
      points: 100,
      durationMs: 60_000,
      replicas: 2,
    });
    await limiter.consume('k');
    expect(await client.get('late:k')).toBe('1');
    server!.kill('SIGSTOP');
    // Times out on Redis: the insurance limiter (this replica's share) decides.
    const res = await limiter.consume('k');
    expect(res.remainingPoints).toBe(49);
    await new Promise((r) => setTimeout(r, 700));
    server!.kill('SIGCONT');
    await waitUntil(() => g.available);
    // The increment queued in the frozen Redis ran late and changed nothing.
    expect(await client.get('late:k')).toBe('1');
    await limiter.consume('k');
    expect(await client.get('late:k')).toBe('2');
  });
});
