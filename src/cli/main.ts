#!/usr/bin/env node

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { type Config, ConfigError, loadConfig, type Role } from '../config.ts';
import { embeddedDatabaseUrl, liveEmbeddedOwner, startEmbeddedPostgres } from '../db/embedded-postgres.ts';
import { createOrm, migrateToLatest, ormConfig } from '../db/orm.ts';
import { AuditService } from '../modules/audit/audit.service.ts';
import { resolveAuthSecret } from '../modules/auth/auth-secret.ts';
import { parseDuration, ROLES, TokenService } from '../modules/auth/token.service.ts';
import { exportConfig } from '../modules/config-io/config-export.ts';
import { ConfigImporter } from '../modules/config-io/config-import.ts';
import { EventBus } from '../modules/events/event-bus.ts';
import { resolveMasterKeys } from '../modules/keys/master-keys.ts';
import { Vault } from '../modules/keys/vault.ts';
import { ValidationError } from '../shared/errors.ts';
import { createLogger } from '../shared/logger.ts';
import { createRedis } from '../shared/redis.ts';

const USAGE = `tollgate <command>

  token [--role viewer|operator|admin] [--ttl 1h] [--sub name] [--console]
                     mint an operator token with the configured HS256 secret
  migrate            apply pending database migrations (DATABASE_URL, or the embedded database)
  migrate:create [name]
                     write a migration for entity changes (maintainers)
  migrate:check      fail when entities and committed migrations disagree
  schema:print       write schema.graphql from the code
  schema:check       fail when schema.graphql is out of date
  config export      print the configuration as YAML (no secrets)
  config apply FILE  validate, plan and apply a configuration document [--dry-run] [--prune]
`;

/** Commands print their results on stdout (config export > file); their log lines go to stderr. */
const STDERR = pino.destination(2);

/** PostgreSQL's error for a table that does not exist: a database never migrated. */
const UNDEFINED_TABLE = '42P01';

const SCHEMA_FILE = new URL('../../schema.graphql', import.meta.url);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'token':
      return token(rest);
    case 'migrate':
      return migrate();
    case 'migrate:create':
      return migrateCreate(rest[0]);
    case 'migrate:check':
      return migrateCheck();
    case 'schema:print':
    case 'schema:check':
      return schema(command === 'schema:check');
    case 'config':
      if (rest[0] === 'export') return configExport();
      if (rest[0] === 'apply') return configApply(rest.slice(1));
      process.stderr.write(
        'usage: tollgate config export > tollgate.yaml | tollgate config apply FILE [--dry-run] [--prune]\n',
      );
      return 2;
    default:
      process.stderr.write(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
}

async function token(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      role: { type: 'string', default: 'admin' },
      ttl: { type: 'string', default: '1h' },
      sub: { type: 'string', default: 'cli' },
      console: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      `usage: npm run token -- [--role ${ROLES.join('|')}] [--ttl 1h] [--sub cli] [--console]\n` +
        '  prints a JWT signed with this installation\'s secret (defaults: admin, 1h, subject "cli")\n' +
        '  --console: prints a sign-in link to the operator console instead (the token in its #fragment)\n',
    );
    return 0;
  }
  if (!(ROLES as readonly string[]).includes(values.role)) {
    process.stderr.write(`--role must be one of ${ROLES.join(', ')}\n`);
    return 2;
  }
  let ttlSeconds: number;
  try {
    ttlSeconds = parseDuration(values.ttl);
  } catch (error) {
    process.stderr.write(`--ttl: ${(error as Error).message}\n`);
    return 2;
  }
  const config = loadConfig();
  if (config.auth.mode !== 'hs256') {
    process.stderr.write(
      'TOLLGATE_JWKS_URL is set: tokens come from your identity provider, not this CLI.\n',
    );
    return 2;
  }
  const { auth } = resolveAuthSecret(config);
  const jwt = await new TokenService(auth).mint({
    subject: values.sub,
    role: values.role as Role,
    ttlSeconds,
  });
  process.stdout.write(`${values.console ? consoleSignInLink(config, jwt) : jwt}\n`);
  return 0;
}

/**
 * The console's sign-in link. The token goes in the fragment, which browsers never send: it
 * reaches no server log, and the console moves it to session storage at once.
 */
function consoleSignInLink(config: Config, jwt: string): string {
  const { host, port, publicUrl } = config.http;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const base = publicUrl ?? `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`;
  return `${new URL('/console', base).toString()}#token=${jwt}`;
}

/**
 * Runs `run` against the configured database. On the embedded default: while Tollgate runs
 * with this data dir, its PostgreSQL (the running server owns it and keeps it); otherwise one
 * started for the command and stopped after it. A cluster held by another CLI command is refused.
 */
async function withDatabase<T>(run: (url: string) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, STDERR);
  if (config.database.url) return run(config.database.url);
  const owner = liveEmbeddedOwner(config.dataDir);
  if (owner?.role === 'server') {
    process.stderr.write(
      `Tollgate is running (pid ${owner.pid}) with ${config.dataDir}: using its embedded PostgreSQL.\n`,
    );
    return run(embeddedDatabaseUrl(config.dataDir, owner));
  }
  // Throws EmbeddedPostgresInUseError when another command holds it.
  const db = await startEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.database.embeddedPort,
    logger,
  });
  try {
    return await run(db.url);
  } finally {
    await db.stop();
  }
}

/** Prints the whole configuration as YAML (no secrets), from the configured database. */
async function configExport(): Promise<number> {
  const document = await withDatabase(async (url) => {
    const orm = await createOrm(url, 2);
    try {
      return await exportConfig(orm);
    } finally {
      await orm.close();
    }
  });
  process.stdout.write(document);
  return 0;
}

/** Validates FILE, prints the plan and (unless --dry-run) applies it in one transaction. */
async function configApply(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'dry-run': { type: 'boolean', default: false }, prune: { type: 'boolean', default: false } },
  });
  const [file] = positionals;
  if (!file) {
    process.stderr.write('usage: tollgate config apply FILE [--dry-run] [--prune]\n');
    return 2;
  }
  const text = readFileSync(file, 'utf8');
  const config = loadConfig();
  const logger = createLogger('warn', STDERR);
  const masterKeys = resolveMasterKeys(config);
  return withDatabase(async (url) => {
    const orm = await createOrm(url, 2);
    // With Redis, running replicas hear of the changes at once (otherwise at their next refresh).
    const publisher = config.redis.url ? createRedis(config.redis.url) : undefined;
    await publisher?.connect().catch(() => undefined);
    const events = new EventBus({ logger, publisher });
    try {
      const importer = new ConfigImporter({
        orm,
        audit: new AuditService(orm),
        vault: new Vault(masterKeys.keys),
        events,
      });
      const result = await importer.apply({ subject: 'cli', role: 'admin', requestId: undefined }, text, {
        dryRun: values['dry-run'] ?? false,
        prune: values.prune ?? false,
      });
      for (const item of result.plan) {
        const fields = item.fields.length > 0 ? ` (${item.fields.join(', ')})` : '';
        process.stdout.write(`${item.action.padEnd(9)} ${item.section} ${item.key}${fields}\n`);
      }
      for (const { name, key } of result.clientKeys)
        process.stdout.write(`client ${name} key (shown once): ${key}\n`);
      for (const { name, secret } of result.channelSecrets)
        process.stdout.write(`alert channel ${name} secret (shown once): ${secret}\n`);
      process.stdout.write(result.applied ? 'Applied.\n' : 'Nothing applied (dry run, or no changes).\n');
      return 0;
    } catch (error) {
      if (error instanceof ValidationError) {
        for (const e of error.fieldErrors) process.stderr.write(`${e.path.join('.')}: ${e.message}\n`);
        return 1;
      }
      throw error;
    } finally {
      await events.stop();
      await orm.close();
    }
  });
}

async function migrate(): Promise<number> {
  const logger = createLogger('info', STDERR);
  const applied = await withDatabase(async (url) => {
    const orm = await createOrm(url, 2);
    try {
      return await migrateToLatest(orm, logger);
    } finally {
      await orm.close();
    }
  });
  process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'Database is up to date.\n');
  return 0;
}

/** Maintainers' command: diffs entities against the committed snapshot (or a scratch database). */
async function migrateCreate(name: string | undefined): Promise<number> {
  const scratch = mkdtempSync(join(tmpdir(), 'tollgate-migrate-'));
  const logger = createLogger('warn', STDERR);
  const db = await startEmbeddedPostgres({
    dataDir: scratch,
    port: 15_000 + Math.floor(Math.random() * 15_000),
    logger,
  });
  try {
    const { MikroORM } = await import('@mikro-orm/postgresql');
    const orm = await MikroORM.init(ormConfig(db.url, 2));
    try {
      await migrateToLatest(orm, logger);
      const result = await orm.migrator.create(undefined, false, false, name);
      process.stdout.write(
        result.fileName ? `Wrote migrations/${result.fileName}\n` : 'No entity changes.\n',
      );
    } finally {
      await orm.close();
    }
  } finally {
    await db.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
  return 0;
}

async function migrateCheck(): Promise<number> {
  const { MikroORM } = await import('@mikro-orm/postgresql');
  // Compares entities with the committed snapshot; no database is contacted.
  const orm = await MikroORM.init(ormConfig('postgres://offline@127.0.0.1:1/none', 1));
  try {
    if (await orm.migrator.checkSchema()) {
      process.stderr.write(
        'Entities differ from the committed migrations: run `npm run migrate:create -- <name>`.\n',
      );
      return 1;
    }
    process.stdout.write('Migrations match the entities.\n');
    return 0;
  } finally {
    await orm.close(true);
  }
}

async function schema(check: boolean): Promise<number> {
  const { printSortedSchema } = await import('../graphql/schema.ts');
  const printed = printSortedSchema();
  if (!check) {
    writeFileSync(SCHEMA_FILE, printed);
    process.stdout.write('Wrote schema.graphql\n');
    return 0;
  }
  let committed = '';
  try {
    committed = readFileSync(SCHEMA_FILE, 'utf8');
  } catch {
    committed = '';
  }
  if (committed !== printed) {
    process.stderr.write('schema.graphql is out of date: run `npm run schema:print` and commit it.\n');
    return 1;
  }
  process.stdout.write('schema.graphql matches the code.\n');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
    else if ((error as { code?: unknown }).code === UNDEFINED_TABLE)
      process.stderr.write(
        `${(error as Error).message}: this database has no Tollgate schema yet. Run \`npm run migrate\` (or start Tollgate once), then try again.\n`,
      );
    else process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
