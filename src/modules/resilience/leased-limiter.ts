import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../../shared/logger.ts';
import { type RedisGate, RedisScriptError } from './shared-state.ts';

/**
 * Grants up to ARGV[1] points of a window of ARGV[2] points lasting ARGV[3] ms, never more than
 * the window has left; returns {granted, window's ms left}. ARGV[4] is the caller's deadline in
 * Redis time ('0' for none): a grant Redis gets to after its caller gave up changes nothing.
 */
const LEASE_SCRIPT = `
if ARGV[4] ~= '0' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if now > tonumber(ARGV[4]) then return redis.error_reply('LATE the caller gave up on this lease') end
end
redis.call('set', KEYS[1], 0, 'PX', ARGV[3], 'NX')
local used = tonumber(redis.call('get', KEYS[1]))
local granted = math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - used)
if granted < 0 then granted = 0 end
if granted > 0 then redis.call('incrby', KEYS[1], granted) end
local ttl = redis.call('pttl', KEYS[1])
if ttl < 0 then
  redis.call('pexpire', KEYS[1], ARGV[3])
  ttl = tonumber(ARGV[3])
end
return {granted, ttl}`;

type LeaseCommand = {
  tollgateLease(
    key: string,
    want: string,
    points: string,
    ms: string,
    deadline: string,
  ): Promise<[number, number]>;
};

/** What this replica holds of one key's window. */
interface Lease {
  /** Points granted and not yet used. */
  left: number;
  /** Local time (ms) at which the window ends: no later than Redis's end of it. */
  until: number;
  /** The next grant's size: doubles with each grant in the window, up to the limiter's cap. */
  next: number;
  /** Redis had nothing left for this window. */
  exhausted: boolean;
  /** A grant on its way: callers that find the lease empty wait for it instead of asking again. */
  pending: Promise<void> | undefined;
}

/** A refusal: when a call can succeed again. */
export interface LimitRefusal {
  msBeforeNext: number;
}

/**
 * A fixed-window limit of `points` per `durationMs` per key, shared by replicas through Redis,
 * that does not ask Redis on every call: each replica takes points from the window's counter in
 * leases (1, 2, 4, ... up to `maxLease` points a grant) and spends them locally. Redis never
 * grants more than the window has, so no more than `points` calls are admitted in a window across
 * all replicas, exactly; the cost is that a replica may hold up to `maxLease` points it does not
 * use while another is refused (at most replicas × maxLease calls refused early in a window).
 * While Redis is unavailable, an in-process limiter allows this replica's share (points ÷ replicas).
 */
export class LeasedLimiter {
  readonly points: number;
  readonly #gate: RedisGate;
  readonly #logger: Logger;
  readonly #keyPrefix: string;
  readonly #durationMs: number;
  readonly #maxLease: number;
  readonly #insurance: RateLimiterMemory;
  readonly #leases: LRUCache<string, Lease>;
  #lastBugLog = 0;

  constructor(options: {
    gate: RedisGate;
    logger: Logger;
    keyPrefix: string;
    points: number;
    durationMs: number;
    replicas: number;
    maxLease: number;
  }) {
    this.points = options.points;
    this.#gate = options.gate;
    this.#logger = options.logger;
    this.#keyPrefix = options.keyPrefix;
    this.#durationMs = Math.max(1, Math.round(options.durationMs));
    this.#maxLease = Math.max(1, Math.floor(options.maxLease));
    this.#insurance = new RateLimiterMemory({
      keyPrefix: `${options.keyPrefix}:ins`,
      points: Math.max(1, Math.floor(options.points / options.replicas)),
      duration: this.#durationMs / 1000,
    });
    // Bounded: a flood of distinct keys (anonymous addresses) forgets the oldest leases, whose
    // unused points are then only refused early, never granted twice.
    this.#leases = new LRUCache<string, Lease>({ max: 50_000 });
    options.gate.redis.defineCommand('tollgateLease', { numberOfKeys: 1, lua: LEASE_SCRIPT });
  }

  /** Takes one call from `key`'s allowance: undefined when admitted, else when to retry. */
  async consume(key: string): Promise<LimitRefusal | undefined> {
    for (;;) {
      const now = Date.now();
      let lease = this.#leases.get(key);
      // A lease whose window is over is replaced, unless a grant for it is on its way (a fresh
      // lease has no window until its first grant comes back).
      if (!lease || (lease.until <= now && !lease.pending)) {
        lease = { left: 0, until: 0, next: 1, exhausted: false, pending: undefined };
        this.#leases.set(key, lease);
      }
      if (lease.left > 0 && lease.until > now) {
        lease.left--;
        return undefined;
      }
      if (lease.exhausted && lease.until > now) return { msBeforeNext: Math.max(1, lease.until - now) };
      lease.pending ??= this.#grant(key, lease);
      try {
        await lease.pending;
      } catch {
        return this.#insured(key);
      }
    }
  }

  async #grant(key: string, lease: Lease): Promise<void> {
    const want = Math.min(lease.next, this.#maxLease);
    const sent = Date.now();
    try {
      const [granted, ttl] = await this.#gate.run('rate limit lease', (redis) =>
        (redis as unknown as LeaseCommand).tollgateLease(
          `${this.#keyPrefix}:${key}`,
          String(want),
          String(this.points),
          String(this.#durationMs),
          this.#gate.deadline(),
        ),
      );
      // Measured from the send: Redis's window ends no earlier than this.
      const until = sent + Number(ttl);
      if (lease.until === 0 || until > lease.until + this.#durationMs / 2) {
        // A new window (the old one ended while the grant travelled): nothing of it is left.
        lease.left = 0;
        lease.until = until;
      } else {
        lease.until = Math.min(lease.until, until);
      }
      lease.left += Number(granted);
      lease.exhausted = Number(granted) === 0;
      lease.next = Math.min(this.#maxLease, want * 2);
    } catch (error) {
      this.#reportBug(error);
      throw error;
    } finally {
      lease.pending = undefined;
    }
  }

  async #insured(key: string): Promise<LimitRefusal | undefined> {
    try {
      await this.#insurance.consume(key);
      return undefined;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return { msBeforeNext: Math.max(1, rejection.msBeforeNext) };
      throw rejection;
    }
  }

  #reportBug(error: unknown): void {
    if (!(error instanceof RedisScriptError)) return;
    const now = Date.now();
    if (now - this.#lastBugLog < 60_000) return;
    this.#lastBugLog = now;
    this.#logger.error(
      { err: error, script: error.script, keyPrefix: this.#keyPrefix },
      'rate limit lease script failed (a bug): this replica enforces its share of the limit meanwhile',
    );
  }
}

/** The largest lease: a tenth of a replica's share of the window, at most 100 points. */
export function leaseSizeFor(points: number, replicas: number): number {
  return Math.max(1, Math.min(100, Math.floor(points / (replicas * 10))));
}

/** One call per `consume`: undefined when admitted, else when to retry. */
export interface CallLimiter {
  consume(key: string): Promise<LimitRefusal | undefined>;
}

/**
 * `points` calls per `durationMs` per key: leased from Redis when a gate is given (see
 * LeasedLimiter), else counted in this process.
 */
export function createCallLimiter(options: {
  gate: RedisGate | undefined;
  logger: Logger;
  keyPrefix: string;
  points: number;
  durationMs: number;
  replicas: number;
}): CallLimiter {
  if (options.gate)
    return new LeasedLimiter({
      ...options,
      gate: options.gate,
      maxLease: leaseSizeFor(options.points, options.replicas),
    });
  const memory = new RateLimiterMemory({
    keyPrefix: options.keyPrefix,
    points: options.points,
    duration: options.durationMs / 1000,
  });
  return {
    async consume(key) {
      try {
        await memory.consume(key);
        return undefined;
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) return { msBeforeNext: Math.max(1, rejection.msBeforeNext) };
        throw rejection;
      }
    },
  };
}
