import type { AddressInfo } from 'node:net';
import type { Redis } from 'ioredis';
import type { Config } from './config.ts';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './db/embedded-postgres.ts';
import { createOrm, migrateToLatest, type Orm } from './db/orm.ts';
import { createGraphqlServer } from './graphql/yoga.ts';
import { AuditService } from './modules/audit/audit.service.ts';
import { resolveAuthSecret } from './modules/auth/auth-secret.ts';
import { TokenService } from './modules/auth/token.service.ts';
import { EventBus } from './modules/events/event-bus.ts';
import { ProviderService } from './modules/providers/provider.service.ts';
import { createHttpServer } from './server/http.ts';
import { closeHttpServer } from './server/shutdown.ts';
import { attachGraphqlWebSocket } from './server/ws.ts';
import type { Services } from './services.ts';
import { createLogger, type Logger, redactUrl } from './shared/logger.ts';
import { createRedis } from './shared/redis.ts';

export interface StartedApp {
  url: string;
  port: number;
  database: { kind: 'embedded' | 'external'; display: string };
  generatedJwtSecretPath: string | undefined;
  services: Services;
  orm: Orm;
  stop(): Promise<void>;
}

/**
 * The composition root: builds every part from the config, in dependency order, and returns
 * a handle that stops them in reverse. Nothing else constructs services.
 */
export async function startApp(config: Config, options: { logger?: Logger } = {}): Promise<StartedApp> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const cleanup: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const step of cleanup.reverse()) {
      try {
        await step();
      } catch (error) {
        logger.warn({ err: error }, 'error during shutdown');
      }
    }
    cleanup.length = 0;
  };

  try {
    const { auth, generatedPath } = resolveAuthSecret(config);
    const tokens = new TokenService(auth);

    let embedded: EmbeddedDatabase | undefined;
    let databaseUrl = config.database.url;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres({
        dataDir: config.dataDir,
        port: config.database.embeddedPort,
        logger,
      });
      cleanup.push(() => embedded!.stop());
      databaseUrl = embedded.url;
    }
    const orm = await createOrm(databaseUrl, config.database.poolMax);
    cleanup.push(() => orm.close());
    await migrateToLatest(orm, logger);

    let redis: Redis | undefined;
    if (config.redis.url) {
      redis = createRedis(config.redis.url);
      redis.on('error', (error) => logger.warn({ err: error.message }, 'redis error'));
      cleanup.push(async () => {
        redis!.disconnect();
      });
      await redis
        .connect()
        .catch((error: Error) => logger.warn({ err: error.message }, 'redis not reachable at start'));
    }

    const events = new EventBus();
    const audit = new AuditService(orm);
    const services: Services = {
      tokens,
      audit,
      events,
      providers: new ProviderService({ orm, audit, events }),
    };

    const yoga = createGraphqlServer({ services, logger, graphiql: config.graphql.graphiql });
    const server = createHttpServer(
      {
        graphql: (req, res, requestId) => yoga.handle(req, res, { requestId }),
        readiness: [
          {
            name: 'postgres',
            check: async () => {
              await orm.em.fork().execute('select 1');
            },
          },
          ...(redis
            ? [
                {
                  name: 'redis',
                  check: async () => {
                    await redis!.ping();
                  },
                },
              ]
            : []),
        ],
      },
      logger,
    );
    const ws = attachGraphqlWebSocket({ server, yoga, tokens, logger });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    cleanup.push(() => closeHttpServer(server, config.http.shutdownTimeoutMs));
    cleanup.push(() => ws.close());

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
      services,
      orm,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
