/**
 * Stage 4, route: the provider, then its fallback providers in order, then its degraded mode (a
 * stale cached answer to the same GET, or a static body), for the failures an alternative can
 * help with: the provider disabled, open, rate-limited, saturated, unreachable, timing out, or
 * still answering 5xx after its retries. With no alternative left, the provider's own 5xx goes
 * back as it came.
 */
import type { BudgetEnforcer } from '../../budgets/budget-enforcer.ts';
import type { Provider } from '../../providers/provider.entity.ts';
import type { ProviderCache } from '../../providers/provider-cache.ts';
import { ResponseBody, type UpstreamResponse } from '../../upstream/upstream-exchange.ts';
import type { CallContext, UpstreamResult } from '../call-context.ts';
import { GatewayError, type GatewayErrorCode } from '../proxy-errors.ts';
import { StreamedBody } from '../request-body.ts';
import { StaleCache } from '../stale-cache.ts';
import { type AttemptDeps, attempt } from './attempt.ts';
import { releaseBudget, reserveBudget } from './reserve-budget.ts';

export interface RouteDeps extends AttemptDeps {
  providers: ProviderCache;
  budgets: BudgetEnforcer;
}

/** Failures an alternative (fallback provider, stale or static answer) may help with. */
const FALLS_BACK = new Set<GatewayErrorCode>([
  'PROVIDER_DISABLED',
  'CIRCUIT_OPEN',
  'RATE_LIMITED',
  'PROVIDER_SATURATED',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'NO_USABLE_KEY',
  'BUDGET_EXCEEDED',
]);

export function canFallBack(error: GatewayError): boolean {
  return FALLS_BACK.has(error.code);
}

/** `overBudget`: the primary's budgets refused the call (reserve budget), so only alternatives remain. */
export async function route(
  ctx: CallContext,
  overBudget: GatewayError | undefined,
  deps: RouteDeps,
): Promise<UpstreamResult> {
  const primary = ctx.request.provider;
  let failure: GatewayError;
  let upstream5xx: UpstreamResult | undefined;
  try {
    if (overBudget) throw overBudget;
    const result = await attempt(ctx, primary, deps);
    if (result.response.statusCode < 500 || !hasAlternatives(primary, ctx.request.method)) return result;
    upstream5xx = result;
    failure = new GatewayError(
      'UPSTREAM_UNAVAILABLE',
      `"${primary.slug}" answered ${result.response.statusCode}.`,
    );
  } catch (error) {
    if (!(error instanceof GatewayError) || !canFallBack(error) || ctx.life.gone) throw error;
    failure = error;
  }
  const alternative =
    (await tryFallbacks(ctx, primary, deps)) ?? degradedAnswer(ctx, primary, deps.state.staleCache);
  if (alternative) {
    // Tollgate's own answers cost nothing: nothing stays reserved for them.
    if (alternative.kind !== 'provider') releaseBudget(ctx, deps.budgets);
    if (upstream5xx) discard(upstream5xx);
    ctx.outcome.fallback = alternative.kind;
    return alternative.result;
  }
  if (upstream5xx) return upstream5xx;
  throw failure;
}

type Alternative = { kind: string; result: UpstreamResult };

/** The first fallback provider (same kind, allowed, within budget) that answers below 500. */
async function tryFallbacks(
  ctx: CallContext,
  primary: Provider,
  deps: RouteDeps,
): Promise<Alternative | undefined> {
  const { client, body } = ctx.request;
  // A streamed body has been sent already: only answers that need no body remain.
  const fallbackIds = body instanceof StreamedBody ? [] : primary.fallbackIds;
  for (const fallbackId of fallbackIds) {
    const fallback = deps.providers.byId(fallbackId);
    if (!fallback || fallback.kind !== primary.kind) continue;
    if (client.allowedProviderIds && !client.allowedProviderIds.has(fallback.id)) continue;
    if (await reserveBudget(ctx, fallback, deps.budgets)) continue;
    try {
      const run = () => attempt(ctx, fallback, deps);
      const result = ctx.trace
        ? await ctx.trace.fallback(fallback, run, (r) => r.response.statusCode >= 500)
        : await run();
      if (result.response.statusCode < 500) return { kind: 'provider', result };
      discard(result);
    } catch (error) {
      if (!(error instanceof GatewayError) || !canFallBack(error)) throw error;
    }
  }
  return undefined;
}

/** The provider's degraded mode: a stale answer to the same GET, else its static body. */
function degradedAnswer(
  ctx: CallContext,
  primary: Provider,
  staleCache: StaleCache,
): Alternative | undefined {
  const degraded = primary.degradedMode;
  const { method, client, rest } = ctx.request;
  if (degraded?.staleOnError && method === 'GET') {
    const stale = staleCache.get(StaleCache.key(primary.id, client.id, rest), degraded.staleTtlMs);
    if (stale) {
      const age = String(Math.floor((Date.now() - stale.storedAt) / 1000));
      return {
        kind: 'stale-cache',
        result: syntheticResult(stale.status, { ...stale.headers, age }, stale.body),
      };
    }
  }
  if (degraded?.staticBody != null) {
    const headers = { 'content-type': degraded.staticContentType };
    return {
      kind: 'static',
      result: syntheticResult(degraded.staticStatus, headers, Buffer.from(degraded.staticBody)),
    };
  }
  return undefined;
}

/** An answer not sent to the caller: its body is dropped and its bulkhead slot freed. */
function discard(result: UpstreamResult): void {
  void result.response.body
    .dump()
    .catch(() => undefined)
    .finally(() => result.release?.());
}

function hasAlternatives(provider: Provider, method: string): boolean {
  const degraded = provider.degradedMode;
  return (
    provider.fallbackIds.length > 0 ||
    degraded?.staticBody != null ||
    (degraded?.staleOnError === true && method === 'GET')
  );
}

/** An answer Tollgate makes itself (stale or static), shaped like an upstream response. */
function syntheticResult(
  status: number,
  headers: Record<string, string | string[]>,
  body: Buffer,
): UpstreamResult {
  const response: UpstreamResponse = {
    statusCode: status,
    headers: { ...headers, 'content-length': String(body.length) },
    body: ResponseBody.of(body),
  };
  return { response, key: undefined, attempts: 0, deadline: undefined };
}
