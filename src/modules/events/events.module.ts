import type { Module } from '../../shared/components.ts';
import type { Logger } from '../../shared/logger.ts';
import type { RedisConnections } from '../../shared/redis.module.ts';
import { EventBus } from './event-bus.ts';

/**
 * The event bus: local, or fanned out through Redis when it is configured. It stops late (after
 * everything that may publish while stopping) and closes its Redis pair.
 */
export function eventsModule(deps: {
  logger: Logger;
  redis: RedisConnections | undefined;
  maxQueue: number;
}): Module<{ events: EventBus }> {
  const events = new EventBus({
    logger: deps.logger,
    maxQueue: deps.maxQueue,
    ...(deps.redis
      ? { publisher: deps.redis.publisher, subscriber: deps.redis.subscriber, gate: deps.redis.gate }
      : {}),
  });
  return {
    services: { events },
    components: { bus: { name: 'event bus', start: () => events.start(), stop: () => events.stop() } },
  };
}
