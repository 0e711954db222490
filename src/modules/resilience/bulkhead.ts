/**
 * Per-provider bulkheads: at most `maxConcurrent` upstream calls to a provider at once (from
 * this replica), and a short queue of `maxQueue` callers waiting at most `maxQueueWaitMs` for a
 * slot. A provider that hangs holds its own slots only: the callers beyond them are refused at
 * once (BulkheadFullError, a 503 on the proxy) instead of taking sockets and memory from every
 * other provider. Slots and queue are cockatiel's BulkheadPolicy; the wait bound is ours
 * (cockatiel's queue waits until a slot frees, however long that takes).
 */
import { BulkheadPolicy, BulkheadRejectedError, TaskCancelledError } from 'cockatiel';

export interface BulkheadSettings {
  maxConcurrent: number;
  maxQueue: number;
  maxQueueWaitMs: number;
}

/** No slot and no room (or no time) to wait for one. */
export class BulkheadFullError extends Error {
  readonly queued: boolean;
  constructor(message: string, queued: boolean) {
    super(message);
    this.name = 'BulkheadFullError';
    this.queued = queued;
  }
}

/** Frees the slot; calling it more than once is harmless. */
export type ReleaseSlot = () => void;

interface Entry {
  settings: BulkheadSettings;
  policy: BulkheadPolicy;
}

export class Bulkheads {
  readonly #entries = new Map<string, Entry>();

  /**
   * Takes a slot of `id`'s bulkhead, waiting in its queue if need be; `signal` (the caller left,
   * the deadline passed) ends the wait. Resolves to the function that frees the slot.
   */
  enter(
    id: string,
    settings: BulkheadSettings,
    signal?: AbortSignal | (() => AbortSignal),
  ): Promise<ReleaseSlot> {
    const { policy } = this.#entry(id, settings);
    // The usual case, a free slot: no signal is needed (it is made only for a wait).
    if (policy.executionSlots > 0) return this.#take(policy, undefined);
    if (policy.queueSlots <= 0) {
      return Promise.reject(
        new BulkheadFullError(
          `${settings.maxConcurrent} calls in flight and ${settings.maxQueue} waiting`,
          false,
        ),
      );
    }
    return this.#wait(policy, settings, typeof signal === 'function' ? signal() : signal);
  }

  /** Calls in flight and waiting for a provider (what operators see), if it has a bulkhead yet. */
  status(id: string): { active: number; queued: number; settings: BulkheadSettings } | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    const { policy, settings } = entry;
    return {
      active: settings.maxConcurrent - policy.executionSlots,
      queued: settings.maxQueue - policy.queueSlots,
      settings,
    };
  }

  #entry(id: string, settings: BulkheadSettings): Entry {
    let entry = this.#entries.get(id);
    const changed =
      entry &&
      (entry.settings.maxConcurrent !== settings.maxConcurrent ||
        entry.settings.maxQueue !== settings.maxQueue);
    // New settings get a new bulkhead; calls holding the old one's slots finish there.
    if (!entry || changed) {
      entry = { settings, policy: new BulkheadPolicy(settings.maxConcurrent, settings.maxQueue) };
      this.#entries.set(id, entry);
    }
    entry.settings = settings;
    return entry;
  }

  /** Runs a task in the bulkhead that lasts until the caller frees it. */
  #take(policy: BulkheadPolicy, signal: AbortSignal | undefined): Promise<ReleaseSlot> {
    return new Promise<ReleaseSlot>((resolve, reject) => {
      policy
        .execute(
          () =>
            new Promise<void>((done) => {
              let released = false;
              resolve(() => {
                if (released) return;
                released = true;
                done();
              });
            }),
          signal,
        )
        .catch((error: unknown) => reject(translate(error)));
    });
  }

  #wait(
    policy: BulkheadPolicy,
    settings: BulkheadSettings,
    signal: AbortSignal | undefined,
  ): Promise<ReleaseSlot> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), settings.maxQueueWaitMs);
    const stop = () => controller.abort();
    signal?.addEventListener('abort', stop, { once: true });
    return new Promise<ReleaseSlot>((resolve, reject) => {
      const giveUp = () =>
        reject(
          signal?.aborted
            ? new TaskCancelledError()
            : new BulkheadFullError(`no slot freed within ${settings.maxQueueWaitMs} ms`, true),
        );
      controller.signal.addEventListener('abort', giveUp, { once: true });
      this.#take(policy, controller.signal).then(
        (release) => {
          controller.signal.removeEventListener('abort', giveUp);
          // Got a slot after giving up (the slot and the abort raced): hand it straight back.
          if (controller.signal.aborted) release();
          else resolve(release);
        },
        (error: unknown) => {
          controller.signal.removeEventListener('abort', giveUp);
          if (!controller.signal.aborted) reject(error);
          else giveUp();
        },
      );
    }).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
    });
  }
}

function translate(error: unknown): unknown {
  if (error instanceof BulkheadRejectedError) {
    return new BulkheadFullError('no slot and no room in the queue', false);
  }
  return error;
}
