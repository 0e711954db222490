import { builder } from '../../graphql/builder.ts';
import { ProviderNode } from '../providers/provider.schema.ts';

/** What one replica's proxy holds for a provider right now (ProxyState, read without the handler). */
interface ProviderReplicaState {
  inFlight: number;
  queued: number;
  retryTokens: number | null;
  lastFailureAt: number | null;
  lastFailureReason: string | null;
}

const ProviderReplicaStateRef = builder.objectRef<ProviderReplicaState>('ProviderReplicaState').implement({
  description:
    'What the replica answering this query holds for the provider now: each replica has its own bulkhead and retry budget (they are per replica on purpose), so behind a load balancer successive reads may come from different replicas.',
  fields: (t) => ({
    inFlight: t.exposeInt('inFlight', { description: "Upstream calls in the provider's bulkhead now." }),
    queued: t.exposeInt('queued', { description: 'Calls waiting for a bulkhead slot now.' }),
    retryTokens: t.float({
      nullable: true,
      description:
        'Retries the retry budget allows now (it earns budgetPercent of a retry per call, up to 20); null before the first call.',
      resolve: (s) => s.retryTokens,
    }),
    lastFailureAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'The latest upstream failure this replica saw (the kind the breaker counts).',
      resolve: (s) => (s.lastFailureAt === null ? null : new Date(s.lastFailureAt)),
    }),
    lastFailureReason: t.string({ nullable: true, resolve: (s) => s.lastFailureReason }),
  }),
});

builder.objectField(ProviderNode, 'replicaState', (t) =>
  t.field({
    type: ProviderReplicaStateRef,
    resolve: (provider, _args, ctx): ProviderReplicaState => {
      const state = ctx.services.proxyState;
      const bulkhead = state.bulkheads.status(provider.id);
      const failure = state.lastFailure(provider.id);
      return {
        inFlight: bulkhead?.active ?? 0,
        queued: bulkhead?.queued ?? 0,
        retryTokens: state.retryBudgets.get(provider.id)?.tokens ?? null,
        lastFailureAt: failure?.at ?? null,
        lastFailureReason: failure?.reason ?? null,
      };
    },
  }),
);
