/**
 * Stage 2, admission: the client's rate limit, the budget holds and the first provider's rate
 * limit, between admit and route. With Redis answering, one script decides all three (one round
 * trip: see ../admission.ts); the provider's decision is kept for the attempt stage, which takes
 * it instead of asking again. Without Redis, or when Redis cannot decide this call (unavailable,
 * frozen, a script bug), the call is decided step by step: reserve budget, then client limit
 * (stages/reserve-budget.ts, stages/client-limit.ts), whose limits and ledger fall back to this
 * replica's share as they always have; the provider's limit is then taken by the attempt stage.
 *
 * A budget refusal is returned, not thrown: a fallback provider whose budgets allow the call may
 * still serve it. A client refusal is thrown (RATE_LIMITED), as by the client-limit stage.
 */
import type { BudgetEnforcer, ReservePlan } from '../../budgets/budget-enforcer.ts';
import type { LimitDecision, RateLimits } from '../../resilience/rate-limits.ts';
import type { AdmissionDecision, AdmissionInput, AdmissionService } from '../admission.ts';
import type { CallContext } from '../call-context.ts';
import type { GatewayError } from '../proxy-errors.ts';
import { clientLimit, limited } from './client-limit.ts';
import { budgetHold, budgetRefusal, reserveBudget } from './reserve-budget.ts';

export interface AdmissionDeps {
  limits: RateLimits;
  budgets: BudgetEnforcer;
  /** Present with Redis. */
  admission?: AdmissionService;
}

/** What the script is asked, and what this process decides before it (a QUEUE-mode client limit). */
interface SharedPlan {
  input: AdmissionInput;
  budgets: ReservePlan | null;
  estimateMicros: number;
  /** The client's limit queues: it waits in this process, before the script. */
  queuedClient: boolean;
}

export async function admission(ctx: CallContext, deps: AdmissionDeps): Promise<GatewayError | undefined> {
  const plan = deps.admission?.available ? sharedPlan(ctx, deps) : undefined;
  if (!plan) return stepByStep(ctx, deps, true);
  if (plan.queuedClient) await clientLimit(ctx, deps.limits);
  const decided = await deps.admission!.decide(plan.input);
  if (!decided) return stepByStep(ctx, deps, !plan.queuedClient);
  return apply(ctx, decided, plan, deps.budgets);
}

/** As without Redis: the budget holds, then the client's limit (the provider's, in attempt). */
async function stepByStep(
  ctx: CallContext,
  deps: AdmissionDeps,
  withClient: boolean,
): Promise<GatewayError | undefined> {
  const overBudget = await reserveBudget(ctx, ctx.request.provider, deps.budgets);
  if (withClient) await clientLimit(ctx, deps.limits);
  return overBudget;
}

/** What the script decides for this call; undefined when there is nothing for it to decide. */
function sharedPlan(ctx: CallContext, deps: AdmissionDeps): SharedPlan | undefined {
  const { client, provider } = ctx.request;
  const hold = budgetHold(ctx, provider, deps.budgets);
  // A body too large to estimate under a blocking budget: refused step by step, as always.
  if (hold && 'refusal' in hold) return undefined;
  const budgetPlan = hold ? deps.budgets.plan(client.id, provider.id) : null;
  const clientShared = client.rateLimit ? deps.limits.shared(`client:${client.id}`, client.rateLimit) : null;
  // A disabled provider is refused by the attempt stage before its limit is taken.
  const providerShared =
    provider.enabled && provider.rateLimit
      ? deps.limits.shared(`provider:${provider.id}`, provider.rateLimit)
      : null;
  if (!clientShared && !providerShared && !budgetPlan) return undefined;
  return {
    input: {
      client: clientShared,
      provider: providerShared,
      budget:
        budgetPlan && hold
          ? {
              accounts: budgetPlan.accounts,
              amountMicros: hold.estimateMicros,
              holdMs: hold.holdMs,
              seed: budgetPlan.seed,
            }
          : null,
    },
    budgets: budgetPlan,
    estimateMicros: hold ? hold.estimateMicros : 0,
    queuedClient: client.rateLimit !== null && clientShared === null,
  };
}

function apply(
  ctx: CallContext,
  decided: AdmissionDecision,
  plan: SharedPlan,
  budgets: BudgetEnforcer,
): GatewayError | undefined {
  if (decided.client && !decided.client.allowed) {
    throw limited(decided.client, 'This client is over its rate limit.');
  }
  if (decided.holds && plan.budgets) {
    const result = budgets.conclude(plan.budgets, decided.holds);
    if (!result.ok) return budgetRefusal(result, plan.estimateMicros);
    ctx.outcome.reservation = result.reservation;
  }
  if (decided.provider) {
    ctx.outcome.admittedLimit = { providerId: ctx.request.provider.id, decision: decided.provider };
  }
  return undefined;
}

/** The provider's limit as admission decided it, taken once (by the attempt on that provider). */
export function takeAdmittedLimit(ctx: CallContext, providerId: string): LimitDecision | undefined {
  const admitted = ctx.outcome.admittedLimit;
  if (admitted?.providerId !== providerId) return undefined;
  ctx.outcome.admittedLimit = undefined;
  return admitted.decision;
}
