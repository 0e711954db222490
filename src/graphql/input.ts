/**
 * GraphQL sends `null` both for "not set" and "set to nothing". Inputs go through this before
 * validation: nulls become absent (so defaults apply), except at the dotted paths in `keep`,
 * where null means "clear this" (e.g. `rateLimit: null` removes a provider's rate limit).
 */
export function dropNulls(value: unknown, keep: readonly string[] = [], path = ''): unknown {
  if (Array.isArray(value)) return value.map((item) => dropNulls(item, keep, path));
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const childPath = path ? `${path}.${key}` : key;
    if (child === null && !keep.includes(childPath)) continue;
    out[key] = dropNulls(child, keep, childPath);
  }
  return out;
}
