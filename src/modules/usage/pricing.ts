import type { Pricing } from '../providers/provider.validation.ts';

export interface CallTokens {
  model: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  cachedTokens: number | null;
}

export interface CallPrice {
  /** Integer micro-units of the provider's currency. */
  costMicros: number;
  /** True when the provider prices by model but the call carried no token counts. */
  pricedWithoutTokens: boolean;
}

const MILLION = 1_000_000n;

/**
 * What one call cost: the per-request price plus, for a model with a price table, its tokens at
 * the per-million prices (cached input tokens at their own price when one is set). Integer
 * arithmetic throughout (BigInt, rounded up to the next micro-unit): money is never a float.
 */
export function priceCall(pricing: Pricing, tokens: CallTokens): CallPrice {
  let micros = BigInt(pricing.perRequestMicros);
  const table = tokens.model ? pricing.models.find((m) => m.model === tokens.model) : undefined;
  const hasTokens = tokens.promptTokens !== null || tokens.completionTokens !== null;
  if (table && hasTokens) {
    const prompt = BigInt(tokens.promptTokens ?? 0);
    const cached = BigInt(Math.min(tokens.cachedTokens ?? 0, tokens.promptTokens ?? 0));
    const completion = BigInt(tokens.completionTokens ?? 0);
    const cachedPrice = BigInt(table.cachedInputPerMillionMicros ?? table.inputPerMillionMicros);
    const perMillion =
      (prompt - cached) * BigInt(table.inputPerMillionMicros) +
      cached * cachedPrice +
      completion * BigInt(table.outputPerMillionMicros);
    micros += (perMillion + MILLION - 1n) / MILLION;
  }
  return {
    costMicros: Number(micros),
    pricedWithoutTokens: pricing.models.length > 0 && !hasTokens,
  };
}
