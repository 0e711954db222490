import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import { uuid7 } from '../../shared/uuid7.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { KeyRing, UsableKey } from '../keys/key-ring.ts';
import type { Provider } from '../providers/provider.entity.ts';
import type { ProviderCache } from '../providers/provider-cache.ts';
import type { CircuitRegistry } from '../resilience/circuit-registry.ts';
import { describeFailure } from '../resilience/failure.ts';
import type { RateLimits } from '../resilience/rate-limits.ts';
import { authStrategy } from '../upstream/auth-styles.ts';
import type { UpstreamAgents } from '../upstream/upstream-agents.ts';
import { upstreamRequest } from '../upstream/upstream-request.ts';
import type { HEALTH_CHECK_SOURCES, HealthStatus } from './health.entity.ts';
import { decideHealth } from './health-status.ts';

export interface ProbeResult {
  at: Date;
  ok: boolean;
  status: number | null;
  latencyMs: number | null;
  error: string | null;
  /** True when the probe did not run (rate limit): it says nothing about health. */
  skipped: boolean;
}

export interface HealthSettings {
  tickMs: number;
  /** Sliding window of live traffic that passive health looks at. */
  windowMs: number;
  /** How often a provider without probes is re-evaluated from traffic. */
  passiveIntervalMs: number;
}

type Source = (typeof HEALTH_CHECK_SOURCES)[number];

/**
 * Provider health. Every `tickMs` each replica looks for providers whose next check is due and
 * claims each with a conditional update; the winner probes it (when probes are enabled), reads
 * live traffic over the window, and decides the status. Circuit transitions trigger a decision
 * at once on every replica; the status changes by compare-and-set under a row lock, so each
 * change is recorded in health_transitions and announced on the bus exactly once.
 */
export class HealthMonitor {
  readonly #orm: Orm;
  readonly #providers: ProviderCache;
  readonly #keyRing: KeyRing;
  readonly #limits: RateLimits;
  readonly #breakers: CircuitRegistry;
  readonly #agents: UpstreamAgents;
  readonly #events: EventBus;
  readonly #logger: Logger;
  readonly #settings: HealthSettings;
  readonly #known = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopListening: (() => void) | undefined;

  constructor(deps: {
    orm: Orm;
    providers: ProviderCache;
    keyRing: KeyRing;
    limits: RateLimits;
    breakers: CircuitRegistry;
    agents: UpstreamAgents;
    events: EventBus;
    logger: Logger;
    settings: HealthSettings;
  }) {
    this.#orm = deps.orm;
    this.#providers = deps.providers;
    this.#keyRing = deps.keyRing;
    this.#limits = deps.limits;
    this.#breakers = deps.breakers;
    this.#agents = deps.agents;
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#settings = deps.settings;
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#ticking ??= this.tick()
        .catch((error: unknown) => this.#logger.warn({ err: (error as Error).message }, 'health tick failed'))
        .finally(() => {
          this.#ticking = undefined;
        });
    }, this.#settings.tickMs);
    this.#timer.unref();
    this.#stopListening = this.#events.listen('circuit.changed', (event) => this.evaluate(event.providerId));
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#stopListening?.();
    await this.#ticking;
  }

  #db(): Kysely<unknown> {
    return this.#orm.em.fork().getKysely() as Kysely<unknown>;
  }

  /** Runs the checks that are due and that this replica wins. */
  async tick(now = new Date()): Promise<void> {
    const db = this.#db();
    await this.ensureRows(this.#providers.ids(), now);
    const due = await sql<{ provider_id: string }>`
      select provider_id from provider_health where next_check_at <= ${now}`.execute(db);
    await Promise.all(
      due.rows.map(async ({ provider_id: id }) => {
        const provider = this.#providers.byId(id);
        if (!provider) return;
        const interval = provider.healthCheck.enabled
          ? provider.healthCheck.intervalMs
          : this.#settings.passiveIntervalMs;
        const claimed =
          await sql`update provider_health set next_check_at = ${new Date(now.getTime() + interval)}
          where provider_id = ${id} and next_check_at <= ${now} returning provider_id`.execute(db);
        if (claimed.rows.length === 0) return; // another replica took it
        await this.check(provider, 'SCHEDULED');
      }),
    );
  }

  /** Gives providers seen for the first time their health row (UNKNOWN, checked at once). */
  async ensureRows(ids: string[], now = new Date()): Promise<void> {
    const unknown = ids.filter((id) => !this.#known.has(id));
    if (unknown.length === 0) return;
    await sql`insert into provider_health
        (provider_id, status, reason, consecutive_failures, changed_at, next_check_at)
      select id, 'UNKNOWN', 'no checks yet', 0, ${now}, ${now} from providers where id = any(${unknown}::uuid[])
      on conflict (provider_id) do nothing`.execute(this.#db());
    for (const id of unknown) this.#known.add(id);
  }

  /** Probes (when enabled, or on demand) and decides the provider's status. */
  async check(provider: Provider, source: Source): Promise<ProbeResult | null> {
    const probe = provider.healthCheck.enabled || source === 'MANUAL' ? await this.probe(provider) : null;
    await this.evaluate(provider.id, probe && !probe.skipped ? { ...probe, source } : undefined);
    return probe;
  }

  /**
   * One probe: the provider's probe path with its key (or with `withKey`, to verify that key),
   * within its rate limit and timeout.
   */
  async probe(provider: Provider, withKey?: UsableKey): Promise<ProbeResult> {
    const at = new Date();
    const check = provider.healthCheck;
    if (provider.rateLimit) {
      const decision = await this.#limits.acquire(`provider:${provider.id}`, provider.rateLimit);
      if (!decision.allowed) {
        return {
          at,
          ok: false,
          status: null,
          latencyMs: null,
          error: 'skipped: the provider is at its rate limit',
          skipped: true,
        };
      }
    }
    const usesKey = authStrategy(provider.auth.style).usesKey;
    const key = usesKey ? (withKey ?? this.#keyRing.select(provider.id, new Set())) : undefined;
    if (usesKey && !key) {
      return { at, ok: false, status: null, latencyMs: null, error: 'no usable key', skipped: false };
    }
    const [path = '/'] = check.path.split('?');
    const request = upstreamRequest(
      provider,
      path,
      { url: check.path, method: check.method, headers: {} },
      key,
      `probe-${randomUUID()}`,
      null,
    );
    const started = performance.now();
    try {
      const response = await this.#agents.for(provider.allowPrivateNetwork).request({
        ...request,
        headersTimeout: check.timeoutMs,
        bodyTimeout: check.timeoutMs,
        signal: AbortSignal.timeout(check.timeoutMs),
      });
      await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      const latencyMs = Math.round((performance.now() - started) * 100) / 100;
      const ok = response.statusCode === check.expectedStatus;
      return {
        at,
        ok,
        status: response.statusCode,
        latencyMs,
        error: ok ? null : `status ${response.statusCode}, expected ${check.expectedStatus}`,
        skipped: false,
      };
    } catch (error) {
      return {
        at,
        ok: false,
        status: null,
        latencyMs: null,
        error: describeFailure(error, check.timeoutMs),
        skipped: false,
      };
    }
  }

  /** Records a probe (if any), reads live traffic, and moves the status if the evidence says so. */
  async evaluate(providerId: string, probe?: ProbeResult & { source: Source }): Promise<void> {
    const provider = this.#providers.byId(providerId);
    if (!provider) return;
    const db = this.#db();
    const since = new Date(Date.now() - this.#settings.windowMs);
    const traffic = await sql<{ calls: number; failures: number; p95: number | null }>`
      select count(*)::int as calls,
        (count(*) filter (where outcome in ('UPSTREAM_ERROR', 'TIMEOUT', 'UNAVAILABLE')))::int as failures,
        percentile_disc(0.95) within group (order by upstream_ms) as p95
      from usage_events where served_by_provider_id = ${providerId} and at > ${since} and attempts > 0`.execute(
      db,
    );
    const live = traffic.rows[0] ?? { calls: 0, failures: 0, p95: null };
    const circuit = this.#breakers.status(providerId).state;

    const change = await db.transaction().execute(async (trx) => {
      const rows = await sql<{
        status: HealthStatus;
        reason: string;
        consecutive_failures: number;
        last_error: string | null;
        last_latency_ms: number | null;
        last_check_at: string | null;
      }>`select status, reason, consecutive_failures, last_error, last_latency_ms, last_check_at
        from provider_health where provider_id = ${providerId} for update`.execute(trx);
      const row = rows.rows[0];
      if (!row) return null;
      let failures = row.consecutive_failures;
      let lastError = row.last_error;
      let lastLatency = row.last_latency_ms;
      if (probe) {
        failures = probe.ok ? 0 : failures + 1;
        lastError = probe.ok ? lastError : probe.error;
        lastLatency = probe.latencyMs;
        await sql`insert into health_checks (id, provider_id, at, source, ok, status, latency_ms, error)
          values (${uuid7(probe.at.getTime())}, ${providerId}, ${probe.at}, ${probe.source}, ${probe.ok},
                  ${probe.status}, ${probe.latencyMs}, ${probe.error})`.execute(trx);
        await sql`update provider_health set consecutive_failures = ${failures}, last_error = ${lastError},
            last_latency_ms = ${lastLatency}, last_check_at = ${probe.at}
          where provider_id = ${providerId}`.execute(trx);
      }
      const decision = decideHealth({
        circuit,
        probesEnabled: provider.healthCheck.enabled || probe?.source === 'MANUAL',
        consecutiveFailures: failures,
        lastError,
        lastProbeMs: probe ? probe.latencyMs : lastLatency,
        probeTimeoutMs: provider.healthCheck.timeoutMs,
        hasProbeResult: probe !== undefined || row.last_check_at !== null,
        calls: live.calls,
        failures: live.failures,
        upstreamP95Ms: live.p95 === null ? null : Number(live.p95),
        slowMs: Math.min(10_000, provider.timeoutMs / 2),
      });
      if (decision.status === row.status) {
        if (decision.reason !== row.reason) {
          await sql`update provider_health set reason = ${decision.reason} where provider_id = ${providerId}`.execute(
            trx,
          );
        }
        return null;
      }
      const at = new Date();
      await sql`update provider_health set status = ${decision.status}, reason = ${decision.reason}, changed_at = ${at}
        where provider_id = ${providerId}`.execute(trx);
      await sql`insert into health_transitions (id, provider_id, at, "from", "to", reason)
        values (${uuid7(at.getTime())}, ${providerId}, ${at}, ${row.status}, ${decision.status}, ${decision.reason})`.execute(
        trx,
      );
      return { from: row.status, to: decision.status, reason: decision.reason };
    });
    if (change) {
      this.#logger.info({ provider: provider.slug, ...change }, 'provider health changed');
      this.#events.publish('health.changed', {
        providerId,
        providerSlug: provider.slug,
        from: change.from,
        to: change.to,
        reason: change.reason,
      });
    }
  }
}
