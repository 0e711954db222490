/**
 * A deadline: one time limit over everything a call does with one provider (its attempts, the
 * waits between them, its response body). Its signal aborts when the time passes, so whatever
 * the call waits on then (an exchange, a backoff, a bulkhead queue) stops. Cooperative, like
 * cockatiel's timeout, but it outlives a single function: the body streams after the attempt
 * that got the answer has returned (see README "Architecture").
 */
export class Deadline {
  readonly at: number;
  readonly timeoutMs: number;
  #aborted = false;
  #listeners: (() => void)[] = [];
  /** Made only when someone asks for a signal (most calls never wait on one). */
  #controller: AbortController | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(timeoutMs: number, now = Date.now()) {
    this.timeoutMs = timeoutMs;
    this.at = now + timeoutMs;
    this.#timer = setTimeout(() => this.#expire(), timeoutMs);
  }

  /** Aborts when the deadline passes. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(new DeadlineExceededError(this.timeoutMs));
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Whether `ms` more fit before the deadline. */
  allows(ms: number, now = Date.now()): boolean {
    return now + ms < this.at;
  }

  /** Runs `listener` when the deadline passes (at once if it has). */
  onExpire(listener: () => void): void {
    if (this.#aborted) listener();
    else this.#listeners.push(listener);
  }

  /** The call is over: the timer is not needed any more. */
  clear(): void {
    clearTimeout(this.#timer);
    this.#listeners = [];
  }

  #expire(): void {
    this.#aborted = true;
    this.#controller?.abort(new DeadlineExceededError(this.timeoutMs));
    for (const listener of this.#listeners.splice(0)) listener();
  }
}

export class DeadlineExceededError extends Error {
  constructor(timeoutMs: number) {
    super(`deadline of ${timeoutMs} ms passed`);
    this.name = 'DeadlineExceededError';
  }
}

/**
 * Waits `ms`; rejects with `stopped()`'s error as soon as `signal` aborts (the caller left, the
 * deadline passed), so a backoff never outlives its reason.
 */
export function sleep(ms: number, signal: AbortSignal, stopped: () => Error): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(stopped());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(stopped());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
