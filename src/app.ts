import type { Config } from './config.ts';
import {
  databasePool,
  embeddedPostgres,
  postgresReadiness,
  refuseBusyDataDir,
} from './db/database.module.ts';
import type { Orm } from './db/orm.ts';
import { SharedSubscriptions } from './graphql/shared-subscriptions.ts';
import { SubscriptionStats } from './graphql/subscription-stats.ts';
import { alertsModule } from './modules/alerts/alerts.module.ts';
import { webhookOutbox } from './modules/alerts/webhook-delivery.ts';
import { AuditService } from './modules/audit/audit.service.ts';
import { authModule } from './modules/auth/auth.module.ts';
import { budgetsModule } from './modules/budgets/budgets.module.ts';
import { clientsModule } from './modules/clients/clients.module.ts';
import { configIoModule } from './modules/config-io/config-io.module.ts';
import { eventsModule } from './modules/events/events.module.ts';
import { healthModule } from './modules/health/health.module.ts';
import { jobsModule } from './modules/jobs/jobs.module.ts';
import { keysModule, openVault } from './modules/keys/keys.module.ts';
import { providersModule } from './modules/providers/providers.module.ts';
import { dataPlaneModule, proxyRoute } from './modules/proxy/proxy.module.ts';
import { retentionModule } from './modules/retention/retention.module.ts';
import { sessionsModule } from './modules/sessions/sessions.module.ts';
import { usageModule } from './modules/usage/usage.module.ts';
import type { UsageRecorder } from './modules/usage/usage-recorder.ts';
import { createAuthRoute } from './server/auth-routes.ts';
import { httpModule } from './server/http.module.ts';
import { metricsModule } from './server/metrics.module.ts';
import type { Services } from './services.ts';
import { Components, together } from './shared/components.ts';
import { createLogger, type Logger, redactUrl } from './shared/logger.ts';
import { redisConnections, redisReadiness } from './shared/redis.module.ts';
import { tracingModule } from './shared/tracing.ts';

export interface StartedApp {
  url: string;
  port: number;
  database: { kind: 'embedded' | 'external'; display: string };
  generatedJwtSecretPath: string | undefined;
  /** Set when a master key was generated on this start: it must be backed up. */
  generatedMasterKeyPath: string | undefined;
  /** Where /metrics is served (the main port unless TOLLGATE_METRICS_PORT is set). */
  metricsUrl: string;
  services: Services;
  orm: Orm;
  usage: UsageRecorder;
  /** Subscription executions, and the WebSocket subscriptions that share them. */
  subscriptions: { stats: SubscriptionStats; shared: SharedSubscriptions };
  /** The started components, in start order (stop runs in reverse). */
  components: string[];
  stop(): Promise<void>;
}

/**
 * The composition root: builds each module from the config and starts its components in the
 * order listed here; stopping runs that list in reverse (a step still running after 5 s is
 * logged by name). What starts later may use what started earlier and stops before it: the HTTP
 * server stops first, then what publishes events or sends jobs, then the job queue, the data
 * plane's state, the caches, and last the event bus, Redis and the database.
 */
export async function startApp(config: Config, options: { logger?: Logger } = {}): Promise<StartedApp> {
  const logger = options.logger ?? createLogger(config.logLevel);
  refuseBusyDataDir(config);
  const app = new Components(logger);
  try {
    const auth = authModule(config);
    const { vault, generatedMasterKeyPath } = openVault(config, logger);
    const embedded = config.database.url ? undefined : await app.start(embeddedPostgres(config, logger));
    const databaseUrl = config.database.url ?? embedded!.url;
    const orm = await app.start(databasePool(databaseUrl, config, logger));
    const redis = config.redis.url ? await app.start(redisConnections(config.redis.url, logger)) : undefined;
    const gate = redis?.gate;
    const { events } = await app.add(
      eventsModule({ logger, redis, maxQueue: config.graphql.subscriberQueueMax }),
    );
    const { tracing } = await app.add(tracingModule(config.tracing, logger));
    const audit = new AuditService(orm);
    // Built first so that every module can define its jobs; its workers start further down.
    const jobs = jobsModule({ config, databaseUrl, events, logger });
    const { jobs: jobQueue } = jobs.services;
    const keys = keysModule({ config, orm, vault, audit, events, jobs: jobQueue, logger });
    await app.start(keys.components.keyRing);
    const clients = await app.add(
      clientsModule({ orm, audit, events, logger, refreshIntervalMs: config.caches.refreshIntervalMs }),
    );
    const { sessions, oidc } = await app.add(
      sessionsModule({ config, orm, vault, events, audit, tokens: auth.tokens, logger }),
    );
    const usage = usageModule({ config, orm, jobs: jobQueue, logger });
    await app.start(usage.components.partitions);
    await app.start(usage.components.recorder);
    const budgets = await app.add(
      budgetsModule({
        orm,
        audit,
        events,
        gate,
        outbox: webhookOutbox(jobQueue),
        logger,
        timeZone: config.timeZone,
        replicas: config.proxy.replicas,
        refreshIntervalMs: config.caches.refreshIntervalMs,
      }),
    );
    const plane = await app.add(dataPlaneModule({ config, orm, events, gate, logger }));
    const health = healthModule({ config, orm, plane, keyRing: keys.services.keyRing, events, logger });
    const alerts = alertsModule({
      config,
      orm,
      audit,
      vault,
      jobs: jobQueue,
      agents: plane.agents,
      events,
      logger,
    });
    const { retention } = retentionModule({
      config,
      orm,
      jobs: jobQueue,
      partitions: usage.services.usagePartitions,
      logger,
    });
    const configIo = configIoModule({ config, orm, audit, vault, events, logger });
    await app.add(jobs);
    await app.add(alerts);
    const services: Services = {
      tokens: auth.tokens,
      sessions,
      audit,
      events,
      ...providersModule({ orm, audit, events }),
      ...keys.services,
      ...clients,
      ...budgets,
      breakers: plane.breakers,
      limits: plane.limits,
      proxyState: plane.proxyState,
      providerCache: plane.providerCache,
      usage: usage.services.usage,
      usageReports: usage.services.usageReports,
      health: health.services.health,
      alertChannels: alerts.services.alertChannels,
      jobs: jobQueue,
      retention,
      usagePartitions: usage.services.usagePartitions,
      ...configIo.services,
    };
    await app.add(configIo);
    // Long jobs are told to stop before the job queue, so that they commit their current batch.
    await app.start(
      together('long jobs (master-key rotation, usage rollups)', [
        keys.components.rotation,
        usage.components.rollups,
      ]),
    );
    await app.add(health);

    let wsConnections = () => 0;
    const subscriptionStats = new SubscriptionStats();
    const sharedSubscriptions = new SharedSubscriptions({ maxQueue: config.graphql.subscriberQueueMax });
    const metrics = metricsModule({
      config,
      logger,
      sources: {
        usage: usage.services.recorder,
        limits: plane.limits,
        providers: plane.providerCache,
        breakers: plane.breakers,
        budgets: budgets.budgetEnforcer,
        jobs: jobQueue,
        events,
        wsConnections: () => wsConnections(),
        subscriptions: subscriptionStats,
        sharedSubscriptions,
      },
    });
    await app.add(metrics);
    const http = httpModule({
      config,
      services,
      proxy: proxyRoute({
        config,
        plane,
        clients: clients.clientCache,
        keyRing: keys.services.keyRing,
        keys: keys.services.providerKeys,
        budgets: budgets.budgetEnforcer,
        usage: usage.services.recorder,
        logger,
        tracing,
        verifyKey: (provider, key) => health.services.monitor.probe(provider, key),
        gate,
      }),
      auth: createAuthRoute({
        oidc,
        sessions,
        publicUrl: config.http.publicUrl,
        sessionMaxAgeSeconds: config.sessions.maxAgeSeconds,
        logger,
      }),
      metrics: metrics.services.mainPortRoute,
      readiness: [postgresReadiness(orm), ...(gate ? [redisReadiness(gate)] : [])],
      gate,
      tracing,
      logger,
      subscriptionStats,
      sharedSubscriptions,
    });
    wsConnections = http.services.wsConnections;
    const { port } = await app.start(http.components.server);

    const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? 'localhost' : config.http.host;
    const url = config.http.publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return {
      url,
      port,
      database: embedded
        ? { kind: 'embedded', display: `embedded PostgreSQL in ${embedded.dataDir}` }
        : { kind: 'external', display: redactUrl(databaseUrl) },
      generatedJwtSecretPath: auth.generatedSecretPath,
      generatedMasterKeyPath,
      metricsUrl: metrics.services.url() ?? `${url}/metrics`,
      services,
      orm,
      usage: usage.services.recorder,
      subscriptions: { stats: subscriptionStats, shared: sharedSubscriptions },
      components: app.names(),
      stop: () => app.stop(),
    };
  } catch (error) {
    await app.stop();
    throw error;
  }
}
