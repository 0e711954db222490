import { formatDocument, stringifyDocument } from '@urql/core';

/**
 * Queries sent before the application has loaded (by the entry), handed to urql when it asks for
 * the same operation with the same variables and token: the server answers while the browser is
 * still busy with the application's code. Each answer is used once, and only while fresh.
 */
const FRESH_MS = 15_000;

interface Prefetched {
  response: Promise<Response>;
  at: number;
}

const pending = new Map<string, Prefetched>();

/** The text urql sends for a document: with the `__typename`s the normalised cache adds. */
export function queryText(document: Parameters<typeof formatDocument>[0]): string {
  return stringifyDocument(formatDocument(document));
}

/** Object keys sorted at every level, so that two equal variable objects give one key. */
function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, stable((value as Record<string, unknown>)[k])]),
  );
}

/** Token, query text and variables: an answer is handed over only for the very same request. */
function keyOf(token: string, query: unknown, variables: unknown): string {
  return JSON.stringify([token, query, stable(variables ?? {})]);
}

/**
 * Sends a query now, as urql would (POST, JSON), for urql to pick up later. `query` must be the
 * text urql will send: the document as the cache formats it (with `__typename`s), printed by
 * urql (see queryText).
 */
export function prefetch(
  token: string,
  operation: { operationName: string; query: string; variables: Record<string, unknown> },
): void {
  const response = fetch('/graphql', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
    },
    body: JSON.stringify(operation),
  });
  // A failed prefetch is a miss: urql sends the request itself, and sees its error then.
  response.catch(() => undefined);
  pending.set(keyOf(token, operation.query, operation.variables), { response, at: Date.now() });
}

/**
 * The prefetched answer to the request urql is about to send (its JSON body), if there is a fresh
 * one for this token; it is then forgotten.
 */
export function takePrefetched(
  token: string,
  body: BodyInit | null | undefined,
): Promise<Response> | undefined {
  if (pending.size === 0 || typeof body !== 'string') return undefined;
  let request: { query?: unknown; variables?: unknown };
  try {
    request = JSON.parse(body) as typeof request;
  } catch {
    return undefined;
  }
  const key = keyOf(token, request.query, request.variables);
  const found = pending.get(key);
  if (!found) return undefined;
  pending.delete(key);
  if (Date.now() - found.at > FRESH_MS) return undefined;
  return found.response;
}
