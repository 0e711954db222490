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

/**
 * Why a string cannot be stored as PostgreSQL text, if it cannot: NUL, or half of a UTF-16
 * surrogate pair (JSON and GraphQL strings can carry both).
 */
export function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain NUL characters (\\u0000)';
  if (!text.isWellFormed()) return 'must not contain unpaired UTF-16 surrogates (invalid Unicode)';
  return undefined;
}

/**
 * Throws a ValidationError listing every string in `value` (object keys included) that
 * PostgreSQL could not store, each at its path.
 */
export function checkText(value: object, prefix: string[] = []): void {
  const problems: FieldError[] = [];
  collectText(value, prefix, problems);
  if (problems.length > 0) throw new ValidationError(problems);
}

function collectText(value: unknown, path: string[], problems: FieldError[]): void {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    if (problem) problems.push({ path, message: problem });
    return;
  }
  if (value === null || typeof value !== 'object' || value instanceof Date) return;
  for (const [key, child] of Object.entries(value)) {
    const keyProblem = textProblem(key);
    if (keyProblem) problems.push({ path, message: `keys ${keyProblem}` });
    collectText(child, [...path, key], problems);
  }
}

/**
 * Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: they split or
 * rewrite a line wherever a name or URL is shown, logged or sent (the URL parser silently drops
 * tabs and line breaks), so names and URLs refuse them rather than store one thing and use another.
 */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029) return true;
  }
  return false;
}

export const CONTROL_CHARACTER_MESSAGE =
  'must not contain control characters or line breaks (CR, LF, tab, NUL, U+2028...)';

/** The parts of zod's schema definition (`_zod.def`) that say where an object's fields are. */
type SchemaDef = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  in?: z.ZodType;
};

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

/**
 * Every key of `value`, at any depth, that `schema` does not define, as field errors with their
 * path. zod drops unknown keys silently (or, strict, reports them once per object without their
 * own path); a document that misspells a field must be refused where the mistake is, as GraphQL
 * refuses an unknown input field. Unions and records are not looked into.
 */
export function unknownFields(schema: z.ZodType, value: unknown, path: string[] = []): FieldError[] {
  const def = (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
  if (def.type === 'pipe' && def.in) return unknownFields(def.in, value, path);
  if (WRAPPERS.has(def.type) && def.innerType) return unknownFields(def.innerType, value, path);
  if (def.type === 'array' && def.element && Array.isArray(value)) {
    const element = def.element;
    return value.flatMap((item, i) => unknownFields(element, item, [...path, String(i)]));
  }
  if (def.type !== 'object' || !def.shape || value === null || typeof value !== 'object') return [];
  if (Array.isArray(value)) return [];
  const shape = def.shape;
  return Object.entries(value).flatMap(([key, child]) =>
    Object.hasOwn(shape, key)
      ? unknownFields(shape[key]!, child, [...path, key])
      : [{ path: [...path, key], message: 'is not a known field' }],
  );
}
