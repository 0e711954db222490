/**
 * A retry budget per provider: each request earns `percent`/100 of a retry token, each retry
 * spends one, with a small reserve and a cap. Retries thus stay a bounded fraction of traffic
 * even when the upstream fails every call, which keeps a gateway from multiplying an outage.
 */
export class RetryBudget {
  #tokens = 3;
  readonly #percent: number;
  static readonly CAP = 20;

  constructor(percent: number) {
    this.#percent = percent;
  }

  onRequest(): void {
    this.#tokens = Math.min(RetryBudget.CAP, this.#tokens + this.#percent / 100);
  }

  tryRetry(): boolean {
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

export class RetryBudgets {
  readonly #budgets = new Map<string, RetryBudget>();

  for(providerId: string, percent: number): RetryBudget {
    let budget = this.#budgets.get(providerId);
    if (!budget) {
      budget = new RetryBudget(percent);
      this.#budgets.set(providerId, budget);
    }
    return budget;
  }
}
