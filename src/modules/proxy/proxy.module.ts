import type { Config } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import type { Component, Module } from '../../shared/components.ts';
import type { Logger } from '../../shared/logger.ts';
import type { RedisGate } from '../../shared/redis-gate.ts';
import type { Tracing } from '../../shared/tracing.ts';
import type { BudgetEnforcer } from '../budgets/budget-enforcer.ts';
import type { ClientCache } from '../clients/client-cache.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { KeyRing } from '../keys/key-ring.ts';
import type { ProviderKeyService } from '../keys/provider-key.service.ts';
import type { UsageRecorder } from '../usage/usage-recorder.ts';
import { Breakers } from './circuit-breaker.ts';
import { CircuitIsolations } from './circuit-isolations.ts';
import { ProviderCache } from './provider-cache.ts';
import { createProxyHandler, type ProxyDeps } from './proxy.handler.ts';
import { RateLimits } from './rate-limits.ts';
import { UpstreamAgents } from './upstream-agents.ts';

/**
 * The data plane's state: providers in memory, circuits, rate limits and the upstream
 * connection pools. Its components stop after the HTTP server has drained (and the pools after
 * the jobs that deliver webhooks through them).
 */
export function dataPlaneModule(deps: {
  config: Config;
  orm: Orm;
  events: EventBus;
  gate: RedisGate | undefined;
  logger: Logger;
}): Module<
  { providerCache: ProviderCache; breakers: Breakers; limits: RateLimits; agents: UpstreamAgents },
  { agents: Component; providerCache: Component; breakers: Component }
> {
  const { config, orm, events, gate, logger } = deps;
  const refreshMs = config.caches.refreshIntervalMs;
  const breakers = new Breakers({ events, logger, gate, isolations: new CircuitIsolations(orm) });
  const providerCache = new ProviderCache({ orm, events, logger });
  const limits = new RateLimits({ gate, replicas: config.proxy.replicas, logger });
  const agents = new UpstreamAgents();
  return {
    services: { providerCache, breakers, limits, agents },
    components: {
      agents: { name: 'upstream connection pools', stop: () => agents.close() },
      providerCache: {
        name: 'provider cache',
        start: () => providerCache.start(refreshMs),
        stop: () => providerCache.stop(),
      },
      breakers: {
        name: 'circuit breakers',
        start: async () => {
          const restored = await breakers.restore(providerCache.ids());
          if (restored > 0) logger.info({ circuits: restored }, 'restored open and isolated circuits');
          breakers.start(refreshMs);
        },
        stop: () => breakers.stop(),
      },
    },
  };
}

/** The /proxy route over the data plane's state. */
export function proxyRoute(deps: {
  config: Config;
  plane: { providerCache: ProviderCache; breakers: Breakers; limits: RateLimits; agents: UpstreamAgents };
  clients: ClientCache;
  keyRing: KeyRing;
  keys: ProviderKeyService;
  budgets: BudgetEnforcer;
  usage: UsageRecorder;
  logger: Logger;
  tracing: Tracing | undefined;
  verifyKey: ProxyDeps['verifyKey'];
}) {
  const { plane } = deps;
  return createProxyHandler({
    providers: plane.providerCache,
    clients: deps.clients,
    keyRing: deps.keyRing,
    keys: deps.keys,
    limits: plane.limits,
    budgets: deps.budgets,
    breakers: plane.breakers,
    usage: deps.usage,
    agents: plane.agents,
    logger: deps.logger,
    config: deps.config.proxy,
    tracing: deps.tracing,
    verifyKey: deps.verifyKey,
  });
}
