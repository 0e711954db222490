/**
 * The per-provider state the proxy's stages keep between calls, in one place so services (and
 * so GraphQL) can read it without reaching into the handler: retry budgets (attempt), the
 * bulkheads (attempt), the stale cache (route, respond) and each provider's last failure.
 */
import { Bulkheads } from '../resilience/bulkhead.ts';
import { RetryBudgets } from '../resilience/retry-policy.ts';
import { StaleCache } from './stale-cache.ts';

export interface ProviderFailure {
  at: number;
  reason: string;
}

export class ProxyState {
  readonly retryBudgets = new RetryBudgets();
  readonly bulkheads = new Bulkheads();
  readonly staleCache: StaleCache;
  readonly #lastFailures = new Map<string, ProviderFailure>();

  constructor(settings: { staleCacheMaxBytes: number }) {
    this.staleCache = new StaleCache(settings.staleCacheMaxBytes);
  }

  /** An upstream failure of a provider (the breaker counts it too); the latest is kept. */
  noteFailure(providerId: string, reason: string, at = Date.now()): void {
    this.#lastFailures.set(providerId, { at, reason });
  }

  lastFailure(providerId: string): ProviderFailure | undefined {
    return this.#lastFailures.get(providerId);
  }
}
