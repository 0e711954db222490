import type { Logger } from '../../shared/logger.ts';
import { type CircuitChangedEvent, type EventBus, stamp } from '../events/event-bus.ts';
import { type BreakerPolicy, breakerSchema } from '../providers/provider.validation.ts';
import {
  type Admission,
  type BreakerTarget,
  Circuit,
  type CircuitStatus,
  type Transition,
} from './circuit.ts';
import type { CircuitIsolation } from './circuit-isolation.entity.ts';
import type { CircuitIsolations } from './circuit-isolations.ts';
import { type CircuitStore, RedisCircuitStore } from './circuit-store.ts';
import type { RedisGate } from './shared-state.ts';

export type { Admission, BreakerTarget, CircuitStatus } from './circuit.ts';

const DEFAULT_POLICY = breakerSchema.parse({});
/** Beyond the probe's own deadline, so a slot outlives its call but not a replica that died in it. */
const PROBE_SLOT_MARGIN_MS = 1_000;
/** What a caller refused because another replica is probing is told to wait. */
const PROBE_BUSY_RETRY_MS = 1_000;

/** Told of every transition made here (to publish it); another replica's come back through `adopt`. */
export type CircuitTransitionHook = (event: CircuitChangedEvent) => void;

/**
 * The circuits of all providers. Every transition is logged and handed to `onTransition` (the
 * event bus, wired by `createCircuitRegistry`); other replicas `adopt` it, so when one replica
 * opens a provider's circuit the rest stop sending to it as soon as the event arrives. With a
 * shared store (Redis), a half-open circuit's probe slot is claimed there, so the cluster sends
 * one probe at a time, not one per replica, and good probes are counted there, so
 * `successThreshold` of them close it wherever they ran. An operator's trip is kept in
 * PostgreSQL (when `isolations` is given): restored on start and re-read every refresh
 * interval, so a restart or an empty Redis does not lift it.
 */
export class CircuitRegistry {
  readonly #circuits = new Map<string, Circuit>();
  readonly #logger: Logger;
  readonly #onTransition: CircuitTransitionHook;
  readonly #stops: (() => void)[] = [];
  readonly #published = new Set<string>();
  readonly #store: CircuitStore | undefined;
  readonly #isolations: CircuitIsolations | undefined;
  /** The probe slot this replica holds, by provider id (one local probe at a time). */
  readonly #probeTokens = new Map<string, string>();
  /** Bumped by every trip or reset seen here: an isolation read that predates one is stale. */
  #changes = 0;
  #syncTimer: NodeJS.Timeout | undefined;

  constructor(deps: {
    logger: Logger;
    onTransition?: CircuitTransitionHook;
    store?: CircuitStore;
    isolations?: CircuitIsolations;
  }) {
    this.#logger = deps.logger;
    this.#onTransition = deps.onTransition ?? (() => undefined);
    this.#store = deps.store;
    this.#isolations = deps.isolations;
  }

  /** A transition another replica made (its event); our own, coming back, is ignored. */
  adopt(event: CircuitChangedEvent): void {
    if (this.#published.delete(event.id)) return;
    this.#changes++;
    // The policy is refreshed from the provider on this replica's next call.
    this.circuit(event.providerId, DEFAULT_POLICY, false).adopt(event);
  }

  /** Runs `stop` when the registry stops (the bus subscription of `createCircuitRegistry`). */
  onStop(stop: () => void): void {
    this.#stops.push(stop);
  }

  /** Re-reads the operators' trips every `intervalMs`, for a trip or reset whose event was lost. */
  start(intervalMs: number): void {
    this.#syncTimer = setInterval(() => void this.syncIsolations(), intervalMs);
    this.#syncTimer.unref();
  }

  stop(): void {
    clearInterval(this.#syncTimer);
    for (const stop of this.#stops.splice(0)) stop();
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
    if (!admission.ok || !admission.probe || !this.#store) return admission;
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
    const event = stamp({ providerId: provider.id, providerSlug: provider.slug, ...transition });
    // Our own event comes back through the local bus; the circuit already is in that state.
    this.#published.add(event.id);
    this.#onTransition(event);
    // The latest transition is also kept in the store, for replicas that start later.
    this.#store
      ?.saveSnapshot(event)
      .catch((error: Error) => this.#logger.warn({ err: error.message }, 'circuit state not saved to redis'));
  }

  /** Claims the cluster's probe slot; true when this replica may probe. */
  async #claimProbeSlot(provider: BreakerTarget): Promise<boolean> {
    try {
      const token = await this.#store!.claimProbe(provider.id, provider.timeoutMs + PROBE_SLOT_MARGIN_MS);
      if (token === null) return false;
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
      count = await this.#store!.countGoodProbe(provider.id, token, provider.breaker.successThreshold);
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
    if (!token || !this.#store) return;
    this.#probeTokens.delete(providerId);
    this.#store.endProbe(providerId, token, holdMs).catch((error: Error) =>
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
    if (!this.#store || providerIds.length === 0) return 0;
    let restored = 0;
    try {
      const events = await this.#store.loadSnapshots(providerIds);
      events.forEach((event, i) => {
        if (!event) return;
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

/**
 * The registry as the gateway runs it: transitions published on the event bus (and adopted from
 * it), shared state in Redis through the gate when there is one.
 */
export function createCircuitRegistry(deps: {
  events: EventBus;
  logger: Logger;
  gate?: RedisGate;
  isolations?: CircuitIsolations;
}): CircuitRegistry {
  const registry = new CircuitRegistry({
    logger: deps.logger,
    store: deps.gate ? new RedisCircuitStore(deps.gate) : undefined,
    isolations: deps.isolations,
    onTransition: (event) => deps.events.publish('circuit.changed', event),
  });
  registry.onStop(deps.events.listen('circuit.changed', (event) => registry.adopt(event)));
  return registry;
}
