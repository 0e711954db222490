import type { Orm } from '../../db/orm.ts';
import type { Component, Module } from '../../shared/components.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EventBus } from '../events/event-bus.ts';
import { ClientService } from './client.service.ts';
import { ClientCache } from './client-cache.ts';

/** Clients, and the cache of their keys that authenticates proxied calls. */
export function clientsModule(deps: {
  orm: Orm;
  audit: AuditService;
  events: EventBus;
  logger: Logger;
  refreshIntervalMs: number;
}): Module<{ clients: ClientService; clientCache: ClientCache }, { cache: Component }> {
  const { orm, audit, events, logger } = deps;
  const clientCache = new ClientCache({ orm, events, logger });
  return {
    services: { clients: new ClientService({ orm, audit, events }), clientCache },
    components: {
      cache: {
        name: 'client cache',
        start: () => clientCache.start(deps.refreshIntervalMs),
        stop: () => clientCache.stop(),
      },
    },
  };
}
