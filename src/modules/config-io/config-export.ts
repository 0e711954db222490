import { stringify } from 'yaml';
import type { Role } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import { AlertChannelEntity } from '../alerts/alert-channel.entity.ts';
import { redactWebhookUrl } from '../alerts/webhook-url.ts';
import { BudgetEntity } from '../budgets/budget.entity.ts';
import { ClientEntity } from '../clients/client.entity.ts';
import { ProviderEntity } from '../providers/provider.entity.ts';
import { degradedModeSchema } from '../providers/provider.validation.ts';

/** The version of the exported document's format; bumped when its shape changes. */
export const CONFIG_FORMAT_VERSION = 1;

const HEADER = `# Tollgate configuration (format version ${CONFIG_FORMAT_VERSION}).
# Secrets are never included: provider keys, client keys and webhook signing secrets stay in
# Tollgate. Clients and budgets refer to providers by slug and budgets to clients by name.
`;

const REDACTED_NOTE = `# Alert channel URLs are redacted (they may hold a credential; only admins export them
# whole): importConfig refuses them as they are.
`;

/**
 * The whole configuration as YAML: providers (with fallbacks, limits, pricing, probes, degraded
 * mode), budgets, clients (without keys) and alert channels (without secrets). Every list is
 * sorted by its key; records keep one field order and settings objects are sorted by key, so two
 * exports diff cleanly.
 */
export async function exportConfig(
  orm: Orm,
  options: { webhookUrls: 'whole' | 'redacted' } = { webhookUrls: 'whole' },
): Promise<string> {
  const em = orm.em.fork();
  const [providers, budgets, clients, channels] = await Promise.all([
    em.find(ProviderEntity, {}),
    em.find(BudgetEntity, {}),
    em.find(ClientEntity, { status: 'ACTIVE' }),
    em.find(AlertChannelEntity, {}),
  ]);
  const slugOf = new Map(providers.map((p) => [p.id, p.slug]));
  const clientNameOf = new Map(clients.map((c) => [c.id, c.name]));
  const byKey =
    <T>(key: (item: T) => string) =>
    (a: T, b: T) =>
      key(a).localeCompare(key(b));

  const document = {
    version: CONFIG_FORMAT_VERSION,
    providers: providers.sort(byKey((p) => p.slug)).map((p) => ({
      slug: p.slug,
      name: p.name,
      kind: p.kind,
      baseUrl: p.baseUrl,
      enabled: p.enabled,
      auth: sortedKeys(p.auth),
      timeoutMs: p.timeoutMs,
      retry: sortedKeys(p.retry),
      breaker: sortedKeys(p.breaker),
      bulkhead: sortedKeys(p.bulkhead),
      rateLimit: sortedKeys(p.rateLimit ?? null),
      healthCheck: sortedKeys(p.healthCheck),
      pricing: sortedKeys(p.pricing),
      fallbacks: p.fallbackIds.map((id) => slugOf.get(id)).filter((s): s is string => s !== undefined),
      allowPrivateNetwork: p.allowPrivateNetwork,
      keyPattern: p.keyPattern ?? null,
      degradedMode: sortedKeys(p.degradedMode ?? degradedModeSchema.parse(undefined)),
    })),
    budgets: budgets.sort(byKey((b) => b.name)).map((b) => ({
      name: b.name,
      scope: b.scope,
      provider: b.providerId ? (slugOf.get(b.providerId) ?? null) : null,
      client: b.clientId ? (clientNameOf.get(b.clientId) ?? null) : null,
      period: b.period,
      timeZone: b.timeZone,
      limitMicros: b.limitMicros,
      thresholds: b.thresholds,
      action: b.action,
    })),
    clients: clients.sort(byKey((c) => c.name)).map((c) => ({
      name: c.name,
      allowedProviders: c.allowedProviderIds
        ? c.allowedProviderIds
            .map((id) => slugOf.get(id))
            .filter((s): s is string => s !== undefined)
            .sort()
        : null,
      rateLimit: sortedKeys(c.rateLimit ?? null),
      expiresAt: c.expiresAt ? c.expiresAt.toISOString() : null,
    })),
    alertChannels: channels.sort(byKey((c) => c.name)).map((c) => ({
      name: c.name,
      url: options.webhookUrls === 'whole' ? c.url : redactWebhookUrl(c.url),
      kinds: [...c.kinds].sort(),
      enabled: c.enabled,
      allowPrivateNetwork: c.allowPrivateNetwork,
    })),
  };
  const redacted = options.webhookUrls === 'redacted' && channels.length > 0 ? REDACTED_NOTE : '';
  return `${HEADER}${redacted}${stringify(document, { lineWidth: 0 })}`;
}

/**
 * Settings objects (stored as jsonb, which orders keys by length) with their keys in
 * alphabetical order at every level, so the order never depends on how they were stored.
 */
function sortedKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sortedKeys) as T;
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]),
  ) as T;
}

/** The service face of exportConfig, for resolvers. */
export class ConfigExporter {
  readonly #orm: Orm;
  constructor(orm: Orm) {
    this.#orm = orm;
  }
  /** Webhook URLs whole for admins only: they may be credentials. */
  export(role: Role): Promise<string> {
    return exportConfig(this.#orm, { webhookUrls: role === 'admin' ? 'whole' : 'redacted' });
  }
}
