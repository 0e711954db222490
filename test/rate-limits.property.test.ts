import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { BudgetLedger } from '../src/modules/budgets/budget-ledger.ts';
import type { RateLimitPolicy } from '../src/modules/providers/provider.validation.ts';
import { AdmissionService } from '../src/modules/proxy/admission.ts';
import { type LimitDecision, RateLimits } from '../src/modules/resilience/rate-limits.ts';
import { RedisGate } from '../src/modules/resilience/shared-state.ts';
import { createLogger } from '../src/shared/logger.ts';
import { createRedis } from '../src/shared/redis.ts';

/**
 * Properties of the rate limits (fast-check): a limit of `points` per period plus a `burst`
 * allowance never admits more than points + burst in a window, and never refuses a call that its
 * buckets still had room for. In-process on a fake clock against a model of the two buckets; over
 * a real Redis shared by several replicas, with their calls interleaved.
 */

const logger = createLogger('silent');
let runs = 0;
const policyOf = (points: number, periodMs: number, burst: number): RateLimitPolicy => ({
  points,
  periodMs,
  burst,
  mode: 'REJECT',
  maxQueueWaitMs: 0,
  maxQueueSize: 0,
});

/**
 * The documented behaviour, as a model: a bucket's window opens with the first call after the
 * previous window closed and lasts one period (the burst bucket's, ten); every call counts in
 * the steady bucket, and one the steady bucket cannot take counts in the burst bucket.
 */
class Model {
  steady = { end: Number.NEGATIVE_INFINITY, used: 0 };
  burst = { end: Number.NEGATIVE_INFINITY, used: 0 };
  readonly policy: RateLimitPolicy;
  constructor(policy: RateLimitPolicy) {
    this.policy = policy;
  }

  take(now: number): { allowed: boolean; remaining: number } {
    const { points, periodMs, burst } = this.policy;
    if (now >= this.steady.end) this.steady = { end: now + periodMs, used: 0 };
    this.steady.used++;
    const burstLeft = () => (now >= this.burst.end ? burst : Math.max(0, burst - this.burst.used));
    if (this.steady.used <= points)
      return { allowed: true, remaining: points - this.steady.used + burstLeft() };
    if (burst === 0) return { allowed: false, remaining: 0 };
    if (now >= this.burst.end) this.burst = { end: now + 10 * periodMs, used: 0 };
    this.burst.used++;
    return this.burst.used <= burst
      ? { allowed: true, remaining: burst - this.burst.used }
      : { allowed: false, remaining: 0 };
  }
}

describe('rate limits: properties', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('in-process, fake clock: decides every call as the two-bucket model does, so no steady window admits more than points + burst', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(100, 200, 500, 1000),
        fc.integer({ min: 0, max: 4 }),
        // Gaps between calls, in ms: bursts of calls at one instant and pauses past a window.
        fc.array(
          fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 3000 })),
          {
            maxLength: 60,
          },
        ),
        async (points, periodMs, burst, gaps) => {
          const policy = policyOf(points, periodMs, burst);
          const limits = new RateLimits({ replicas: 1, logger });
          const model = new Model(policy);
          const scope = `property:${runs++}`;
          // Admitted calls per steady window (the model's), to state the headline bound directly,
          // and the burst windows whose allowance those calls used. A burst window lasts ten
          // periods from its first use, so one steady window can straddle a burst renewal and take
          // the burst twice (the known gap at the end of this file): the bound is points + burst
          // per burst window used, at most points + 2 × burst.
          const perWindow = new Map<number, number>();
          const burstWindows = new Map<number, Set<number>>();
          for (const gap of gaps) {
            vi.advanceTimersByTime(gap);
            const now = Date.now();
            const decision = await limits.acquire(scope, policy);
            const expected = model.take(now);
            expect({ at: now, allowed: decision.allowed }).toEqual({ at: now, allowed: expected.allowed });
            expect(decision.remaining).toBe(expected.remaining);
            expect(decision.limit).toBe(points + burst);
            if (decision.allowed) {
              perWindow.set(model.steady.end, (perWindow.get(model.steady.end) ?? 0) + 1);
              const used = burstWindows.get(model.steady.end) ?? new Set<number>();
              if (model.steady.used > points) used.add(model.burst.end);
              burstWindows.set(model.steady.end, used);
            }
          }
          for (const [end, admitted] of perWindow) {
            const renewals = Math.max(1, burstWindows.get(end)?.size ?? 0);
            expect(admitted).toBeLessThanOrEqual(points + burst * renewals);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  describe('over a real Redis shared by several replicas', () => {
    const replicas: { gate: RedisGate; limits: RateLimits; admission: AdmissionService }[] = [];
    beforeAll(async () => {
      const url = inject('redisUrl');
      if (!url) return;
      for (let i = 0; i < 3; i++) {
        const redis = createRedis(url);
        redis.on('error', () => undefined);
        await redis.connect();
        const gate = new RedisGate({ redis, logger });
        await gate.start();
        replicas.push({
          gate,
          limits: new RateLimits({ gate, replicas: 3, logger }),
          admission: new AdmissionService({ gate, ledger: new BudgetLedger({ gate, logger }), logger }),
        });
      }
    });
    afterAll(() => {
      for (const { gate } of replicas) {
        gate.stop();
        gate.redis.disconnect();
      }
    });

    /**
     * One call through the proxy's admission script, the limit in the client's place or the
     * provider's (with a client limit that always admits before it); or step by step
     * (`RateLimits.acquire`, as a fallback provider's limit is taken). All share the counters.
     */
    async function take(
      replica: (typeof replicas)[number],
      scope: string,
      policy: RateLimitPolicy,
      via: 'client' | 'provider' | 'acquire',
    ): Promise<LimitDecision> {
      if (via === 'acquire') return replica.limits.acquire(scope, policy);
      const limit = replica.limits.shared(scope, policy);
      const roomy = replica.limits.shared(`${scope}:roomy`, policyOf(1000, 60_000, 0));
      const decided = await replica.admission.decide(
        via === 'client'
          ? { client: limit, provider: null, budget: null }
          : { client: roomy, provider: limit, budget: null },
      );
      expect(decided, 'the admission script decided').toBeDefined();
      return via === 'client' ? decided!.client! : decided!.provider!;
    }
    const viaArb = fc.constantFrom('client' as const, 'provider' as const, 'acquire' as const);

    it.skipIf(!inject('redisUrl'))(
      "the admission script decides every call of a window as the two-bucket model does (allowed, remaining), whether it holds the limit as the client's or the provider's, mixed with step-by-step calls",
      async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 8 }),
            fc.integer({ min: 0, max: 4 }),
            fc.array(viaArb, { minLength: 1, maxLength: 20 }),
            async (points, burst, calls) => {
              // A window far longer than the test: every call falls in the first one.
              const policy = policyOf(points, 60_000, burst);
              const scope = `property:admission:${process.pid}:${runs++}`;
              const model = new Model(policy);
              for (const via of calls) {
                const decision = await take(replicas[0]!, scope, policy, via);
                const expected = model.take(0);
                expect({ via, allowed: decision.allowed, remaining: decision.remaining }).toEqual({
                  via,
                  ...expected,
                });
                expect(decision.limit).toBe(points + burst);
                if (!decision.allowed) expect(decision.resetMs).toBeGreaterThan(0);
              }
            },
          ),
          { numRuns: 60 },
        );
      },
    );

    it.skipIf(!inject('redisUrl'))(
      'calls from three replicas through the admission script and step by step, racing in any order, admit exactly min(calls, points + burst) in one window',
      async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 12 }),
            fc.integer({ min: 0, max: 6 }),
            fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), viaArb), { maxLength: 12 }), {
              minLength: 1,
              maxLength: 4,
            }),
            async (points, burst, waves) => {
              const policy = policyOf(points, 60_000, burst);
              const scope = `property:admission:redis:${process.pid}:${runs++}`;
              let admitted = 0;
              let calls = 0;
              for (const wave of waves) {
                const decisions = await Promise.all(
                  wave.map(([replica, via]) => take(replicas[replica]!, scope, policy, via)),
                );
                calls += wave.length;
                admitted += decisions.filter((d) => d.allowed).length;
                expect(admitted).toBe(Math.min(calls, points + burst));
              }
              for (const { gate } of replicas) expect(gate.degraded).toBe(false);
            },
          ),
          { numRuns: 60 },
        );
      },
    );

    it.skipIf(!inject('redisUrl'))(
      'calls from three replicas, interleaved in any order, admit exactly min(calls, points + burst) in one window',
      async () => {
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 12 }),
            fc.integer({ min: 0, max: 6 }),
            // Waves of calls; the calls of a wave race each other, each from one of the replicas.
            fc.array(fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 12 }), {
              minLength: 1,
              maxLength: 4,
            }),
            async (points, burst, waves) => {
              // A window far longer than the test: every call falls in the first one.
              const policy = policyOf(points, 60_000, burst);
              const scope = `property:redis:${process.pid}:${runs++}`;
              let admitted = 0;
              let calls = 0;
              for (const wave of waves) {
                const decisions = await Promise.all(
                  wave.map((replica) => replicas[replica]!.limits.acquire(scope, policy)),
                );
                calls += wave.length;
                admitted += decisions.filter((d) => d.allowed).length;
                // After each wave: never over the limit, never under what was asked of it.
                expect(admitted).toBe(Math.min(calls, points + burst));
              }
              for (const { gate } of replicas) expect(gate.degraded).toBe(false);
            },
          ),
          { numRuns: 60 },
        );
      },
    );
  });
});

// Known gap (issue 18 asks for "never more than points + burst in any window"): a steady window
// that straddles the renewal of the ten-period burst window admits the burst twice. Found by the
// property above (seed -1883957957, counterexample points 1, period 200 ms, burst 2). Kept as an
// expected failure until the burst allowance is reworked: fixing it turns this red, and it then
// becomes a plain test (and the property's bound goes back to points + burst).
describe('rate limits: known gap', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it.fails('a steady window across a burst renewal admits no more than points + burst', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const limits = new RateLimits({ replicas: 1, logger });
    const scope = `known-gap:${runs++}`;
    const start = Date.now();
    const admittedAt: number[] = [];
    for (const gap of [1, 0, 1827, 129, 44, 0]) {
      vi.advanceTimersByTime(gap);
      if ((await limits.acquire(scope, policyOf(1, 200, 2))).allowed) admittedAt.push(Date.now() - start);
    }
    // The steady window that opens at 1,828 ms runs to 2,028 ms; the burst window renews at 2,001.
    expect(admittedAt.filter((at) => at >= 1828 && at < 2028).length).toBeLessThanOrEqual(3);
  });
});
