import type { Redis } from 'ioredis';
import { RedisGate } from '../modules/resilience/shared-state.ts';
import type { ReadinessCheck } from '../server/http.ts';
import type { Component } from './components.ts';
import type { Logger } from './logger.ts';
import { createRedis } from './redis.ts';

/** The Redis connections of one replica: commands (through the gate) and the event bus's pair. */
export interface RedisConnections {
  gate: RedisGate;
  publisher: Redis;
  subscriber: Redis;
}

/**
 * Connects to Redis (REDIS_URL). A Redis that is down at start is not fatal: the gate starts
 * closed and every user falls back to its local state until Redis answers.
 */
export function redisConnections(url: string, logger: Logger): Component<RedisConnections> {
  let redis: Redis | undefined;
  let gate: RedisGate | undefined;
  const connectQuietly = async (client: Redis, name: string) => {
    client.on('error', (error) => logger.warn({ err: error.message, client: name }, 'redis error'));
    await client
      .connect()
      .catch((error: Error) =>
        logger.warn({ err: error.message, client: name }, 'redis not reachable at start'),
      );
    return client;
  };
  return {
    name: 'Redis',
    start: async () => {
      redis = await connectQuietly(createRedis(url), 'commands');
      // Every Redis user on the request path asks through the gate (one degraded signal).
      gate = new RedisGate({ redis, logger });
      await gate.start();
      const publisher = await connectQuietly(createRedis(url), 'events-publisher');
      // The subscriber keeps its offline queue: subscriptions are re-established on reconnect.
      const subscriber = await connectQuietly(
        createRedis(url, { forSubscriptions: true }),
        'events-subscriber',
      );
      return { gate, publisher, subscriber };
    },
    // The event bus closes its own pair (it stops first).
    stop: () => {
      gate?.stop();
      redis?.disconnect();
    },
  };
}

/** /readyz: known unresponsive, say so at once rather than after another timeout. */
export function redisReadiness(gate: RedisGate): ReadinessCheck {
  return {
    name: 'redis',
    check: async () => {
      await gate.run('readiness', (r) => r.ping());
    },
  };
}
