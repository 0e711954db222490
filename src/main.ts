import { startApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './shared/logger.ts';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Tollgate cannot start. ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const startedAt = Date.now();
  const app = await startApp(config, { logger });

  const tokenHint =
    config.auth.mode === 'jwks'
      ? `Operator tokens:    from your identity provider (${config.auth.jwksUrl}).`
      : 'Admin token:        npm run token -- --role admin --ttl 1h' +
        (app.generatedJwtSecretPath
          ? `\n                      (signing secret generated in ${app.generatedJwtSecretPath})`
          : '');
  process.stderr.write(
    [
      '',
      `Tollgate is ready in ${Date.now() - startedAt} ms`,
      `  Operator console:   ${app.url}/console  (sign-in link: npm run token -- --role admin --console)`,
      `  GraphQL + GraphiQL: ${app.url}/graphql`,
      `  Health:             ${app.url}/healthz  ${app.url}/readyz`,
      `  Database:           ${app.database.display}`,
      `  Redis:              ${config.redis.url ? 'configured' : 'not configured (single replica mode)'}`,
      `  ${tokenHint}`,
      ...(app.generatedMasterKeyPath
        ? [
            `  WARNING:            generated a master key in ${app.generatedMasterKeyPath}.`,
            '                      Back it up: stored provider keys cannot be decrypted without it.',
          ]
        : []),
      '',
      '',
    ].join('\n'),
  );
  logger.info({ url: app.url, database: app.database.kind }, 'tollgate started');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.http.shutdownTimeoutMs + 15_000);
    force.unref();
    app.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `Tollgate failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
});
