import type { Operator } from './modules/auth/token.service.ts';
import type { Services } from './services.ts';
import type { Actor } from './shared/actor.ts';
import type { Logger } from './shared/logger.ts';

/** What every resolver gets, for HTTP and WebSocket operations alike. A new one per operation. */
export interface Context {
  /** The verified caller, or null when no valid token came with the request. */
  operator: Operator | null;
  requestId: string;
  /**
   * The process's logger, not a child bound to the request: a pino child per operation cost more
   * than the rest of a small query's context, and most operations log nothing. Log with
   * `{ requestId: ctx.requestId }`.
   */
  logger: Logger;
  services: Services;
  /** Set for WebSocket operations: what to do when a subscription falls too far behind. */
  onSlowConsumer?: (() => void) | undefined;
  /**
   * Set on the context that runs a WebSocket subscription for every subscriber that shares it:
   * each subscriber's token expiry and slow-consumer handling are its own (server/ws.ts).
   */
  sharedSubscription?: boolean;
}

/** The audit/authorisation view of the caller; resolvers only run it behind an auth scope. */
export function actorOf(ctx: Context): Actor {
  if (!ctx.operator) throw new Error('actorOf called without an authenticated operator');
  return {
    subject: ctx.operator.subject,
    email: ctx.operator.email,
    role: ctx.operator.role,
    requestId: ctx.requestId,
  };
}

/** Extracts the bearer token from an Authorization header or a graphql-ws connectionParams value. */
export function bearerToken(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1];
}

/**
 * Builds a Context from whatever credential came with the operation. An invalid token yields
 * an anonymous context (so every protected field answers UNAUTHENTICATED) and a debug log line
 * with the reason, never a reason sent to the client.
 */
export async function createContext(input: {
  authorization: unknown;
  requestId: string;
  logger: Logger;
  services: Services;
  onSlowConsumer?: (() => void) | undefined;
}): Promise<Context> {
  const token = bearerToken(input.authorization);
  let operator: Operator | null = null;
  if (token) {
    try {
      operator = await input.services.tokens.verify(token);
    } catch (error) {
      input.logger.debug(
        { requestId: input.requestId, reason: (error as Error & { cause?: Error }).cause?.message },
        'token refused',
      );
    }
  }
  return {
    operator,
    requestId: input.requestId,
    logger: input.logger,
    services: input.services,
    onSlowConsumer: input.onSlowConsumer,
  };
}
