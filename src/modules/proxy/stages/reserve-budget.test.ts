import { describe, expect, it } from 'vitest';
import type { BudgetEnforcer } from '../../budgets/budget-enforcer.ts';
import { StreamedBody } from '../request-body.ts';
import { releaseBudget, reserveBudget } from './reserve-budget.ts';
import { fakeContext, fakeProvider } from './test-kit.ts';

function budgets(answer: 'ok' | 'spent' | 'short', blocking = false) {
  const settled: [unknown, number][] = [];
  const budget = { name: 'monthly', limitMicros: 1000 };
  const enforcer = {
    settled,
    mayApply: () => true,
    blocking: () => (blocking ? budget : undefined),
    reserve: async () =>
      answer === 'ok'
        ? { ok: true, reservation: { hold: 'h1' } }
        : {
            ok: false,
            budget,
            resetsAt: new Date('2030-01-01T00:00:00Z'),
            spentMicros: answer === 'spent' ? 1000 : 900,
            reservedMicros: 50,
          },
    settle: (reservation: unknown, micros: number) => settled.push([reservation, micros]),
  };
  return enforcer as unknown as BudgetEnforcer & { settled: [unknown, number][] };
}

describe('reserve budget stage', () => {
  it('holds the estimate and releases it for the next provider tried', async () => {
    const enforcer = budgets('ok');
    const ctx = fakeContext();
    expect(await reserveBudget(ctx, ctx.request.provider, enforcer)).toBeUndefined();
    expect(ctx.outcome.reservation).toEqual({ hold: 'h1' });
    releaseBudget(ctx, enforcer);
    expect(ctx.outcome.reservation).toBeNull();
    expect(enforcer.settled.at(-1)).toEqual([{ hold: 'h1' }, 0]);
  });

  it('returns (does not throw) a refusal that says spent or short, with the reset time', async () => {
    const ctx = fakeContext();
    const spent = await reserveBudget(ctx, ctx.request.provider, budgets('spent'));
    expect(spent).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      details: { budget: 'monthly', resetsAt: '2030-01-01T00:00:00.000Z' },
    });
    expect(spent?.message).toContain('is spent');
    const short = await reserveBudget(ctx, ctx.request.provider, budgets('short'));
    expect(short?.message).toContain('cannot cover this call');
  });

  it('refuses a body too large to price under a blocking budget', async () => {
    const provider = fakeProvider({
      pricing: { models: [{ model: 'm', inputPerMillionMicros: 1, outputPerMillionMicros: 1 }] },
    });
    const body = new StreamedBody([], (async function* () {})(), 10);
    const ctx = fakeContext({ provider, body });
    expect(await reserveBudget(ctx, provider, budgets('ok', true))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
  });
});
