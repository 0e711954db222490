import type { AuditService } from './modules/audit/audit.service.ts';
import type { TokenService } from './modules/auth/token.service.ts';
import type { EventBus } from './modules/events/event-bus.ts';
import type { ProviderService } from './modules/providers/provider.service.ts';

/** The module services, wired once in app.ts and handed to resolvers through the context. */
export interface Services {
  tokens: TokenService;
  audit: AuditService;
  providers: ProviderService;
  events: EventBus;
}
