import type { Logger } from '../../shared/logger.ts';
import type { RedisGate } from '../../shared/redis-gate.ts';
import type { CircuitChangedEvent, CircuitStateName, EventBus } from '../events/event-bus.ts';
import { type BreakerPolicy, breakerSchema } from '../providers/provider.validation.ts';

const DEFAULT_POLICY = breakerSchema.parse({});
const SNAPSHOT_PREFIX = 'tollgate:circuit:';
const SNAPSHOT_TTL_MS = 24 * 3600 * 1000;

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

type Transition = Omit<CircuitChangedEvent, 'id' | 'at' | 'providerId' | 'providerSlug'>;

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

  constructor(policy: BreakerPolicy) {
    this.policy = policy;
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
    const jitter = Math.random() * 0.2 * this.policy.halfOpenAfterMs;
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

/**
 * The circuits of all providers. Every transition is logged and published on the event bus;
 * other replicas adopt it, so when one replica opens a provider's circuit the rest stop
 * sending to it as soon as the event arrives.
 */
export class Breakers {
  readonly #circuits = new Map<string, Circuit>();
  readonly #events: EventBus;
  readonly #logger: Logger;
  readonly #stopListening: () => void;
  readonly #published = new Set<string>();

  readonly #gate: RedisGate | undefined;

  constructor(deps: { events: EventBus; logger: Logger; gate?: RedisGate }) {
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#gate = deps.gate;
    this.#stopListening = deps.events.listen('circuit.changed', (event) => {
      if (this.#published.delete(event.id)) return;
      // The policy is refreshed from the provider on this replica's next call.
      this.circuit(event.providerId, DEFAULT_POLICY, false).adopt(event);
    });
  }

  stop(): void {
    this.#stopListening();
  }

  circuit(providerId: string, policy: BreakerPolicy, updatePolicy = true): Circuit {
    let circuit = this.#circuits.get(providerId);
    if (!circuit) {
      circuit = new Circuit(policy);
      this.#circuits.set(providerId, circuit);
    }
    if (updatePolicy) circuit.policy = policy;
    return circuit;
  }

  status(providerId: string): CircuitStatus {
    return (
      this.#circuits.get(providerId)?.status ?? {
        state: 'CLOSED',
        since: 0,
        failures: 0,
        nextProbeAt: null,
        reason: 'no calls yet',
      }
    );
  }

  admit(provider: { id: string; slug: string; breaker: BreakerPolicy }): Admission {
    const { admission, transition } = this.circuit(provider.id, provider.breaker).admit(Date.now());
    if (transition) this.#publish(provider, transition);
    return admission;
  }

  report(
    provider: { id: string; slug: string; breaker: BreakerPolicy },
    success: boolean,
    probe: boolean,
    reason: string,
  ): void {
    const transition = this.circuit(provider.id, provider.breaker).onResult(
      success,
      probe,
      reason,
      Date.now(),
    );
    if (transition) this.#publish(provider, transition);
  }

  trip(provider: { id: string; slug: string; breaker: BreakerPolicy }, reason: string): CircuitStatus {
    const circuit = this.circuit(provider.id, provider.breaker);
    const transition = circuit.trip(reason, Date.now());
    if (transition) this.#publish(provider, transition);
    return circuit.status;
  }

  reset(provider: { id: string; slug: string; breaker: BreakerPolicy }, reason: string): CircuitStatus {
    const circuit = this.circuit(provider.id, provider.breaker);
    const transition = circuit.reset(reason, Date.now());
    if (transition) this.#publish(provider, transition);
    return circuit.status;
  }

  #publish(provider: { id: string; slug: string }, transition: Transition): void {
    this.#logger.warn({ provider: provider.slug, ...transition }, 'circuit state changed');
    const event = this.#events.publish('circuit.changed', {
      providerId: provider.id,
      providerSlug: provider.slug,
      ...transition,
    });
    // Our own event comes back through the local bus; the circuit already is in that state.
    this.#published.add(event.id);
    // The latest transition is also kept in Redis, for replicas that start later.
    this.#gate
      ?.run('circuit snapshot', (redis) =>
        redis.set(`${SNAPSHOT_PREFIX}${provider.id}`, JSON.stringify(event), 'PX', SNAPSHOT_TTL_MS),
      )
      .catch((error: Error) => this.#logger.warn({ err: error.message }, 'circuit state not saved to redis'));
  }

  /** At start-up: adopt the circuit states other replicas left in Redis (no-op without Redis). */
  async restore(providerIds: string[]): Promise<number> {
    if (!this.#gate || providerIds.length === 0) return 0;
    let restored = 0;
    try {
      const values = await this.#gate.run('circuit restore', (redis) =>
        redis.mget(providerIds.map((id) => `${SNAPSHOT_PREFIX}${id}`)),
      );
      values.forEach((value, i) => {
        if (!value) return;
        const event = JSON.parse(value) as CircuitChangedEvent;
        if (event.to === 'CLOSED') return;
        this.circuit(providerIds[i]!, DEFAULT_POLICY, false).adopt(event);
        restored++;
      });
    } catch (error) {
      this.#logger.warn(
        { err: (error as Error).message },
        'could not read circuit states from redis; starting closed',
      );
    }
    return restored;
  }
}
