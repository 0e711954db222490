import type { AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import { SharedSubscriptions } from '../graphql/shared-subscriptions.ts';
import type { SubscriptionStats } from '../graphql/subscription-stats.ts';
import { createGraphqlServer } from '../graphql/yoga.ts';
import type { RedisGate } from '../modules/resilience/shared-state.ts';
import type { Services } from '../services.ts';
import type { Component, Module } from '../shared/components.ts';
import type { Logger } from '../shared/logger.ts';
import type { Tracing } from '../shared/tracing.ts';
import { ApiGuard } from './api-guard.ts';
import { createConsoleRoute } from './console.ts';
import { createHttpServer, type HttpRoutes, type MetricsRoute, type ReadinessCheck } from './http.ts';
import { closeHttpServer, EventStreams } from './shutdown.ts';
import { attachGraphqlWebSocket } from './ws.ts';

/**
 * The HTTP server: /graphql (HTTP, SSE and WebSocket, behind the API guard), /proxy, /console,
 * /healthz, /readyz and /metrics (unless it has a port of its own). It starts last and stops
 * first: stop accepting, end SSE streams, close WebSockets, let in-flight requests finish.
 */
export function httpModule(deps: {
  config: Config;
  services: Services;
  proxy: HttpRoutes['proxy'];
  /** /auth: OIDC sign-in and the console's session cookie. */
  auth: HttpRoutes['auth'];
  metrics: MetricsRoute | undefined;
  readiness: ReadinessCheck[];
  gate: RedisGate | undefined;
  tracing: Tracing | undefined;
  logger: Logger;
  subscriptionStats?: SubscriptionStats;
  /** Runs each WebSocket subscription once for all its subscribers. */
  sharedSubscriptions?: SharedSubscriptions;
}): Module<{ wsConnections(): number }, { server: Component<{ port: number }> }> {
  const { config, services, logger } = deps;
  const yoga = createGraphqlServer({
    services,
    logger,
    graphiql: config.graphql.graphiql,
    protection: config.apiProtection,
    tracing: deps.tracing,
    subscriptionStats: deps.subscriptionStats,
  });
  const guard = new ApiGuard({
    tokens: services.tokens,
    gate: deps.gate,
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
      proxy: deps.proxy,
      console: createConsoleRoute(),
      auth: deps.auth,
      metrics: deps.metrics,
      readiness: deps.readiness,
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
    tokens: services.tokens,
    sessions: services.sessions,
    logger,
    maxBufferedBytes: config.graphql.wsMaxBufferedBytes,
    guard,
    maxPayloadBytes: config.apiProtection.maxBodyBytes,
    initTimeoutMs: config.apiProtection.wsInitTimeoutMs,
    maskAnonymousValidation: config.apiProtection.introspection !== 'public',
    shared:
      deps.sharedSubscriptions ?? new SharedSubscriptions({ maxQueue: config.graphql.subscriberQueueMax }),
  });
  return {
    services: { wsConnections: ws.connections },
    components: {
      server: {
        name: 'HTTP server (drain)',
        start: async () => {
          await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(config.http.port, config.http.host, () => {
              server.off('error', reject);
              resolve();
            });
          });
          return { port: (server.address() as AddressInfo).port };
        },
        stop: async () => {
          // Stop accepting first, then end SSE subscriptions and close WebSockets (they hold
          // connections open), then let in-flight requests finish.
          const draining = closeHttpServer(server, config.http.shutdownTimeoutMs);
          const streams = eventStreams.endAll();
          if (streams > 0) logger.info({ streams }, 'ended open SSE subscriptions');
          await ws.close();
          await draining;
        },
      },
    },
  };
}
