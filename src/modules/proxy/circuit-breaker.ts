import { randomUUID } from 'node:crypto';
import type { Logger } from '../../shared/logger.ts';
import type { RedisGate } from '../../shared/redis-gate.ts';
import type { CircuitChangedEvent, CircuitStateName, EventBus } from '../events/event-bus.ts';
import { type BreakerPolicy, breakerSchema } from '../providers/provider.validation.ts';
import type { CircuitIsolation } from './circuit-isolation.entity.ts';
import type { CircuitIsolations } from './circuit-isolations.ts';

const DEFAULT_POLICY = breakerSchema.parse({});
const SNAPSHOT_PREFIX = 'tollgate:circuit:';
const SNAPSHOT_TTL_MS = 24 * 3600 * 1000;
/** The cluster's half-open probe slot of a provider: held by one replica's probe call at a time. */
const PROBE_PREFIX = 'tollgate:circuit-probe:';
/** Good probes in the current half-open spell, for the whole cluster. */
const PROBE_COUNT_PREFIX = 'tollgate:circuit-probe-ok:';
/** Beyond the probe's own deadline, so a slot outlives its call but not a replica that died in it. */
const PROBE_SLOT_MARGIN_MS = 1_000;
/** What a caller refused because another replica is probing is told to wait. */
const PROBE_BUSY_RETRY_MS = 1_000;
/** Good probes counted for the whole cluster during one half-open spell (refreshed by each). */
const PROBE_COUNT_TTL_MS = 5 * 60_000;
/**
 * Ends a probe that got no good answer, if the slot is still this probe's (it may have expired
 * and been claimed again). After a failed probe the slot stays taken until the re-opened
 * circuit's next probe time (ARGV[2] ms), so that no replica that has not yet heard of the
 * re-opening sends another probe meanwhile, and the good-probe count starts again. ARGV[2] = 0
 * (a probe abandoned by its caller) just frees the slot.
 */
const END_PROBE_SCRIPT = `
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
local hold = tonumber(ARGV[2])
if hold > 0 then
  redis.call('set', KEYS[1], 'reopened', 'PX', hold)
  redis.call('del', KEYS[2])
else
  redis.call('del', KEYS[1])
end
return 1`;
/**
 * A good probe: frees the slot for the next one and counts it for the cluster. Returns the
 * count (the replica whose probe reaches the success threshold closes the circuit), or 0 when
 * the slot was no longer this probe's.
 */
const GOOD_PROBE_SCRIPT = `
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('del', KEYS[1])
local n = redis.call('incr', KEYS[2])
if n >= tonumber(ARGV[3]) then redis.call('del', KEYS[2]) else redis.call('pexpire', KEYS[2], ARGV[2]) end
return n`;

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
 * sending to it as soon as the event arrives. With Redis, a half-open circuit's probe slot is
 * claimed in Redis, so the cluster sends one probe at a time, not one per replica, and good
 * probes are counted there, so `successThreshold` of them close it wherever they ran. An
 * operator's trip is kept in PostgreSQL (when `isolations` is given): restored on start and
 * re-read every refresh interval, so a restart or an empty Redis does not lift it.
 */
export class Breakers {
  readonly #circuits = new Map<string, Circuit>();
  readonly #events: EventBus;
  readonly #logger: Logger;
  readonly #stopListening: () => void;
  readonly #published = new Set<string>();
  readonly #gate: RedisGate | undefined;
  readonly #isolations: CircuitIsolations | undefined;
  /** The probe slot this replica holds, by provider id (one local probe at a time). */
  readonly #probeTokens = new Map<string, string>();
  /** Bumped by every trip or reset seen here: an isolation read that predates one is stale. */
  #changes = 0;
  #syncTimer: NodeJS.Timeout | undefined;

  constructor(deps: { events: EventBus; logger: Logger; gate?: RedisGate; isolations?: CircuitIsolations }) {
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#gate = deps.gate;
    this.#isolations = deps.isolations;
    this.#stopListening = deps.events.listen('circuit.changed', (event) => {
      if (this.#published.delete(event.id)) return;
      this.#changes++;
      // The policy is refreshed from the provider on this replica's next call.
      this.circuit(event.providerId, DEFAULT_POLICY, false).adopt(event);
    });
  }

  /** Re-reads the operators' trips every `intervalMs`, for a trip or reset whose event was lost. */
  start(intervalMs: number): void {
    this.#syncTimer = setInterval(() => void this.syncIsolations(), intervalMs);
    this.#syncTimer.unref();
  }

  stop(): void {
    clearInterval(this.#syncTimer);
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

  /** Whether a call may go now; a probe (`probe: true`) must end with `report` or `abandon`. */
  async admit(provider: BreakerTarget): Promise<Admission> {
    const circuit = this.circuit(provider.id, provider.breaker);
    const { admission, transition } = circuit.admit(Date.now());
    if (transition) this.#publish(provider, transition);
    if (!admission.ok || !admission.probe || !this.#gate) return admission;
    if (await this.#claimProbeSlot(provider)) return admission;
    circuit.abandonProbe();
    return { ok: false, held: false, retryAfterMs: PROBE_BUSY_RETRY_MS };
  }

  report(provider: BreakerTarget, success: boolean, probe: boolean, reason: string): void {
    const circuit = this.circuit(provider.id, provider.breaker);
    const token = probe ? this.#probeTokens.get(provider.id) : undefined;
    if (token && success) {
      // Good probes are counted for the cluster: the one that reaches the threshold closes it.
      circuit.abandonProbe();
      this.#probeTokens.delete(provider.id);
      void this.#countGoodProbe(provider, circuit, token);
      return;
    }
    const transition = circuit.onResult(success, probe, reason, Date.now());
    if (transition) this.#publish(provider, transition);
    if (probe) {
      const { state, nextProbeAt } = circuit.status;
      // A failed probe re-opened the circuit: the slot stays taken until its next probe time.
      const holdMs = !success && state === 'OPEN' && nextProbeAt ? Math.max(0, nextProbeAt - Date.now()) : 0;
      this.#endProbe(provider.id, Math.round(holdMs));
    }
  }

  /** A probe call that ended without an outcome (the caller left before the upstream answered). */
  abandon(provider: BreakerTarget): void {
    this.circuit(provider.id, provider.breaker).abandonProbe();
    this.#endProbe(provider.id, 0);
  }

  /**
   * An operator's trip: recorded in PostgreSQL first (so that it outlives restarts and an empty
   * Redis), then applied here and announced to the other replicas.
   */
  async trip(provider: BreakerTarget, reason: string, by: string): Promise<CircuitStatus> {
    const now = Date.now();
    await this.#isolations?.save({
      providerId: provider.id,
      reason,
      trippedBy: by,
      trippedAt: new Date(now),
    });
    this.#changes++;
    const circuit = this.circuit(provider.id, provider.breaker);
    const transition = circuit.trip(reason, now);
    if (transition) this.#publish(provider, transition);
    return circuit.status;
  }

  async reset(provider: BreakerTarget, reason: string): Promise<CircuitStatus> {
    await this.#isolations?.remove(provider.id);
    this.#changes++;
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

  /** Claims the cluster's probe slot; true when this replica may probe. */
  async #claimProbeSlot(provider: BreakerTarget): Promise<boolean> {
    const token = randomUUID();
    try {
      const claimed = await this.#gate!.run('circuit probe slot', (redis) =>
        redis.set(
          `${PROBE_PREFIX}${provider.id}`,
          token,
          'PX',
          provider.timeoutMs + PROBE_SLOT_MARGIN_MS,
          'NX',
        ),
      );
      if (claimed === null) return false;
      this.#probeTokens.set(provider.id, token);
      return true;
    } catch (error) {
      // Redis is unavailable: each replica probes on its own, as it would without Redis.
      this.#logger.warn(
        { provider: provider.slug, err: (error as Error).message },
        'half-open probe slot not claimed in redis; probing from this replica alone',
      );
      return true;
    }
  }

  async #countGoodProbe(provider: BreakerTarget, circuit: Circuit, token: string): Promise<void> {
    let count: number;
    try {
      count = Number(
        await this.#gate!.run('circuit good probe', (redis) =>
          redis.eval(
            GOOD_PROBE_SCRIPT,
            2,
            `${PROBE_PREFIX}${provider.id}`,
            `${PROBE_COUNT_PREFIX}${provider.id}`,
            token,
            PROBE_COUNT_TTL_MS,
            provider.breaker.successThreshold,
          ),
        ),
      );
    } catch (error) {
      this.#logger.warn(
        { provider: provider.slug, err: (error as Error).message },
        'good probe not counted in redis; counted on this replica',
      );
      count = circuit.countGoodProbe();
    }
    const transition = circuit.closeAfterProbes(count, Date.now());
    if (transition) this.#publish(provider, transition);
  }

  #endProbe(providerId: string, holdMs: number): void {
    const token = this.#probeTokens.get(providerId);
    if (!token || !this.#gate) return;
    this.#probeTokens.delete(providerId);
    this.#gate
      .run('circuit probe end', (redis) =>
        redis.eval(
          END_PROBE_SCRIPT,
          2,
          `${PROBE_PREFIX}${providerId}`,
          `${PROBE_COUNT_PREFIX}${providerId}`,
          token,
          holdMs,
        ),
      )
      .catch((error: Error) =>
        // The slot then frees itself when its time runs out.
        this.#logger.warn({ err: error.message }, 'half-open probe slot not released in redis'),
      );
  }

  /**
   * At start-up: adopt the circuit states other replicas left in Redis, then the operators'
   * trips from PostgreSQL, which decide whether a circuit is ISOLATED (a trip recorded only in
   * Redis is not restored: a reset made while Redis was away would otherwise be undone).
   */
  async restore(providerIds: string[]): Promise<number> {
    return (await this.#restoreFromRedis(providerIds)) + (await this.syncIsolations());
  }

  async #restoreFromRedis(providerIds: string[]): Promise<number> {
    if (!this.#gate || providerIds.length === 0) return 0;
    let restored = 0;
    try {
      const values = await this.#gate.run('circuit restore', (redis) =>
        redis.mget(providerIds.map((id) => `${SNAPSHOT_PREFIX}${id}`)),
      );
      values.forEach((value, i) => {
        if (!value) return;
        const event = JSON.parse(value) as CircuitChangedEvent;
        if (event.to === 'CLOSED' || (event.to === 'ISOLATED' && this.#isolations)) return;
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

  /**
   * Makes this replica's ISOLATED circuits match the trips recorded in PostgreSQL: a trip or a
   * reset it did not hear of (its event was lost with Redis) is applied here. Returns how many
   * circuits changed.
   */
  async syncIsolations(): Promise<number> {
    if (!this.#isolations) return 0;
    const changesBefore = this.#changes;
    let rows: CircuitIsolation[];
    try {
      rows = await this.#isolations.list();
    } catch (error) {
      this.#logger.warn({ err: (error as Error).message }, 'could not read circuit isolations; keeping ours');
      return 0;
    }
    // A trip or reset arrived while we read: what we read may predate it; the next round decides.
    if (this.#changes !== changesBefore) return 0;
    const held = new Set(rows.map((row) => row.providerId));
    let changed = 0;
    for (const row of rows) {
      if (this.circuit(row.providerId, DEFAULT_POLICY, false).trip(row.reason, row.trippedAt.getTime()))
        changed++;
    }
    for (const [providerId, circuit] of this.#circuits) {
      if (circuit.status.state === 'ISOLATED' && !held.has(providerId)) {
        circuit.reset('reset by an operator (read from the database)', Date.now());
        changed++;
      }
    }
    if (changed > 0) this.#logger.info({ circuits: changed }, 'circuit isolations applied from the database');
    return changed;
  }
}
