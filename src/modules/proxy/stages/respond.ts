/**
 * Stage 6, respond: the upstream's (or Tollgate's own) answer goes back to the caller as it
 * arrives, with the upstream headers (key redacted), the RateLimit-* headers and Tollgate's own;
 * bytes and tokens are metered on the way, and a good GET is kept for stale-on-error.
 */
import type { ServerResponse } from 'node:http';
import type { UsableKey } from '../../keys/key-ring.ts';
import { isTimeout } from '../../resilience/failure.ts';
import { pushRateLimitHeaders } from '../../resilience/rate-limits.ts';
import type { UpstreamResponse } from '../../upstream/upstream-exchange.ts';
import { headerValue, pushResponseHeaders, responseHeaders } from '../../upstream/upstream-request.ts';
import type { CallContext, CallOutcome, UpstreamResult } from '../call-context.ts';
import { round } from '../path-template.ts';
import { GatewayError } from '../proxy-errors.ts';
import { StaleCache } from '../stale-cache.ts';
import { TokenMeter } from '../token-meter.ts';

export interface RespondDeps {
  maxResponseBytes: number;
  staleCache: StaleCache;
}

export async function respond(
  ctx: CallContext,
  result: UpstreamResult,
  res: ServerResponse,
  deps: RespondDeps,
): Promise<void> {
  const { response } = result;
  const { outcome } = ctx;
  const declared = Number(response.headers['content-length'] ?? Number.NaN);
  if (declared > deps.maxResponseBytes) {
    response.body.destroy();
    throw new GatewayError(
      'UPSTREAM_UNAVAILABLE',
      `The upstream response (${declared} bytes) is over the ${deps.maxResponseBytes}-byte limit.`,
    );
  }
  recordStatus(outcome, response.statusCode, result.attempts > 0);
  const keep = keepForStale(ctx, response, deps.staleCache);
  const contentType = headerValue(response.headers['content-type']);
  const meter = outcome.servedBy?.kind === 'OPENAI_COMPATIBLE' ? new TokenMeter(contentType) : undefined;
  res.writeHead(response.statusCode, callerHeaders(ctx, response, result.key));
  // Streams should show their status at once; other bodies go out with the headers in one write.
  if (contentType?.includes('text/event-stream')) res.flushHeaders();
  try {
    await pipeBody(ctx, response, res, deps.maxResponseBytes, (chunk) => {
      meter?.write(chunk);
      keep?.add(chunk);
    });
    res.end();
    keep?.store(response, result.key);
  } catch (error) {
    response.body.destroy();
    if (ctx.life.gone) {
      outcome.outcome = 'CLIENT_ABORTED';
      return;
    }
    if (result.deadline?.aborted || isTimeout(error)) {
      throw new GatewayError('UPSTREAM_TIMEOUT', 'The upstream response did not finish before the deadline.');
    }
    throw error;
  } finally {
    if (meter) outcome.tokens = meter.end();
  }
}

function recordStatus(outcome: CallOutcome, status: number, fromUpstream: boolean): void {
  outcome.status = status;
  if (fromUpstream) outcome.answeredBy = outcome.servedBy;
  outcome.outcome = status >= 500 ? 'UPSTREAM_ERROR' : status >= 400 ? 'CLIENT_ERROR' : 'SUCCESS';
  if (outcome.fallback && outcome.outcome === 'SUCCESS') outcome.outcome = 'FALLBACK';
  if (status === 429) outcome.outcome = 'RATE_LIMITED';
}

/** Streams the body to the caller, pausing the upstream while the caller reads slower. */
async function pipeBody(
  ctx: CallContext,
  response: UpstreamResponse,
  res: ServerResponse,
  maxBytes: number,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  const { body } = response;
  const resume = () => body.resume();
  await body.consume((chunk) => {
    ctx.outcome.responseBytes += chunk.length;
    if (ctx.outcome.responseBytes > maxBytes) {
      throw new GatewayError('UPSTREAM_UNAVAILABLE', 'The upstream response went over the size limit.');
    }
    onChunk(chunk);
    if (res.write(chunk)) return true;
    res.once('drain', resume);
    return false;
  });
}

/**
 * Successful GETs of providers with stale-on-error are kept for when the provider fails, unless
 * the answer is personal (see StaleCache.mayStore). Undefined when this answer is not kept.
 */
function keepForStale(ctx: CallContext, response: UpstreamResponse, cache: StaleCache) {
  const { request, outcome } = ctx;
  const kept =
    !outcome.fallback &&
    request.method === 'GET' &&
    response.statusCode === 200 &&
    request.provider.degradedMode?.staleOnError === true &&
    StaleCache.mayStore(request.req.headers, response.headers);
  if (!kept) return undefined;
  const chunks: Buffer[] = [];
  let bytes = 0;
  return {
    add(chunk: Buffer) {
      if (bytes > cache.maxBody) return;
      chunks.push(chunk);
      bytes += chunk.length;
    },
    store(answer: UpstreamResponse, key: UsableKey | undefined) {
      if (bytes > cache.maxBody) return;
      cache.put(StaleCache.key(request.provider.id, request.client.id, request.rest), {
        status: answer.statusCode,
        headers: responseHeaders(answer.headers, key),
        body: Buffer.concat(chunks),
        storedAt: Date.now(),
      });
    },
  };
}

/** Tollgate's own headers: attempts, its overhead, the provider that served and any fallback. */
export function tollgateHeaders(outcome: CallOutcome, started: number): Record<string, string> {
  const headers: Record<string, string> = {
    'x-tollgate-attempts': String(outcome.attempts),
    'x-tollgate-overhead-ms': String(round(Math.max(0, performance.now() - started - outcome.upstreamMs))),
  };
  if (outcome.servedBy) headers['x-tollgate-provider'] = outcome.servedBy.slug;
  if (outcome.fallback) headers['x-tollgate-fallback'] = outcome.fallback;
  return headers;
}

/**
 * The response headers for the caller as one flat [name, value, ...] list: the upstream's (less
 * hop-by-hop, the key redacted), the rate-limit headers and Tollgate's own. (A list goes to the
 * socket as it is; an object would be copied header by header.)
 */
function callerHeaders(
  ctx: CallContext,
  response: UpstreamResponse,
  key: UsableKey | undefined,
): (string | string[])[] {
  const headers: (string | string[])[] = [];
  pushResponseHeaders(headers, response.headers, key);
  if (ctx.outcome.limit) pushRateLimitHeaders(headers, ctx.outcome.limit);
  headers.push('x-request-id', ctx.request.requestId);
  const own = tollgateHeaders(ctx.outcome, ctx.request.started);
  for (const name in own) headers.push(name, own[name] as string);
  return headers;
}
