import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../../shared/logger.ts';
import type { RateLimitPolicy } from '../providers/provider.validation.ts';
import { createSharedLimiter, type SharedLimiter } from './limiter.ts';
import type { RedisGate } from './shared-state.ts';

export interface LimitDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the window resets (and, when refused, until a retry can succeed). */
  resetMs: number;
  /** Time spent waiting in QUEUE mode. */
  waitedMs: number;
}

/** A limit's Redis keys and window sizes, for a script that takes from it (see `RateLimits.shared`). */
export interface SharedLimit {
  steadyKey: string;
  burstKey: string;
  points: number;
  periodMs: number;
  burst: number;
  burstMs: number;
}

/** A limit's name in its store: a changed policy starts new windows. */
const limitId = (scope: string, policy: RateLimitPolicy) =>
  `${scope}:${policy.points}/${policy.periodMs}+${policy.burst}`;

/** Burst allowance refills over this many periods (DESIGN.md: "calls per period plus burst"). */
const BURST_WINDOW_PERIODS = 10;

type Limiter = SharedLimiter;

/**
 * A limit as calls per period plus a burst allowance: the steady bucket serves first, the burst
 * bucket (refilling over BURST_WINDOW_PERIODS periods) when the steady one is empty. Unlike
 * rate-limiter-flexible's BurstyRateLimiter, it says how many calls both buckets still admit.
 */
interface Pair {
  steady: Limiter;
  burst: Limiter | undefined;
}

/** A FIFO of callers waiting for a limiter (QUEUE mode), bounded in length and in wait. */
class WaitQueue {
  #tail: Promise<unknown> = Promise.resolve();
  size = 0;

  async acquire(
    take: () => Promise<LimitDecision>,
    maxWaitMs: number,
    maxSize: number,
  ): Promise<LimitDecision> {
    if (this.size >= maxSize) return { ...(await take()), waitedMs: 0 };
    this.size++;
    const started = Date.now();
    const turn = this.#tail.then(async () => {
      for (;;) {
        const decision = await take();
        const waited = Date.now() - started;
        if (decision.allowed) return { ...decision, waitedMs: waited };
        if (waited + decision.resetMs > maxWaitMs) return { ...decision, waitedMs: waited };
        await new Promise((r) => setTimeout(r, decision.resetMs));
      }
    });
    this.#tail = turn.catch(() => undefined);
    try {
      return await turn;
    } finally {
      this.size--;
    }
  }
}

/**
 * Rate limits for providers and clients, with rate-limiter-flexible. With Redis, one atomic
 * counter per limit is shared by every replica; if Redis fails or stalls, an in-process
 * insurance limiter with this replica's share (limit ÷ replicas) takes over: after one command
 * timeout, since the Redis gate sends nothing more until Redis answers again, and increments
 * that ran late (Redis woke up) count for nothing. Without Redis the limits
 * are in-process, exact for one replica.
 */
export class RateLimits {
  readonly #gate: RedisGate | undefined;
  readonly #replicas: number;
  readonly #limiters = new Map<string, Pair>();
  readonly #scopes = new Map<string, { policy: RateLimitPolicy; id: string; limiter: Pair }>();
  readonly #queues = new Map<string, WaitQueue>();
  readonly #logger: Logger;

  constructor(deps: { gate?: RedisGate; replicas: number; logger: Logger }) {
    this.#gate = deps.gate;
    this.#replicas = deps.replicas;
    this.#logger = deps.logger;
  }

  /** True while the shared (Redis) limits are unavailable and the per-replica share applies. */
  get degraded(): boolean {
    return this.#gate?.degraded ?? false;
  }

  /**
   * Takes one call from the limit named `scope` (e.g. `provider:<id>`). REJECT mode answers at
   * once; QUEUE mode waits in FIFO order up to the policy's maximum wait.
   */
  acquire(scope: string, policy: RateLimitPolicy): Promise<LimitDecision> {
    // The limiter of a scope is looked up once per policy (this runs on every proxied call).
    let entry = this.#scopes.get(scope);
    if (entry?.policy !== policy) {
      const id = limitId(scope, policy);
      entry = { policy, id, limiter: this.#limiter(id, policy) };
      this.#scopes.set(scope, entry);
    }
    const { id, limiter } = entry;
    if (policy.mode === 'QUEUE') {
      let queue = this.#queues.get(id);
      if (!queue) {
        queue = new WaitQueue();
        this.#queues.set(id, queue);
      }
      return queue.acquire(() => this.#take(limiter, id, policy), policy.maxQueueWaitMs, policy.maxQueueSize);
    }
    return this.#take(limiter, id, policy);
  }

  /**
   * Takes one call from the steady bucket, else from the burst bucket. `remaining` counts what
   * both buckets still admit (so it matches `limit` = points + burst), `resetMs` is when the
   * steady bucket refills (the soonest more calls are admitted).
   */
  async #take(limiter: Pair, key: string, policy: RateLimitPolicy): Promise<LimitDecision> {
    const limit = policy.points + policy.burst;
    const { steady, burst } = limiter;
    try {
      let steadyRes: RateLimiterRes;
      try {
        steadyRes = await steady.consume(key, 1);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes) || !burst) throw rejection;
        // The steady bucket is empty: the call is served from the burst allowance, if any is left.
        try {
          const burstRes = await burst.consume(key, 1);
          return {
            allowed: true,
            limit,
            remaining: Math.max(burstRes.remainingPoints, 0),
            resetMs: rejection.msBeforeNext,
            waitedMs: 0,
          };
        } catch (burstRejection) {
          if (burstRejection instanceof RateLimiterRes) {
            throw new RateLimiterRes(0, Math.min(rejection.msBeforeNext, burstRejection.msBeforeNext));
          }
          throw burstRejection;
        }
      }
      return {
        allowed: true,
        limit,
        remaining: Math.max(steadyRes.remainingPoints, 0) + (burst ? await this.#burstLeft(burst, key) : 0),
        resetMs: steadyRes.msBeforeNext,
        waitedMs: 0,
      };
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) {
        return {
          allowed: false,
          limit,
          remaining: 0,
          resetMs: Math.max(rejection.msBeforeNext, 1),
          waitedMs: 0,
        };
      }
      // Both the store and the insurance failed: fail open for this one call, loudly.
      this.#logger.error({ err: rejection, scope: key }, 'rate limiter failed; allowing the call');
      return { allowed: true, limit, remaining: 0, resetMs: policy.periodMs, waitedMs: 0 };
    }
  }

  /**
   * For a script that takes from a limit itself (the proxy's admission decides a call's limits
   * and budget holds in one evaluation): the Redis keys of its steady and burst windows, and
   * their sizes. Null for a limit the script cannot decide: QUEUE mode waits in this process.
   */
  shared(scope: string, policy: RateLimitPolicy): SharedLimit | null {
    if (policy.mode === 'QUEUE') return null;
    const id = limitId(scope, policy);
    // rate-limiter-flexible's key: its prefix (see #limiter), a colon, the key consumed (the id).
    return {
      steadyKey: `tg:rl:${id}:${id}`,
      burstKey: `tg:rl:${id}:burst:${id}`,
      points: policy.points,
      periodMs: policy.periodMs,
      burst: policy.burst,
      burstMs: policy.periodMs * BURST_WINDOW_PERIODS,
    };
  }

  /**
   * What the limit named `scope` still admits now, without taking from it (read by the console's
   * overview): the same `limit`, `remaining` and `resetMs` a call's RateLimit-* headers carry.
   * Null when the store cannot be read.
   */
  async headroom(
    scope: string,
    policy: RateLimitPolicy,
  ): Promise<{ limit: number; remaining: number; resetMs: number } | null> {
    const id = limitId(scope, policy);
    const { steady, burst } = this.#limiter(id, policy);
    try {
      const res = await steady.get(id);
      const steadyLeft = res ? Math.max(policy.points - res.consumedPoints, 0) : policy.points;
      return {
        limit: policy.points + policy.burst,
        remaining: steadyLeft + (burst ? await this.#burstLeft(burst, id) : 0),
        resetMs: res ? Math.max(res.msBeforeNext, 0) : 0,
      };
    } catch {
      return null;
    }
  }

  /** What the burst bucket still admits (all of it when untouched); 0 when it cannot be read. */
  async #burstLeft(burst: Limiter, key: string): Promise<number> {
    try {
      const res = await burst.get(key);
      return res ? Math.max(burst.points - res.consumedPoints, 0) : burst.points;
    } catch {
      return 0;
    }
  }

  #limiter(id: string, policy: RateLimitPolicy): Pair {
    let limiter = this.#limiters.get(id);
    if (limiter) return limiter;
    limiter = {
      steady: this.#build(`tg:rl:${id}`, policy.points, policy.periodMs),
      burst:
        policy.burst > 0
          ? this.#build(`tg:rl:${id}:burst`, policy.burst, policy.periodMs * BURST_WINDOW_PERIODS)
          : undefined,
    };
    this.#limiters.set(id, limiter);
    return limiter;
  }

  #build(keyPrefix: string, points: number, periodMs: number): Limiter {
    return createSharedLimiter({
      gate: this.#gate,
      logger: this.#logger,
      keyPrefix,
      points,
      durationMs: periodMs,
      replicas: this.#replicas,
    });
  }
}

/** The RateLimit-* headers of a decision, appended to a flat [name, value, ...] header list. */
export function pushRateLimitHeaders(headers: (string | string[])[], decision: LimitDecision): void {
  headers.push(
    'ratelimit-limit',
    String(decision.limit),
    'ratelimit-remaining',
    String(decision.remaining),
    'ratelimit-reset',
    String(Math.ceil(decision.resetMs / 1000)),
  );
  if (!decision.allowed) headers.push('retry-after', String(Math.max(1, Math.ceil(decision.resetMs / 1000))));
}

/** RateLimit-* and Retry-After headers for a decision (draft-ietf-httpapi-ratelimit-headers). */
export function rateLimitHeaders(decision: LimitDecision): Record<string, string> {
  const list: string[] = [];
  pushRateLimitHeaders(list, decision);
  const headers: Record<string, string> = {};
  for (let i = 0; i < list.length; i += 2) headers[list[i] as string] = list[i + 1] as string;
  return headers;
}
