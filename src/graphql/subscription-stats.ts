import type { Plugin } from 'graphql-yoga';

/** How much work subscriptions cost: read by /metrics and by tests. */
export class SubscriptionStats {
  /** Subscription events executed (one per event per running operation, however many receive it). */
  executions = 0;
}

/** Counts each execution of a subscription event (over WebSocket and SSE alike). */
export function useSubscriptionStats(stats: SubscriptionStats): Plugin {
  return {
    onSubscribe: () => ({
      onSubscribeResult: () => ({
        onNext: () => {
          stats.executions++;
        },
      }),
    }),
  };
}
