import { type ExecutionResult, GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Context } from '../context.ts';

/** setTimeout's largest delay (2^31 - 1 ms, less a margin). */
const MAX_DELAY_MS = 2_147_000_000;

/** The last result of a subscription whose token ran out. */
export function tokenExpiredError(): GraphQLError {
  return new GraphQLError('Your token expired: subscribe again with a fresh one.', {
    extensions: { code: 'UNAUTHENTICATED' },
  });
}

/**
 * Passes `source` on until `expiresAt`, then sends `last` and ends (ending `source` too, so its
 * event-bus subscription goes). Ending the result early ends `source` as well.
 */
export function untilExpiry<T>(
  source: AsyncIterable<T>,
  expiresAt: Date,
  last: () => T,
): AsyncIterableIterator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    // setTimeout cannot wait longer than ~24.8 days: a longer-lived token re-arms it.
    const arm = () => {
      const remaining = expiresAt.getTime() - Date.now();
      if (remaining <= 0) return resolve('expired');
      timer = setTimeout(arm, Math.min(remaining, MAX_DELAY_MS));
      timer.unref();
    };
    arm();
  });
  let finished = false;
  const finish = () => {
    finished = true;
    clearTimeout(timer);
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next(): Promise<IteratorResult<T>> {
      if (finished) return { done: true, value: undefined };
      const outcome = await Promise.race([iterator.next(), expired]);
      if (outcome === 'expired') {
        finish();
        // Not awaited: a source waiting for its next event may only settle when one comes.
        void Promise.resolve(iterator.return?.()).catch(() => undefined);
        return { done: false, value: last() };
      }
      if (outcome.done) finish();
      return outcome;
    },
    async return(value?: unknown): Promise<IteratorResult<T>> {
      finish();
      await iterator.return?.(value);
      return { done: true, value: undefined };
    },
    async throw(error?: unknown): Promise<IteratorResult<T>> {
      finish();
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
  };
}

/**
 * A subscription lives no longer than the token that authorised it: at the token's expiry it
 * gets one UNAUTHENTICATED error and completes. This is what ends an SSE stream, and a WebSocket
 * operation authorised by its own `extensions.headers` token (a connection's own token closes the
 * whole connection instead, see server/ws.ts).
 */
export function useTokenExpiry(): Plugin<Context> {
  return {
    onSubscribe: () => ({
      onSubscribeResult: ({ result, args, setResult }) => {
        const context = args.contextValue as Partial<Context>;
        const operator = context.operator;
        if (context.sharedSubscription || !operator || !isAsyncIterable(result)) return;
        setResult(
          untilExpiry<ExecutionResult>(result, operator.expiresAt, () => ({ errors: [tokenExpiredError()] })),
        );
      },
    }),
  };
}
