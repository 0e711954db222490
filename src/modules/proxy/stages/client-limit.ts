/** Stage 3, client limit: the client's own rate limit, if it has one. */
import type { LimitDecision, RateLimits } from '../../resilience/rate-limits.ts';
import { rateLimitHeaders } from '../../resilience/rate-limits.ts';
import type { CallContext } from '../call-context.ts';
import { GatewayError } from '../proxy-errors.ts';

export async function clientLimit(ctx: CallContext, limits: RateLimits): Promise<void> {
  const { client } = ctx.request;
  if (!client.rateLimit) return;
  const decision = await limits.acquire(`client:${client.id}`, client.rateLimit);
  if (!decision.allowed) throw limited(decision, 'This client is over its rate limit.');
}

/** A refusal by a rate limit, with the RateLimit-* headers and when to retry. */
export function limited(decision: LimitDecision, message: string): GatewayError {
  return new GatewayError('RATE_LIMITED', message, {
    retryAfterMs: decision.resetMs,
    headers: rateLimitHeaders(decision),
  });
}
