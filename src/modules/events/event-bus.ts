import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';
import type { RedisGate } from '../resilience/shared-state.ts';
import { FanOut } from './fan-out.ts';

/** Every event Tollgate publishes, by topic. Subscriptions and caches listen here. */
export interface EventMap {
  'provider.changed': ProviderChangedEvent;
  'key.changed': KeyChangedEvent;
  'client.changed': ClientChangedEvent;
  'circuit.changed': CircuitChangedEvent;
  'budget.changed': BudgetChangedEvent;
  'budget.alert': BudgetAlertEvent;
  'health.changed': HealthChangedEvent;
  'job.alert': JobAlertEvent;
  'operator-session.revoked': OperatorSessionRevokedEvent;
}

/** Events cross processes as JSON, so they hold strings, not Dates. */
export interface EventEnvelope {
  id: string;
  /** ISO 8601 time the event was published. */
  at: string;
}

/**
 * A configuration row changed. `version` is the row's version after the change (absent when the
 * publisher does not know it): caches read that one row, and skip events older than what they hold.
 */
interface RowChange {
  version?: number;
}

export interface ProviderChangedEvent extends EventEnvelope, RowChange {
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
export interface KeyChangedEvent extends EventEnvelope, RowChange {
  change: (typeof KEY_CHANGES)[number];
  providerId: string;
  providerSlug: string;
  keyId: string;
  actor: string;
  detail: string | null;
}

export interface ClientChangedEvent extends EventEnvelope, RowChange {
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

export interface JobAlertEvent extends EventEnvelope {
  queue: string;
  /** FAILED: a job used its last attempt (it is in the dead-letter queue). RETRY_RATE: too many retries. */
  alert: 'FAILED' | 'RETRY_RATE';
  jobId: string | null;
  message: string;
  retryRate: number | null;
}

/** A console session ended (signed out, revoked by an admin, or refused on renewal): every replica drops it. */
export interface OperatorSessionRevokedEvent extends EventEnvelope {
  sessionId: string;
  /** When the session would have ended anyway: replicas forget the revocation after it. */
  expiresAt: string;
}

export type Topic = keyof EventMap;
/** Any event with its topic, as the catch-all stream and the replay window hold them. */
export type AnyEvent = { [K in Topic]: { topic: K; event: EventMap[K] } }[Topic];
/** Events kept for subscribers that reconnect and ask for what they missed. */
const REPLAY_MAX_EVENTS = 1000;
const REPLAY_MAX_AGE_MS = 10 * 60_000;
const CHANNEL = 'tollgate:events';

export interface PublishOptions {
  /** Its webhook deliveries were enqueued in the transaction that recorded it (an outbox). */
  outboxed?: boolean;
}

/** An event with its id and time, before it is published. */
export function stamp<T extends object>(event: T): T & { id: string; at: string } {
  return { id: randomUUID(), at: new Date().toISOString(), ...event };
}

/**
 * The typed event bus. Events are delivered to this process's listeners at once, and, when
 * Redis is configured, published for the other replicas, which deliver them to theirs. A
 * replica ignores its own echo. If Redis is down the local delivery still happens and the
 * cross-replica one is lost: caches also refresh periodically for that reason.
 */
export class EventBus {
  readonly #topics = new Map<string, FanOut<unknown>>();
  readonly #all: FanOut<AnyEvent>;
  readonly #maxQueue: number;
  readonly #recent: AnyEvent[] = [];
  readonly #originListeners: ((event: AnyEvent, options: PublishOptions) => void)[] = [];
  readonly #origin = randomUUID();
  readonly #appliers = new Map<Topic, Set<(event: never) => Promise<void>>>();
  readonly #publisher: Redis | undefined;
  readonly #subscriber: Redis | undefined;
  readonly #gate: RedisGate | undefined;
  readonly #logger: Logger;

  constructor(deps: {
    logger: Logger;
    publisher?: Redis;
    subscriber?: Redis;
    /** When given, events are not sent while Redis is known to be unresponsive. */
    gate?: RedisGate;
    maxQueue?: number;
  }) {
    this.#logger = deps.logger;
    this.#gate = deps.gate;
    this.#maxQueue = deps.maxQueue ?? 1000;
    this.#all = new FanOut(this.#maxQueue);
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
    // Named so that operators (and tests) can tell each replica's event subscription apart in
    // CLIENT LIST; ioredis names the connection again on every reconnect.
    if (this.#subscriber) {
      this.#subscriber.options.connectionName = this.connectionName;
      if (this.#subscriber.status === 'ready')
        this.#subscriber.client('SETNAME', this.connectionName).catch(() => undefined);
    }
    this.#subscriber?.subscribe(CHANNEL).catch((error: Error) => {
      this.#logger.warn({ err: error.message }, 'event bus: redis subscribe failed');
    });
  }

  /** The Redis connection name of this replica's event subscription. */
  get connectionName(): string {
    return `tollgate-events:${this.#origin}`;
  }

  async stop(): Promise<void> {
    this.#subscriber?.disconnect();
    this.#publisher?.disconnect();
  }

  /**
   * Delivers an event here and to the other replicas. An event given its id and time already
   * (see `stamp`) keeps them, so that what a transaction wrote about it matches.
   */
  publish<K extends Topic>(
    topic: K,
    event: Omit<EventMap[K], 'id' | 'at'> | EventMap[K],
    options: PublishOptions = {},
  ): EventMap[K] {
    const full = ('id' in event ? event : stamp(event)) as EventMap[K];
    this.#deliver(topic, full);
    for (const listener of this.#originListeners) {
      try {
        listener({ topic, event: full } as AnyEvent, options);
      } catch (error) {
        this.#logger.error({ err: error, topic }, 'origin listener failed');
      }
    }
    if (this.#publisher) {
      const publisher = this.#publisher;
      const message = JSON.stringify({ origin: this.#origin, topic, event: full });
      const sent = this.#gate
        ? this.#gate.run('event publish', () => publisher.publish(CHANNEL, message))
        : publisher.publish(CHANNEL, message);
      sent.catch((error: Error) => {
        this.#logger.warn(
          { err: error.message, topic },
          'event not shared with other replicas (redis unavailable)',
        );
      });
    }
    return full;
  }

  /**
   * Publishes like `publish`, then waits until this replica's caches have applied the event
   * (see `onApply`): a mutation that awaits it returns only once this replica acts on it, so a
   * call made right after a revocation is refused here. Other replicas apply it on delivery.
   */
  async publishApplied<K extends Topic>(
    topic: K,
    event: Omit<EventMap[K], 'id' | 'at'> | EventMap[K],
    options: PublishOptions = {},
  ): Promise<EventMap[K]> {
    const full = this.publish(topic, event, options);
    const appliers = [...(this.#appliers.get(topic) ?? [])] as ((event: EventMap[K]) => Promise<void>)[];
    await Promise.all(
      appliers.map((apply) =>
        apply(full).catch((error: unknown) =>
          this.#logger.error({ err: error, topic }, 'event applier failed'),
        ),
      ),
    );
    return full;
  }

  /**
   * Registers how this replica's state catches up with an event of `topic` that it publishes
   * itself with `publishApplied` (which waits for it). Returns a function that unregisters it.
   */
  onApply<K extends Topic>(topic: K, apply: (event: EventMap[K]) => Promise<void>): () => void {
    let set = this.#appliers.get(topic);
    if (!set) {
      set = new Set();
      this.#appliers.set(topic, set);
    }
    const entry = apply as (event: never) => Promise<void>;
    set.add(entry);
    return () => set.delete(entry);
  }

  /**
   * Events of `topic` from now on. Each subscriber has its own queue of at most `maxQueue`
   * events; one that falls further behind gets SlowConsumerError instead of holding memory.
   */
  subscribe<K extends Topic>(topic: K, onOverflow?: () => void): AsyncIterable<EventMap[K]> {
    return this.#fanOut(topic).subscribe(onOverflow) as AsyncIterable<EventMap[K]>;
  }

  /** Open subscriptions on this bus (GraphQL subscriptions, caches): a leak shows here. */
  get activeSubscriptions(): number {
    let n = this.#all.size;
    for (const fanOut of this.#topics.values()) n += fanOut.size;
    return n;
  }

  #fanOut(topic: string): FanOut<unknown> {
    let fanOut = this.#topics.get(topic);
    if (!fanOut) {
      fanOut = new FanOut(this.#maxQueue);
      this.#topics.set(topic, fanOut);
    }
    return fanOut;
  }

  /**
   * Runs `listener` for each event published by this replica (not the ones other replicas
   * publish): for work that must happen once per event in the cluster, such as webhooks.
   */
  onPublish(listener: (event: AnyEvent, options: PublishOptions) => void): () => void {
    this.#originListeners.push(listener);
    return () => {
      const at = this.#originListeners.indexOf(listener);
      if (at >= 0) this.#originListeners.splice(at, 1);
    };
  }

  /** Every event, whatever its topic, from this replica and the others. */
  subscribeAll(onOverflow?: () => void): AsyncIterable<AnyEvent> {
    return this.#all.subscribe(onOverflow);
  }

  /**
   * The events delivered here after the one with `id` (at most the last 1,000, or 10 minutes),
   * oldest first; null when `id` is no longer (or never was) in that window.
   */
  since(id: string): AnyEvent[] | null {
    const index = this.#recent.findIndex((e) => e.event.id === id);
    return index < 0 ? null : this.#recent.slice(index + 1);
  }

  /**
   * Runs `handler` for every event of `topic` until the returned function is called. A handler
   * that falls too far behind is resubscribed (and what it missed is logged); the caches that
   * listen here also reload periodically.
   */
  listen<K extends Topic>(topic: K, handler: (event: EventMap[K]) => void | Promise<void>): () => void {
    let stopped = false;
    let iterator = this.subscribe(topic)[Symbol.asyncIterator]();
    void (async () => {
      while (!stopped) {
        let next: IteratorResult<EventMap[K]>;
        try {
          next = await iterator.next();
        } catch (error) {
          this.#logger.warn(
            { err: (error as Error).message, topic },
            'event listener fell behind; resubscribed',
          );
          iterator = this.subscribe(topic)[Symbol.asyncIterator]();
          continue;
        }
        if (next.done) return;
        try {
          await handler(next.value);
        } catch (error) {
          this.#logger.error({ err: error, topic }, 'event handler failed');
        }
      }
    })();
    return () => {
      stopped = true;
      void iterator.return?.();
    };
  }

  #deliver<K extends Topic>(topic: K, event: EventMap[K]): void {
    this.#topics.get(topic)?.publish(event);
    const any = { topic, event } as AnyEvent;
    this.#all.publish(any);
    this.#recent.push(any);
    const cutoff = new Date(Date.now() - REPLAY_MAX_AGE_MS).toISOString();
    while (
      this.#recent.length > REPLAY_MAX_EVENTS ||
      (this.#recent.length > 0 && this.#recent[0]!.event.at < cutoff)
    ) {
      this.#recent.shift();
    }
  }
}
