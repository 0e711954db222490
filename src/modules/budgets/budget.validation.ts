import { z } from 'zod';
import { BUDGET_ACTIONS, BUDGET_SCOPES } from './budget.entity.ts';
import { BUDGET_PERIODS, isTimeZone } from './budget-period.ts';

/** At most one thousand million currency units: anything above is a typo. */
export const MAX_BUDGET_MICROS = 1_000_000_000_000_000;
export const DEFAULT_THRESHOLDS = [50, 75, 90];

export const budgetSpecSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1, { message: 'must not be empty' })
      .max(200, { message: 'must be at most 200 characters' }),
    scope: z.enum(BUDGET_SCOPES, { message: `must be one of ${BUDGET_SCOPES.join(', ')}` }),
    provider: z
      .string()
      .max(63)
      .nullish()
      .transform((v) => v ?? null),
    client: z
      .string()
      .max(64)
      .nullish()
      .transform((v) => v ?? null),
    period: z.enum(BUDGET_PERIODS, { message: `must be one of ${BUDGET_PERIODS.join(', ')}` }),
    timeZone: z
      .string()
      .refine(isTimeZone, { message: 'must be an IANA time zone such as UTC or Europe/Paris' }),
    limitMicros: z
      .number({ message: 'must be a number' })
      .int({ message: 'must be whole micro-units' })
      .min(1, { message: 'must be at least 1 micro-unit' })
      .max(MAX_BUDGET_MICROS, { message: `must be at most ${MAX_BUDGET_MICROS}` }),
    thresholds: z
      .array(
        z
          .number()
          .int({ message: 'must be a whole percentage' })
          .min(1, { message: 'must be between 1 and 100' })
          .max(100, { message: 'must be between 1 and 100' }),
      )
      .max(10, { message: 'at most 10 thresholds' })
      .default(DEFAULT_THRESHOLDS)
      .superRefine((list, ctx) => {
        list.forEach((value, i) => {
          if (i > 0 && value <= (list[i - 1] ?? 0)) {
            ctx.addIssue({
              code: 'custom',
              path: [i],
              message: 'must be in ascending order, without repeats',
            });
          }
        });
      }),
    action: z.enum(BUDGET_ACTIONS).default('BLOCK'),
  })
  .superRefine((spec, ctx) => {
    const needsProvider = spec.scope === 'PROVIDER' || spec.scope === 'CLIENT_PROVIDER';
    const needsClient = spec.scope === 'CLIENT' || spec.scope === 'CLIENT_PROVIDER';
    if (needsProvider && !spec.provider)
      ctx.addIssue({ code: 'custom', path: ['provider'], message: `is required for scope ${spec.scope}` });
    if (!needsProvider && spec.provider)
      ctx.addIssue({ code: 'custom', path: ['provider'], message: `must be empty for scope ${spec.scope}` });
    if (needsClient && !spec.client)
      ctx.addIssue({ code: 'custom', path: ['client'], message: `is required for scope ${spec.scope}` });
    if (!needsClient && spec.client)
      ctx.addIssue({ code: 'custom', path: ['client'], message: `must be empty for scope ${spec.scope}` });
  });

export type BudgetSpec = z.output<typeof budgetSpecSchema>;
export type BudgetSpecInput = z.input<typeof budgetSpecSchema>;
