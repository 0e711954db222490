/**
 * Stage 2, reserve budget: holds the call's estimated cost against every budget that applies to
 * the provider about to be tried (a fallback gets its own hold, the previous one released).
 * A refusal is returned, not thrown: a provider over budget may still be replaced by a fallback
 * whose budgets allow the call.
 */
import type { BudgetEnforcer, ReserveResult } from '../../budgets/budget-enforcer.ts';
import type { Provider } from '../../providers/provider.entity.ts';
import { estimateCallCost } from '../../usage/pricing.ts';
import type { CallContext } from '../call-context.ts';
import { GatewayError } from '../proxy-errors.ts';
import { REPLAY_LIMIT, StreamedBody } from '../request-body.ts';

/** A hold outlives the call's deadline by this much; one never settled (replica lost) lapses then. */
const HOLD_MARGIN_MS = 60_000;

export async function reserveBudget(
  ctx: CallContext,
  provider: Provider,
  budgets: BudgetEnforcer,
): Promise<GatewayError | undefined> {
  releaseBudget(ctx, budgets);
  const hold = budgetHold(ctx, provider, budgets);
  if (!hold) return undefined;
  if ('refusal' in hold) return hold.refusal;
  const { client } = ctx.request;
  const result = await budgets.reserve(client.id, provider.id, hold.estimateMicros, hold.holdMs);
  if (result.ok) {
    ctx.outcome.reservation = result.reservation;
    return undefined;
  }
  return budgetRefusal(result, hold.estimateMicros);
}

/** What to hold on `provider`'s budgets for this call. */
export type BudgetHold = { refusal: GatewayError } | { estimateMicros: number; holdMs: number };

/**
 * What this call would hold on the budgets of `provider`: undefined when none may apply, a
 * refusal when the body is too large to estimate under a blocking budget.
 */
export function budgetHold(
  ctx: CallContext,
  provider: Provider,
  budgets: BudgetEnforcer,
): BudgetHold | undefined {
  const { client, body } = ctx.request;
  if (!budgets.mayApply(client.id, provider.id)) return undefined;
  // A body too large to buffer cannot be read for max_tokens: under a blocking budget the
  // reservation would not bound what the call may cost, so the call is refused instead.
  const blocking =
    body instanceof StreamedBody && provider.pricing.models.length > 0
      ? budgets.blocking(client.id, provider.id)
      : undefined;
  if (blocking) {
    return {
      refusal: new GatewayError(
        'PAYLOAD_TOO_LARGE',
        `The request body is over ${REPLAY_LIMIT} bytes, too large to check against budget "${blocking.name}" (which blocks): send at most ${REPLAY_LIMIT} bytes.`,
        { details: { budget: blocking.name, limitBytes: REPLAY_LIMIT } },
      ),
    };
  }
  return {
    estimateMicros: estimateCallCost(provider.pricing, body instanceof Buffer ? body : null),
    holdMs: provider.timeoutMs + HOLD_MARGIN_MS,
  };
}

/** The refusal of a budget that cannot take this call's estimate (BUDGET_EXCEEDED). */
export function budgetRefusal(result: ReserveResult & { ok: false }, estimateMicros: number): GatewayError {
  const { budget, resetsAt, spentMicros, reservedMicros } = result;
  const until = resetsAt ? ` until ${resetsAt.toISOString()}` : '';
  const left = Math.max(0, budget.limitMicros - spentMicros - reservedMicros);
  // Spent, or not spent but short of this call's estimate: the caller should know which.
  const message =
    spentMicros >= budget.limitMicros
      ? `Budget "${budget.name}" is spent${until}.`
      : `Budget "${budget.name}" cannot cover this call${until}: its estimated cost (${estimateMicros} micro-units) is more than what is left (${left}, calls in flight included).`;
  return new GatewayError('BUDGET_EXCEEDED', message, {
    retryAfterMs: resetsAt ? resetsAt.getTime() - Date.now() : undefined,
    details: { budget: budget.name, resetsAt: resetsAt?.toISOString() ?? null },
  });
}

/** Releases what is held for the provider tried so far (Tollgate's own answers cost nothing). */
export function releaseBudget(ctx: CallContext, budgets: BudgetEnforcer): void {
  budgets.settle(ctx.outcome.reservation, 0);
  ctx.outcome.reservation = null;
}
