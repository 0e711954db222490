/** Thrown to a subscriber whose queue overflowed: it could not keep up with the events. */
export class SlowConsumerError extends Error {
  constructor(limit: number) {
    super(`More than ${limit} events were waiting for this subscriber: it is too slow and was dropped.`);
    this.name = 'SlowConsumerError';
  }
}

interface Subscriber<T> {
  queue: T[];
  wake: (() => void) | undefined;
  failed: SlowConsumerError | undefined;
  onOverflow: (() => void) | undefined;
}

/**
 * Delivers each published value to every current subscriber, each with its own bounded queue.
 * A subscriber whose queue passes `maxQueue` (it stopped consuming) is dropped: its iterator
 * throws SlowConsumerError, and the others are not affected. Ending an iterator (return())
 * removes its subscriber at once, so nothing is retained for consumers that went away.
 */
export class FanOut<T> {
  readonly #subscribers = new Set<Subscriber<T>>();
  readonly #maxQueue: number;

  constructor(maxQueue: number) {
    this.#maxQueue = maxQueue;
  }

  get size(): number {
    return this.#subscribers.size;
  }

  publish(value: T): void {
    for (const subscriber of this.#subscribers) {
      if (subscriber.queue.length >= this.#maxQueue) {
        subscriber.failed = new SlowConsumerError(this.#maxQueue);
        subscriber.queue.length = 0;
        this.#subscribers.delete(subscriber);
        // The consumer may be stuck elsewhere (a full socket) and never ask again: tell its owner.
        subscriber.onOverflow?.();
      } else {
        subscriber.queue.push(value);
      }
      subscriber.wake?.();
    }
  }

  /** `onOverflow` runs when this subscriber is dropped for falling behind. */
  subscribe(onOverflow?: () => void): AsyncIterable<T> {
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<T> => {
        const subscriber: Subscriber<T> = { queue: [], wake: undefined, failed: undefined, onOverflow };
        this.#subscribers.add(subscriber);
        let open = true;
        const close = () => {
          open = false;
          this.#subscribers.delete(subscriber);
          subscriber.queue.length = 0;
          subscriber.wake?.();
        };
        return {
          next: async () => {
            for (;;) {
              if (subscriber.failed) {
                open = false;
                throw subscriber.failed;
              }
              if (!open) return { done: true, value: undefined };
              const value = subscriber.queue.shift();
              if (value !== undefined) return { done: false, value };
              await new Promise<void>((resolve) => {
                subscriber.wake = resolve;
              });
              subscriber.wake = undefined;
            }
          },
          return: async () => {
            close();
            return { done: true, value: undefined };
          },
          throw: async (error?: unknown) => {
            close();
            throw error;
          },
        };
      },
    };
  }
}
