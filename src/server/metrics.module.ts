import type { AddressInfo } from 'node:net';
import type { Config } from '../config.ts';
import type { Component, Module } from '../shared/components.ts';
import type { Logger } from '../shared/logger.ts';
import { isLoopbackHost } from '../shared/network.ts';
import { createMetricsServer, type MetricsRoute } from './http.ts';
import { createMetrics, type MetricsDeps } from './metrics.ts';

/**
 * /metrics: on the main port, or on a port of its own (TOLLGATE_METRICS_PORT, a component that
 * listens and closes). It names every provider and client: beyond loopback it is served only
 * behind a token (a warning says so otherwise).
 */
export interface MetricsServices {
  /** For the main HTTP server; undefined when served on its own port or not at all. */
  mainPortRoute: MetricsRoute | undefined;
  /** The metrics port's URL once it listens (undefined on the main port). */
  url(): string | undefined;
}

export function metricsModule(deps: {
  config: Config;
  logger: Logger;
  sources: MetricsDeps;
}): Module<MetricsServices, { server: Component }> {
  const { config, logger } = deps;
  const metrics = createMetrics(deps.sources);
  const route: MetricsRoute = {
    scrape: async () => ({ contentType: metrics.contentType, body: await metrics.metrics() }),
    token: config.metrics.token,
  };
  const served = config.metrics.token !== undefined || isLoopbackHost(config.http.host);
  if (!served)
    logger.warn(
      { host: config.http.host },
      '/metrics is not served (404): Tollgate listens beyond loopback and TOLLGATE_METRICS_TOKEN is not set',
    );
  const ownPort = config.metrics.port !== undefined && served;
  const server = ownPort ? createMetricsServer(route, logger) : undefined;
  let url: string | undefined;
  return {
    services: {
      mainPortRoute: config.metrics.port === undefined && served ? route : undefined,
      url: () => url,
    },
    components: {
      server: {
        name: 'metrics server',
        start: async () => {
          if (!server) return;
          await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(config.metrics.port, config.http.host, () => resolve());
          });
          const address = server.address() as AddressInfo;
          url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/metrics`;
        },
        stop: () => (server ? new Promise<void>((resolve) => server.close(() => resolve())) : undefined),
      },
    },
  };
}
