import { Redis } from 'ioredis';

/**
 * A Redis client that fails fast instead of queueing: with the offline queue on, commands
 * wait while Redis is down, which would stall requests instead of letting the in-process
 * fallbacks take over.
 */
export function createRedis(url: string): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 500,
    lazyConnect: true,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
}
