/** Building the upstream request from the caller's (URL, headers, injected key) and cleaning the response headers. */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { UsableKey } from '../keys/key-ring.ts';
import type { Provider } from '../providers/provider.entity.ts';
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

export function upstreamRequest(
  provider: Provider,
  rest: string,
  req: IncomingMessage,
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
  const connection = req.headers.connection;
  // Connection names more headers to drop; the usual keep-alive or close names none.
  const connectionTokens =
    connection && !PLAIN_CONNECTION.test(connection)
      ? new Set(
          connection
            .toLowerCase()
            .split(',')
            .map((t) => t.trim()),
        )
      : undefined;
  for (const name in req.headers) {
    const value = req.headers[name];
    if (value === undefined || DROP_REQUEST.has(name) || connectionTokens?.has(name)) continue;
    headers[name] = value;
  }
  // The same id as in Tollgate's logs, spans and usage event, so a provider's support can find the call.
  headers['x-request-id'] = requestId;
  if (provider.kind === 'OPENAI_COMPATIBLE') headers['accept-encoding'] = 'identity'; // so usage can be read
  if (key) {
    const { style, name } = provider.auth;
    if (style === 'BEARER') headers.authorization = `Bearer ${key.secret}`;
    else if (style === 'HEADER' && name) headers[name.toLowerCase()] = key.secret;
    else if (style === 'QUERY' && name) {
      const search = new URLSearchParams(query);
      search.set(name, key.secret);
      query = search.toString();
    }
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

export function responseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = value;
  }
  return out;
}

export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
