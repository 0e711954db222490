import { cacheExchange, type KeyingConfig } from '@urql/exchange-graphcache';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { Client, type CombinedError, fetchExchange, mapExchange, subscriptionExchange } from 'urql';
import { ConnectionStore } from './connection.ts';
import { takePrefetched } from './prefetch.ts';

/** graphql-ws close codes Tollgate uses for a token it will not accept (src/server/ws.ts). */
const UNAUTHORIZED_CLOSE = 4401;
const FORBIDDEN_CLOSE = 4403;

/**
 * The normalised cache keys objects by `id`. Objects without one (a provider's circuit, its
 * health, a usage summary, a connection) belong to their parent: null says so, for every type,
 * so that pages need not list their types here.
 */
const keys: KeyingConfig = new Proxy(
  {},
  {
    get: () => (data: { id?: unknown }) => (typeof data.id === 'string' ? data.id : null),
  },
);

export interface ConsoleClient {
  client: Client;
  connection: ConnectionStore;
  /** True once disposed: its socket is closed for good. */
  readonly disposed: boolean;
  dispose(): void;
}

function isUnauthenticated(error: CombinedError): boolean {
  if (error.response && (error.response as Response).status === 401) return true;
  return error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
}

/**
 * fetch, where urql's abort (a page leaving, the session ending) cuts a request off unless the
 * server has refused the token. Pages send their queries together with the viewer's: when the token is
 * refused, the session ends on the first refusal while the others are still on the wire, and
 * they are let finish (refused as well, their answers dropped by urql) rather than cut off
 * mid-answer, so that every request the console sent has a whole answer.
 */
function finishedOnceSent(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  refusedByServer: () => boolean,
): Promise<Response> {
  const signal = init?.signal;
  if (!signal) return fetch(input, init);
  const controller = new AbortController();
  signal.addEventListener('abort', () => {
    if (!refusedByServer()) controller.abort(signal.reason);
  });
  return fetch(input, { ...init, signal: controller.signal });
}

/**
 * One urql client per signed-in session (a token, or a single sign-on session whose token is renewed): queries and mutations over HTTP, subscriptions over one
 * graphql-ws connection that carries the token in its connection_init payload. A refused token
 * (HTTP 401, an UNAUTHENTICATED error, or the socket closed 4401/4403) calls `onUnauthenticated`
 * once and is not retried: the session ends and this client is disposed.
 */
export function createConsoleClient(token: () => string, onUnauthenticated: () => void): ConsoleClient {
  const connection = new ConnectionStore();
  let refused = false;
  // Set only when the server refused the token (not on a sign-out or an expiry, where requests in
  // flight are cut off as usual).
  let refusedByServer = false;
  const refuse = () => {
    if (refused) return;
    refused = true;
    refusedByServer = true;
    onUnauthenticated();
  };
  const wsUrl = new URL('/graphql', window.location.href);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';

  const ws: WsClient = createWsClient({
    url: wsUrl.toString(),
    // Read at each (re)connection: a renewed single sign-on token is used from then on.
    connectionParams: () => ({ authorization: `Bearer ${token()}` }),
    // Connected by the first subscription (the console's event feed), closed when none is left.
    lazy: true,
    keepAlive: 15_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (event) => {
      const code = (event as CloseEvent | undefined)?.code;
      if (code === UNAUTHORIZED_CLOSE || code === FORBIDDEN_CLOSE) {
        refuse();
        return false;
      }
      return !refused;
    },
    on: {
      connected: () => connection.connected(),
      closed: (event) => {
        // graphql-ws does not retry (nor ask shouldRetry about) these codes: a revoked session or a
        // refused token ends here.
        const code = (event as CloseEvent | undefined)?.code;
        if (code === UNAUTHORIZED_CLOSE || code === FORBIDDEN_CLOSE) refuse();
        connection.closed();
      },
    },
  });
  const onOnline = () => connection.closed();
  window.addEventListener('offline', onOnline);

  const client = new Client({
    url: '/graphql',
    requestPolicy: 'cache-and-network',
    // POST, always: a GET with a query is refused as possible CSRF (src/graphql/protection.ts).
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token()}` } }),
    fetch: (input, init) =>
      takePrefetched(token(), init?.body) ?? finishedOnceSent(input, init, () => refusedByServer),
    exchanges: [
      mapExchange({
        onError(error) {
          if (isUnauthenticated(error)) refuse();
        },
      }),
      cacheExchange({ keys }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });

  let disposed = false;
  return {
    client,
    connection,
    get disposed() {
      return disposed;
    },
    dispose() {
      disposed = true;
      refused = true;
      window.removeEventListener('offline', onOnline);
      void ws.dispose();
    },
  };
}
