import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../../config.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Tracing } from '../../shared/tracing.ts';
import type { BudgetEnforcer, BudgetReservation } from '../budgets/budget-enforcer.ts';
import type { AuthenticatedClient, ClientCache } from '../clients/client-cache.ts';
import type { KeyRing, UsableKey } from '../keys/key-ring.ts';
import type { ProviderKeyService } from '../keys/provider-key.service.ts';
import type { Provider } from '../providers/provider.entity.ts';
import { SLUG_PATTERN } from '../providers/provider.validation.ts';
import type { ProviderCache } from '../providers/provider-cache.ts';
import type { CircuitRegistry } from '../resilience/circuit-registry.ts';
import { connectionReason, isTimeout } from '../resilience/failure.ts';
import {
  type LimitDecision,
  pushRateLimitHeaders,
  type RateLimits,
  rateLimitHeaders,
} from '../resilience/rate-limits.ts';
import { backoff, parseRetryAfter, RetryBudgets } from '../resilience/retry-policy.ts';
import { authStrategy } from '../upstream/auth-styles.ts';
import { PrivateAddressError, type UpstreamAgents } from '../upstream/upstream-agents.ts';
import { ResponseBody, UpstreamExchange, type UpstreamResponse } from '../upstream/upstream-exchange.ts';
import {
  headerValue,
  pushResponseHeaders,
  responseHeaders,
  upstreamRequest,
} from '../upstream/upstream-request.ts';
import { estimateCallCost, priceCall } from '../usage/pricing.ts';
import type { Outcome } from '../usage/usage-event.entity.ts';
import type { UsageRecorder } from '../usage/usage-recorder.ts';
import { pathTemplate, round } from './path-template.ts';
import { GATEWAY_ERRORS, GatewayError, sendGatewayError } from './proxy-errors.ts';
import { CallTrace, endAttempt } from './proxy-tracing.ts';
import { REPLAY_LIMIT, type RequestBody, readBody, StreamedBody } from './request-body.ts';
import { StaleCache } from './stale-cache.ts';
import { TokenMeter } from './token-meter.ts';

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/**
 * Never forwarded: TRACE (and IIS's TRACK) echo the request, the injected key included, back to
 * the caller; CONNECT would make Tollgate a tunnel. (node:http hands CONNECT to the server's
 * 'connect' event, see src/server/http.ts; it is here too in case that ever changes.)
 */
const REFUSED_METHODS = new Set(['TRACE', 'TRACK', 'CONNECT']);
/** A lone refusal of a key is verified (or recorded) at most once in this time. */
const REFUSAL_QUIET_MS = 60_000;

export interface ProxyDeps {
  providers: ProviderCache;
  clients: ClientCache;
  keyRing: KeyRing;
  keys: ProviderKeyService;
  limits: RateLimits;
  budgets: BudgetEnforcer;
  breakers: CircuitRegistry;
  usage: UsageRecorder;
  agents: UpstreamAgents;
  logger: Logger;
  config: Config['proxy'];
  /** Spans for each call when trace export is configured. */
  tracing?: Tracing;
  /**
   * Runs the provider's health check with this key (a key refused with no other key to compare):
   * its status says whether the provider refuses the key itself.
   */
  verifyKey?: (
    provider: Provider,
    key: UsableKey,
  ) => Promise<{ status: number | null; skipped: boolean; error: string | null }>;
}

/** What one call through the gateway did, for headers and the usage event. */
interface CallRecord {
  requestId: string;
  started: number;
  method: string;
  path: string;
  client: AuthenticatedClient | undefined;
  provider: Provider | undefined;
  servedBy: Provider | undefined;
  keyId: string | null;
  attempts: number;
  fallback: string | null;
  upstreamMs: number;
  requestBytes: number;
  responseBytes: number;
  status: number;
  outcome: Outcome;
  tokens: {
    model: string | null;
    promptTokens: number | null;
    completionTokens: number | null;
    cachedTokens: number | null;
  };
  /** The provider rate-limit decision, for the RateLimit-* headers. */
  limit: LimitDecision | undefined;
  /** The provider whose upstream answer went back to the caller (not set for Tollgate's own answers). */
  answeredBy: Provider | undefined;
  /** The upstream path and query (the stale cache's key within a provider). */
  rest: string;
  /** The upstream path alone, once the URL is parsed. */
  restPath: string | undefined;
  /** Run when the call is over (timers, listeners). */
  cleanups: (() => void)[];
  /** Set when the caller went away. */
  gone: boolean;
  /**
   * Stops what the call is waiting on now (the upstream exchange or a backoff), when the caller
   * goes away or `deadline` (the deadline of the provider being tried) passes.
   */
  abortCurrent: ((reason: Error) => void) | undefined;
  /** The deadline of the provider being tried (a fallback gets its own). */
  deadline: Deadline | undefined;
  /** What is held against budgets for the provider currently tried. */
  reservation: BudgetReservation | null;
  trace: CallTrace | undefined;
}

/** One provider's deadline over all its attempts and its response body. */
interface Deadline {
  aborted: boolean;
}

interface UpstreamResult {
  response: UpstreamResponse;
  key: UsableKey | undefined;
  attempts: number;
  /** Set when the call's deadline passed (the body may still be streaming). */
  deadline: Deadline;
}

/**
 * The data plane: ANY /proxy/{provider}/{path}. The policy chain runs in the order of the issue:
 * authenticate the client, resolve the provider from memory, check it is enabled, reserve budget
 * (a hook for the budgets issue), client limit, provider limit, circuit breaker, key selection,
 * one deadline over all attempts, retries, the upstream call, classification, metering. Nothing
 * here waits on PostgreSQL: configuration, keys and clients are in memory, usage is buffered.
 */
export function createProxyHandler(deps: ProxyDeps) {
  const retryBudgets = new RetryBudgets();
  const staleCache = new StaleCache(deps.config.staleCacheMaxBytes);
  /** keyId → when a lone refusal of it was last verified or recorded. */
  const refusalsSeen = new Map<string, number>();

  return async function proxy(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    path: string,
  ): Promise<void> {
    const call: CallRecord = {
      requestId,
      started: performance.now(),
      method: req.method ?? 'GET',
      path,
      client: undefined,
      provider: undefined,
      servedBy: undefined,
      keyId: null,
      attempts: 0,
      fallback: null,
      upstreamMs: 0,
      requestBytes: 0,
      responseBytes: 0,
      status: 0,
      outcome: 'SUCCESS',
      tokens: { model: null, promptTokens: null, completionTokens: null, cachedTokens: null },
      limit: undefined,
      rest: '',
      restPath: undefined,
      answeredBy: undefined,
      cleanups: [],
      reservation: null,
      trace: CallTrace.start(deps.tracing, req, req.method ?? 'GET', requestId),
      gone: false,
      abortCurrent: undefined,
      deadline: undefined,
    };
    let body: RequestBody;
    // The caller went away: stop the upstream call too.
    res.once('close', () => {
      if (res.writableFinished) return;
      call.gone = true;
      call.abortCurrent?.(new Error('caller went away'));
    });

    try {
      if (REFUSED_METHODS.has(call.method)) {
        throw new GatewayError('METHOD_NOT_ALLOWED', `Tollgate does not forward ${call.method} requests.`);
      }
      const { slug, rest } = parsePath(path);
      const url = req.url ?? '';
      const query = url.indexOf('?');
      call.rest = query >= 0 ? `${rest}${url.slice(query)}` : rest;
      call.restPath = rest;
      call.client = authenticate(req, deps.clients);
      const provider = deps.providers.bySlug(slug);
      if (!provider) throw notFound(slug);
      call.provider = provider;
      call.trace?.provider(provider);
      // A provider this client may not call is answered exactly like one that does not exist, so
      // a client key cannot list the providers; usage still records the refusal as FORBIDDEN.
      if (call.client.allowedProviderIds && !call.client.allowedProviderIds.has(provider.id)) {
        throw notFound(slug, 'FORBIDDEN');
      }
      body = hasBody(req) ? await readBody(req, deps.config.maxRequestBytes) : undefined;
      call.requestBytes = body instanceof Buffer ? body.length : 0;
      // A provider over budget may still be replaced by a fallback whose budgets allow the call.
      const overBudget = deps.budgets.mayApply(call.client.id, provider.id)
        ? await reserveBudget(call, provider, body)
        : undefined;
      if (call.client.rateLimit) {
        const decision = await deps.limits.acquire(`client:${call.client.id}`, call.client.rateLimit);
        if (!decision.allowed) throw limited(decision, 'This client is over its rate limit.');
      }

      const result = await serveWithFallbacks(call, provider, rest, req, body, overBudget);
      await stream(call, result, req, res);
    } catch (error) {
      const gatewayError = toGatewayError(error, call);
      const aborted = call.gone || gatewayError.code === 'CLIENT_ABORTED';
      call.status = aborted ? GATEWAY_ERRORS.CLIENT_ABORTED.status : gatewayError.status;
      call.outcome = aborted ? 'CLIENT_ABORTED' : gatewayError.outcome;
      // A streamed body never sent upstream is read to its end, so the caller gets the answer.
      if (!aborted && body instanceof StreamedBody && !body.stream.readableDidRead) {
        body.stream.on('error', () => undefined).resume();
      }
      if (aborted) {
        // Normal client behaviour: a debug line without a stack, not an error.
        const cause = (gatewayError.cause as Error | undefined)?.message ?? gatewayError.message;
        deps.logger.debug({ requestId, reason: cause }, 'caller went away');
        if (!res.writableFinished) res.destroy();
      } else if (!res.headersSent && !res.destroyed) {
        sendGatewayError(res, gatewayError, {
          requestId,
          // Not even the slug's spelling as stored: "not found" says nothing of what exists.
          provider: gatewayError.code === 'PROVIDER_NOT_FOUND' ? null : (call.provider?.slug ?? null),
          headers: {
            ...(call.limit ? rateLimitHeaders(call.limit) : {}),
            ...tollgateHeaders(call),
            'x-request-id': requestId,
          },
        });
      } else if (!res.writableFinished) {
        res.destroy();
      }
    } finally {
      for (const cleanup of call.cleanups) cleanup();
      if (body instanceof StreamedBody) call.requestBytes = body.bytes;
      record(call);
    }
  };

  /**
   * The provider, then its fallback providers in order, then its degraded mode (a stale cached
   * answer to the same GET, or a static body), for the failures an alternative can help with: the
   * provider disabled, open, rate-limited, unreachable, timing out, or still answering 5xx after
   * its retries. With no alternative left, the provider's own 5xx goes back as it came.
   */
  async function serveWithFallbacks(
    call: CallRecord,
    primary: Provider,
    rest: string,
    req: IncomingMessage,
    body: RequestBody,
    overBudget: GatewayError | undefined,
  ): Promise<UpstreamResult> {
    let failure: GatewayError;
    let upstream5xx: UpstreamResult | undefined;
    try {
      if (overBudget) throw overBudget;
      const result = await serve(call, primary, rest, req, body);
      if (result.response.statusCode < 500 || !hasAlternatives(primary, call.method)) return result;
      upstream5xx = result;
      failure = new GatewayError(
        'UPSTREAM_UNAVAILABLE',
        `"${primary.slug}" answered ${result.response.statusCode}.`,
      );
    } catch (error) {
      if (!(error instanceof GatewayError) || !canFallBack(error) || call.gone) throw error;
      failure = error;
    }
    const useAlternative = (result: UpstreamResult, kind: string) => {
      // Tollgate's own answers cost nothing: nothing stays reserved for them.
      if (kind !== 'provider') releaseBudget(call);
      void upstream5xx?.response.body.dump().catch(() => undefined);
      call.fallback = kind;
      return result;
    };
    // A streamed body has been sent already: only answers that need no body remain.
    const fallbackIds = body instanceof StreamedBody ? [] : primary.fallbackIds;
    for (const fallbackId of fallbackIds) {
      const fallback = deps.providers.byId(fallbackId);
      if (!fallback || fallback.kind !== primary.kind) continue;
      if (call.client?.allowedProviderIds && !call.client.allowedProviderIds.has(fallback.id)) continue;
      if (await reserveBudget(call, fallback, body)) continue;
      try {
        const attempt = () => serve(call, fallback, rest, req, body);
        const result = call.trace
          ? await call.trace.fallback(fallback, attempt, (r) => r.response.statusCode >= 500)
          : await attempt();
        if (result.response.statusCode < 500) return useAlternative(result, 'provider');
        void result.response.body.dump().catch(() => undefined);
      } catch (fallbackError) {
        if (!(fallbackError instanceof GatewayError) || !canFallBack(fallbackError)) throw fallbackError;
      }
    }
    const degraded = primary.degradedMode;
    if (degraded?.staleOnError && call.method === 'GET' && call.client) {
      const stale = staleCache.get(
        StaleCache.key(primary.id, call.client.id, call.rest),
        degraded.staleTtlMs,
      );
      if (stale) {
        return useAlternative(
          syntheticResult(
            stale.status,
            { ...stale.headers, age: String(Math.floor((Date.now() - stale.storedAt) / 1000)) },
            stale.body,
          ),
          'stale-cache',
        );
      }
    }
    if (degraded?.staticBody != null) {
      return useAlternative(
        syntheticResult(
          degraded.staticStatus,
          { 'content-type': degraded.staticContentType },
          Buffer.from(degraded.staticBody),
        ),
        'static',
      );
    }
    if (upstream5xx) return upstream5xx;
    throw failure;
  }

  /**
   * Holds the call's estimated cost against every budget that applies to `provider` (releasing
   * what was held for a provider tried before). Returns the refusal when a budget is spent.
   */
  async function reserveBudget(
    call: CallRecord,
    provider: Provider,
    body: RequestBody,
  ): Promise<GatewayError | undefined> {
    releaseBudget(call);
    const clientId = call.client?.id ?? null;
    if (!deps.budgets.mayApply(clientId, provider.id)) return undefined;
    // A body too large to buffer cannot be read for max_tokens: under a blocking budget the
    // reservation would not bound what the call may cost, so the call is refused instead.
    const blocking =
      body instanceof StreamedBody && provider.pricing.models.length > 0
        ? deps.budgets.blocking(clientId, provider.id)
        : undefined;
    if (blocking) {
      return new GatewayError(
        'PAYLOAD_TOO_LARGE',
        `The request body is over ${REPLAY_LIMIT} bytes, too large to check against budget "${blocking.name}" (which blocks): send at most ${REPLAY_LIMIT} bytes.`,
        { details: { budget: blocking.name, limitBytes: REPLAY_LIMIT } },
      );
    }
    const estimate = estimateCallCost(provider.pricing, body instanceof Buffer ? body : null);
    // Held for the call's deadline and a minute more; a hold never settled (replica lost) lapses then.
    const result = await deps.budgets.reserve(clientId, provider.id, estimate, provider.timeoutMs + 60_000);
    if (result.ok) {
      call.reservation = result.reservation;
      return undefined;
    }
    const { budget, resetsAt, spentMicros, reservedMicros } = result;
    const until = resetsAt ? ` until ${resetsAt.toISOString()}` : '';
    const left = Math.max(0, budget.limitMicros - spentMicros - reservedMicros);
    // Spent, or not spent but short of this call's estimate: the caller should know which.
    const message =
      spentMicros >= budget.limitMicros
        ? `Budget "${budget.name}" is spent${until}.`
        : `Budget "${budget.name}" cannot cover this call${until}: its estimated cost (${estimate} micro-units) is more than what is left (${left}, calls in flight included).`;
    return new GatewayError('BUDGET_EXCEEDED', message, {
      retryAfterMs: resetsAt ? resetsAt.getTime() - Date.now() : undefined,
      details: { budget: budget.name, resetsAt: resetsAt?.toISOString() ?? null },
    });
  }

  function releaseBudget(call: CallRecord): void {
    deps.budgets.settle(call.reservation, 0);
    call.reservation = null;
  }

  /** One provider's part of the chain: enabled, limit, breaker, keys, deadline, retries. */
  async function serve(
    call: CallRecord,
    provider: Provider,
    rest: string,
    req: IncomingMessage,
    body: RequestBody,
  ): Promise<UpstreamResult> {
    if (!provider.enabled)
      throw new GatewayError('PROVIDER_DISABLED', `Provider "${provider.slug}" is disabled.`);
    if (provider.rateLimit) {
      const decision = await deps.limits.acquire(`provider:${provider.id}`, provider.rateLimit);
      call.limit = decision;
      if (!decision.allowed) throw limited(decision, `Provider "${provider.slug}" is at its rate limit.`);
    }
    const admission = await deps.breakers.admit(provider);
    if (!admission.ok) {
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
    let probe = admission.probe;
    const report = (success: boolean, reason: string) => {
      deps.breakers.report(provider, success, probe, reason);
      probe = false;
    };

    const deadline = startDeadline(call, provider.timeoutMs);
    const deadlineAt = Date.now() + provider.timeoutMs;
    // A streamed body can be sent once only: no retries, no second key.
    const replayable = !(body instanceof StreamedBody);
    const retryable = replayable && (IDEMPOTENT.has(call.method) || provider.retry.retryNonIdempotent);
    const budget = retryBudgets.for(provider.id, provider.retry.budgetPercent);
    budget.onRequest();
    const failedKeys = new Set<string>();
    let credentialRetryUsed = !replayable;
    // A key the provider refused (401/403) in this call, until another key's answer says whether
    // the refusal was about the key or about the request.
    let refused: { key: UsableKey; status: number } | undefined;
    // Set when two keys were refused: the refusal is about the request, no key is suspect.
    let requestRefused = false;
    try {
      return await tryKeys();
    } finally {
      // No other key answered: the refusal alone is no evidence against the key.
      if (refused) verifyRefusedKey(call, provider, rest, refused.key, refused.status);
      // A probe that ended without an outcome (the caller left) must not hold the half-open slot.
      if (probe) deps.breakers.abandon(provider);
    }

    async function tryKeys(): Promise<UpstreamResult> {
      for (let attempt = 1; ; attempt++) {
        const key = pickKey(provider, failedKeys);
        call.attempts++;
        call.servedBy = provider;
        call.keyId = key?.id ?? null;
        const started = performance.now();
        const span = call.trace?.attempt(provider, attempt, key?.id);
        let response: UpstreamResponse;
        try {
          const exchange = new UpstreamExchange(
            deps.agents.for(provider.allowPrivateNetwork),
            upstreamRequest(
              provider,
              rest,
              req,
              key,
              call.requestId,
              body instanceof StreamedBody ? body.stream : (body ?? null),
            ),
          );
          call.abortCurrent = (reason) => exchange.abort(reason);
          if (call.gone) exchange.abort(new Error('caller went away'));
          response = await exchange.response;
        } catch (error) {
          call.upstreamMs += performance.now() - started;
          if (span) endAttempt(span, { error: connectionReason(error) });
          if (call.gone) throw new GatewayError('UPSTREAM_UNAVAILABLE', 'The caller went away.');
          // The streamed request body went over the limit: the caller's fault, not the upstream's.
          const bodyError = error instanceof GatewayError ? error : (error as { cause?: unknown }).cause;
          if (bodyError instanceof GatewayError) throw bodyError;
          const timedOut = deadline.aborted || isTimeout(error);
          report(false, timedOut ? 'timeout' : connectionReason(error));
          if (timedOut) {
            throw new GatewayError(
              'UPSTREAM_TIMEOUT',
              `"${provider.slug}" did not answer within ${provider.timeoutMs} ms.`,
            );
          }
          if (
            error instanceof PrivateAddressError ||
            (error as { cause?: unknown }).cause instanceof PrivateAddressError
          ) {
            throw new GatewayError(
              'UPSTREAM_UNAVAILABLE',
              `"${provider.slug}" resolves to a private address and allowPrivateNetwork is off.`,
            );
          }
          const wait = backoff(provider.retry, attempt, undefined);
          if (
            retryable &&
            attempt < provider.retry.maxAttempts &&
            Date.now() + wait < deadlineAt &&
            budget.tryRetry()
          ) {
            await backOff(call, deadline, wait);
            continue;
          }
          throw new GatewayError(
            'UPSTREAM_UNAVAILABLE',
            `Could not reach "${provider.slug}": ${connectionReason(error)}.`,
          );
        }
        call.upstreamMs += performance.now() - started;
        const status = response.statusCode;
        if (span) endAttempt(span, { status });

        const keyRefused = status === 401 || status === 403;
        if (refused && key && key.id !== refused.key.id) {
          if (keyRefused) {
            // Another key is refused too: the refusal is about the request, not about a key.
            deps.logger.debug(
              { provider: provider.slug, method: call.method, path: pathTemplate(rest), status },
              'every key tried was refused; no key is marked',
            );
            requestRefused = true;
          } else {
            // Another key is accepted: the refusal was about the first key.
            invalidateKey(provider, refused.key.id, `${provider.slug} answered ${refused.status}`);
          }
          refused = undefined;
        }

        if (keyRefused) {
          if (key && key.id !== 'env' && !requestRefused && !failedKeys.has(key.id)) {
            failedKeys.add(key.id);
            if (!credentialRetryUsed && pickKey(provider, failedKeys)) {
              credentialRetryUsed = true;
              refused = { key, status };
              await response.body.dump();
              continue;
            }
            // No other key to ask: verified off the request path (see the finally above).
            refused ??= { key, status };
          }
          report(true, `status ${status}`);
          return { response, key, attempts: attempt, deadline };
        }

        if (status === 429) {
          const retryAfterMs = parseRetryAfter(response.headers['retry-after']);
          if (key) deps.keyRing.cooldowns.coolDown(key.id, retryAfterMs);
          if (
            key &&
            replayable &&
            attempt < provider.retry.maxAttempts + 1 &&
            pickKey(provider, new Set([...failedKeys, key.id]))
          ) {
            failedKeys.add(key.id);
            await response.body.dump();
            continue;
          }
          report(true, 'status 429');
          return { response, key, attempts: attempt, deadline };
        }

        if (status >= 500) {
          report(false, `status ${status}`);
          const wait = backoff(provider.retry, attempt, parseRetryAfter(response.headers['retry-after']));
          if (
            retryable &&
            attempt < provider.retry.maxAttempts &&
            Date.now() + wait < deadlineAt &&
            budget.tryRetry()
          ) {
            await response.body.dump();
            await backOff(call, deadline, wait);
            continue;
          }
          return { response, key, attempts: attempt, deadline };
        }

        report(true, `status ${status}`);
        return { response, key, attempts: attempt, deadline };
      }
    }
  }

  /** The provider refused this key, and the evidence says the key is at fault: it is not used again. */
  function invalidateKey(provider: Provider, keyId: string, problem: string): void {
    deps.keyRing.disable(keyId);
    deps.logger.warn({ provider: provider.slug, keyId, problem }, 'provider key marked INVALID');
    void deps.keys.markInvalid(keyId, problem).catch(() => undefined);
  }

  /**
   * A key was refused with no other key's answer to compare: the caller's request alone does not
   * condemn it. With an enabled health check the key is probed (off the request path) and marked
   * INVALID only if the probe is refused with 401/403 too; otherwise the key stays ACTIVE and the
   * refusal is logged and audited (at most once per key a minute, however often callers try).
   */
  function verifyRefusedKey(
    call: CallRecord,
    provider: Provider,
    rest: string,
    key: UsableKey,
    status: number,
  ): void {
    const now = Date.now();
    if ((refusalsSeen.get(key.id) ?? 0) > now - REFUSAL_QUIET_MS) return;
    refusalsSeen.set(key.id, now);
    if (refusalsSeen.size > 10_000) {
      for (const [id, at] of refusalsSeen) if (at <= now - REFUSAL_QUIET_MS) refusalsSeen.delete(id);
    }
    const refusal = `${provider.slug} answered ${status} to ${call.method} ${pathTemplate(rest)}`;
    const keep = (why: string) => {
      const problem = `${refusal}; ${why}`;
      deps.logger.warn(
        { provider: provider.slug, keyId: key.id, status, method: call.method, path: pathTemplate(rest) },
        `provider refused a key; not marked INVALID: ${why}`,
      );
      void deps.keys.recordRefusal(key.id, problem).catch(() => undefined);
    };
    if (!provider.healthCheck.enabled || !deps.verifyKey) {
      keep('no health check to verify the key with');
      return;
    }
    void deps
      .verifyKey(provider, key)
      .then((probe) => {
        if (probe.status === 401 || probe.status === 403) {
          invalidateKey(
            provider,
            key.id,
            `${refusal}, and the health check ${provider.healthCheck.method} ${provider.healthCheck.path} answered ${probe.status}`,
          );
        } else if (probe.skipped || probe.status === null) {
          keep(`the health check could not verify it (${probe.error ?? 'no answer'})`);
        } else {
          keep(`the health check accepted it (status ${probe.status})`);
        }
      })
      .catch((error: unknown) => keep(`the health check failed (${(error as Error).message})`));
  }

  function pickKey(provider: Provider, exclude: Set<string>): UsableKey | undefined {
    if (!authStrategy(provider.auth.style).usesKey) return undefined;
    const key = deps.keyRing.select(provider.id, exclude);
    if (!key && exclude.size === 0) {
      const coolingUntil = deps.keyRing.coolingUntil(provider.id);
      if (coolingUntil) {
        throw new GatewayError(
          'RATE_LIMITED',
          `Every key of "${provider.slug}" is cooling down after a 429.`,
          {
            retryAfterMs: coolingUntil - Date.now(),
          },
        );
      }
      throw new GatewayError('NO_USABLE_KEY', `Provider "${provider.slug}" has no usable key.`);
    }
    return key;
  }

  /** Sends the upstream response to the caller as it arrives, metering bytes and tokens. */
  async function stream(
    call: CallRecord,
    result: UpstreamResult,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const { response } = result;
    const body: ResponseBody = response.body;
    const declared = Number(response.headers['content-length'] ?? Number.NaN);
    if (declared > deps.config.maxResponseBytes) {
      body.destroy();
      throw new GatewayError(
        'UPSTREAM_UNAVAILABLE',
        `The upstream response (${declared} bytes) is over the ${deps.config.maxResponseBytes}-byte limit.`,
      );
    }
    call.status = response.statusCode;
    if (result.attempts > 0) call.answeredBy = call.servedBy;
    call.outcome =
      response.statusCode >= 500 ? 'UPSTREAM_ERROR' : response.statusCode >= 400 ? 'CLIENT_ERROR' : 'SUCCESS';
    if (call.fallback && call.outcome === 'SUCCESS') call.outcome = 'FALLBACK';
    if (response.statusCode === 429) call.outcome = 'RATE_LIMITED';
    // Successful GETs of providers with stale-on-error are kept for when the provider fails,
    // unless the answer is personal (see StaleCache.mayStore).
    const keepForStale =
      !call.fallback &&
      call.method === 'GET' &&
      response.statusCode === 200 &&
      call.provider?.degradedMode?.staleOnError === true &&
      StaleCache.mayStore(req.headers, response.headers);
    const maxKept = staleCache.maxBody;
    const kept: Buffer[] = [];
    let keptBytes = 0;
    const contentType = headerValue(response.headers['content-type']);
    const meter = call.servedBy?.kind === 'OPENAI_COMPATIBLE' ? new TokenMeter(contentType) : undefined;

    res.writeHead(response.statusCode, callerHeaders(call, response, result.key));
    // Streams should show their status at once; other bodies go out with the headers in one write.
    if (contentType?.includes('text/event-stream')) res.flushHeaders();
    const resume = () => body.resume();
    try {
      await body.consume((chunk) => {
        call.responseBytes += chunk.length;
        if (call.responseBytes > deps.config.maxResponseBytes) {
          throw new GatewayError('UPSTREAM_UNAVAILABLE', 'The upstream response went over the size limit.');
        }
        meter?.write(chunk);
        if (keepForStale && keptBytes <= maxKept) {
          kept.push(chunk);
          keptBytes += chunk.length;
        }
        if (res.write(chunk)) return true;
        // The caller reads slower than the upstream sends: pause the upstream until it catches up.
        res.once('drain', resume);
        return false;
      });
      res.end();
      if (keepForStale && keptBytes <= maxKept && call.provider && call.client) {
        staleCache.put(StaleCache.key(call.provider.id, call.client.id, call.rest), {
          status: response.statusCode,
          headers: responseHeaders(response.headers, result.key),
          body: Buffer.concat(kept),
          storedAt: Date.now(),
        });
      }
    } catch (error) {
      body.destroy();
      if (call.gone) {
        call.outcome = 'CLIENT_ABORTED';
        return;
      }
      if (result.deadline.aborted || isTimeout(error)) {
        throw new GatewayError(
          'UPSTREAM_TIMEOUT',
          'The upstream response did not finish before the deadline.',
        );
      }
      throw error;
    } finally {
      if (meter) call.tokens = meter.end();
    }
  }

  /**
   * Starts the deadline of one provider's attempts: when it passes, whatever the call waits on
   * for that provider (an attempt, a backoff, the body) is stopped. A fallback gets its own.
   */
  function startDeadline(call: CallRecord, timeoutMs: number): Deadline {
    const deadline: Deadline = { aborted: false };
    call.deadline = deadline;
    const timer = setTimeout(() => {
      deadline.aborted = true;
      if (call.deadline === deadline) call.abortCurrent?.(new Error('deadline'));
    }, timeoutMs);
    call.cleanups.push(() => clearTimeout(timer));
    return deadline;
  }

  /** Waits before a retry; the caller leaving or the deadline passing ends the wait with an error. */
  function backOff(call: CallRecord, deadline: Deadline, ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      call.abortCurrent = () => {
        clearTimeout(timer);
        reject(
          call.gone
            ? new GatewayError('UPSTREAM_UNAVAILABLE', 'The caller went away.')
            : new GatewayError('UPSTREAM_TIMEOUT', 'The deadline passed while waiting to retry.'),
        );
      };
      if (call.gone || deadline.aborted) call.abortCurrent(new Error('stopped'));
    });
  }

  function record(call: CallRecord): void {
    const totalMs = performance.now() - call.started;
    const cost = price(call);
    deps.budgets.settle(call.reservation, cost.costMicros ?? 0);
    // Calls refused before the provider was resolved (no client key...) still belong to it.
    call.provider ??= deps.providers.bySlug(parsePathLoose(call.path));
    deps.usage.record({
      requestId: call.requestId,
      providerId: call.provider?.id ?? null,
      providerSlug: call.provider?.slug ?? parsePathLoose(call.path),
      servedByProviderId: call.servedBy?.id ?? null,
      keyId: call.keyId,
      clientId: call.client?.id ?? null,
      method: call.method.slice(0, 16),
      pathTemplate: pathTemplate(call.restPath ?? (call.path.replace(/^\/proxy\/[^/]*/, '') || '/')),
      status: call.status,
      outcome: call.outcome,
      attempts: call.attempts,
      fallback: call.fallback,
      totalMs: round(totalMs),
      upstreamMs: call.attempts > 0 ? round(call.upstreamMs) : null,
      requestBytes: call.requestBytes,
      responseBytes: call.responseBytes,
      model: call.tokens.model,
      promptTokens: call.tokens.promptTokens,
      completionTokens: call.tokens.completionTokens,
      cachedTokens: call.tokens.cachedTokens,
      ...cost,
    });
    call.trace?.end({
      status: call.status,
      outcome: call.outcome,
      attempts: call.attempts,
      fallback: call.fallback,
      clientId: call.client?.id,
    });
  }

  /**
   * Calls that got a successful upstream answer (status below 400) are priced at the serving
   * provider's prices; failures, refusals and Tollgate's own answers cost nothing.
   */
  function price(call: CallRecord): { costMicros: number | null; pricedWithoutTokens: boolean } {
    if (!call.answeredBy || call.status >= 400) return { costMicros: null, pricedWithoutTokens: false };
    return priceCall(call.answeredBy.pricing, call.tokens);
  }

  function toGatewayError(error: unknown, call: CallRecord): GatewayError {
    if (error instanceof GatewayError) return error;
    // Whatever broke after the caller left broke because it left.
    if (call.gone) return new GatewayError('CLIENT_ABORTED', 'The caller went away.', { cause: error });
    deps.logger.error({ err: error, requestId: call.requestId }, 'unexpected error in proxy');
    return new GatewayError('UPSTREAM_UNAVAILABLE', 'Unexpected gateway error.');
  }
}

function notFound(slug: string, outcome?: Outcome): GatewayError {
  return new GatewayError('PROVIDER_NOT_FOUND', `No provider "${slug}".`, { outcome });
}

function parsePath(path: string): { slug: string; rest: string } {
  const match = /^\/proxy\/([^/]+)(\/.*)?$/.exec(path);
  const slug = match?.[1] ?? '';
  if (!SLUG_PATTERN.test(slug)) throw new GatewayError('PROVIDER_NOT_FOUND', 'Use /proxy/{provider}/{path}.');
  const rest = match?.[2] ?? '/';
  if (hasDotSegment(rest)) {
    throw new GatewayError('INVALID_PATH', 'The path must not contain "." or ".." segments, encoded or not.');
  }
  return { slug, rest };
}

/**
 * Whether a path has a `.` or `..` segment. The path is appended to the provider's base path as it
 * came, and an upstream (or a proxy before it) that resolves dot segments would let the caller
 * out of that base path, with the provider key. A segment counts after percent-decoding (`%2e`),
 * with `\` and an encoded `/` as separators (some servers treat them so), and without `;`
 * parameters (Tomcat reads `..;x` as `..`). `a..b` or `.well-known` are ordinary names.
 */
function hasDotSegment(path: string): boolean {
  // Nearly every path: nothing that could spell a dot, so nothing to decode.
  if (!path.includes('.') && !path.includes('%')) return false;
  for (const segment of path.split('/')) {
    let decoded = segment;
    if (segment.includes('%')) {
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        // Not valid percent-encoding as a whole: still read the escapes a server might decode.
        decoded = segment.replace(/%2e/gi, '.').replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
      }
    }
    for (const part of decoded.split(/[\\/]/)) {
      const name = part.split(';', 1)[0];
      if (name === '.' || name === '..') return true;
    }
  }
  return false;
}

function parsePathLoose(path: string): string {
  return (/^\/proxy\/([^/]{1,63})/.exec(path)?.[1] ?? '').replace(/[^a-z0-9-]/g, '');
}

function authenticate(req: IncomingMessage, clients: ClientCache): AuthenticatedClient {
  const header = req.headers.authorization;
  const bearer = header && /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  const key = bearer || headerValue(req.headers['x-tollgate-key']);
  if (!key)
    throw new GatewayError(
      'UNAUTHENTICATED',
      'Send your client key as Authorization: Bearer <key> or x-tollgate-key.',
    );
  const client = clients.authenticate(key);
  if (!client) throw new GatewayError('UNAUTHENTICATED', 'Unknown, revoked or expired client key.');
  return client;
}
function tollgateHeaders(call: CallRecord): Record<string, string> {
  const headers: Record<string, string> = {
    'x-tollgate-attempts': String(call.attempts),
    'x-tollgate-overhead-ms': String(round(Math.max(0, performance.now() - call.started - call.upstreamMs))),
  };
  if (call.servedBy) headers['x-tollgate-provider'] = call.servedBy.slug;
  if (call.fallback) headers['x-tollgate-fallback'] = call.fallback;
  return headers;
}

/**
 * The response headers for the caller as one flat [name, value, ...] list: the upstream's (less
 * hop-by-hop, the key redacted), the rate-limit headers and Tollgate's own. (A list goes to the
 * socket as it is; an object would be copied header by header.)
 */
function callerHeaders(
  call: CallRecord,
  response: UpstreamResponse,
  key: UsableKey | undefined,
): (string | string[])[] {
  const headers: (string | string[])[] = [];
  pushResponseHeaders(headers, response.headers, key);
  if (call.limit) pushRateLimitHeaders(headers, call.limit);
  headers.push('x-request-id', call.requestId);
  const own = tollgateHeaders(call);
  for (const name in own) headers.push(name, own[name] as string);
  return headers;
}

/** Whether the request has a body to read (a GET without one needs no read at all). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

function limited(decision: LimitDecision, message: string): GatewayError {
  return new GatewayError('RATE_LIMITED', message, {
    retryAfterMs: decision.resetMs,
    headers: rateLimitHeaders(decision),
  });
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
  return { response, key: undefined, attempts: 0, deadline: { aborted: false } };
}

function canFallBack(error: GatewayError): boolean {
  return [
    'PROVIDER_DISABLED',
    'CIRCUIT_OPEN',
    'RATE_LIMITED',
    'UPSTREAM_UNAVAILABLE',
    'UPSTREAM_TIMEOUT',
    'NO_USABLE_KEY',
    'BUDGET_EXCEEDED',
  ].includes(error.code);
}
