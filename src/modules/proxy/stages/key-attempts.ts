/**
 * The attempts of one provider within a call: pick a key, send, judge the answer. A connection
 * failure or a 5xx is retried (policy, deadline and retry budget permitting) after a backoff; a
 * 429 moves to another key (the refused one cools down); a 401/403 gets one second opinion from
 * another key (keys/key-refusals.ts). Every outcome is reported to the provider's circuit.
 */
import type { KeyRefusalJudge } from '../../keys/key-refusals.ts';
import type { KeyRing, UsableKey } from '../../keys/key-ring.ts';
import type { Provider } from '../../providers/provider.entity.ts';
import type { CircuitRegistry } from '../../resilience/circuit-registry.ts';
import { type Deadline, sleep } from '../../resilience/deadline.ts';
import { causeOf, connectionReason, isTimeout, isUpstreamFailure } from '../../resilience/failure.ts';
import { backoff, mayRetryNow, parseRetryAfter, type RetryBudget } from '../../resilience/retry-policy.ts';
import { authStrategy } from '../../upstream/auth-styles.ts';
import { PrivateAddressError, type UpstreamAgents } from '../../upstream/upstream-agents.ts';
import { UpstreamExchange, type UpstreamResponse } from '../../upstream/upstream-exchange.ts';
import { upstreamRequest } from '../../upstream/upstream-request.ts';
import type { CallContext, UpstreamResult } from '../call-context.ts';
import { GatewayError } from '../proxy-errors.ts';
import type { ProxyState } from '../proxy-state.ts';
import { endAttempt } from '../proxy-tracing.ts';
import { StreamedBody } from '../request-body.ts';

/** One provider's attempts within a call: what every attempt needs. */
export interface AttemptRun {
  ctx: CallContext;
  provider: Provider;
  deadline: Deadline;
  replayable: boolean;
  /** Whether failures may be retried at all (method and body). */
  retryable: boolean;
  budget: RetryBudget;
  /** Keys not to pick again in this call (refused, or answered 429). */
  failedKeys: Set<string>;
  judge: KeyRefusalJudge;
  /** Whether the call goes as the circuit's half-open probe (cleared once reported). */
  probe: boolean;
}

interface KeyAttemptDeps {
  breakers: CircuitRegistry;
  keyRing: KeyRing;
  agents: UpstreamAgents;
  state: ProxyState;
}

/** What to do after one attempt: answer the caller with it, or go again (after `waitMs`). */
type Next = { answer: UpstreamResult } | { again: true; waitMs: number };

export async function tryKeys(run: AttemptRun, deps: KeyAttemptDeps): Promise<UpstreamResult> {
  const { ctx, provider } = run;
  for (let attempt = 1; ; attempt++) {
    const key = pickKey(provider, run.failedKeys, deps.keyRing);
    ctx.outcome.attempts++;
    ctx.outcome.servedBy = provider;
    ctx.outcome.keyId = key?.id ?? null;
    const started = performance.now();
    const span = ctx.trace?.attempt(provider, attempt, key?.id);
    let response: UpstreamResponse;
    try {
      response = await send(run, key, deps.agents);
    } catch (error) {
      ctx.outcome.upstreamMs += performance.now() - started;
      if (span) endAttempt(span, { error: connectionReason(error) });
      const waitMs = onConnectionFailure(run, attempt, error, deps);
      await backOff(run, waitMs);
      continue;
    }
    ctx.outcome.upstreamMs += performance.now() - started;
    if (span) endAttempt(span, { status: response.statusCode });
    const next = onAnswer(run, attempt, key, response, deps);
    if ('answer' in next) return next.answer;
    await response.body.dump();
    if (next.waitMs > 0) await backOff(run, next.waitMs);
  }
}

/** One exchange with the upstream; the caller leaving or the deadline passing aborts it. */
async function send(
  run: AttemptRun,
  key: UsableKey | undefined,
  agents: UpstreamAgents,
): Promise<UpstreamResponse> {
  const { ctx, provider } = run;
  const { req, restPath, body, requestId } = ctx.request;
  const exchange = new UpstreamExchange(
    agents.for(provider.allowPrivateNetwork),
    upstreamRequest(
      provider,
      restPath,
      req,
      key,
      requestId,
      body instanceof StreamedBody ? body.stream : (body ?? null),
    ),
  );
  ctx.life.abortCurrent = (reason) => exchange.abort(reason);
  if (ctx.life.gone) exchange.abort(new Error('caller went away'));
  return await exchange.response;
}

/**
 * No answer came: a typed error for the caller, or the wait before retrying. Timeouts are not
 * retried (the deadline covers every attempt).
 */
function onConnectionFailure(run: AttemptRun, attempt: number, error: unknown, deps: KeyAttemptDeps): number {
  const { ctx, provider } = run;
  if (ctx.life.gone) throw new GatewayError('UPSTREAM_UNAVAILABLE', 'The caller went away.');
  // The streamed request body went over the limit: the caller's fault, not the upstream's.
  const bodyError = causeOf(error, GatewayError);
  if (bodyError) throw bodyError;
  const timedOut = run.deadline.aborted || isTimeout(error);
  report(run, deps, false, timedOut ? 'timeout' : connectionReason(error));
  if (timedOut) {
    throw new GatewayError(
      'UPSTREAM_TIMEOUT',
      `"${provider.slug}" did not answer within ${provider.timeoutMs} ms.`,
    );
  }
  if (causeOf(error, PrivateAddressError)) {
    throw new GatewayError(
      'UPSTREAM_UNAVAILABLE',
      `"${provider.slug}" resolves to a private address and allowPrivateNetwork is off.`,
    );
  }
  const waitMs = backoff(provider.retry, attempt, undefined);
  if (mayRetry(run, attempt, waitMs)) return waitMs;
  throw new GatewayError(
    'UPSTREAM_UNAVAILABLE',
    `Could not reach "${provider.slug}": ${connectionReason(error)}.`,
  );
}

/** An answer came: judge it (key refused, key rate-limited, upstream failing) and decide. */
function onAnswer(
  run: AttemptRun,
  attempt: number,
  key: UsableKey | undefined,
  response: UpstreamResponse,
  deps: KeyAttemptDeps,
): Next {
  const { provider } = run;
  const status = response.statusCode;
  const answer = { answer: { response, key, attempts: attempt, deadline: run.deadline } };
  const another = (exclude: Set<string>) => pickKey(provider, exclude, deps.keyRing) !== undefined;
  if (run.judge.afterAnswer(key, status, run.failedKeys, another)) return { again: true, waitMs: 0 };
  if (status === 429) {
    if (key) deps.keyRing.cooldowns.coolDown(key.id, parseRetryAfter(response.headers['retry-after']));
    // Another key may not be limited: one more attempt than maxAttempts for the change of key.
    if (
      key &&
      run.replayable &&
      attempt < provider.retry.maxAttempts + 1 &&
      another(new Set([...run.failedKeys, key.id]))
    ) {
      run.failedKeys.add(key.id);
      return { again: true, waitMs: 0 };
    }
  }
  if (isUpstreamFailure(status)) {
    report(run, deps, false, `status ${status}`);
    const waitMs = backoff(provider.retry, attempt, parseRetryAfter(response.headers['retry-after']));
    return mayRetry(run, attempt, waitMs) ? { again: true, waitMs } : answer;
  }
  report(run, deps, true, `status ${status}`);
  return answer;
}

function mayRetry(run: AttemptRun, attempt: number, waitMs: number): boolean {
  return mayRetryNow({
    retryable: run.retryable,
    attempt,
    maxAttempts: run.provider.retry.maxAttempts,
    waitMs,
    now: Date.now(),
    deadlineAt: run.deadline.at,
    budget: run.budget,
  });
}

/** Tells the circuit (and operators' last-failure view) how the upstream did. */
function report(run: AttemptRun, deps: KeyAttemptDeps, success: boolean, reason: string): void {
  deps.breakers.report(run.provider, success, run.probe, reason);
  if (!success) deps.state.noteFailure(run.provider.id, reason);
  run.probe = false;
}

/** Waits before a retry; the caller leaving or the deadline passing ends the wait with an error. */
function backOff(run: AttemptRun, ms: number): Promise<void> {
  const { ctx, deadline } = run;
  const stop = new AbortController();
  ctx.life.abortCurrent = () => stop.abort();
  const signal = AbortSignal.any([stop.signal, deadline.signal, ctx.life.signal]);
  return sleep(ms, signal, () =>
    ctx.life.gone
      ? new GatewayError('UPSTREAM_UNAVAILABLE', 'The caller went away.')
      : new GatewayError('UPSTREAM_TIMEOUT', 'The deadline passed while waiting to retry.'),
  );
}

/**
 * A key of the provider not in `exclude` (none for a provider that takes no key). With nothing
 * excluded and nothing usable, the call is refused: every key cooling down after a 429, or none.
 */
export function pickKey(provider: Provider, exclude: Set<string>, keyRing: KeyRing): UsableKey | undefined {
  if (!authStrategy(provider.auth.style).usesKey) return undefined;
  const key = keyRing.select(provider.id, exclude);
  if (!key && exclude.size === 0) {
    const coolingUntil = keyRing.coolingUntil(provider.id);
    if (coolingUntil) {
      throw new GatewayError('RATE_LIMITED', `Every key of "${provider.slug}" is cooling down after a 429.`, {
        retryAfterMs: coolingUntil - Date.now(),
      });
    }
    throw new GatewayError('NO_USABLE_KEY', `Provider "${provider.slug}" has no usable key.`);
  }
  return key;
}
