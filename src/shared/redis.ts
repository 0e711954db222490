import { Redis } from 'ioredis';

/** How long a command may wait for Redis before its caller falls back (README: Redis outages). */
export const COMMAND_TIMEOUT_MS = 500;

/**
 * A Redis client that fails fast instead of queueing: with the offline queue on, commands
 * wait while Redis is down, which would stall requests instead of letting the in-process
 * fallbacks take over. A subscriber connection keeps the queue so that its SUBSCRIBE is
 * replayed after a reconnect.
 */
export function createRedis(url: string, options: { forSubscriptions?: boolean } = {}): Redis {
  const subscriber = options.forSubscriptions === true;
  return new Redis(url, {
    enableOfflineQueue: subscriber,
    maxRetriesPerRequest: subscriber ? null : 1,
    connectTimeout: 2_000,
    commandTimeout: subscriber ? undefined : COMMAND_TIMEOUT_MS,
    lazyConnect: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
}
