/** A successful GET response kept for stale-on-error fallbacks. */
export interface StaleEntry {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  storedAt: number;
}

/**
 * Recent successful GET responses of providers that enable stale-on-error, in memory, bounded
 * by entry count and body size (oldest evicted first). Per replica: a stale answer is a best
 * effort while an upstream is failing, not a shared cache.
 */
export class StaleCache {
  static readonly MAX_BODY = 1024 * 1024;
  readonly #entries = new Map<string, StaleEntry>();
  readonly #maxEntries: number;

  constructor(maxEntries = 1000) {
    this.#maxEntries = maxEntries;
  }

  static key(providerId: string, path: string): string {
    return `${providerId} ${path}`;
  }

  put(key: string, entry: StaleEntry): void {
    if (entry.body.length > StaleCache.MAX_BODY) return;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  get(key: string, maxAgeMs: number, now = Date.now()): StaleEntry | undefined {
    const entry = this.#entries.get(key);
    return entry && now - entry.storedAt <= maxAgeMs ? entry : undefined;
  }
}
