import { describe, expect, it } from 'vitest';
import type { BudgetEnforcer } from '../../budgets/budget-enforcer.ts';
import type { ProviderCache } from '../../providers/provider-cache.ts';
import type { UsageRecorder } from '../../usage/usage-recorder.ts';
import type { UsageRecord } from '../../usage/usage-rows.ts';
import { CallOutcome } from '../call-context.ts';
import { settle } from './settle.ts';
import { fakeProvider } from './test-kit.ts';

function deps() {
  const records: UsageRecord[] = [];
  const settled: number[] = [];
  return {
    records,
    settled,
    budgets: { settle: (_r: unknown, micros: number) => settled.push(micros) } as unknown as BudgetEnforcer,
    usage: { record: (r: UsageRecord) => records.push(r) } as unknown as UsageRecorder,
    providers: { bySlug: () => undefined } as unknown as ProviderCache,
  };
}

const call = {
  requestId: 'r1',
  started: performance.now(),
  method: 'GET',
  path: '/proxy/p/v1/items/123',
  req: {} as never,
};

describe('meter and settle stage', () => {
  it('prices an answered call at the serving provider\u2019s prices and settles the hold at that cost', () => {
    const d = deps();
    const provider = fakeProvider({ pricing: { perRequestMicros: 7 } });
    const outcome = new CallOutcome();
    Object.assign(outcome, {
      provider,
      servedBy: provider,
      answeredBy: provider,
      status: 200,
      attempts: 1,
      restPath: '/v1/items/123',
    });
    settle(call, outcome, undefined, d);
    expect(d.settled).toEqual([7]);
    expect(d.records[0]).toMatchObject({
      requestId: 'r1',
      costMicros: 7,
      pathTemplate: '/v1/items/:id',
      status: 200,
      attempts: 1,
    });
  });

  it('records a refusal at no cost, with the provider slug read from the path', () => {
    const d = deps();
    const outcome = new CallOutcome();
    Object.assign(outcome, { status: 401, outcome: 'UNAUTHENTICATED' });
    settle(call, outcome, undefined, d);
    expect(d.settled).toEqual([0]);
    expect(d.records[0]).toMatchObject({
      providerSlug: 'p',
      costMicros: null,
      upstreamMs: null,
      outcome: 'UNAUTHENTICATED',
    });
  });
});
