import { randomUUID } from 'node:crypto';
import type { CircuitChangedEvent } from '../events/event-bus.ts';
import type { RedisGate } from './shared-state.ts';

const SNAPSHOT_PREFIX = 'tollgate:circuit:';
const SNAPSHOT_TTL_MS = 24 * 3600 * 1000;
/** The cluster's half-open probe slot of a provider: held by one replica's probe call at a time. */
const PROBE_PREFIX = 'tollgate:circuit-probe:';
/** Good probes in the current half-open spell, for the whole cluster. */
const PROBE_COUNT_PREFIX = 'tollgate:circuit-probe-ok:';
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

/**
 * Where circuits share state across replicas: the latest transition (for replicas that start
 * later), and the cluster's half-open probe slot and good-probe count. Every method may throw
 * when the store is unreachable; the registry then decides locally.
 */
export interface CircuitStore {
  saveSnapshot(event: CircuitChangedEvent): Promise<void>;
  loadSnapshots(providerIds: string[]): Promise<(CircuitChangedEvent | null)[]>;
  /** Claims the probe slot for `holdMs`; the token that owns it, or null when another holds it. */
  claimProbe(providerId: string, holdMs: number): Promise<string | null>;
  /** Counts a good probe (freeing the slot); the cluster's count, 0 when the slot was not ours. */
  countGoodProbe(providerId: string, token: string, threshold: number): Promise<number>;
  /** Frees the slot, or keeps it taken for `holdMs` after a failed probe. */
  endProbe(providerId: string, token: string, holdMs: number): Promise<void>;
}

/** The circuit store in Redis, through the shared-state gate (so a frozen Redis costs nothing). */
export class RedisCircuitStore implements CircuitStore {
  readonly #gate: RedisGate;

  constructor(gate: RedisGate) {
    this.#gate = gate;
  }

  async saveSnapshot(event: CircuitChangedEvent): Promise<void> {
    await this.#gate.run('circuit snapshot', (redis) =>
      redis.set(`${SNAPSHOT_PREFIX}${event.providerId}`, JSON.stringify(event), 'PX', SNAPSHOT_TTL_MS),
    );
  }

  async loadSnapshots(providerIds: string[]): Promise<(CircuitChangedEvent | null)[]> {
    const values = await this.#gate.run('circuit restore', (redis) =>
      redis.mget(providerIds.map((id) => `${SNAPSHOT_PREFIX}${id}`)),
    );
    return values.map((value) => (value ? (JSON.parse(value) as CircuitChangedEvent) : null));
  }

  async claimProbe(providerId: string, holdMs: number): Promise<string | null> {
    const token = randomUUID();
    const claimed = await this.#gate.run('circuit probe slot', (redis) =>
      redis.set(`${PROBE_PREFIX}${providerId}`, token, 'PX', holdMs, 'NX'),
    );
    return claimed === null ? null : token;
  }

  async countGoodProbe(providerId: string, token: string, threshold: number): Promise<number> {
    return Number(
      await this.#gate.run('circuit good probe', (redis) =>
        redis.eval(
          GOOD_PROBE_SCRIPT,
          2,
          `${PROBE_PREFIX}${providerId}`,
          `${PROBE_COUNT_PREFIX}${providerId}`,
          token,
          PROBE_COUNT_TTL_MS,
          threshold,
        ),
      ),
    );
  }

  async endProbe(providerId: string, token: string, holdMs: number): Promise<void> {
    await this.#gate.run('circuit probe end', (redis) =>
      redis.eval(
        END_PROBE_SCRIPT,
        2,
        `${PROBE_PREFIX}${providerId}`,
        `${PROBE_COUNT_PREFIX}${providerId}`,
        token,
        holdMs,
      ),
    );
  }
}
