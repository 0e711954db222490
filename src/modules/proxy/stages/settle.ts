/**
 * Stage 7, meter and settle: every call, answered or refused, ends here once. The budget hold
 * is settled at the call's real cost, one usage event is buffered, and the trace is closed.
 */
import type { BudgetEnforcer } from '../../budgets/budget-enforcer.ts';
import type { ProviderCache } from '../../providers/provider-cache.ts';
import { priceCall } from '../../usage/pricing.ts';
import type { UsageRecorder } from '../../usage/usage-recorder.ts';
import type { CallOutcome, CallStart } from '../call-context.ts';
import { pathTemplate, round } from '../path-template.ts';
import type { CallTrace } from '../proxy-tracing.ts';
import { parsePathLoose } from './admit.ts';

export interface SettleDeps {
  budgets: BudgetEnforcer;
  usage: UsageRecorder;
  providers: ProviderCache;
}

export function settle(
  call: CallStart,
  outcome: CallOutcome,
  trace: CallTrace | undefined,
  deps: SettleDeps,
): void {
  const totalMs = performance.now() - call.started;
  const cost = price(outcome);
  deps.budgets.settle(outcome.reservation, cost.costMicros ?? 0);
  // Calls refused before the provider was resolved (no client key...) still belong to it.
  const provider = outcome.provider ?? deps.providers.bySlug(parsePathLoose(call.path));
  deps.usage.record({
    requestId: call.requestId,
    providerId: provider?.id ?? null,
    providerSlug: provider?.slug ?? parsePathLoose(call.path),
    servedByProviderId: outcome.servedBy?.id ?? null,
    keyId: outcome.keyId,
    clientId: outcome.client?.id ?? null,
    method: call.method.slice(0, 16),
    pathTemplate: pathTemplate(outcome.restPath ?? (call.path.replace(/^\/proxy\/[^/]*/, '') || '/')),
    status: outcome.status,
    outcome: outcome.outcome,
    attempts: outcome.attempts,
    fallback: outcome.fallback,
    totalMs: round(totalMs),
    upstreamMs: outcome.attempts > 0 ? round(outcome.upstreamMs) : null,
    requestBytes: outcome.requestBytes,
    responseBytes: outcome.responseBytes,
    model: outcome.tokens.model,
    promptTokens: outcome.tokens.promptTokens,
    completionTokens: outcome.tokens.completionTokens,
    cachedTokens: outcome.tokens.cachedTokens,
    ...cost,
  });
  trace?.end({
    status: outcome.status,
    outcome: outcome.outcome,
    attempts: outcome.attempts,
    fallback: outcome.fallback,
    clientId: outcome.client?.id,
  });
}

/**
 * Calls that got a successful upstream answer (status below 400) are priced at the serving
 * provider's prices; failures, refusals and Tollgate's own answers cost nothing.
 */
function price(outcome: CallOutcome): { costMicros: number | null; pricedWithoutTokens: boolean } {
  if (!outcome.answeredBy || outcome.status >= 400) return { costMicros: null, pricedWithoutTokens: false };
  return priceCall(outcome.answeredBy.pricing, outcome.tokens);
}
