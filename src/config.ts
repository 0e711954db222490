import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { isTimeZone } from './modules/budgets/budget-period.ts';
import type { TracingSettings } from './shared/tracing.ts';

/**
 * The only reader of `process.env`. Every setting Tollgate knows is declared here, validated
 * with zod, and reported all at once when something is wrong. README.md documents each one.
 */

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const JWT_ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

const emptyToUndefined = (value: unknown) => (value === '' ? undefined : value);
const optionalString = z.preprocess(emptyToUndefined, z.string().optional());
const bool = (fallback: boolean) =>
  z.preprocess(
    emptyToUndefined,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
      .optional()
      .transform((v) => (v === undefined ? fallback : ['true', '1', 'yes'].includes(v))),
  );
/** A five-field cron expression (UTC); with allowOff, also "off". */
const cron = (fallback: string, options: { allowOff?: boolean } = {}) => {
  const expression = z
    .string()
    .regex(/^\S+( \S+){4}$/, { message: 'must be a five-field cron expression such as "30 3 * * *"' });
  return z.preprocess(
    emptyToUndefined,
    (options.allowOff ? z.union([z.literal('off'), expression]) : expression).default(fallback),
  );
};

const int = (fallback: number, min: number, max: number) =>
  z.preprocess(emptyToUndefined, z.coerce.number().int().min(min).max(max).default(fallback));

const postgresUrl = z
  .string()
  .url({ message: 'must be a URL such as postgres://user:password@host:5432/tollgate' })
  .refine((v) => /^postgres(ql)?:\/\//.test(v), { message: 'must start with postgres:// or postgresql://' });
const redisUrl = z
  .string()
  .url({ message: 'must be a URL such as redis://host:6379' })
  .refine((v) => /^rediss?:\/\//.test(v), { message: 'must start with redis:// or rediss://' });

const envSchema = z.object({
  NODE_ENV: z.preprocess(
    emptyToUndefined,
    z.enum(['production', 'development', 'test']).default('development'),
  ),
  PORT: int(4000, 0, 65535),
  HOST: z.preprocess(emptyToUndefined, z.string().min(1).default('127.0.0.1')),
  PUBLIC_URL: z.preprocess(emptyToUndefined, z.string().url().optional()),
  DATABASE_URL: z.preprocess(emptyToUndefined, postgresUrl.optional()),
  DATABASE_POOL_MAX: int(10, 1, 200),
  DATABASE_STATEMENT_TIMEOUT_MS: int(5_000, 100, 3_600_000),
  DATABASE_ACQUIRE_TIMEOUT_MS: int(2_000, 100, 600_000),
  REDIS_URL: z.preprocess(emptyToUndefined, redisUrl.optional()),
  TOLLGATE_DATA_DIR: z.preprocess(emptyToUndefined, z.string().min(1).default('.tollgate')),
  TOLLGATE_EMBEDDED_PG_PORT: int(5488, 1, 65535),
  LOG_LEVEL: z.preprocess(emptyToUndefined, z.enum(LOG_LEVELS).default('info')),
  TOLLGATE_JWT_SECRET: optionalString,
  TOLLGATE_JWT_SECRET_FILE: optionalString,
  TOLLGATE_JWKS_URL: z.preprocess(emptyToUndefined, z.string().url().optional()),
  TOLLGATE_JWT_ALGORITHMS: optionalString,
  TOLLGATE_JWT_ISSUER: optionalString,
  TOLLGATE_JWT_AUDIENCE: optionalString,
  TOLLGATE_JWT_ROLE_CLAIM: z.preprocess(emptyToUndefined, z.string().min(1).default('role')),
  TOLLGATE_JWT_CLOCK_TOLERANCE_S: int(5, 0, 300),
  TOLLGATE_OIDC_ISSUER: z.preprocess(emptyToUndefined, z.string().url().optional()),
  TOLLGATE_OIDC_CLIENT_ID: optionalString,
  TOLLGATE_OIDC_CLIENT_SECRET: optionalString,
  TOLLGATE_OIDC_CLIENT_SECRET_FILE: optionalString,
  TOLLGATE_OIDC_NAME: z.preprocess(emptyToUndefined, z.string().min(1).max(60).default('single sign-on')),
  TOLLGATE_OIDC_SCOPES: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default('openid email profile')
      .refine((v) => v.split(/\s+/).includes('openid'), { message: 'must include openid' }),
  ),
  TOLLGATE_OIDC_ROLE_CLAIM: z.preprocess(emptyToUndefined, z.string().min(1).default('groups')),
  TOLLGATE_OIDC_ADMIN_VALUES: optionalString,
  TOLLGATE_OIDC_OPERATOR_VALUES: optionalString,
  TOLLGATE_OIDC_VIEWER_VALUES: optionalString,
  TOLLGATE_OIDC_ALLOWED_EMAIL_DOMAINS: optionalString,
  TOLLGATE_SESSION_TOKEN_TTL_S: int(300, 30, 3600),
  TOLLGATE_SESSION_MAX_AGE_S: int(43_200, 300, 30 * 86_400),
  TOLLGATE_GRAPHIQL: bool(true),
  TOLLGATE_GRAPHQL_INTROSPECTION: z.preprocess(
    emptyToUndefined,
    z.enum(['operators', 'off', 'public']).default('operators'),
  ),
  TOLLGATE_GRAPHQL_BATCH_LIMIT: int(0, 0, 50),
  TOLLGATE_GRAPHQL_MAX_BODY_BYTES: int(1024 * 1024, 1024, 64 * 1024 * 1024),
  TOLLGATE_GRAPHQL_RATE_LIMIT: int(1200, 0, 1_000_000),
  TOLLGATE_GRAPHQL_RATE_WINDOW_S: int(60, 1, 86_400),
  TOLLGATE_AUTH_FAILURE_LIMIT: int(30, 0, 1_000_000),
  TOLLGATE_AUTH_FAILURE_WINDOW_S: int(300, 1, 86_400),
  TOLLGATE_ALLOWED_ORIGINS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .optional()
      .transform((v) =>
        (v ?? '')
          .split(',')
          .map((o) => o.trim().replace(/\/+$/, ''))
          .filter(Boolean),
      )
      .refine((list) => list.every((o) => o === '*' || /^https?:\/\/[^/\s]+$/.test(o)), {
        message: 'must be a comma-separated list of origins such as https://console.example.com (or *)',
      }),
  ),
  TOLLGATE_WS_INIT_TIMEOUT_MS: int(3_000, 100, 60_000),
  TOLLGATE_WS_MAX_PER_OPERATOR: int(50, 0, 1_000_000),
  TOLLGATE_MASTER_KEYS: optionalString,
  TOLLGATE_MASTER_KEYS_FILE: optionalString,
  TOLLGATE_CACHE_REFRESH_INTERVAL_MS: int(30_000, 1_000, 3_600_000),
  TOLLGATE_MAX_REQUEST_BYTES: int(10 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  TOLLGATE_MAX_RESPONSE_BYTES: int(50 * 1024 * 1024, 1024, 4 * 1024 * 1024 * 1024),
  TOLLGATE_STALE_CACHE_MAX_BYTES: int(64 * 1024 * 1024, 0, 16 * 1024 * 1024 * 1024),
  TOLLGATE_REPLICAS: int(1, 1, 1000),
  TOLLGATE_USAGE_FLUSH_INTERVAL_MS: int(1_000, 50, 60_000),
  TOLLGATE_USAGE_BUFFER_MAX: int(100_000, 100, 10_000_000),
  TOLLGATE_SHUTDOWN_TIMEOUT_MS: int(10_000, 0, 600_000),
  TOLLGATE_REQUEST_TIMEOUT_MS: int(60_000, 1_000, 3_600_000),
  TOLLGATE_HEADERS_TIMEOUT_MS: int(10_000, 100, 600_000),
  TOLLGATE_MAX_CONNECTIONS_PER_IP: int(256, 0, 1_000_000),
  TOLLGATE_TIME_ZONE: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine(isTimeZone, { message: 'must be an IANA time zone such as UTC or Europe/Paris' })
      .default('UTC'),
  ),
  TOLLGATE_USAGE_RETENTION_DAYS: int(30, 1, 3650),
  TOLLGATE_HEALTH_TICK_MS: int(1_000, 100, 60_000),
  TOLLGATE_HEALTH_WINDOW_MS: int(300_000, 10_000, 86_400_000),
  TOLLGATE_HEALTH_PASSIVE_INTERVAL_MS: int(30_000, 1_000, 3_600_000),
  TOLLGATE_WS_MAX_BUFFERED_BYTES: int(4 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
  TOLLGATE_SUBSCRIBER_QUEUE_MAX: int(1_000, 10, 1_000_000),
  TOLLGATE_WEBHOOK_RETRY_LIMIT: int(8, 0, 100),
  TOLLGATE_WEBHOOK_RETRY_DELAY_S: int(5, 1, 3600),
  TOLLGATE_WEBHOOK_TIMEOUT_MS: int(10_000, 100, 60_000),
  TOLLGATE_HEALTH_RETENTION_DAYS: int(30, 1, 3650),
  TOLLGATE_ROLLUP_RETENTION_DAYS: int(400, 1, 3650),
  TOLLGATE_AUDIT_RETENTION_DAYS: int(365, 1, 36500),
  TOLLGATE_JOB_RETENTION_DAYS: int(30, 1, 3650),
  TOLLGATE_JOB_RETRY_RATE_ALERT: z.preprocess(emptyToUndefined, z.coerce.number().min(0).max(1).default(0.5)),
  TOLLGATE_METRICS_TOKEN: optionalString,
  TOLLGATE_CONFIG_FILE: optionalString,
  TOLLGATE_METRICS_PORT: z.preprocess(emptyToUndefined, z.coerce.number().int().min(0).max(65535).optional()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.preprocess(emptyToUndefined, z.string().url().optional()),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess(emptyToUndefined, z.string().url().optional()),
  OTEL_EXPORTER_OTLP_HEADERS: optionalString,
  OTEL_SERVICE_NAME: z.preprocess(emptyToUndefined, z.string().default('tollgate')),
  TOLLGATE_RETENTION_CRON: cron('30 3 * * *'),
  TOLLGATE_ROLLUP_CRON: cron('* * * * *', { allowOff: true }),
});

export type Role = 'viewer' | 'operator' | 'admin';

export type AuthConfig =
  | {
      mode: 'hs256';
      /** undefined until resolved: on the embedded default a secret is generated into the data dir. */
      secret: string | undefined;
      issuer: string;
      audience: string;
      roleClaim: string;
      clockToleranceSeconds: number;
    }
  | {
      mode: 'jwks';
      jwksUrl: string;
      algorithms: string[];
      issuer: string;
      audience: string;
      roleClaim: string;
      clockToleranceSeconds: number;
    };

/** OpenID Connect sign-in for people (the console); absent when TOLLGATE_OIDC_ISSUER is not set. */
export interface OidcConfig {
  issuer: string;
  clientId: string;
  /** undefined: a public client (PKCE alone, no client authentication). */
  clientSecret: string | undefined;
  /** Shown on the sign-in button: "Sign in with <name>". */
  name: string;
  scopes: string;
  /** Where the role values are read in the ID token; dots walk into objects (realm_access.roles). */
  roleClaim: string;
  /** Claim values granting each role; the highest role with a match wins, `*` matches anyone. */
  roleValues: Record<Role, string[]>;
  /** When non-empty, only verified emails in these domains may sign in. */
  allowedEmailDomains: string[];
}

/** Operator sessions: the access tokens Tollgate issues after a sign-in, and how long a session lasts. */
export interface SessionConfig {
  tokenTtlSeconds: number;
  maxAgeSeconds: number;
}

export interface ApiProtectionConfig {
  /** Who may run introspection queries: any valid token (`operators`), nobody, or everyone. */
  introspection: 'operators' | 'off' | 'public';
  /** Most operations in one batched HTTP request; 0 turns batching off. */
  batchLimit: number;
  /** Largest HTTP request body on /graphql, and largest WebSocket message. */
  maxBodyBytes: number;
  /** Requests (and WebSocket operations) per window, per token subject or per anonymous IP; 0 = off. */
  rateLimit: { points: number; windowMs: number };
  /** Refused tokens per window per IP, after which that IP's authenticated requests get 429; 0 = off. */
  authFailureLimit: { points: number; windowMs: number };
  /** Browser origins allowed besides Tollgate's own (WebSocket upgrades and CORS); `*` allows any. */
  allowedOrigins: string[];
  /** How long a WebSocket may wait before sending connection_init (then 4408). */
  wsInitTimeoutMs: number;
  /** Open WebSockets per token subject (or per anonymous IP) on one replica; 0 = unlimited. */
  wsMaxConnectionsPerOperator: number;
}

export interface MasterKey {
  kid: string;
  /** 32 bytes (AES-256). */
  key: Uint8Array;
}

export interface Config {
  env: 'production' | 'development' | 'test';
  http: {
    host: string;
    port: number;
    publicUrl: string | undefined;
    shutdownTimeoutMs: number;
    /** How long a client may take to send a whole request (headers and body). */
    requestTimeoutMs: number;
    /** How long a connection may take to send a request's headers, its first one included (idle ones too). */
    headersTimeoutMs: number;
    /** Open connections one client address may hold at once; 0 for no limit. */
    maxConnectionsPerAddress: number;
  };
  /** /metrics: with a token, scrapes must send it as a bearer token; with a port, it is served there only. */
  metrics: { token: string | undefined; port: number | undefined };
  /** OpenTelemetry trace export (OTLP/HTTP); no endpoint, no tracing. */
  tracing: TracingSettings;
  database: {
    url: string | undefined;
    poolMax: number;
    embeddedPort: number;
    /** How long one statement may run (PostgreSQL cancels it; the client gives up if it never answers). */
    statementTimeoutMs: number;
    /** How long to wait for a pooled connection, or for a new one to be established. */
    acquireTimeoutMs: number;
  };
  redis: { url: string | undefined };
  dataDir: string;
  logLevel: (typeof LOG_LEVELS)[number];
  auth: AuthConfig;
  oidc: OidcConfig | undefined;
  sessions: SessionConfig;
  graphql: { graphiql: boolean; wsMaxBufferedBytes: number; subscriberQueueMax: number };
  /** Abuse protection of the GraphQL API (HTTP, SSE and WebSocket). */
  apiProtection: ApiProtectionConfig;
  vault: {
    /** undefined until resolved: on the embedded default a key is generated into the data dir. */
    masterKeys: MasterKey[] | undefined;
    /** Development fallback: TOLLGATE_PROVIDER_KEY_<SLUG> (slug upper-cased, - as _) → secret. */
    providerEnvKeys: Record<string, string>;
  };
  caches: { refreshIntervalMs: number };
  proxy: {
    maxRequestBytes: number;
    maxResponseBytes: number;
    /** Memory the stale-on-error cache may hold on each replica (least recently used evicted); 0: none. */
    staleCacheMaxBytes: number;
    /** How many replicas share the limits: each one's Redis-outage fallback allows limit ÷ replicas. */
    replicas: number;
  };
  usage: {
    flushIntervalMs: number;
    bufferMax: number;
    /** Raw usage events older than this are not kept (reports over longer ranges read rollups). */
    retentionDays: number;
    /** When finished hours and days are rolled up (UTC cron, once per tick for the cluster); undefined: never. */
    rollupCron: string | undefined;
  };
  /** Budgets' default time zone, and where report days begin. */
  timeZone: string;
  /** A configuration document applied at start-up (no prune). */
  configFile: string | undefined;
  health: { tickMs: number; windowMs: number; passiveIntervalMs: number };
  webhooks: { retryLimit: number; retryDelaySeconds: number; timeoutMs: number };
  retention: {
    usageDays: number;
    healthDays: number;
    rollupDays: number;
    auditDays: number;
    jobDays: number;
    /** Retried share of a queue's recent jobs above which an alert goes out. */
    jobRetryRateAlert: number;
    /** When the cleanup runs (UTC cron), once for the whole cluster. */
    cron: string;
  };
}

const KID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const PROVIDER_ENV_KEY_PREFIX = 'TOLLGATE_PROVIDER_KEY_';

/** `key=value,key2=value2` (values URL-encoded), as the OpenTelemetry specification has it. */
function parseOtlpHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    headers[pair.slice(0, at).trim().toLowerCase()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

/** The env variable a provider's development key is read from. */
export function providerEnvKeyName(slug: string): string {
  return `${PROVIDER_ENV_KEY_PREFIX}${slug.toUpperCase().replaceAll('-', '_')}`;
}

/**
 * Parses `kid:base64(32 bytes)` entries separated by commas or new lines; the first is current.
 * Problems name the entry by position and kid, never by its key material.
 */
export function parseMasterKeys(text: string, variable: string, problems: string[]): MasterKey[] {
  const keys: MasterKey[] = [];
  const entries = text
    .split(/[,\n]/)
    .map((e) => e.trim())
    .filter((e) => e && !e.startsWith('#'));
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const kid = colon > 0 ? entry.slice(0, colon) : '';
    const key = Buffer.from(colon > 0 ? entry.slice(colon + 1) : '', 'base64');
    if (!KID_PATTERN.test(kid)) {
      problems.push(
        `${variable}: entry ${i + 1} must look like kid:base64key with a kid of letters, digits, . _ -`,
      );
    } else if (key.length !== 32) {
      problems.push(`${variable}: key "${kid}" must be 32 bytes, base64-encoded (openssl rand -base64 32)`);
    } else if (keys.some((k) => k.kid === kid)) {
      problems.push(`${variable}: kid "${kid}" is listed twice`);
    } else {
      keys.push({ kid, key: new Uint8Array(key) });
    }
  });
  if (entries.length === 0) problems.push(`${variable}: lists no key`);
  return keys;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

function readSecretFile(path: string, variable: string, problems: string[]): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    problems.push(`${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}

const list = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

/** The OIDC settings, or undefined when no issuer is set; problems name the variable at fault. */
function readOidc(e: z.infer<typeof envSchema>, problems: string[]): OidcConfig | undefined {
  const given = (Object.keys(e) as (keyof typeof e)[]).filter(
    (k) => k.startsWith('TOLLGATE_OIDC_') && k !== 'TOLLGATE_OIDC_ISSUER' && e[k] !== undefined,
  );
  if (!e.TOLLGATE_OIDC_ISSUER) {
    // Defaults count as unset; a value someone typed without an issuer is a mistake worth naming.
    const typed = given.filter(
      (k) => !['TOLLGATE_OIDC_NAME', 'TOLLGATE_OIDC_SCOPES', 'TOLLGATE_OIDC_ROLE_CLAIM'].includes(k),
    );
    if (typed.length > 0) problems.push(`${typed[0]}: only used with TOLLGATE_OIDC_ISSUER`);
    return undefined;
  }
  if (!e.TOLLGATE_OIDC_CLIENT_ID)
    problems.push('TOLLGATE_OIDC_CLIENT_ID: required when TOLLGATE_OIDC_ISSUER is set');
  let clientSecret = e.TOLLGATE_OIDC_CLIENT_SECRET;
  if (e.TOLLGATE_OIDC_CLIENT_SECRET && e.TOLLGATE_OIDC_CLIENT_SECRET_FILE) {
    problems.push(
      'TOLLGATE_OIDC_CLIENT_SECRET_FILE: set either TOLLGATE_OIDC_CLIENT_SECRET or TOLLGATE_OIDC_CLIENT_SECRET_FILE, not both',
    );
  } else if (e.TOLLGATE_OIDC_CLIENT_SECRET_FILE) {
    clientSecret = readSecretFile(
      e.TOLLGATE_OIDC_CLIENT_SECRET_FILE,
      'TOLLGATE_OIDC_CLIENT_SECRET_FILE',
      problems,
    );
  }
  const issuer = new URL(e.TOLLGATE_OIDC_ISSUER);
  // Plain HTTP only to this machine (a provider started by a test or a local Keycloak).
  const loopback =
    ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname) || issuer.hostname.startsWith('127.');
  if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && loopback)) {
    problems.push('TOLLGATE_OIDC_ISSUER: must be an https:// URL (http:// only on loopback)');
  }
  const roleValues: Record<Role, string[]> = {
    admin: list(e.TOLLGATE_OIDC_ADMIN_VALUES),
    operator: list(e.TOLLGATE_OIDC_OPERATOR_VALUES),
    viewer: list(e.TOLLGATE_OIDC_VIEWER_VALUES),
  };
  if (roleValues.admin.length + roleValues.operator.length + roleValues.viewer.length === 0) {
    problems.push(
      'TOLLGATE_OIDC_ADMIN_VALUES: set at least one of TOLLGATE_OIDC_ADMIN_VALUES, _OPERATOR_VALUES or _VIEWER_VALUES (no mapping, no one could sign in)',
    );
  }
  const allowedEmailDomains = list(e.TOLLGATE_OIDC_ALLOWED_EMAIL_DOMAINS).map((d) =>
    d.toLowerCase().replace(/^@/, ''),
  );
  if (allowedEmailDomains.some((d) => !/^[a-z0-9.-]+\.[a-z]{2,}$/.test(d))) {
    problems.push(
      'TOLLGATE_OIDC_ALLOWED_EMAIL_DOMAINS: must be a comma-separated list of domains such as example.com',
    );
  }
  return {
    issuer: e.TOLLGATE_OIDC_ISSUER,
    clientId: e.TOLLGATE_OIDC_CLIENT_ID ?? '',
    clientSecret,
    name: e.TOLLGATE_OIDC_NAME,
    scopes: e.TOLLGATE_OIDC_SCOPES,
    roleClaim: e.TOLLGATE_OIDC_ROLE_CLAIM,
    roleValues,
    allowedEmailDomains,
  };
}

/** Parses an environment into a frozen Config, or throws ConfigError naming every bad variable. */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];

  let secret = e.TOLLGATE_JWT_SECRET;
  if (e.TOLLGATE_JWT_SECRET && e.TOLLGATE_JWT_SECRET_FILE) {
    problems.push(
      'TOLLGATE_JWT_SECRET_FILE: set either TOLLGATE_JWT_SECRET or TOLLGATE_JWT_SECRET_FILE, not both',
    );
  } else if (e.TOLLGATE_JWT_SECRET_FILE) {
    secret = readSecretFile(e.TOLLGATE_JWT_SECRET_FILE, 'TOLLGATE_JWT_SECRET_FILE', problems);
  }
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    problems.push(
      'TOLLGATE_JWT_SECRET: must be at least 32 bytes (generate one with `openssl rand -base64 48`)',
    );
  }

  let auth: AuthConfig;
  const common = {
    roleClaim: e.TOLLGATE_JWT_ROLE_CLAIM,
    clockToleranceSeconds: e.TOLLGATE_JWT_CLOCK_TOLERANCE_S,
  };
  if (e.TOLLGATE_JWKS_URL) {
    if (secret !== undefined) {
      problems.push('TOLLGATE_JWKS_URL: set either a JWKS URL or an HS256 secret, not both');
    }
    if (!e.TOLLGATE_JWT_ISSUER) problems.push('TOLLGATE_JWT_ISSUER: required when TOLLGATE_JWKS_URL is set');
    if (!e.TOLLGATE_JWT_AUDIENCE)
      problems.push('TOLLGATE_JWT_AUDIENCE: required when TOLLGATE_JWKS_URL is set');
    const algorithms = (e.TOLLGATE_JWT_ALGORITHMS ?? 'RS256,ES256,PS256,EdDSA')
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean);
    const unknown = algorithms.filter((a) => !(JWT_ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a));
    if (unknown.length > 0 || algorithms.length === 0) {
      problems.push(`TOLLGATE_JWT_ALGORITHMS: allowed values are ${JWT_ASYMMETRIC_ALGORITHMS.join(', ')}`);
    }
    auth = {
      mode: 'jwks',
      jwksUrl: e.TOLLGATE_JWKS_URL,
      algorithms,
      issuer: e.TOLLGATE_JWT_ISSUER ?? '',
      audience: e.TOLLGATE_JWT_AUDIENCE ?? '',
      ...common,
    };
  } else {
    if (e.TOLLGATE_JWT_ALGORITHMS) {
      problems.push(
        'TOLLGATE_JWT_ALGORITHMS: only used with TOLLGATE_JWKS_URL (the shared-secret mode is HS256)',
      );
    }
    if (secret === undefined && e.DATABASE_URL) {
      problems.push(
        'TOLLGATE_JWT_SECRET: required with an external DATABASE_URL (or set TOLLGATE_JWKS_URL); ' +
          'only the embedded default generates one',
      );
    }
    auth = {
      mode: 'hs256',
      secret,
      issuer: e.TOLLGATE_JWT_ISSUER ?? 'tollgate',
      audience: e.TOLLGATE_JWT_AUDIENCE ?? 'tollgate',
      ...common,
    };
  }

  const oidc = readOidc(e, problems);

  let masterKeys: MasterKey[] | undefined;
  if (e.TOLLGATE_MASTER_KEYS && e.TOLLGATE_MASTER_KEYS_FILE) {
    problems.push(
      'TOLLGATE_MASTER_KEYS_FILE: set either TOLLGATE_MASTER_KEYS or TOLLGATE_MASTER_KEYS_FILE, not both',
    );
  } else if (e.TOLLGATE_MASTER_KEYS) {
    masterKeys = parseMasterKeys(e.TOLLGATE_MASTER_KEYS, 'TOLLGATE_MASTER_KEYS', problems);
  } else if (e.TOLLGATE_MASTER_KEYS_FILE) {
    const text = readSecretFile(e.TOLLGATE_MASTER_KEYS_FILE, 'TOLLGATE_MASTER_KEYS_FILE', problems);
    if (text !== undefined) masterKeys = parseMasterKeys(text, 'TOLLGATE_MASTER_KEYS_FILE', problems);
  } else if (e.DATABASE_URL) {
    problems.push(
      'TOLLGATE_MASTER_KEYS: required with an external DATABASE_URL (provider keys are encrypted with it; ' +
        'generate one with: echo "k1:$(openssl rand -base64 32)")',
    );
  }

  const providerEnvKeys: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith(PROVIDER_ENV_KEY_PREFIX) && value) providerEnvKeys[name] = value;
  }

  if (problems.length > 0) throw new ConfigError(problems);

  const config: Config = {
    env: e.NODE_ENV,
    http: {
      host: e.HOST,
      port: e.PORT,
      publicUrl: e.PUBLIC_URL,
      shutdownTimeoutMs: e.TOLLGATE_SHUTDOWN_TIMEOUT_MS,
      requestTimeoutMs: e.TOLLGATE_REQUEST_TIMEOUT_MS,
      // Node refuses a headers timeout longer than the request timeout: the shorter one rules.
      headersTimeoutMs: Math.min(e.TOLLGATE_HEADERS_TIMEOUT_MS, e.TOLLGATE_REQUEST_TIMEOUT_MS),
      maxConnectionsPerAddress: e.TOLLGATE_MAX_CONNECTIONS_PER_IP,
    },
    metrics: { token: e.TOLLGATE_METRICS_TOKEN, port: e.TOLLGATE_METRICS_PORT },
    tracing: {
      // The signal-specific URL is used as given; the base URL gets the standard path.
      endpoint:
        e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
        (e.OTEL_EXPORTER_OTLP_ENDPOINT
          ? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`
          : undefined),
      headers: parseOtlpHeaders(e.OTEL_EXPORTER_OTLP_HEADERS),
      serviceName: e.OTEL_SERVICE_NAME,
    },
    database: {
      url: e.DATABASE_URL,
      poolMax: e.DATABASE_POOL_MAX,
      embeddedPort: e.TOLLGATE_EMBEDDED_PG_PORT,
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      acquireTimeoutMs: e.DATABASE_ACQUIRE_TIMEOUT_MS,
    },
    redis: { url: e.REDIS_URL },
    dataDir: isAbsolute(e.TOLLGATE_DATA_DIR) ? e.TOLLGATE_DATA_DIR : resolve(cwd, e.TOLLGATE_DATA_DIR),
    logLevel: e.LOG_LEVEL,
    auth,
    oidc,
    sessions: {
      tokenTtlSeconds: e.TOLLGATE_SESSION_TOKEN_TTL_S,
      maxAgeSeconds: e.TOLLGATE_SESSION_MAX_AGE_S,
    },
    graphql: {
      graphiql: e.TOLLGATE_GRAPHIQL,
      wsMaxBufferedBytes: e.TOLLGATE_WS_MAX_BUFFERED_BYTES,
      subscriberQueueMax: e.TOLLGATE_SUBSCRIBER_QUEUE_MAX,
    },
    apiProtection: {
      introspection: e.TOLLGATE_GRAPHQL_INTROSPECTION,
      batchLimit: e.TOLLGATE_GRAPHQL_BATCH_LIMIT,
      maxBodyBytes: e.TOLLGATE_GRAPHQL_MAX_BODY_BYTES,
      rateLimit: { points: e.TOLLGATE_GRAPHQL_RATE_LIMIT, windowMs: e.TOLLGATE_GRAPHQL_RATE_WINDOW_S * 1000 },
      authFailureLimit: {
        points: e.TOLLGATE_AUTH_FAILURE_LIMIT,
        windowMs: e.TOLLGATE_AUTH_FAILURE_WINDOW_S * 1000,
      },
      allowedOrigins: e.TOLLGATE_ALLOWED_ORIGINS,
      wsInitTimeoutMs: e.TOLLGATE_WS_INIT_TIMEOUT_MS,
      wsMaxConnectionsPerOperator: e.TOLLGATE_WS_MAX_PER_OPERATOR,
    },
    vault: { masterKeys, providerEnvKeys },
    caches: { refreshIntervalMs: e.TOLLGATE_CACHE_REFRESH_INTERVAL_MS },
    proxy: {
      maxRequestBytes: e.TOLLGATE_MAX_REQUEST_BYTES,
      maxResponseBytes: e.TOLLGATE_MAX_RESPONSE_BYTES,
      staleCacheMaxBytes: e.TOLLGATE_STALE_CACHE_MAX_BYTES,
      replicas: e.TOLLGATE_REPLICAS,
    },
    usage: {
      flushIntervalMs: e.TOLLGATE_USAGE_FLUSH_INTERVAL_MS,
      bufferMax: e.TOLLGATE_USAGE_BUFFER_MAX,
      retentionDays: e.TOLLGATE_USAGE_RETENTION_DAYS,
      rollupCron: e.TOLLGATE_ROLLUP_CRON === 'off' ? undefined : e.TOLLGATE_ROLLUP_CRON,
    },
    timeZone: e.TOLLGATE_TIME_ZONE,
    configFile: e.TOLLGATE_CONFIG_FILE ? resolve(cwd, e.TOLLGATE_CONFIG_FILE) : undefined,
    health: {
      tickMs: e.TOLLGATE_HEALTH_TICK_MS,
      windowMs: e.TOLLGATE_HEALTH_WINDOW_MS,
      passiveIntervalMs: e.TOLLGATE_HEALTH_PASSIVE_INTERVAL_MS,
    },
    retention: {
      usageDays: e.TOLLGATE_USAGE_RETENTION_DAYS,
      healthDays: e.TOLLGATE_HEALTH_RETENTION_DAYS,
      rollupDays: e.TOLLGATE_ROLLUP_RETENTION_DAYS,
      auditDays: e.TOLLGATE_AUDIT_RETENTION_DAYS,
      jobDays: e.TOLLGATE_JOB_RETENTION_DAYS,
      jobRetryRateAlert: e.TOLLGATE_JOB_RETRY_RATE_ALERT,
      cron: e.TOLLGATE_RETENTION_CRON,
    },
    webhooks: {
      retryLimit: e.TOLLGATE_WEBHOOK_RETRY_LIMIT,
      retryDelaySeconds: e.TOLLGATE_WEBHOOK_RETRY_DELAY_S,
      timeoutMs: e.TOLLGATE_WEBHOOK_TIMEOUT_MS,
    },
  };
  return deepFreeze(config);
}

/** Names of every variable loadConfig reads; the docker-compose test checks against it. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

function deepFreeze<T>(value: T): T {
  // Typed arrays (key material) cannot be frozen; they are never handed out for writing.
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
