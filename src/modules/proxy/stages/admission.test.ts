import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../shared/logger.ts';
import type { BudgetEnforcer, ReservePlan } from '../../budgets/budget-enforcer.ts';
import type { ReserveOutcome } from '../../budgets/budget-ledger.ts';
import type { RateLimitPolicy } from '../../providers/provider.validation.ts';
import { type LimitDecision, RateLimits } from '../../resilience/rate-limits.ts';
import type { AdmissionDecision, AdmissionInput, AdmissionService } from '../admission.ts';
import { GatewayError } from '../proxy-errors.ts';
import { admission, takeAdmittedLimit } from './admission.ts';
import { fakeClient, fakeContext, fakeProvider } from './test-kit.ts';

const logger = createLogger('silent');
const policy = (points: number, mode: 'REJECT' | 'QUEUE' = 'REJECT'): RateLimitPolicy => ({
  points,
  periodMs: 60_000,
  burst: 0,
  mode,
  maxQueueWaitMs: 0,
  maxQueueSize: 10,
});
const decision = (allowed: boolean): LimitDecision => ({
  allowed,
  limit: 5,
  remaining: allowed ? 4 : 0,
  resetMs: 30_000,
  waitedMs: 0,
});

/** Budgets that apply to every call, a plan of one account, and a log of what was asked. */
function budgets() {
  const asked: string[] = [];
  const budget = { name: 'monthly', limitMicros: 1000 };
  const plan = {
    providerId: 'p',
    budgets: [budget],
    periods: [],
    accounts: [{ key: 'acct' }],
    seed: async () => 0,
  };
  const enforcer = {
    asked,
    mayApply: () => true,
    blocking: () => undefined,
    plan: () => plan as unknown as ReservePlan,
    conclude: (_plan: ReservePlan, outcome: ReserveOutcome) =>
      outcome.ok
        ? { ok: true, reservation: { hold: outcome.hold } }
        : { ok: false, budget, resetsAt: null, spentMicros: 1000, reservedMicros: 0 },
    reserve: async () => {
      asked.push('reserve');
      return { ok: true, reservation: { hold: 'step' } };
    },
    settle: () => undefined,
  };
  return enforcer as unknown as BudgetEnforcer & { asked: string[] };
}

/** An admission service that answers `answer` (undefined: Redis could not decide) and keeps what it was asked. */
function script(answer: AdmissionDecision | undefined) {
  const inputs: AdmissionInput[] = [];
  return {
    inputs,
    available: true,
    decide: async (input: AdmissionInput) => {
      inputs.push(input);
      return answer;
    },
  } as unknown as AdmissionService & { inputs: AdmissionInput[] };
}

const held: ReserveOutcome = {
  ok: true,
  figures: [{ spentMicros: 0, reservedMicros: 10 }],
  hold: { accounts: [], amountMicros: 10, id: 'h:10', local: false },
};

describe('admission stage', () => {
  it('asks the script once for the client limit, the holds and the provider limit, and keeps the provider decision for its attempt (taken once)', async () => {
    const provider = fakeProvider({ rateLimit: policy(5) });
    const ctx = fakeContext({ provider, client: fakeClient({ rateLimit: policy(3) }) });
    const limits = new RateLimits({ replicas: 1, logger });
    const admitted = script({ client: decision(true), provider: decision(true), holds: held });
    const enforcer = budgets();
    expect(await admission(ctx, { limits, budgets: enforcer, admission: admitted })).toBeUndefined();
    expect(admitted.inputs).toHaveLength(1);
    expect(admitted.inputs[0]).toMatchObject({
      client: { points: 3, steadyKey: expect.stringContaining('client:client-1') },
      provider: { points: 5, steadyKey: expect.stringContaining(`provider:${provider.id}`) },
      budget: { accounts: [{ key: 'acct' }] },
    });
    expect(enforcer.asked).toEqual([]);
    expect(ctx.outcome.reservation).toEqual({ hold: held.hold });
    expect(takeAdmittedLimit(ctx, 'another-provider')).toBeUndefined();
    expect(takeAdmittedLimit(ctx, provider.id)).toEqual(decision(true));
    expect(takeAdmittedLimit(ctx, provider.id)).toBeUndefined();
  });

  it('a client refusal is thrown with its headers; a budget refusal is returned (a fallback may serve)', async () => {
    const ctx = fakeContext({ client: fakeClient({ rateLimit: policy(3) }) });
    const limits = new RateLimits({ replicas: 1, logger });
    const refusal = await admission(ctx, {
      limits,
      budgets: budgets(),
      admission: script({ client: decision(false), provider: undefined, holds: undefined }),
    }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(GatewayError);
    expect(refusal).toMatchObject({ code: 'RATE_LIMITED', message: 'This client is over its rate limit.' });
    expect((refusal as GatewayError).headers).toMatchObject({
      'retry-after': '30',
      'ratelimit-remaining': '0',
    });

    const overBudget = await admission(fakeContext(), {
      limits,
      budgets: budgets(),
      admission: script({
        client: undefined,
        provider: undefined,
        holds: { ok: false, blockedAt: 0, figures: [{ spentMicros: 1000, reservedMicros: 0 }] },
      }),
    });
    expect(overBudget).toMatchObject({ code: 'BUDGET_EXCEEDED', details: { budget: 'monthly' } });
    expect(overBudget?.message).toContain('is spent');
  });

  it('decides step by step when Redis cannot (no script answer), and takes a QUEUE-mode client limit in this process before the script', async () => {
    const limits = new RateLimits({ replicas: 1, logger });
    const enforcer = budgets();
    const ctx = fakeContext({ client: fakeClient({ rateLimit: policy(1) }) });
    expect(await admission(ctx, { limits, budgets: enforcer, admission: script(undefined) })).toBeUndefined();
    expect(enforcer.asked).toEqual(['reserve']);
    expect(ctx.outcome.reservation).toEqual({ hold: 'step' });
    // The step-by-step client limit counted the call: the next one is refused.
    await expect(
      admission(fakeContext({ client: fakeClient({ rateLimit: policy(1) }) }), {
        limits,
        budgets: budgets(),
      }),
    ).rejects.toMatchObject({ code: 'RATE_LIMITED' });

    const queued = script({ client: undefined, provider: undefined, holds: held });
    const client = fakeClient({ id: 'queued', rateLimit: policy(1, 'QUEUE') });
    expect(
      await admission(fakeContext({ client }), { limits, budgets: budgets(), admission: queued }),
    ).toBeUndefined();
    expect(queued.inputs[0]?.client).toBeNull();
    expect(await limits.headroom('client:queued', client.rateLimit!)).toMatchObject({ remaining: 0 });
  });
});
