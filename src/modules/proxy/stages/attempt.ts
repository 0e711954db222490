/**
 * Stage 5, attempt: one provider's part of the call. The provider must be enabled, within its
 * rate limit (the first provider's was taken by admission, with Redis; a fallback's is taken
 * here, a further round trip), have a bulkhead slot and a circuit that admits the call; then keys are tried under
 * one deadline, with retries (see key-attempts.ts). The slot is held until the answer's body
 * has been sent (UpstreamResult.release).
 */
import { TaskCancelledError } from 'cockatiel';
import type { KeyRefusals } from '../../keys/key-refusals.ts';
import type { KeyRing } from '../../keys/key-ring.ts';
import type { Provider } from '../../providers/provider.entity.ts';
import { BulkheadFullError, type ReleaseSlot } from '../../resilience/bulkhead.ts';
import type { CircuitRegistry } from '../../resilience/circuit-registry.ts';
import { Deadline } from '../../resilience/deadline.ts';
import type { RateLimits } from '../../resilience/rate-limits.ts';
import { mayRetryCall } from '../../resilience/retry-policy.ts';
import type { UpstreamAgents } from '../../upstream/upstream-agents.ts';
import type { CallContext, UpstreamResult } from '../call-context.ts';
import { pathTemplate } from '../path-template.ts';
import { GatewayError } from '../proxy-errors.ts';
import type { ProxyState } from '../proxy-state.ts';
import { StreamedBody } from '../request-body.ts';
import { takeAdmittedLimit } from './admission.ts';
import { limited } from './client-limit.ts';
import { type AttemptRun, tryKeys } from './key-attempts.ts';

export interface AttemptDeps {
  limits: RateLimits;
  breakers: CircuitRegistry;
  keyRing: KeyRing;
  refusals: KeyRefusals;
  agents: UpstreamAgents;
  state: ProxyState;
}

export async function attempt(
  ctx: CallContext,
  provider: Provider,
  deps: AttemptDeps,
): Promise<UpstreamResult> {
  if (!provider.enabled)
    throw new GatewayError('PROVIDER_DISABLED', `Provider "${provider.slug}" is disabled.`);
  if (provider.rateLimit) {
    const decision =
      takeAdmittedLimit(ctx, provider.id) ??
      (await deps.limits.acquire(`provider:${provider.id}`, provider.rateLimit));
    ctx.outcome.limit = decision;
    if (!decision.allowed) throw limited(decision, `Provider "${provider.slug}" is at its rate limit.`);
  }
  const deadline = startDeadline(ctx, provider.timeoutMs);
  const release = await enterBulkhead(ctx, provider, deadline, deps);
  let result: UpstreamResult | undefined;
  try {
    const probe = await admitByBreaker(provider, deps.breakers);
    result = await runAttempts(ctx, provider, deadline, probe, deps);
    return { ...result, release };
  } finally {
    if (!result) release();
  }
}

async function runAttempts(
  ctx: CallContext,
  provider: Provider,
  deadline: Deadline,
  probe: boolean,
  deps: AttemptDeps,
): Promise<UpstreamResult> {
  const { body, method, rest } = ctx.request;
  // A streamed body can be sent once only: no retries, no second key.
  const replayable = !(body instanceof StreamedBody);
  const budget = deps.state.retryBudgets.for(provider.id, provider.retry.budgetPercent);
  budget.onRequest();
  const run: AttemptRun = {
    ctx,
    provider,
    deadline,
    replayable,
    retryable: mayRetryCall(method, replayable, provider.retry),
    budget,
    failedKeys: new Set(),
    judge: deps.refusals.judge(provider, { method, pathTemplate: pathTemplate(rest) }, replayable),
    probe,
  };
  try {
    return await tryKeys(run, deps);
  } finally {
    run.judge.end();
    // A probe that ended without an outcome (the caller left) must not hold the half-open slot.
    if (run.probe) deps.breakers.abandon(provider);
  }
}

/** Whether the circuit lets the call go; true when it goes as the half-open probe. */
async function admitByBreaker(provider: Provider, breakers: CircuitRegistry): Promise<boolean> {
  const admission = await breakers.admit(provider);
  if (admission.ok) return admission.probe;
  // An operator's trip holds until a reset: no retry time is promised, since none would be kept.
  if (admission.held) {
    throw new GatewayError(
      'CIRCUIT_OPEN',
      `The circuit for "${provider.slug}" was opened by an operator and stays open until it is reset.`,
      { retryable: false, details: { circuit: 'ISOLATED' } },
    );
  }
  throw new GatewayError('CIRCUIT_OPEN', `The circuit for "${provider.slug}" is open.`, {
    retryAfterMs: admission.retryAfterMs,
  });
}

/** Retry-After for a caller the bulkhead refused: a slot is likely free by then. */
const SATURATED_RETRY_MS = 1_000;

/** A slot of the provider's bulkhead, waiting briefly in its queue if need be. */
async function enterBulkhead(
  ctx: CallContext,
  provider: Provider,
  deadline: Deadline,
  deps: AttemptDeps,
): Promise<ReleaseSlot> {
  const signal = () => AbortSignal.any([deadline.signal, ctx.life.signal]);
  try {
    const release = await deps.state.bulkheads.enter(provider.id, provider.bulkhead, signal);
    ctx.life.onEnd(release);
    return release;
  } catch (error) {
    if (error instanceof BulkheadFullError) {
      throw new GatewayError(
        'PROVIDER_SATURATED',
        `"${provider.slug}" has ${provider.bulkhead.maxConcurrent} calls in flight and no room to wait (${error.message}).`,
        { retryAfterMs: SATURATED_RETRY_MS },
      );
    }
    if (error instanceof TaskCancelledError) {
      if (ctx.life.gone) throw new GatewayError('UPSTREAM_UNAVAILABLE', 'The caller went away.');
      throw new GatewayError(
        'UPSTREAM_TIMEOUT',
        `No slot for "${provider.slug}" freed within ${provider.timeoutMs} ms.`,
      );
    }
    throw error;
  }
}

/**
 * Starts the deadline of one provider's attempts: when it passes, whatever the call waits on
 * for that provider (a queue, an attempt, a backoff, the body) is stopped. A fallback gets its own.
 */
function startDeadline(ctx: CallContext, timeoutMs: number): Deadline {
  const deadline = new Deadline(timeoutMs);
  ctx.life.deadline = deadline;
  deadline.onExpire(() => {
    if (ctx.life.deadline === deadline) ctx.life.abortCurrent?.(new Error('deadline'));
  });
  ctx.life.onEnd(() => deadline.clear());
  return deadline;
}
