import { z } from 'zod';
import { privateHostReason } from '../../shared/network.ts';
import { CONTROL_CHARACTER_MESSAGE, hasControlCharacter } from '../../shared/validation.ts';
import { AUTH_STYLES, authStrategy } from '../upstream/auth-styles.ts';
import { riskyPatternReason } from './key-pattern.ts';

export { AUTH_STYLES };

/**
 * The shape of a provider's settings, with the defaults of DESIGN.md §4. GraphQL inputs, config
 * import documents and the service all validate through these schemas, so a rule lives once.
 */

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const PROVIDER_KINDS = ['GENERIC_HTTP', 'OPENAI_COMPATIBLE'] as const;
export const RATE_LIMIT_MODES = ['REJECT', 'QUEUE'] as const;
export const HEALTH_CHECK_METHODS = ['GET', 'HEAD', 'POST'] as const;

const intIn = (min: number, max: number) =>
  z
    .number({ message: 'must be a number' })
    .int({ message: 'must be a whole number' })
    .min(min, { message: `must be at least ${min}` })
    .max(max, { message: `must be at most ${max}` });
/** A price: at most 1,000,000 currency units (10^12 micro-units), which no real API charges. */
export const MAX_PRICE_MICROS = 1_000_000_000_000;
const micros = z
  .number({ message: 'must be a number' })
  .int({ message: 'must be whole micro-units' })
  .min(0, { message: 'must not be negative' })
  .max(MAX_PRICE_MICROS, { message: `must be at most ${MAX_PRICE_MICROS} (1,000,000 currency units)` });

export const authSchema = z
  .object({
    style: z.enum(AUTH_STYLES),
    name: z.string().nullish(),
  })
  .superRefine((auth, ctx) => {
    const name = auth.name ?? undefined;
    const strategy = authStrategy(auth.style);
    if (strategy.usesName) {
      const problem = name ? strategy.checkName(name) : `is required for the ${auth.style} auth style`;
      if (problem) ctx.addIssue({ code: 'custom', path: ['name'], message: problem });
    } else if (name) {
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: `is only used with the HEADER and QUERY styles, not ${auth.style}`,
      });
    }
  })
  .transform((auth) => ({
    style: auth.style,
    name: authStrategy(auth.style).usesName ? (auth.name ?? null) : null,
  }));

export const retrySchema = z
  .object({
    maxAttempts: intIn(1, 10).default(3),
    baseDelayMs: intIn(0, 60_000).default(200),
    maxDelayMs: intIn(0, 300_000).default(10_000),
    retryNonIdempotent: z.boolean().default(false),
    budgetPercent: intIn(0, 100).default(20),
  })
  .refine((r) => r.maxDelayMs >= r.baseDelayMs, {
    path: ['maxDelayMs'],
    message: 'must be at least baseDelayMs',
  });

export const breakerSchema = z.object({
  failureThreshold: intIn(1, 1000).default(5),
  halfOpenAfterMs: intIn(100, 3_600_000).default(30_000),
  successThreshold: intIn(1, 100).default(3),
});

/**
 * The provider's bulkhead: calls to it in flight at once from one replica, and how many more
 * may wait (and for how long) for one of them to finish before being refused with 503.
 */
export const bulkheadSchema = z.object({
  maxConcurrent: intIn(1, 10_000).default(128),
  maxQueue: intIn(0, 10_000).default(64),
  maxQueueWaitMs: intIn(0, 60_000).default(1_000),
});

export const rateLimitSchema = z
  .object({
    points: intIn(1, 1_000_000),
    periodMs: intIn(100, 86_400_000),
    burst: intIn(0, 1_000_000).default(0),
    mode: z.enum(RATE_LIMIT_MODES).default('REJECT'),
    maxQueueWaitMs: intIn(0, 300_000).default(30_000),
    maxQueueSize: intIn(0, 100_000).default(100),
  })
  .nullable();

export const healthCheckSchema = z.object({
  enabled: z.boolean().default(false),
  path: z
    .string()
    .max(2000, { message: 'must be at most 2000 characters' })
    .regex(/^\/[^\s]*$/, { message: 'must start with / and contain no spaces' })
    .default('/'),
  method: z.enum(HEALTH_CHECK_METHODS).default('GET'),
  expectedStatus: intIn(100, 599).default(200),
  intervalMs: intIn(5_000, 86_400_000).default(60_000),
  timeoutMs: intIn(100, 5_000).default(5_000),
});

export const modelPriceSchema = z.object({
  model: z.string().min(1, { message: 'must not be empty' }).max(200),
  inputPerMillionMicros: micros,
  outputPerMillionMicros: micros,
  cachedInputPerMillionMicros: micros.nullish().transform((v) => v ?? null),
});

export const pricingSchema = z
  .object({
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, { message: 'must be a three-letter ISO 4217 code such as USD' })
      .default('USD'),
    perRequestMicros: micros.default(0),
    estimateMicros: micros.nullish().transform((v) => v ?? null),
    models: z.array(modelPriceSchema).max(500).default([]),
  })
  .superRefine((pricing, ctx) => {
    const seen = new Set<string>();
    pricing.models.forEach((m, i) => {
      if (seen.has(m.model))
        ctx.addIssue({
          code: 'custom',
          path: ['models', i, 'model'],
          message: `"${m.model}" is listed twice`,
        });
      seen.add(m.model);
    });
  });

const baseUrlSchema = z.string().superRefine((value, ctx) => {
  // Checked before parsing: the URL parser would drop them without a word.
  if (hasControlCharacter(value)) {
    ctx.addIssue({ code: 'custom', message: CONTROL_CHARACTER_MESSAGE });
    return;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: 'must be an absolute http(s) URL such as https://api.example.com/v1',
    });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `must use http or https, not ${url.protocol.replace(':', '')}` });
  }
  if (url.username || url.password) {
    ctx.addIssue({
      code: 'custom',
      message: 'must not contain credentials; add the key with addProviderKey instead',
    });
  }
  if (url.search || url.hash || value.includes('#')) {
    ctx.addIssue({ code: 'custom', message: 'must not contain a query string or fragment' });
  }
  if (value.length > 2000) ctx.addIssue({ code: 'custom', message: 'must be at most 2000 characters' });
});

function isCompilablePattern(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

/**
 * What callers get when the provider and its fallback providers cannot serve: a recent cached
 * answer to the same GET (stale-on-error), and/or a fixed body (e.g. links for manual research).
 */
export const degradedModeSchema = z
  .object({
    staleOnError: z.boolean().default(false),
    staleTtlMs: intIn(1_000, 7 * 86_400_000).default(3_600_000),
    staticStatus: intIn(200, 599).default(200),
    staticContentType: z
      .string()
      .max(100)
      .regex(/^[\w.+-]+\/[\w.+-]+(;\s*[\w-]+=[\w.-]+)?$/, {
        message: 'must be a media type such as application/json',
      })
      .default('application/json'),
    staticBody: z
      .string()
      .max(64 * 1024, { message: 'must be at most 64 KiB' })
      .nullish()
      .transform((v) => v ?? null),
  })
  .default(() => ({
    staleOnError: false,
    staleTtlMs: 3_600_000,
    staticStatus: 200,
    staticContentType: 'application/json',
    staticBody: null,
  }));

/** Everything that defines a provider, after defaults. */
export const providerSpecSchema = z
  .object({
    slug: z.string().regex(SLUG_PATTERN, {
      message:
        'must be 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit',
    }),
    name: z
      .string()
      .refine((v) => !hasControlCharacter(v), { message: CONTROL_CHARACTER_MESSAGE })
      .trim()
      .min(1, { message: 'must not be empty' })
      .max(200, { message: 'must be at most 200 characters' }),
    kind: z.enum(PROVIDER_KINDS).default('GENERIC_HTTP'),
    baseUrl: baseUrlSchema,
    enabled: z.boolean().default(true),
    auth: authSchema.default({ style: 'BEARER', name: null }),
    timeoutMs: intIn(100, 600_000).default(30_000),
    retry: retrySchema.default(() => retrySchema.parse({})),
    breaker: breakerSchema.default(() => breakerSchema.parse({})),
    bulkhead: bulkheadSchema.default(() => bulkheadSchema.parse({})),
    rateLimit: rateLimitSchema.default(null),
    healthCheck: healthCheckSchema.default(() => healthCheckSchema.parse({})),
    pricing: pricingSchema.default(() => pricingSchema.parse({})),
    fallbacks: z
      .array(z.string())
      .max(10, { message: 'at most 10 fallbacks' })
      .default([])
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((slug, i) => {
          if (seen.has(slug))
            ctx.addIssue({ code: 'custom', path: [i], message: `"${slug}" is listed twice` });
          seen.add(slug);
        });
      }),
    allowPrivateNetwork: z.boolean().default(false),
    degradedMode: degradedModeSchema,
    keyPattern: z
      .string()
      .max(200, { message: 'must be at most 200 characters' })
      .refine(isCompilablePattern, { message: 'must be a valid regular expression' })
      .superRefine((pattern, ctx) => {
        const reason = riskyPatternReason(pattern);
        if (reason) ctx.addIssue({ code: 'custom', message: reason });
      })
      .nullable()
      .default(null),
  })
  .superRefine((spec, ctx) => {
    if (spec.fallbacks.includes(spec.slug)) {
      ctx.addIssue({ code: 'custom', path: ['fallbacks'], message: 'a provider cannot be its own fallback' });
    }
    if (!spec.allowPrivateNetwork) {
      let url: URL | undefined;
      try {
        url = new URL(spec.baseUrl);
      } catch {
        url = undefined;
      }
      const reason = url && privateHostReason(url);
      if (reason) {
        ctx.addIssue({
          code: 'custom',
          path: ['baseUrl'],
          message: `${reason}; set allowPrivateNetwork to true if this provider really lives on your network`,
        });
      }
    }
  });

export type ProviderSpecInput = z.input<typeof providerSpecSchema>;
export type ProviderSpec = z.output<typeof providerSpecSchema>;
export type RetryPolicy = z.output<typeof retrySchema>;
export type BreakerPolicy = z.output<typeof breakerSchema>;
export type BulkheadPolicy = z.output<typeof bulkheadSchema>;
export type RateLimitPolicy = NonNullable<z.output<typeof rateLimitSchema>>;
export type HealthCheckSettings = z.output<typeof healthCheckSchema>;
export type Pricing = z.output<typeof pricingSchema>;
export type ProviderAuth = z.output<typeof authSchema>;
export type DegradedMode = z.output<typeof degradedModeSchema>;
