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

/**
 * What to reserve against budgets before a call. For a priced model whose request states
 * `max_tokens` (or `max_completion_tokens`), the most the call can cost: every byte of the
 * request counted as an input token (a token is at least one byte, so this is an upper bound)
 * plus the stated maximum of output tokens. Otherwise the provider's configured estimate, or
 * its per-request price.
 */
export function estimateCallCost(pricing: Pricing, request: Buffer | null): number {
  const fallback = pricing.estimateMicros ?? pricing.perRequestMicros;
  if (pricing.models.length === 0 || !request || request.length === 0 || request[0] !== 0x7b) return fallback;
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.toString('utf8'));
  } catch {
    return fallback;
  }
  const body = parsed as { model?: unknown; max_tokens?: unknown; max_completion_tokens?: unknown };
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const table = pricing.models.find((m) => m.model === body.model);
  if (!table || typeof maxTokens !== 'number' || !Number.isSafeInteger(maxTokens) || maxTokens < 0) {
    return fallback;
  }
  const perMillion =
    BigInt(request.length) * BigInt(table.inputPerMillionMicros) +
    BigInt(maxTokens) * BigInt(table.outputPerMillionMicros);
  return Number(BigInt(pricing.perRequestMicros) + (perMillion + MILLION - 1n) / MILLION);
}
