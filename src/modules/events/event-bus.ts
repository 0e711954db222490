import { randomUUID } from 'node:crypto';
import { createPubSub } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';

/** Every event Tollgate publishes, by topic. Subscriptions and caches listen here. */
export interface EventMap {
  'provider.changed': ProviderChangedEvent;
  'key.changed': KeyChangedEvent;
  'client.changed': ClientChangedEvent;
  'circuit.changed': CircuitChangedEvent;
  'budget.changed': BudgetChangedEvent;
  'budget.alert': BudgetAlertEvent;
  'health.changed': HealthChangedEvent;
}

/** Events cross processes as JSON, so they hold strings, not Dates. */
export interface EventEnvelope {
  id: string;
  /** ISO 8601 time the event was published. */
  at: string;
}

export interface ProviderChangedEvent extends EventEnvelope {
  change: 'CREATED' | 'UPDATED' | 'DELETED';
  providerId: string;
  slug: string;
  actor: string;
}

export const KEY_CHANGES = [
  'ADDED',
  'ROTATED',
  'UPDATED',
  'REVOKED',
  'EXPIRED',
  'INVALID',
  'DECRYPT_FAILED',
] as const;
export interface KeyChangedEvent extends EventEnvelope {
  change: (typeof KEY_CHANGES)[number];
  providerId: string;
  providerSlug: string;
  keyId: string;
  actor: string;
  detail: string | null;
}

export interface ClientChangedEvent extends EventEnvelope {
  change: 'CREATED' | 'ROTATED' | 'UPDATED' | 'REVOKED';
  clientId: string;
  actor: string;
}

export const CIRCUIT_STATES = ['CLOSED', 'OPEN', 'HALF_OPEN', 'ISOLATED'] as const;
export type CircuitStateName = (typeof CIRCUIT_STATES)[number];
export interface CircuitChangedEvent extends EventEnvelope {
  providerId: string;
  providerSlug: string;
  from: CircuitStateName;
  to: CircuitStateName;
  reason: string;
  failures: number;
  /** Epoch ms of the next probe when the circuit is OPEN. */
  nextProbeAt: number | null;
}

export interface BudgetChangedEvent extends EventEnvelope {
  change: 'CREATED' | 'UPDATED' | 'DELETED';
  budgetId: string;
  actor: string;
}

export interface BudgetAlertEvent extends EventEnvelope {
  budgetId: string;
  budgetName: string;
  /** The percentage crossed; 100 means the limit was reached. */
  threshold: number;
  spentMicros: number;
  limitMicros: number;
  percentUsed: number;
  action: 'BLOCK' | 'ALERT_ONLY';
  periodStart: string;
  periodEnd: string | null;
}

export const HEALTH_STATUS_NAMES = ['HEALTHY', 'DEGRADED', 'DOWN', 'UNKNOWN'] as const;
export interface HealthChangedEvent extends EventEnvelope {
  providerId: string;
  providerSlug: string;
  from: (typeof HEALTH_STATUS_NAMES)[number];
  to: (typeof HEALTH_STATUS_NAMES)[number];
  reason: string;
}

type Topic = keyof EventMap;
type Topics = { [K in Topic]: [EventMap[K]] };
const CHANNEL = 'tollgate:events';

/**
 * The typed event bus. Events are delivered to this process's listeners at once, and, when
 * Redis is configured, published for the other replicas, which deliver them to theirs. A
 * replica ignores its own echo. If Redis is down the local delivery still happens and the
 * cross-replica one is lost: caches also refresh periodically for that reason.
 */
export class EventBus {
  readonly #local = createPubSub<Topics>();
  readonly #origin = randomUUID();
  readonly #publisher: Redis | undefined;
  readonly #subscriber: Redis | undefined;
  readonly #logger: Logger;

  constructor(deps: { logger: Logger; publisher?: Redis; subscriber?: Redis }) {
    this.#logger = deps.logger;
    this.#publisher = deps.publisher;
    this.#subscriber = deps.subscriber;
    this.#subscriber?.on('message', (channel: string, message: string) => {
      if (channel !== CHANNEL) return;
      try {
        const { origin, topic, event } = JSON.parse(message) as {
          origin: string;
          topic: Topic;
          event: EventMap[Topic];
        };
        if (origin !== this.#origin) this.#deliver(topic, event);
      } catch (error) {
        this.#logger.warn({ err: error }, 'ignored a malformed event from redis');
      }
    });
  }

  /**
   * Starts receiving other replicas' events (no-op without Redis). Not awaited: with Redis
   * down the SUBSCRIBE waits in the subscriber's queue and runs once Redis is back.
   */
  start(): void {
    this.#subscriber?.subscribe(CHANNEL).catch((error: Error) => {
      this.#logger.warn({ err: error.message }, 'event bus: redis subscribe failed');
    });
  }

  async stop(): Promise<void> {
    this.#subscriber?.disconnect();
    this.#publisher?.disconnect();
  }

  publish<K extends Topic>(topic: K, event: Omit<EventMap[K], 'id' | 'at'>): EventMap[K] {
    const full = { id: randomUUID(), at: new Date().toISOString(), ...event } as EventMap[K];
    this.#deliver(topic, full);
    if (this.#publisher) {
      this.#publisher
        .publish(CHANNEL, JSON.stringify({ origin: this.#origin, topic, event: full }))
        .catch((error: Error) => {
          this.#logger.warn(
            { err: error.message, topic },
            'event not shared with other replicas (redis unavailable)',
          );
        });
    }
    return full;
  }

  subscribe<K extends Topic>(topic: K): AsyncIterable<EventMap[K]> {
    return this.#local.subscribe(topic) as AsyncIterable<EventMap[K]>;
  }

  /** Runs `handler` for every event of `topic` until the returned function is called. */
  listen<K extends Topic>(topic: K, handler: (event: EventMap[K]) => void | Promise<void>): () => void {
    const iterator = this.subscribe(topic)[Symbol.asyncIterator]();
    void (async () => {
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        try {
          await handler(next.value);
        } catch (error) {
          this.#logger.error({ err: error, topic }, 'event handler failed');
        }
      }
    })();
    return () => void iterator.return?.();
  }

  #deliver<K extends Topic>(topic: K, event: EventMap[K]): void {
    this.#local.publish(topic, ...([event] as Topics[K]));
  }
}
