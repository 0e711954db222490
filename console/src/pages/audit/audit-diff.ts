/** One line of a before/after view: a field, its value before the change and after it. */
export interface DiffRow {
  field: string;
  before: unknown;
  after: unknown;
  /** The field did not exist before (a creation) or after (a deletion). */
  kind: 'changed' | 'added' | 'removed';
}

export interface AuditChange {
  rows: DiffRow[];
  /** Lines that are not field changes (a configuration import's plan). */
  notes: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Audit details come in a few shapes (src/modules/*): `changes: { field: { from, to } }` for
 * updates, `before`/`after` documents, `changes: [lines]` for an import, `spec`/plain fields for a
 * creation or deletion. This turns each into rows of before and after.
 */
export function auditChange(action: string, details: unknown): AuditChange {
  if (!isObject(details)) return { rows: [], notes: [] };
  const { changes, before, after, spec, ...rest } = details;
  const rows: DiffRow[] = [];
  const notes: string[] = [];
  if (isObject(changes)) {
    for (const [field, value] of Object.entries(changes)) {
      if (isObject(value) && 'from' in value && 'to' in value)
        rows.push({ field, before: value.from, after: value.to, kind: 'changed' });
      else rows.push({ field, before: undefined, after: value, kind: 'changed' });
    }
  } else if (Array.isArray(changes)) {
    notes.push(...changes.map(String));
  }
  if (isObject(before) || isObject(after)) {
    const b = isObject(before) ? before : {};
    const a = isObject(after) ? after : {};
    for (const field of new Set([...Object.keys(b), ...Object.keys(a)])) {
      if (same(b[field], a[field])) continue;
      rows.push({
        field,
        before: b[field],
        after: a[field],
        kind: !(field in b) ? 'added' : !(field in a) ? 'removed' : 'changed',
      });
    }
  }
  const removal = /\.(delete|revoke)$/.test(action);
  const fields = isObject(spec) ? { ...spec, ...rest } : rest;
  for (const [field, value] of Object.entries(fields)) {
    rows.push(
      removal
        ? { field, before: value, after: undefined, kind: 'removed' }
        : { field, before: undefined, after: value, kind: 'added' },
    );
  }
  return { rows, notes };
}

/** A value as shown in the diff: JSON for structures, plain for scalars, an em dash for nothing. */
export function showValue(value: unknown): string {
  if (value === undefined) return '—';
  if (value === null) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value, null, 1).replace(/\n\s*/g, ' ');
}
