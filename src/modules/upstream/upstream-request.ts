/** Building the upstream request from the caller's (URL, headers, injected key) and cleaning the response headers. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { UsableKey } from '../keys/key-ring.ts';
import type { Provider } from '../providers/provider.entity.ts';
import { authStrategy } from './auth-styles.ts';
import { listMayHoldKey, type Needle, needleOf, redactValues } from './secret-redaction.ts';
import type { UpstreamOptions } from './upstream-exchange.ts';

export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
/** Request headers never forwarded: hop-by-hop, the caller's own credentials, and what undici sets. */
const DROP_REQUEST = new Set([
  ...HOP_BY_HOP,
  'host',
  'authorization',
  'x-tollgate-key',
  'content-length',
  'expect',
]);

const PLAIN_CONNECTION = /^\s*(?:keep-alive|close)\s*$/i;

/**
 * The headers a Connection header nominates as hop-by-hop (RFC 9110 §7.6.1), on requests and
 * responses alike; the usual keep-alive or close nominates none (and costs no allocation).
 */
export function connectionNominated(connection: string | string[] | undefined): Set<string> | undefined {
  const value = Array.isArray(connection) ? connection.join(',') : connection;
  if (!value || PLAIN_CONNECTION.test(value)) return undefined;
  return new Set(
    value
      .toLowerCase()
      .split(',')
      .map((t) => t.trim()),
  );
}

export { withQueryParameter } from './query.ts';

const parsedBases = new Map<string, { origin: string; basePath: string }>();

/** A provider's base URL, parsed once (this runs on every call). */
function parsedBase(baseUrl: string): { origin: string; basePath: string } {
  let parsed = parsedBases.get(baseUrl);
  if (!parsed) {
    const url = new URL(baseUrl);
    parsed = { origin: url.origin, basePath: url.pathname.replace(/\/+$/, '') };
    parsedBases.set(baseUrl, parsed);
  }
  return parsed;
}

/**
 * What the upstream request is made from: the caller's request (an IncomingMessage is one) or
 * a request Tollgate makes itself (a health probe).
 */
export interface SourceRequest {
  method?: string;
  /** The path and query as the caller sent them; only the query is used. */
  url?: string;
  headers: IncomingHttpHeaders;
}

export function upstreamRequest(
  provider: Provider,
  rest: string,
  req: SourceRequest,
  key: UsableKey | undefined,
  requestId: string,
  body: Buffer | Readable | null,
): UpstreamOptions {
  const { origin, basePath } = parsedBase(provider.baseUrl);
  const url = req.url ?? '';
  const q = url.indexOf('?');
  // The caller's query string goes through as it came, unless a key must be added to it.
  let query = q >= 0 ? url.slice(q + 1) : '';
  const headers: Record<string, string | string[]> = {};
  const nominated = connectionNominated(req.headers.connection);
  for (const name in req.headers) {
    const value = req.headers[name];
    if (value === undefined || DROP_REQUEST.has(name) || nominated?.has(name)) continue;
    headers[name] = value;
  }
  // The same id as in Tollgate's logs, spans and usage event, so a provider's support can find the call.
  headers['x-request-id'] = requestId;
  if (provider.kind === 'OPENAI_COMPATIBLE') headers['accept-encoding'] = 'identity'; // so usage can be read
  if (key) {
    const target = { headers, query };
    authStrategy(provider.auth.style).inject(target, provider.auth.name, key.secret);
    query = target.query;
  }
  return {
    origin,
    path: `${basePath}${rest.startsWith('/') ? rest : `/${rest}`}${query ? `?${query}` : ''}`,
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    headers,
    body,
    // The call's deadline timer stops the exchange at the exact time. These are a backstop, and
    // constant on purpose: undici refreshes a connection's timer when the value repeats, but
    // allocates a new one (kept for up to a second) whenever it changes.
    headersTimeout: provider.timeoutMs,
    bodyTimeout: provider.timeoutMs,
  };
}

/** What replaces the provider key wherever an upstream response header carries it. */
export const REDACTED = 'REDACTED';
/**
 * Shorter keys are not redacted: they would mangle ordinary header values (dates, lengths), and a
 * key that short is guessable anyway.
 */
const MIN_REDACTED_LENGTH = 6;
const needles = new WeakMap<UsableKey, Needle>();

function needleFor(key: UsableKey): Needle {
  let needle = needles.get(key);
  if (!needle) {
    needle = needleOf(key.secret);
    needles.set(key, needle);
  }
  return needle;
}

/**
 * Appends the upstream response headers the caller may see to a flat [name, value, ...] list:
 * not hop-by-hop, not nominated by the response's Connection header, and with the injected key
 * redacted wherever and however the upstream put it (a redirect keeping the query of a
 * QUERY-style key, an echo in WWW-Authenticate, percent-encoded, base64, split over two
 * headers...: see secret-redaction.ts): callers must never hold a provider key. Runs on every
 * call: the values are scanned once, as one string, and copied only when the key is in them.
 */
export function pushResponseHeaders(
  out: (string | string[])[],
  headers: IncomingHttpHeaders,
  key: UsableKey | undefined,
): void {
  const nominated = connectionNominated(headers.connection);
  const first = out.length;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || nominated?.has(name)) continue;
    out.push(name, value);
  }
  if (key && key.secret.length >= MIN_REDACTED_LENGTH) redactList(out, first, needleFor(key));
}

/** Redacts the key in the values of out[first..] (name, value pairs), split ones included. */
function redactList(out: (string | string[])[], first: number, needle: Needle): void {
  if (!listMayHoldKey(out, first, needle)) return;
  const values: string[] = [];
  for (let i = first + 1; i < out.length; i += 2) {
    const value = out[i] as string | string[];
    if (typeof value === 'string') values.push(value);
    else values.push(...value);
  }
  if (!redactValues(values, needle, REDACTED)) return;
  let v = 0;
  for (let i = first + 1; i < out.length; i += 2) {
    const value = out[i] as string | string[];
    if (typeof value === 'string') out[i] = values[v++] as string;
    else {
      out[i] = values.slice(v, v + value.length);
      v += value.length;
    }
  }
}

/** The same headers as an object (kept in the stale cache). */
export function responseHeaders(
  headers: IncomingHttpHeaders,
  key: UsableKey | undefined,
): Record<string, string | string[]> {
  const list: (string | string[])[] = [];
  pushResponseHeaders(list, headers, key);
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) out[list[i] as string] = list[i + 1] as string | string[];
  return out;
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
