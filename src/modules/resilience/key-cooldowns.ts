/**
 * Key cool-downs: a key the provider answered 429 for is left alone until its Retry-After has
 * passed (at most a minute: a provider asking for an hour is better told by the next call), while
 * the provider's other keys go on serving. In memory per replica: a cool-down is advice, and the
 * next 429 renews it.
 */
export const MAX_COOLDOWN_MS = 60_000;
/** What a 429 without a readable Retry-After cools its key for. */
export const DEFAULT_COOLDOWN_MS = 1_000;

export class KeyCooldowns {
  /** keyId → epoch ms until which the key must not be used. */
  readonly #until = new Map<string, number>();

  /** The provider answered 429 for this key: leave it alone for `retryAfterMs` (capped). */
  coolDown(keyId: string, retryAfterMs: number | undefined, now = Date.now()): void {
    this.coolUntil(keyId, now + Math.min(retryAfterMs ?? DEFAULT_COOLDOWN_MS, MAX_COOLDOWN_MS));
  }

  /** Leave the key alone until `untilMs` (a later cool-down already set stands). */
  coolUntil(keyId: string, untilMs: number): void {
    this.#until.set(keyId, Math.max(untilMs, this.#until.get(keyId) ?? 0));
  }

  isCooling(keyId: string, now = Date.now()): boolean {
    return (this.#until.get(keyId) ?? 0) > now;
  }

  /** When every one of `keyIds` is cooling down, the earliest time one is free; else undefined. */
  allCoolingUntil(keyIds: readonly string[], now = Date.now()): number | undefined {
    if (keyIds.length === 0) return undefined;
    let earliest = Number.POSITIVE_INFINITY;
    for (const id of keyIds) {
      const until = this.#until.get(id) ?? 0;
      if (until <= now) return undefined;
      earliest = Math.min(earliest, until);
    }
    return earliest;
  }
}
