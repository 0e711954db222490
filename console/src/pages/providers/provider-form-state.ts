import { fromMicros, toInt, toMicros } from '../../components/form-fields.tsx';
import type {
  AuthStyle,
  ConsoleProviderSettingsFragment,
  CreateProviderInput,
  HealthCheckMethod,
  ProviderKind,
  RateLimitMode,
} from '../../gql/graphql.ts';

/**
 * The provider form as typed: strings for what the operator types (numbers included, so that a
 * half-typed value is not lost), booleans for switches. `toInput` turns it into the GraphQL input;
 * the server validates (its ValidationError paths are the input's, e.g. `retry.maxAttempts`).
 */
export interface ModelRow {
  model: string;
  input: string;
  output: string;
  cached: string;
}

export interface ProviderFormState {
  name: string;
  slug: string;
  kind: ProviderKind;
  baseUrl: string;
  enabled: boolean;
  allowPrivateNetwork: boolean;
  timeoutMs: string;
  keyPattern: string;
  authStyle: AuthStyle;
  authName: string;
  fallbacks: string[];
  rateLimited: boolean;
  rlPoints: string;
  rlPeriodMs: string;
  rlBurst: string;
  rlMode: RateLimitMode;
  rlMaxQueueSize: string;
  rlMaxQueueWaitMs: string;
  retryMaxAttempts: string;
  retryBaseDelayMs: string;
  retryMaxDelayMs: string;
  retryBudgetPercent: string;
  retryNonIdempotent: boolean;
  breakerFailureThreshold: string;
  breakerHalfOpenAfterMs: string;
  breakerSuccessThreshold: string;
  hcEnabled: boolean;
  hcMethod: HealthCheckMethod;
  hcPath: string;
  hcExpectedStatus: string;
  hcIntervalMs: string;
  hcTimeoutMs: string;
  currency: string;
  perRequest: string;
  estimate: string;
  models: ModelRow[];
  staleOnError: boolean;
  staleTtlMs: string;
  staticStatus: string;
  staticContentType: string;
  staticBody: string;
}

/** A new provider: the server's defaults, written out so that the operator sees them. */
export function emptyProviderForm(): ProviderFormState {
  return {
    name: '',
    slug: '',
    kind: 'GENERIC_HTTP',
    baseUrl: '',
    enabled: true,
    allowPrivateNetwork: false,
    timeoutMs: '30000',
    keyPattern: '',
    authStyle: 'BEARER',
    authName: '',
    fallbacks: [],
    rateLimited: false,
    rlPoints: '60',
    rlPeriodMs: '60000',
    rlBurst: '0',
    rlMode: 'REJECT',
    rlMaxQueueSize: '100',
    rlMaxQueueWaitMs: '30000',
    retryMaxAttempts: '3',
    retryBaseDelayMs: '200',
    retryMaxDelayMs: '10000',
    retryBudgetPercent: '20',
    retryNonIdempotent: false,
    breakerFailureThreshold: '5',
    breakerHalfOpenAfterMs: '30000',
    breakerSuccessThreshold: '3',
    hcEnabled: false,
    hcMethod: 'GET',
    hcPath: '/',
    hcExpectedStatus: '200',
    hcIntervalMs: '60000',
    hcTimeoutMs: '5000',
    currency: 'USD',
    perRequest: '0',
    estimate: '',
    models: [],
    staleOnError: false,
    staleTtlMs: '3600000',
    staticStatus: '200',
    staticContentType: 'application/json',
    staticBody: '',
  };
}

const str = (n: number | null | undefined) => (n == null ? '' : String(n));

export function providerFormFrom(p: ConsoleProviderSettingsFragment): ProviderFormState {
  return {
    name: p.name,
    slug: p.slug,
    kind: p.kind,
    baseUrl: p.baseUrl,
    enabled: p.enabled,
    allowPrivateNetwork: p.allowPrivateNetwork,
    timeoutMs: str(p.timeoutMs),
    keyPattern: p.keyPattern ?? '',
    authStyle: p.auth.style,
    authName: p.auth.name ?? '',
    fallbacks: p.fallbacks.map((f) => f.slug),
    rateLimited: p.rateLimit != null,
    rlPoints: str(p.rateLimit?.points ?? 60),
    rlPeriodMs: str(p.rateLimit?.periodMs ?? 60000),
    rlBurst: str(p.rateLimit?.burst ?? 0),
    rlMode: p.rateLimit?.mode ?? 'REJECT',
    rlMaxQueueSize: str(p.rateLimit?.maxQueueSize ?? 100),
    rlMaxQueueWaitMs: str(p.rateLimit?.maxQueueWaitMs ?? 30000),
    retryMaxAttempts: str(p.retry.maxAttempts),
    retryBaseDelayMs: str(p.retry.baseDelayMs),
    retryMaxDelayMs: str(p.retry.maxDelayMs),
    retryBudgetPercent: str(p.retry.budgetPercent),
    retryNonIdempotent: p.retry.retryNonIdempotent,
    breakerFailureThreshold: str(p.breaker.failureThreshold),
    breakerHalfOpenAfterMs: str(p.breaker.halfOpenAfterMs),
    breakerSuccessThreshold: str(p.breaker.successThreshold),
    hcEnabled: p.healthCheck.enabled,
    hcMethod: p.healthCheck.method,
    hcPath: p.healthCheck.path,
    hcExpectedStatus: str(p.healthCheck.expectedStatus),
    hcIntervalMs: str(p.healthCheck.intervalMs),
    hcTimeoutMs: str(p.healthCheck.timeoutMs),
    currency: p.pricing.currency,
    perRequest: fromMicros(p.pricing.perRequestMicros),
    estimate: fromMicros(p.pricing.estimateMicros),
    models: p.pricing.models.map((m) => ({
      model: m.model,
      input: fromMicros(m.inputPerMillionMicros),
      output: fromMicros(m.outputPerMillionMicros),
      cached: fromMicros(m.cachedInputPerMillionMicros),
    })),
    staleOnError: p.degradedMode.staleOnError,
    staleTtlMs: str(p.degradedMode.staleTtlMs),
    staticStatus: str(p.degradedMode.staticStatus),
    staticContentType: p.degradedMode.staticContentType,
    staticBody: p.degradedMode.staticBody ?? '',
  };
}

/**
 * The settings as a GraphQL input (shared by create and update). Everything is sent, so that an
 * update states the whole form; cleared optional values are sent as null, which the server reads
 * as "remove" for rateLimit, keyPattern, auth.name, pricing.estimateMicros and staticBody.
 */
export function toProviderInput(f: ProviderFormState): Omit<CreateProviderInput, 'slug'> {
  const usesAuthName = f.authStyle === 'HEADER' || f.authStyle === 'QUERY';
  return {
    name: f.name,
    kind: f.kind,
    baseUrl: f.baseUrl.trim(),
    allowPrivateNetwork: f.allowPrivateNetwork,
    timeoutMs: toInt(f.timeoutMs),
    keyPattern: f.keyPattern === '' ? null : f.keyPattern,
    auth: { style: f.authStyle, name: usesAuthName ? f.authName : null },
    fallbacks: f.fallbacks,
    rateLimit: f.rateLimited
      ? {
          points: toInt(f.rlPoints) ?? Number.NaN,
          periodMs: toInt(f.rlPeriodMs) ?? Number.NaN,
          burst: toInt(f.rlBurst),
          mode: f.rlMode,
          maxQueueSize: toInt(f.rlMaxQueueSize),
          maxQueueWaitMs: toInt(f.rlMaxQueueWaitMs),
        }
      : null,
    retry: {
      maxAttempts: toInt(f.retryMaxAttempts),
      baseDelayMs: toInt(f.retryBaseDelayMs),
      maxDelayMs: toInt(f.retryMaxDelayMs),
      budgetPercent: toInt(f.retryBudgetPercent),
      retryNonIdempotent: f.retryNonIdempotent,
    },
    breaker: {
      failureThreshold: toInt(f.breakerFailureThreshold),
      halfOpenAfterMs: toInt(f.breakerHalfOpenAfterMs),
      successThreshold: toInt(f.breakerSuccessThreshold),
    },
    healthCheck: {
      enabled: f.hcEnabled,
      method: f.hcMethod,
      path: f.hcPath,
      expectedStatus: toInt(f.hcExpectedStatus),
      intervalMs: toInt(f.hcIntervalMs),
      timeoutMs: toInt(f.hcTimeoutMs),
    },
    pricing: {
      currency: f.currency.trim().toUpperCase() || null,
      perRequestMicros: toMicros(f.perRequest) ?? 0,
      estimateMicros: toMicros(f.estimate),
      models: f.models.map((m) => ({
        model: m.model.trim(),
        inputPerMillionMicros: toMicros(m.input) ?? 0,
        outputPerMillionMicros: toMicros(m.output) ?? 0,
        cachedInputPerMillionMicros: toMicros(m.cached),
      })),
    },
    degradedMode: {
      staleOnError: f.staleOnError,
      staleTtlMs: toInt(f.staleTtlMs),
      staticStatus: toInt(f.staticStatus),
      staticContentType: f.staticContentType || null,
      staticBody: f.staticBody === '' ? null : f.staticBody,
    },
  };
}
