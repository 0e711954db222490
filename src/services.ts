import type { AlertChannelService } from './modules/alerts/alert-channel.service.ts';
import type { AuditService } from './modules/audit/audit.service.ts';
import type { TokenService } from './modules/auth/token.service.ts';
import type { BudgetService } from './modules/budgets/budget.service.ts';
import type { BudgetEnforcer } from './modules/budgets/budget-enforcer.ts';
import type { ClientService } from './modules/clients/client.service.ts';
import type { ClientCache } from './modules/clients/client-cache.ts';
import type { ConfigExporter } from './modules/config-io/config-export.ts';
import type { ConfigImporter } from './modules/config-io/config-import.ts';
import type { EventBus } from './modules/events/event-bus.ts';
import type { HealthService } from './modules/health/health.service.ts';
import type { JobQueue } from './modules/jobs/job-queue.ts';
import type { KeyRing } from './modules/keys/key-ring.ts';
import type { MasterKeyService } from './modules/keys/master-key.service.ts';
import type { ProviderKeyService } from './modules/keys/provider-key.service.ts';
import type { ProviderService } from './modules/providers/provider.service.ts';
import type { ProviderCache } from './modules/providers/provider-cache.ts';
import type { ProxyState } from './modules/proxy/proxy-state.ts';
import type { CircuitRegistry } from './modules/resilience/circuit-registry.ts';
import type { RateLimits } from './modules/resilience/rate-limits.ts';
import type { RetentionService } from './modules/retention/retention.service.ts';
import type { SessionService } from './modules/sessions/session.service.ts';
import type { UsageService } from './modules/usage/usage.service.ts';
import type { UsagePartitions } from './modules/usage/usage-partitions.ts';
import type { UsageReports } from './modules/usage/usage-report.ts';

/** The module services, wired once in app.ts and handed to resolvers through the context. */
export interface Services {
  tokens: TokenService;
  /** Console sessions after an OIDC sign-in (always present; empty without OIDC). */
  sessions: SessionService;
  audit: AuditService;
  events: EventBus;
  providers: ProviderService;
  providerKeys: ProviderKeyService;
  keyRing: KeyRing;
  masterKeys: MasterKeyService;
  clients: ClientService;
  clientCache: ClientCache;
  breakers: CircuitRegistry;
  /** Read by the schema for a provider's rate-limit headroom; the proxy takes from it. */
  limits: RateLimits;
  /** What the proxy's stages keep between calls: retry budgets, bulkheads, stale cache, last failures. */
  proxyState: ProxyState;
  usage: UsageService;
  providerCache: ProviderCache;
  budgets: BudgetService;
  budgetEnforcer: BudgetEnforcer;
  usageReports: UsageReports;
  health: HealthService;
  alertChannels: AlertChannelService;
  jobs: JobQueue;
  retention: RetentionService;
  /** The daily partitions of usage_events: created ahead by a job, dropped by retention. */
  usagePartitions: UsagePartitions;
  configExporter: ConfigExporter;
  configImporter: ConfigImporter;
}
