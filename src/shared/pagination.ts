import { ValidationError } from './errors.ts';
import { isUuid } from './ids.ts';

/** Keyset pagination over (createdAt-like timestamp, id), with opaque Relay cursors. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface Cursor {
  at: Date;
  id: string;
}

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.at.toISOString()}|${cursor.id}`).toString('base64url');
}

/** Longer than any cursor encodeCursor makes (24 + 1 + 36 characters, base64url). */
const MAX_CURSOR_LENGTH = 128;

/**
 * Only what encodeCursor makes: an ISO instant exactly as toISOString writes it (so within years
 * 0000–9999, which PostgreSQL stores) and a UUID. Anything else would reach the database as a
 * parameter it refuses, and the caller would get an unexpected error instead of this one.
 */
export function decodeCursor(value: string, argName: string): Cursor {
  const refuse = () =>
    new ValidationError([{ path: [argName], message: 'is not a cursor this API returned' }]);
  if (value.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(value)) throw refuse();
  const [at, id, ...rest] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  if (!at || !id || rest.length > 0 || !isUuid(id) || !/^\d{4}-/.test(at)) throw refuse();
  const date = new Date(at);
  if (Number.isNaN(date.getTime()) || date.toISOString() !== at || date.getUTCFullYear() < 1) throw refuse();
  return { at: date, id };
}

export interface PagePlan {
  direction: 'forward' | 'backward';
  limit: number;
  cursor: Cursor | undefined;
}

export function planPage(args: PageArgs): PagePlan {
  if (args.first != null && args.last != null) {
    throw new ValidationError([
      { path: ['last'], message: 'use either first/after or last/before, not both' },
    ]);
  }
  for (const name of ['first', 'last'] as const) {
    const n = args[name];
    if (n != null && (n < 0 || n > MAX_PAGE_SIZE)) {
      throw new ValidationError([{ path: [name], message: `must be between 0 and ${MAX_PAGE_SIZE}` }]);
    }
  }
  if (args.last != null || args.before != null) {
    return {
      direction: 'backward',
      limit: args.last ?? DEFAULT_PAGE_SIZE,
      cursor: args.before ? decodeCursor(args.before, 'before') : undefined,
    };
  }
  return {
    direction: 'forward',
    limit: args.first ?? DEFAULT_PAGE_SIZE,
    cursor: args.after ? decodeCursor(args.after, 'after') : undefined,
  };
}

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
}

/** A page and, counted only when asked for, how many rows match the list's filter in all. */
export type CountedPage<T> = Page<T> & { totalCount: () => Promise<number> };

/** Builds a page from rows fetched with limit + 1, in the plan's direction. */
export function toPage<T>(rows: T[], plan: PagePlan, cursorOf: (row: T) => Cursor): Page<T> {
  const hasMore = rows.length > plan.limit;
  const slice = rows.slice(0, plan.limit);
  if (plan.direction === 'backward') slice.reverse();
  const edges = slice.map((node) => ({ cursor: encodeCursor(cursorOf(node)), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: plan.direction === 'forward' ? hasMore : plan.cursor !== undefined,
      hasPreviousPage: plan.direction === 'backward' ? hasMore : plan.cursor !== undefined,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/**
 * The filter and ordering (MikroORM query objects) that fetch one page after/before a cursor,
 * for a list sorted by (`field`, id) in `order`.
 */
export function keysetQuery(plan: PagePlan, field: string, order: 'asc' | 'desc') {
  const ascending = (order === 'asc') === (plan.direction === 'forward');
  const dir = ascending ? 'asc' : 'desc';
  const op = ascending ? '$gt' : '$lt';
  const where = plan.cursor
    ? {
        $or: [
          { [field]: { [op]: plan.cursor.at } },
          { [field]: plan.cursor.at, id: { [op]: plan.cursor.id } },
        ],
      }
    : {};
  return { where, orderBy: [{ [field]: dir }, { id: dir }], limit: plan.limit + 1 };
}
