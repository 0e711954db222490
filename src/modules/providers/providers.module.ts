import type { Orm } from '../../db/orm.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EventBus } from '../events/event-bus.ts';
import { ProviderService } from './provider.service.ts';

/** Providers' configuration (the data plane keeps them in memory: see the provider cache). */
export function providersModule(deps: { orm: Orm; audit: AuditService; events: EventBus }) {
  return { providers: new ProviderService(deps) };
}
