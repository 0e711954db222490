import type { CircuitChangedEvent, CircuitStateName } from '../events/event-bus.ts';
import type { BreakerPolicy } from '../providers/provider.validation.ts';

/** What the breakers need of a provider. */
export interface BreakerTarget {
  id: string;
  slug: string;
  breaker: BreakerPolicy;
  /** The call's deadline: a probe holds the cluster's probe slot at most this long (plus a margin). */
  timeoutMs: number;
}

export interface CircuitStatus {
  state: CircuitStateName;
  since: number;
  failures: number;
  nextProbeAt: number | null;
  reason: string;
}

/**
 * Whether a call may go. A refusal says when a retry can succeed, or `held` (an operator's trip,
 * open until someone resets it) with no retry time: none would be kept.
 */
export type Admission =
  | { ok: true; probe: boolean }
  | { ok: false; held: false; retryAfterMs: number }
  | { ok: false; held: true };

export type Transition = Omit<CircuitChangedEvent, 'id' | 'at' | 'providerId' | 'providerSlug'>;

/**
 * One provider's circuit. CLOSED counts consecutive failures; at the threshold it OPENs and
 * refuses calls until the half-open delay (plus up to 20 % jitter) has passed; HALF_OPEN then
 * lets one probe through at a time: `successThreshold` good probes close it, a failed probe
 * re-opens it. ISOLATED is an operator's trip: open until reset.
 */
export class Circuit {
  status: CircuitStatus = {
    state: 'CLOSED',
    since: Date.now(),
    failures: 0,
    nextProbeAt: null,
    reason: 'initial',
  };
  policy: BreakerPolicy;
  #successes = 0;
  #probing = false;

  readonly #random: () => number;

  constructor(policy: BreakerPolicy, random: () => number = Math.random) {
    this.policy = policy;
    this.#random = random;
  }

  /** Whether a call may go now; `probe` calls must report back with `onResult`. */
  admit(now: number): { admission: Admission; transition?: Transition } {
    const { state, nextProbeAt } = this.status;
    if (state === 'CLOSED') return { admission: { ok: true, probe: false } };
    if (state === 'ISOLATED') return { admission: { ok: false, held: true } };
    let transition: Transition | undefined;
    if (state === 'OPEN') {
      if (nextProbeAt !== null && now < nextProbeAt)
        return { admission: { ok: false, held: false, retryAfterMs: nextProbeAt - now } };
      transition = this.#move('HALF_OPEN', 'half-open delay passed', now);
    }
    if (this.#probing) return { admission: { ok: false, held: false, retryAfterMs: 1000 }, transition };
    this.#probing = true;
    return { admission: { ok: true, probe: true }, transition };
  }

  /** Reports an upstream outcome; caller errors must not be reported as failures. */
  onResult(success: boolean, probe: boolean, reason: string, now: number): Transition | undefined {
    if (probe) this.#probing = false;
    const { state } = this.status;
    if (success) {
      if (state === 'CLOSED') {
        this.status.failures = 0;
        return undefined;
      }
      if (state === 'HALF_OPEN' && probe && ++this.#successes >= this.policy.successThreshold) {
        return this.#move('CLOSED', `${this.#successes} successful probe(s)`, now);
      }
      return undefined;
    }
    if (state === 'HALF_OPEN' && probe) return this.#open(`probe failed: ${reason}`, now);
    if (state === 'CLOSED' && ++this.status.failures >= this.policy.failureThreshold) {
      return this.#open(`${this.status.failures} consecutive failures, last: ${reason}`, now);
    }
    return undefined;
  }

  /** A probe that ended without an outcome (the caller left): the next call may probe. */
  abandonProbe(): void {
    this.#probing = false;
  }

  /** Counts a good probe here (when the cluster's count in Redis is out of reach). */
  countGoodProbe(): number {
    this.#probing = false;
    return ++this.#successes;
  }

  /** `count` good probes in a row (counted here or for the cluster): closes at the threshold. */
  closeAfterProbes(count: number, now: number): Transition | undefined {
    if (this.status.state !== 'HALF_OPEN' || count < this.policy.successThreshold) return undefined;
    return this.#move('CLOSED', `${count} successful probe(s)`, now);
  }

  trip(reason: string, now: number): Transition | undefined {
    return this.status.state === 'ISOLATED' ? undefined : this.#move('ISOLATED', reason, now);
  }

  reset(reason: string, now: number): Transition | undefined {
    this.status.failures = 0;
    return this.status.state === 'CLOSED' ? undefined : this.#move('CLOSED', reason, now);
  }

  /** Adopts a transition another replica made, so every replica treats the provider alike. */
  adopt(event: CircuitChangedEvent): void {
    this.#probing = false;
    this.#successes = 0;
    this.status = {
      state: event.to,
      since: Date.parse(event.at),
      failures: event.failures,
      nextProbeAt: event.nextProbeAt,
      reason: event.reason,
    };
  }

  #open(reason: string, now: number): Transition {
    const jitter = this.#random() * 0.2 * this.policy.halfOpenAfterMs;
    const transition = this.#move('OPEN', reason, now);
    this.status.nextProbeAt = now + this.policy.halfOpenAfterMs + jitter;
    transition.nextProbeAt = this.status.nextProbeAt;
    return transition;
  }

  #move(to: CircuitStateName, reason: string, now: number): Transition {
    const from = this.status.state;
    this.#successes = 0;
    this.status = {
      state: to,
      since: now,
      failures: to === 'CLOSED' ? 0 : this.status.failures,
      nextProbeAt: null,
      reason,
    };
    return { from, to, reason, failures: this.status.failures, nextProbeAt: null };
  }
}
