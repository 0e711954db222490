import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from './config.ts';
import {
  type EmbeddedDatabase,
  EmbeddedPostgresInUseError,
  liveEmbeddedOwner,
  startEmbeddedPostgres,
} from './db/embedded-postgres.ts';
import { createOrm, migrateToLatest, type Orm } from './db/orm.ts';
import { createGraphqlServer } from './graphql/yoga.ts';
import { AlertChannelService } from './modules/alerts/alert-channel.service.ts';
import { WebhookDelivery, webhookOutbox } from './modules/alerts/webhook-delivery.ts';
import { AuditService } from './modules/audit/audit.service.ts';
import { resolveAuthSecret } from './modules/auth/auth-secret.ts';
import { TokenService } from './modules/auth/token.service.ts';
import { BudgetService } from './modules/budgets/budget.service.ts';
import { BudgetEnforcer } from './modules/budgets/budget-enforcer.ts';
import { BudgetLedger } from './modules/budgets/budget-ledger.ts';
import { ClientService } from './modules/clients/client.service.ts';
import { ClientCache } from './modules/clients/client-cache.ts';
import { ConfigExporter } from './modules/config-io/config-export.ts';
import { applyConfigFile, ConfigImporter } from './modules/config-io/config-import.ts';
import { EventBus } from './modules/events/event-bus.ts';
import { HealthService } from './modules/health/health.service.ts';
import { HealthMonitor } from './modules/health/health-monitor.ts';
import { JobQueue } from './modules/jobs/job-queue.ts';
import { KeyRing } from './modules/keys/key-ring.ts';
import { defineKeyTransitionJob, keyTransitionScheduler } from './modules/keys/key-transitions.ts';
import { MasterKeyService } from './modules/keys/master-key.service.ts';
import { resolveMasterKeys } from './modules/keys/master-keys.ts';
import { ProviderKeyService } from './modules/keys/provider-key.service.ts';
import { Vault } from './modules/keys/vault.ts';
import { ProviderService } from './modules/providers/provider.service.ts';
import { ProviderCache } from './modules/providers/provider-cache.ts';
import { createProxyHandler } from './modules/proxy/proxy.handler.ts';
import { ProxyState } from './modules/proxy/proxy-state.ts';
import { CircuitIsolations } from './modules/resilience/circuit-isolations.ts';
import { createCircuitRegistry } from './modules/resilience/circuit-registry.ts';
import { RateLimits } from './modules/resilience/rate-limits.ts';
import { RedisGate } from './modules/resilience/shared-state.ts';
import { RetentionService } from './modules/retention/retention.service.ts';
import { OidcSignIn } from './modules/sessions/oidc-sign-in.ts';
import { SessionService } from './modules/sessions/session.service.ts';
import { UpstreamAgents } from './modules/upstream/upstream-agents.ts';
import { UsageService } from './modules/usage/usage.service.ts';
import { UsagePartitions } from './modules/usage/usage-partitions.ts';
import { UsageRecorder } from './modules/usage/usage-recorder.ts';
import { UsageReports } from './modules/usage/usage-report.ts';
import { UsageRollups } from './modules/usage/usage-rollup.ts';
import { ApiGuard } from './server/api-guard.ts';
import { createAuthRoute } from './server/auth-routes.ts';
import { createConsoleRoute } from './server/console.ts';
import { createHttpServer, createMetricsServer } from './server/http.ts';
import { createMetrics } from './server/metrics.ts';
import { closeHttpServer, EventStreams } from './server/shutdown.ts';
import { attachGraphqlWebSocket } from './server/ws.ts';
import type { Services } from './services.ts';
import { createLogger, type Logger, redactUrl } from './shared/logger.ts';
import { isLoopbackHost } from './shared/network.ts';
import { createRedis } from './shared/redis.ts';
import { createTracing } from './shared/tracing.ts';

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
  stop(): Promise<void>;
}

/**
 * The composition root: builds every part from the config, in dependency order, and returns
 * a handle that stops them in reverse. Nothing else constructs services.
 */
export async function startApp(config: Config, options: { logger?: Logger } = {}): Promise<StartedApp> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const cleanup: { name: string; run: () => Promise<void> | void }[] = [];
  /** Registers what stopping undoes; steps run in reverse order of registration. */
  const onStop = (name: string, run: () => Promise<void> | void) => cleanup.push({ name, run });
  const stopAll = async () => {
    for (const step of cleanup.reverse()) {
      // A step that hangs holds the whole shutdown until it is forced: say which one.
      const slow = setTimeout(
        () => logger.warn({ step: step.name }, 'shutdown step still running after 5 s'),
        5_000,
      );
      slow.unref();
      try {
        await step.run();
      } catch (error) {
        logger.warn({ err: error, step: step.name }, 'error during shutdown');
      } finally {
        clearTimeout(slow);
      }
    }
    cleanup.length = 0;
  };

  if (!config.database.url) {
    // A second Tollgate on a data dir in use refuses before touching anything (it would find
    // the port taken anyway, but only after starting on the first one's files).
    const owner = liveEmbeddedOwner(config.dataDir);
    if (owner) throw new EmbeddedPostgresInUseError(owner, config.dataDir);
  }
  try {
    const { auth, generatedPath } = resolveAuthSecret(config);
    const tokens = new TokenService(auth);
    const masterKeys = resolveMasterKeys(config);
    if (masterKeys.generatedPath) {
      logger.warn(
        { path: masterKeys.generatedPath },
        'using a generated master key: back up this file, or set TOLLGATE_MASTER_KEYS; without it stored provider keys cannot be decrypted',
      );
    }
    const vault = new Vault(masterKeys.keys);

    let embedded: EmbeddedDatabase | undefined;
    let databaseUrl = config.database.url;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres({
        dataDir: config.dataDir,
        port: config.database.embeddedPort,
        logger,
        role: 'server',
      });
      onStop('embedded PostgreSQL', () => embedded!.stop());
      databaseUrl = embedded.url;
    }
    // Migrations get a connection of their own without the statement timeout: one may take long.
    const migrationOrm = await createOrm(databaseUrl, 2);
    try {
      await migrateToLatest(migrationOrm, logger);
    } finally {
      await migrationOrm.close();
    }
    const orm = await createOrm(databaseUrl, config.database.poolMax, {
      statementMs: config.database.statementTimeoutMs,
      acquireMs: config.database.acquireTimeoutMs,
    });
    onStop('database pool', () => orm.close());

    let redis: Redis | undefined;
    let gate: RedisGate | undefined;
    let events: EventBus;
    if (config.redis.url) {
      const url = config.redis.url;
      const connectQuietly = async (client: Redis, name: string) => {
        client.on('error', (error) => logger.warn({ err: error.message, client: name }, 'redis error'));
        await client
          .connect()
          .catch((error: Error) =>
            logger.warn({ err: error.message, client: name }, 'redis not reachable at start'),
          );
        return client;
      };
      redis = await connectQuietly(createRedis(url), 'commands');
      // Every Redis user on the request path asks through the gate (one degraded signal).
      gate = new RedisGate({ redis, logger });
      await gate.start();
      const publisher = await connectQuietly(createRedis(url), 'events-publisher');
      // The subscriber keeps its offline queue: subscriptions are re-established on reconnect.
      const subscriber = await connectQuietly(
        createRedis(url, { forSubscriptions: true }),
        'events-subscriber',
      );
      events = new EventBus({
        logger,
        publisher,
        subscriber,
        gate,
        maxQueue: config.graphql.subscriberQueueMax,
      });
      onStop('Redis', async () => {
        gate!.stop();
        redis!.disconnect();
      });
    } else {
      events = new EventBus({ logger, maxQueue: config.graphql.subscriberQueueMax });
    }
    events.start();
    onStop('event bus', () => events.stop());

    const audit = new AuditService(orm);
    // Shut down late (cleanup runs in reverse), so the last calls' spans are exported.
    const tracing = createTracing(config.tracing, logger);
    if (tracing) onStop('tracing', () => tracing.shutdown());
    // Declared first so that every module can define its jobs; workers start further down.
    const jobs = new JobQueue({
      databaseUrl,
      logger,
      retentionDays: config.retention.jobDays,
      events,
      alerts: { retryRateThreshold: config.retention.jobRetryRateAlert, minJobs: 10 },
    });
    const providerKeys = new ProviderKeyService({
      orm,
      vault,
      audit,
      events,
      logger,
      transitions: keyTransitionScheduler(jobs),
    });
    defineKeyTransitionJob(jobs, providerKeys);
    const masterKeyService = new MasterKeyService({ orm, vault, audit, keys: providerKeys, logger, jobs });
    await masterKeyService.assertAllKidsConfigured();
    const keyRing = new KeyRing({
      orm,
      vault,
      keys: providerKeys,
      events,
      logger,
      envKeys: config.vault.providerEnvKeys,
    });
    await keyRing.start(config.caches.refreshIntervalMs);
    onStop('key ring', async () => keyRing.stop());
    const clientCache = new ClientCache({ orm, events, logger });
    await clientCache.start(config.caches.refreshIntervalMs);
    onStop('client cache', async () => clientCache.stop());
    const breakers = createCircuitRegistry({ events, logger, gate, isolations: new CircuitIsolations(orm) });
    const providerCache = new ProviderCache({ orm, events, logger });
    await providerCache.start(config.caches.refreshIntervalMs);
    const restoredCircuits = await breakers.restore(providerCache.ids());
    if (restoredCircuits > 0)
      logger.info({ circuits: restoredCircuits }, 'restored open and isolated circuits');
    breakers.start(config.caches.refreshIntervalMs);
    const budgetLedger = new BudgetLedger({ gate, logger, replicas: config.proxy.replicas });
    const budgetEnforcer = new BudgetEnforcer({
      orm,
      events,
      ledger: budgetLedger,
      logger,
      outbox: webhookOutbox(jobs),
    });
    await budgetEnforcer.start(config.caches.refreshIntervalMs);
    const agents = new UpstreamAgents();
    const limits = new RateLimits({ gate, replicas: config.proxy.replicas, logger });
    const healthMonitor = new HealthMonitor({
      orm,
      providers: providerCache,
      keyRing,
      limits,
      breakers,
      agents,
      events,
      logger,
      settings: config.health,
    });
    const alertChannels = new AlertChannelService({ orm, audit, vault });
    const usagePartitions = new UsagePartitions({ orm, logger });
    // Today's and the coming days' partitions exist before the first event is recorded; the job
    // keeps them coming.
    await usagePartitions.ensureAhead();
    usagePartitions.defineJob(jobs);
    const retention = new RetentionService({
      orm,
      logger,
      settings: config.retention,
      partitions: usagePartitions,
    });
    jobs.define({
      name: 'retention',
      schema: z.object({}),
      retryLimit: 3,
      retryDelaySeconds: 60,
      backoff: true,
      cron: config.retention.cron,
      handler: async (_data, job) => {
        await retention.run(new Date(), job.logger);
      },
    });
    const webhooks = new WebhookDelivery({
      jobs,
      channels: alertChannels,
      agents,
      events,
      logger,
      settings: config.webhooks,
    });
    const rollups = new UsageRollups({ orm, logger, timeZone: config.timeZone });
    rollups.defineJob(jobs, config.usage.rollupCron);
    await jobs.start();
    webhooks.start();
    const sessions = new SessionService({ orm, vault, events, audit, logger, settings: config.sessions });
    await sessions.start(config.caches.refreshIntervalMs);
    onStop('sessions', () => sessions.stop());
    tokens.attachSessions(sessions);
    const oidc = config.oidc
      ? new OidcSignIn({
          settings: config.oidc,
          vault,
          logger,
          clockToleranceSeconds: config.auth.clockToleranceSeconds,
        })
      : undefined;
    if (oidc) sessions.setRefresher((refreshToken, current) => oidc.refresh(refreshToken, current));
    const proxyState = new ProxyState({ staleCacheMaxBytes: config.proxy.staleCacheMaxBytes });
    const services: Services = {
      tokens,
      sessions,
      audit,
      events,
      providers: new ProviderService({ orm, audit, events }),
      providerKeys,
      keyRing,
      masterKeys: masterKeyService,
      clients: new ClientService({ orm, audit, events }),
      clientCache,
      breakers,
      limits,
      proxyState,
      usage: new UsageService(orm),
      providerCache,
      budgets: new BudgetService({ orm, audit, events, defaultTimeZone: config.timeZone }),
      budgetEnforcer,
      usageReports: new UsageReports({
        orm,
        timeZone: config.timeZone,
        retentionDays: config.usage.retentionDays,
      }),
      health: new HealthService({ orm, monitor: healthMonitor, providers: providerCache }),
      alertChannels,
      jobs,
      retention,
      usagePartitions,
      configExporter: new ConfigExporter(orm),
      configImporter: new ConfigImporter({ orm, audit, vault, events }),
    };
    if (config.configFile) await applyConfigFile(services.configImporter, config.configFile, logger);

    if (await masterKeyService.resume()) logger.info('master-key rotation left running: resumed');

    const usage = new UsageRecorder({ orm, logger, bufferMax: config.usage.bufferMax });
    usage.start(config.usage.flushIntervalMs);
    healthMonitor.start();
    let wsConnections = () => 0;
    let metricsUrl: string | undefined;
    const metrics = createMetrics({
      usage,
      limits,
      providers: providerCache,
      breakers,
      budgets: budgetEnforcer,
      jobs,
      events,
      wsConnections: () => wsConnections(),
    });
    const metricsRoute = {
      scrape: async () => ({ contentType: metrics.contentType, body: await metrics.metrics() }),
      token: config.metrics.token,
    };
    // /metrics names every provider and client: beyond loopback it is served only behind a token.
    const metricsServed = config.metrics.token !== undefined || isLoopbackHost(config.http.host);
    if (!metricsServed)
      logger.warn(
        { host: config.http.host },
        '/metrics is not served (404): Tollgate listens beyond loopback and TOLLGATE_METRICS_TOKEN is not set',
      );
    const proxy = createProxyHandler({
      providers: providerCache,
      clients: clientCache,
      keyRing,
      keys: providerKeys,
      limits,
      budgets: budgetEnforcer,
      breakers,
      usage,
      agents,
      logger,
      config: config.proxy,
      state: proxyState,
      tracing,
      verifyKey: (provider, key) => healthMonitor.probe(provider, key),
    });
    // Stopped after the HTTP server has drained, so the last calls' usage is flushed.
    onStop('proxy (in-flight calls, usage flush)', async () => {
      providerCache.stop();
      breakers.stop();
      await agents.close();
      await budgetEnforcer.stop();
      await usage.stop();
    });
    // Probes and jobs (webhook deliveries) stop before the upstream agents close. Long jobs
    // are told first, so that they commit their current batch and leave the rest to a later run.
    onStop('background jobs', async () => {
      await Promise.all([masterKeyService.stop(), rollups.stop()]);
      await jobs.stop();
    });
    onStop('health monitor', () => healthMonitor.stop());

    const yoga = createGraphqlServer({
      services,
      logger,
      graphiql: config.graphql.graphiql,
      protection: config.apiProtection,
      tracing,
    });
    const guard = new ApiGuard({
      tokens,
      gate,
      replicas: config.proxy.replicas,
      logger,
      settings: config.apiProtection,
      publicUrl: config.http.publicUrl,
    });
    const eventStreams = new EventStreams();
    const server = createHttpServer(
      {
        graphql: async (req, res, requestId) => {
          eventStreams.track(req, res);
          const admitted = await guard.admitHttp(req, res, requestId);
          if (admitted) await yoga.handle(req, res, { requestId, authenticated: admitted.authenticated });
        },
        proxy,
        console: createConsoleRoute(),
        auth: createAuthRoute({
          oidc,
          sessions,
          publicUrl: config.http.publicUrl,
          sessionMaxAgeSeconds: config.sessions.maxAgeSeconds,
          logger,
        }),
        metrics: config.metrics.port === undefined && metricsServed ? metricsRoute : undefined,
        readiness: [
          {
            name: 'postgres',
            check: async () => {
              await orm.em.fork().execute('select 1');
            },
          },
          ...(gate
            ? [
                {
                  name: 'redis',
                  // Known unresponsive: say so at once rather than after another timeout.
                  check: async () => {
                    await gate!.run('readiness', (r) => r.ping());
                  },
                },
              ]
            : []),
        ],
      },
      logger,
      {
        requestTimeoutMs: config.http.requestTimeoutMs,
        headersTimeoutMs: config.http.headersTimeoutMs,
        maxConnectionsPerAddress: config.http.maxConnectionsPerAddress,
      },
    );
    const ws = attachGraphqlWebSocket({
      server,
      yoga,
      tokens,
      sessions,
      logger,
      maxBufferedBytes: config.graphql.wsMaxBufferedBytes,
      guard,
      maxPayloadBytes: config.apiProtection.maxBodyBytes,
      initTimeoutMs: config.apiProtection.wsInitTimeoutMs,
      maskAnonymousValidation: config.apiProtection.introspection !== 'public',
    });
    wsConnections = ws.connections;
    if (config.metrics.port !== undefined && metricsServed) {
      const metricsServer = createMetricsServer(metricsRoute, logger);
      await new Promise<void>((resolve, reject) => {
        metricsServer.once('error', reject);
        metricsServer.listen(config.metrics.port, config.http.host, () => resolve());
      });
      const address = metricsServer.address() as AddressInfo;
      metricsUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/metrics`;
      onStop('metrics server', () => new Promise<void>((resolve) => metricsServer.close(() => resolve())));
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    onStop('HTTP server (drain)', async () => {
      // Stop accepting first, then end SSE subscriptions and close WebSockets (they hold
      // connections open), then let in-flight requests finish.
      const draining = closeHttpServer(server, config.http.shutdownTimeoutMs);
      const streams = eventStreams.endAll();
      if (streams > 0) logger.info({ streams }, 'ended open SSE subscriptions');
      await ws.close();
      await draining;
    });

    const port = (server.address() as AddressInfo).port;
    const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? 'localhost' : config.http.host;
    const url = config.http.publicUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    return {
      url,
      port,
      database: embedded
        ? { kind: 'embedded', display: `embedded PostgreSQL in ${embedded.dataDir}` }
        : { kind: 'external', display: redactUrl(databaseUrl) },
      generatedJwtSecretPath: generatedPath,
      generatedMasterKeyPath: masterKeys.created ? masterKeys.generatedPath : undefined,
      metricsUrl: metricsUrl ?? `${url}/metrics`,
      services,
      orm,
      usage,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
