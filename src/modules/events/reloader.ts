/**
 * Runs a cache's reload so that concurrent requests coalesce into at most one more run, and the
 * promise each caller gets settles only after a load that started after its call (so awaiting
 * it after a commit means the commit is in). A load that was under way when `invalidate` was
 * called is discarded and run again: it may have read what the invalidation just removed.
 */
export class Reloader<T> {
  readonly #load: () => Promise<T>;
  readonly #apply: (value: T) => void;
  readonly #onError: (error: unknown) => void;
  #running: Promise<void> | undefined;
  #again = false;
  #generation = 0;

  constructor(load: () => Promise<T>, apply: (value: T) => void, onError: (error: unknown) => void) {
    this.#load = load;
    this.#apply = apply;
    this.#onError = onError;
  }

  run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          const generation = this.#generation;
          try {
            const value = await this.#load();
            if (generation === this.#generation) this.#apply(value);
            else this.#again = true;
          } catch (error) {
            // Keep serving what we have; the next event or refresh tries again.
            this.#onError(error);
          }
        } while (this.#again);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** What a load under way read may be stale: it is not applied, and another runs instead. */
  invalidate(): void {
    this.#generation++;
  }
}
