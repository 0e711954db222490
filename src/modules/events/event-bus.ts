import { randomUUID } from 'node:crypto';
import { createPubSub } from 'graphql-yoga';

/** Every event Tollgate publishes, by topic. Subscriptions and caches listen here. */
export interface EventMap {
  'provider.changed': ProviderChangedEvent;
}

export interface EventEnvelope {
  id: string;
  at: Date;
}

export interface ProviderChangedEvent extends EventEnvelope {
  change: 'CREATED' | 'UPDATED' | 'DELETED';
  providerId: string;
  slug: string;
  actor: string;
}

type Topics = { [K in keyof EventMap]: [EventMap[K]] };

/**
 * The typed event bus. In-process for one replica; the Redis-backed event target that
 * @graphql-yoga/redis-event-target provides plugs in here for fan-out across replicas.
 */
export class EventBus {
  readonly #pubsub = createPubSub<Topics>();

  publish<K extends keyof EventMap>(topic: K, event: Omit<EventMap[K], 'id' | 'at'>): EventMap[K] {
    const full = { id: randomUUID(), at: new Date(), ...event } as EventMap[K];
    this.#pubsub.publish(topic, ...([full] as Topics[K]));
    return full;
  }

  subscribe<K extends keyof EventMap>(topic: K): AsyncIterable<EventMap[K]> {
    return this.#pubsub.subscribe(topic) as AsyncIterable<EventMap[K]>;
  }
}
