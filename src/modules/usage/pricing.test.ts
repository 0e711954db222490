import { describe, expect, it } from 'vitest';
import { pricingSchema } from '../providers/provider.validation.ts';
import { estimateCallCost, priceCall } from './pricing.ts';

const pricing = pricingSchema.parse({
  perRequestMicros: 100,
  models: [
    {
      model: 'gpt-test',
      inputPerMillionMicros: 2_500_000,
      outputPerMillionMicros: 10_000_000,
      cachedInputPerMillionMicros: 1_250_000,
    },
    { model: 'cheap', inputPerMillionMicros: 1, outputPerMillionMicros: 1 },
  ],
});
const none = { model: null, promptTokens: null, completionTokens: null, cachedTokens: null };

describe('priceCall', () => {
  it('adds token prices per million to the request price, in integer micro-units', () => {
    // 12 prompt tokens at $2.50/M = 30 µ$, 3 completion at $10/M = 30 µ$, plus 100 µ$ per request.
    expect(
      priceCall(pricing, { model: 'gpt-test', promptTokens: 12, completionTokens: 3, cachedTokens: null }),
    ).toEqual({
      costMicros: 160,
      pricedWithoutTokens: false,
    });
  });

  it('prices cached input tokens at their own rate', () => {
    // 1,000,000 prompt of which 400,000 cached: 600k × 2.5 + 400k × 1.25 = 2,000,000 µ$.
    expect(
      priceCall(pricing, {
        model: 'gpt-test',
        promptTokens: 1_000_000,
        completionTokens: 0,
        cachedTokens: 400_000,
      }).costMicros,
    ).toBe(2_000_100);
  });

  it('rounds fractions of a micro-unit up, never to a float', () => {
    const price = priceCall(pricing, {
      model: 'cheap',
      promptTokens: 1,
      completionTokens: 1,
      cachedTokens: null,
    });
    expect(price.costMicros).toBe(101);
    expect(Number.isInteger(price.costMicros)).toBe(true);
  });

  it('falls back to the request price, and says so, when a call carries no token data', () => {
    expect(priceCall(pricing, { ...none, model: 'gpt-test' })).toEqual({
      costMicros: 100,
      pricedWithoutTokens: true,
    });
    expect(priceCall(pricingSchema.parse({ perRequestMicros: 7 }), none)).toEqual({
      costMicros: 7,
      pricedWithoutTokens: false,
    });
  });

  it('handles token counts far beyond 2^53 micro-units without losing precision', () => {
    const huge = priceCall(pricing, {
      model: 'gpt-test',
      promptTokens: 4_000_000_000,
      completionTokens: 4_000_000_000,
      cachedTokens: 0,
    });
    expect(huge.costMicros).toBe(100 + 10_000_000_000 + 40_000_000_000);
  });
});

describe('estimateCallCost', () => {
  const request = (body: unknown) => Buffer.from(JSON.stringify(body));

  it('reserves the most a model call can cost when the request states max_tokens', () => {
    const body = request({
      model: 'gpt-test',
      max_tokens: 1000,
      messages: [{ role: 'user', content: 'hi' }],
    });
    // Every request byte as an input token at $2.50/M, 1000 output tokens at $10/M, plus the request price.
    const expected = 100 + Math.ceil((body.length * 2_500_000 + 1000 * 10_000_000) / 1_000_000);
    expect(estimateCallCost(pricing, body)).toBe(expected);
    expect(
      estimateCallCost(pricing, request({ model: 'gpt-test', max_completion_tokens: 10 })),
    ).toBeGreaterThan(100);
  });

  it('falls back to the configured estimate, then the request price', () => {
    const withEstimate = pricingSchema.parse({ ...pricing, estimateMicros: 5000 });
    expect(estimateCallCost(withEstimate, request({ model: 'gpt-test' }))).toBe(5000);
    expect(estimateCallCost(withEstimate, request({ model: 'unknown', max_tokens: 5 }))).toBe(5000);
    expect(estimateCallCost(withEstimate, Buffer.from('not json'))).toBe(5000);
    expect(estimateCallCost(pricing, null)).toBe(100);
    expect(estimateCallCost(pricing, request({ model: 'gpt-test', max_tokens: -3 }))).toBe(100);
  });
});
