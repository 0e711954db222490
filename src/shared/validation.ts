import type { z } from 'zod';
import { type FieldError, ValidationError } from './errors.ts';

/** Turns zod issues into field errors whose paths start at `prefix` (e.g. ['input']). */
export function toFieldErrors(error: z.ZodError, prefix: string[] = []): FieldError[] {
  return error.issues.map((issue) => ({
    path: [...prefix, ...issue.path.map(String)],
    message: issue.message,
  }));
}

/** Parses `value` or throws a ValidationError carrying every problem at once. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix: string[] = [],
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(toFieldErrors(result.error, prefix));
  return result.data;
}
