/**
 * The retry policy: which failures may be retried, how long to wait (exponential backoff with
 * full jitter, never less than the upstream's Retry-After) and the retry budget that keeps
 * retries a bounded share of traffic. The wait times come from cockatiel's ExponentialBackoff
 * with its full-jitter generator; the loop itself stays with the proxy, since a retry there may
 * also change key (see README "Architecture").
 */
import { ExponentialBackoff, type GeneratorFn, type IBackoff, noJitterGenerator } from 'cockatiel';
import { headerValue } from '../upstream/upstream-request.ts';

export interface RetrySettings {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  retryNonIdempotent: boolean;
  budgetPercent: number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** Whether a call may be sent again at all: its body can be replayed and its method allows it. */
export function mayRetryCall(method: string, replayable: boolean, retry: RetrySettings): boolean {
  return replayable && (IDEMPOTENT.has(method) || retry.retryNonIdempotent);
}

/**
 * Full jitter (a uniform wait between 0 and the exponential delay), as in cockatiel's
 * `fullJitterGenerator`, with the random source injectable so tests can pin it.
 */
function fullJitter(random: () => number): GeneratorFn<number> {
  return (state, options) => {
    const [delay, next] = noJitterGenerator(state, options);
    return [random() * delay, next];
  };
}

/**
 * The wait before retry number `attempt` (1 for the first retry): exponential with full jitter,
 * capped at maxDelayMs, and at least the upstream's Retry-After.
 */
export function backoff(
  retry: Pick<RetrySettings, 'baseDelayMs' | 'maxDelayMs'>,
  attempt: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  let step: IBackoff<unknown> = new ExponentialBackoff<number>({
    initialDelay: retry.baseDelayMs,
    maxDelay: retry.maxDelayMs,
    exponent: 2,
    generator: fullJitter(random),
  }).next();
  for (let i = 1; i < attempt; i++) step = step.next(undefined);
  return Math.max(step.duration, retryAfterMs ?? 0);
}

/** Retry-After as milliseconds from now (seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = headerValue(value);
  if (!text) return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Whether a retry may go now: attempts left, the wait ends before the deadline, and the budget
 * has a token (checked last: a refused retry must not spend one).
 */
export function mayRetryNow(input: {
  retryable: boolean;
  attempt: number;
  maxAttempts: number;
  waitMs: number;
  now: number;
  deadlineAt: number;
  budget: RetryBudget;
}): boolean {
  return (
    input.retryable &&
    input.attempt < input.maxAttempts &&
    input.now + input.waitMs < input.deadlineAt &&
    input.budget.tryRetry()
  );
}

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

  /** Retry tokens left now (what operators see). */
  get tokens(): number {
    return this.#tokens;
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

  /** The budget of a provider that has had calls, if any. */
  get(providerId: string): RetryBudget | undefined {
    return this.#budgets.get(providerId);
  }
}
