/**
 * The data plane: ANY /proxy/{provider}/{path}, as a pipeline of named stages (stages/), each a
 * function of the call's context, in this order:
 *
 *   admit → admission (client limit, budget holds, first provider's limit) → route (→ attempt,
 *   per provider tried) → respond,
 *   and, for every call however it ended, meter and settle.
 *
 * A stage refuses by throwing a GatewayError; `answerError` turns it into the JSON error body.
 * Nothing here waits on PostgreSQL: configuration, keys and clients are in memory, usage is
 * buffered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../../config.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Tracing } from '../../shared/tracing.ts';
import type { BudgetEnforcer } from '../budgets/budget-enforcer.ts';
import type { ClientCache } from '../clients/client-cache.ts';
import { KeyRefusals, type VerifyKey } from '../keys/key-refusals.ts';
import type { KeyRing } from '../keys/key-ring.ts';
import type { ProviderKeyService } from '../keys/provider-key.service.ts';
import type { ProviderCache } from '../providers/provider-cache.ts';
import type { CircuitRegistry } from '../resilience/circuit-registry.ts';
import { type RateLimits, rateLimitHeaders } from '../resilience/rate-limits.ts';
import type { UpstreamAgents } from '../upstream/upstream-agents.ts';
import type { UsageRecorder } from '../usage/usage-recorder.ts';
import type { AdmissionService } from './admission.ts';
import { type CallContext, CallLifetime, CallOutcome, type CallStart } from './call-context.ts';
import { GATEWAY_ERRORS, GatewayError, sendGatewayError } from './proxy-errors.ts';
import { ProxyState } from './proxy-state.ts';
import { CallTrace } from './proxy-tracing.ts';
import { type RequestBody, StreamedBody } from './request-body.ts';
import { admission } from './stages/admission.ts';
import { admit } from './stages/admit.ts';
import { respond, tollgateHeaders } from './stages/respond.ts';
import { type RouteDeps, route } from './stages/route.ts';
import { settle } from './stages/settle.ts';

export interface ProxyDeps {
  providers: ProviderCache;
  clients: ClientCache;
  keyRing: KeyRing;
  keys: ProviderKeyService;
  limits: RateLimits;
  budgets: BudgetEnforcer;
  /** With Redis: decides a call's limits and budget holds in one round trip (stages/admission.ts). */
  admission?: AdmissionService;
  breakers: CircuitRegistry;
  usage: UsageRecorder;
  agents: UpstreamAgents;
  logger: Logger;
  config: Config['proxy'];
  /** The stages' state between calls (retry budgets, bulkheads, stale cache), shared with services. */
  state?: ProxyState;
  /** Spans for each call when trace export is configured. */
  tracing?: Tracing;
  /**
   * Runs the provider's health check with this key (a key refused with no other key to compare):
   * its status says whether the provider refuses the key itself.
   */
  verifyKey?: VerifyKey;
}

export function createProxyHandler(deps: ProxyDeps) {
  const state = deps.state ?? new ProxyState({ staleCacheMaxBytes: deps.config.staleCacheMaxBytes });
  const routeDeps: RouteDeps = {
    ...deps,
    state,
    refusals: new KeyRefusals({
      keyRing: deps.keyRing,
      keys: deps.keys,
      logger: deps.logger,
      verifyKey: deps.verifyKey,
    }),
  };
  const admitDeps = { ...deps, maxRequestBytes: deps.config.maxRequestBytes };
  const respondDeps = { maxResponseBytes: deps.config.maxResponseBytes, staleCache: state.staleCache };

  return async function proxy(req: IncomingMessage, res: ServerResponse, requestId: string, path: string) {
    const method = req.method ?? 'GET';
    const call: CallStart = { requestId, started: performance.now(), method, path, req };
    const outcome = new CallOutcome();
    const life = new CallLifetime();
    const trace = CallTrace.start(deps.tracing, req, method, requestId);
    let body: RequestBody;
    // The caller went away: stop the upstream call too.
    res.once('close', () => {
      if (!res.writableFinished) life.leave();
    });
    try {
      const request = await admit(call, outcome, trace, admitDeps);
      body = request.body;
      const ctx: CallContext = { request, outcome, life, trace };
      // A provider over budget may still be replaced by a fallback whose budgets allow the call.
      const overBudget = await admission(ctx, deps);
      const result = await route(ctx, overBudget, routeDeps);
      try {
        await respond(ctx, result, res, respondDeps);
      } finally {
        result.release?.();
      }
    } catch (error) {
      answerError(
        toGatewayError(error, call, life, deps.logger),
        { call, outcome, life, body, res },
        deps.logger,
      );
    } finally {
      life.end();
      if (body instanceof StreamedBody) outcome.requestBytes = body.bytes;
      settle(call, outcome, trace, deps);
    }
  };
}

/** A refusal or failure, answered with the JSON error body (or the connection cut, if too late). */
function answerError(
  error: GatewayError,
  at: { call: CallStart; outcome: CallOutcome; life: CallLifetime; body: RequestBody; res: ServerResponse },
  logger: Logger,
): void {
  const { call, outcome, life, body, res } = at;
  const aborted = life.gone || error.code === 'CLIENT_ABORTED';
  outcome.status = aborted ? GATEWAY_ERRORS.CLIENT_ABORTED.status : error.status;
  outcome.outcome = aborted ? 'CLIENT_ABORTED' : error.outcome;
  // A streamed body never sent upstream is read to its end, so the caller gets the answer.
  if (!aborted && body instanceof StreamedBody && !body.stream.readableDidRead) {
    body.stream.on('error', () => undefined).resume();
  }
  if (aborted) {
    // Normal client behaviour: a debug line without a stack, not an error.
    const cause = (error.cause as Error | undefined)?.message ?? error.message;
    logger.debug({ requestId: call.requestId, reason: cause }, 'caller went away');
    if (!res.writableFinished) res.destroy();
  } else if (!res.headersSent && !res.destroyed) {
    sendGatewayError(res, error, {
      requestId: call.requestId,
      // Not even the slug's spelling as stored: "not found" says nothing of what exists.
      provider: error.code === 'PROVIDER_NOT_FOUND' ? null : (outcome.provider?.slug ?? null),
      headers: {
        ...(outcome.limit ? rateLimitHeaders(outcome.limit) : {}),
        ...tollgateHeaders(outcome, call.started),
        'x-request-id': call.requestId,
      },
    });
  } else if (!res.writableFinished) {
    res.destroy();
  }
}

function toGatewayError(error: unknown, call: CallStart, life: CallLifetime, logger: Logger): GatewayError {
  if (error instanceof GatewayError) return error;
  // Whatever broke after the caller left broke because it left.
  if (life.gone) return new GatewayError('CLIENT_ABORTED', 'The caller went away.', { cause: error });
  logger.error({ err: error, requestId: call.requestId }, 'unexpected error in proxy');
  return new GatewayError('UPSTREAM_UNAVAILABLE', 'Unexpected gateway error.');
}
