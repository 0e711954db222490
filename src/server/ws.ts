import type { IncomingMessage, Server } from 'node:http';
import { type ExecutionArgs, type ExecutionResult, GraphQLError } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { isAsyncIterable } from 'graphql-yoga';
import { WebSocket, WebSocketServer } from 'ws';
import { bearerToken, type Context } from '../context.ts';
import { anonymousInvalidError } from '../graphql/protection.ts';
import { type SharedSubscriptions, sharingKey } from '../graphql/shared-subscriptions.ts';
import { tokenExpiredError, untilExpiry } from '../graphql/token-expiry.ts';
import { authorizationFromParams, type GraphqlServer } from '../graphql/yoga.ts';
import type { TokenService } from '../modules/auth/token.service.ts';
import type { SessionService } from '../modules/sessions/session.service.ts';
import type { Logger } from '../shared/logger.ts';
import { requestIdFrom } from '../shared/request-id.ts';
import { type ApiGuard, clientIp, refusalBody } from './api-guard.ts';
import { rawJsonError } from './http.ts';

type Extra = {
  socket: WebSocket;
  request: IncomingMessage;
  expiryTimer?: NodeJS.Timeout;
};

/**
 * What a connection keeps of its upgrade request. graphql-ws holds `extra.request` for the
 * connection's whole life, and the full IncomingMessage (a stream, every header) is a large part
 * of an idle connection's memory; only these are read (see `upgradeFacts`).
 */
interface UpgradeFacts {
  headers: { authorization?: string | undefined };
  socket: { remoteAddress?: string | undefined };
}

function upgradeFacts(request: IncomingMessage): UpgradeFacts {
  return {
    headers: { authorization: request.headers.authorization },
    socket: { remoteAddress: request.socket.remoteAddress },
  };
}

/** How often every connection is pinged; one that has not answered the previous ping is dropped. */
const KEEP_ALIVE_MS = 12_000;

/**
 * The server's sockets. A consumer that stops reading would otherwise grow this process's memory
 * without bound: a send to a socket with more than `maxBufferedBytes` unsent closes it (1013) and
 * is dropped. A class rather than a wrapper per socket, so that a connection costs no closures.
 */
function guardedSocketClass(maxBufferedBytes: number, logger: Logger) {
  return class GuardedSocket extends WebSocket {
    awaitingPong = false;

    // biome-ignore lint/suspicious/noExplicitAny: ws's send has overloads a single override cannot restate.
    override send(data: any, options?: any, cb?: any): void {
      if (this.bufferedAmount <= maxBufferedBytes) {
        super.send(data, options, cb);
        return;
      }
      if (this.readyState === this.OPEN) {
        logger.warn({ bufferedBytes: this.bufferedAmount }, 'websocket consumer too slow; disconnecting it');
        this.close(1013, 'Consumer too slow');
        setTimeout(() => this.terminate(), 1000).unref();
      }
      (typeof options === 'function' ? options : cb)?.();
    }
  };
}

function heardPong(this: WebSocket): void {
  (this as WebSocket & { awaitingPong: boolean }).awaitingPong = false;
}

/** Close code for a caller over its connection maximum (graphql-ws's "too many" code, not retried). */
export const TOO_MANY_CONNECTIONS = 4429;

interface Share {
  key: string;
  onSlowConsumer: () => void;
  /** When the operation's own token (not the connection's) expires. */
  expiresAt: Date | undefined;
}

interface EnvelopedRoot {
  execute(args: ExecutionArgs): unknown;
  subscribe(args: ExecutionArgs): unknown;
}

/**
 * graphql-ws on the same port and path as HTTP GraphQL. Operations go through Yoga's envelop
 * pipeline (same schema, auth, limits and error masking).
 *
 * The token comes in connectionParams (or the upgrade request's Authorization header). A
 * connection that presents an invalid token is closed with 4403; one whose token expires is
 * closed with 4401. GraphiQL cannot put its header editor into connectionParams, so it sends the
 * headers with each operation (`extensions.headers`): a connection without a token is accepted,
 * and each of its operations is authorised by its own header (or answered UNAUTHENTICATED); a
 * subscription so authorised ends with UNAUTHENTICATED when its own token expires
 * (graphql/token-expiry.ts), the connection and its other operations going on.
 *
 * Abuse: a browser upgrade from a foreign Origin gets 403, an address blocked for refused tokens
 * 429; graphql-ws closes a connection that sends no init in time (4408), inits twice (4429),
 * subscribes before the ack (4401) or reuses an operation id (4409); a caller over its connection
 * maximum is closed with 4429 "Too many connections"; each operation counts against the caller's
 * rate limit (an error result with RATE_LIMITED when spent).
 *
 * Subscribers of the same operation (document, variables) with the same role share one execution
 * per event (graphql/shared-subscriptions.ts): each still passes its own authorisation, rate limit
 * and token expiry, and is dropped alone when it falls behind.
 */
export function attachGraphqlWebSocket(deps: {
  server: Server;
  yoga: GraphqlServer;
  tokens: TokenService;
  /** A revoked console session's sockets are closed (4401) on every replica. */
  sessions?: SessionService;
  logger: Logger;
  /** A socket whose unsent data passes this is too slow to keep up: it is disconnected. */
  maxBufferedBytes: number;
  guard: ApiGuard;
  /** Largest message accepted. */
  maxPayloadBytes: number;
  /** How long a connection may wait before connection_init. */
  initTimeoutMs: number;
  /** Anonymous callers get one UNAUTHENTICATED error for an invalid operation (see protection.ts). */
  maskAnonymousValidation: boolean;
  /** Runs each subscription once for every subscriber of the same (document, variables, role). */
  shared: SharedSubscriptions;
}) {
  const { server, yoga, tokens, logger, maxBufferedBytes, guard } = deps;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: deps.maxPayloadBytes,
    WebSocket: guardedSocketClass(maxBufferedBytes, logger),
  });
  /** Open sockets by the console session their connection_init token belongs to. */
  const sessionSockets = new Map<string, Set<WebSocket>>();
  const stopClosingRevoked = deps.sessions?.onRevoked((sessionId) => {
    const sockets = sessionSockets.get(sessionId);
    if (!sockets) return;
    logger.info({ sessionId, sockets: sockets.size }, 'closing the websockets of a revoked session');
    for (const socket of sockets) socket.close(CloseCode.Unauthorized, 'Session revoked');
  });

  wss.on('connection', (socket: WebSocket) => socket.on('pong', heardPong));
  // One timer for every connection (graphql-ws's own keep-alive arms two per connection).
  const keepAlive = setInterval(() => {
    for (const socket of wss.clients as Set<WebSocket & { awaitingPong: boolean }>) {
      if (socket.awaitingPong) {
        socket.terminate();
        continue;
      }
      socket.awaitingPong = true;
      socket.ping();
    }
  }, KEEP_ALIVE_MS);
  keepAlive.unref();

  server.on('upgrade', (request, socket, head) => {
    const path = (request.url ?? '').split('?')[0];
    // The HTTP server sends only /graphql upgrades here (shouldUpgradeCallback); in case not:
    if (path !== yoga.graphqlEndpoint) {
      rawJsonError(socket, 404, { code: 'NOT_FOUND', message: `No WebSocket endpoint at ${path}.` });
      return;
    }
    if (!guard.originAllowed(request)) {
      logger.info({ origin: request.headers.origin }, 'websocket upgrade from a foreign origin refused');
      const body = JSON.stringify({
        errors: [
          { message: 'This origin may not open a WebSocket here.', extensions: { code: 'FORBIDDEN' } },
        ],
      });
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    guard
      .authBlocked(clientIp(request))
      .then((blocked) => {
        if (blocked) {
          const body = JSON.stringify(refusalBody(blocked));
          const seconds = Math.max(1, Math.ceil(blocked.retryAfterMs / 1000));
          socket.end(
            `HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${seconds}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
          );
          return;
        }
        wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, upgradeFacts(request)));
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'websocket upgrade failed');
        socket.destroy();
      });
  });

  const connectionCredential = (ctx: {
    connectionParams?: Record<string, unknown> | undefined;
    extra: Extra;
  }) => authorizationFromParams(ctx.connectionParams) ?? ctx.extra.request.headers.authorization;

  const closeAtExpiry = (extra: Extra, expiresAt: Date) => {
    clearTimeout(extra.expiryTimer);
    const remaining = expiresAt.getTime() - Date.now();
    // setTimeout waits at most ~24.8 days: a longer-lived token re-arms it rather than expire early.
    extra.expiryTimer = setTimeout(
      () =>
        remaining > 2_147_000_000
          ? closeAtExpiry(extra, expiresAt)
          : extra.socket.close(CloseCode.Unauthorized, 'Token expired'),
      Math.min(Math.max(remaining, 0), 2_147_000_000),
    );
    extra.expiryTimer.unref();
  };

  /** How each validated subscription may be shared, by its execution arguments. */
  const shares = new WeakMap<ExecutionArgs, Share>();

  const subscribeShared = (args: ExecutionArgs, share: Share) => {
    const root = args.rootValue as EnvelopedRoot;
    let runsIt = false;
    const stream = deps.shared.subscribe(
      share.key,
      () => {
        runsIt = true;
        // This subscriber's context runs the operation for all of them: what is its own goes.
        const context = args.contextValue as Context;
        context.sharedSubscription = true;
        context.onSlowConsumer = undefined;
        return root.subscribe(args) as Promise<AsyncIterable<ExecutionResult> | ExecutionResult>;
      },
      share.onSlowConsumer,
    );
    const { expiresAt } = share;
    return stream.then((result) => {
      // graphql-ws keeps the arguments while the subscription lasts; a subscriber whose operation
      // another one runs needs neither its context nor its pipeline any more.
      if (!runsIt) Object.assign(args, { contextValue: undefined, rootValue: undefined });
      // An operation authorised by its own token ends at that token's expiry, as unshared ones do.
      if (!expiresAt || !isAsyncIterable(result)) return result;
      return untilExpiry(result, expiresAt, () => ({ errors: [tokenExpiredError()] }));
    });
  };

  const disposable = useServer<Record<string, unknown> | undefined, Extra>(
    {
      connectionInitWaitTimeout: deps.initTimeoutMs,
      onConnect: async (ctx) => {
        const ip = clientIp(ctx.extra.request);
        const credential = connectionCredential(ctx);
        let operator = null;
        if (credential !== undefined) {
          const token = bearerToken(credential);
          if (!token) return false;
          try {
            operator = await tokens.verify(token);
          } catch (error) {
            await guard.recordAuthFailure(ip, error);
            return false;
          }
        }
        const key = guard.keyOf(operator, ip);
        if (!guard.openConnection(key)) {
          logger.info({ key }, 'websocket refused: too many connections for this caller');
          // Closed here with its own code; returning false then changes nothing (already closing).
          ctx.extra.socket.close(TOO_MANY_CONNECTIONS, 'Too many connections');
          return false;
        }
        // On the socket's own close: graphql-ws calls onClose only after every running
        // subscription has returned, which can wait for that subscription's next event.
        ctx.extra.socket.once('close', () => {
          clearTimeout(ctx.extra.expiryTimer);
          guard.closeConnection(key);
        });
        if (operator) closeAtExpiry(ctx.extra, operator.expiresAt);
        const sessionId = operator?.sessionId;
        if (sessionId) {
          // Revoked between the token's check and here: refused like any revoked token.
          if (deps.sessions?.isRevoked(sessionId)) return false;
          const socket = ctx.extra.socket;
          const set = sessionSockets.get(sessionId) ?? new Set<WebSocket>();
          set.add(socket);
          sessionSockets.set(sessionId, set);
          socket.once('close', () => {
            set.delete(socket);
            if (set.size === 0) sessionSockets.delete(sessionId);
          });
        }
        return true;
      },
      onClose: (ctx) => clearTimeout(ctx.extra.expiryTimer),
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => {
        const share = shares.get(args);
        return (
          share ? subscribeShared(args, share) : (args.rootValue as EnvelopedRoot).subscribe(args)
        ) as never;
      },
      // A shared result was formatted once for all its subscribers: send that.
      onNext: (_ctx, _id, _payload, _args, result) => deps.shared.payloadOf(result) as never,
      onSubscribe: async (ctx, _id, payload) => {
        const requestId = requestIdFrom(undefined);
        const operationHeaders = (payload.extensions as { headers?: Record<string, unknown> } | undefined)
          ?.headers;
        const connectionToken = connectionCredential(ctx);
        const credential = connectionToken ?? authorizationFromParams(operationHeaders);
        // The event bus dropped a subscription of this connection for falling behind: the
        // socket is stuck too, so the whole connection goes (1013: try again later).
        const onSlowConsumer = () => {
          const socket = ctx.extra.socket;
          if (socket.readyState !== socket.OPEN) return;
          logger.warn({ requestId }, 'websocket subscriber too slow; disconnecting it');
          socket.close(1013, 'Consumer too slow');
          setTimeout(() => socket.terminate(), 1000).unref();
        };
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          socket: ctx.extra.socket,
          params: payload,
          requestId,
          connectionParams: { authorization: credential },
          onSlowConsumer,
        });
        let document: ExecutionArgs['document'];
        try {
          document = parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) {
            // Yoga caches parse errors by query text and adds the code only on HTTP; add it here
            // too so a query first seen over WebSocket does not lose its code for later HTTP calls.
            const extensions = error.extensions as Record<string, unknown>;
            extensions.code ??= 'GRAPHQL_PARSE_FAILED';
            extensions.http ??= { spec: true, status: 400 };
            return [error];
          }
          throw error;
        }
        const contextValue = await contextFactory();
        const ip = clientIp(ctx.extra.request);
        // A token sent with the operation (GraphiQL) that does not verify counts as a failed attempt.
        if (!contextValue.operator && bearerToken(credential)) await guard.identify(credential, ip);
        const refusal = await guard.take(guard.keyOf(contextValue.operator, ip));
        if (refusal) {
          const [error] = refusalBody(refusal, requestId).errors;
          return [new GraphQLError(error!.message, { extensions: error!.extensions })];
        }
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        if (errors.length === 0) {
          const operator = contextValue.operator;
          const key = operator ? sharingKey(args, payload.query, operator.role) : undefined;
          // A connection's own token closes the connection at its expiry; an operation's own token
          // ends just that operation.
          if (key)
            shares.set(args, {
              key,
              onSlowConsumer,
              expiresAt: connectionToken ? undefined : operator?.expiresAt,
            });
          return args;
        }
        return deps.maskAnonymousValidation && !contextValue.operator ? [anonymousInvalidError()] : errors;
      },
    },
    wss,
    // Kept alive above.
    0,
  );

  return {
    connections: () => wss.clients.size,
    /** Closes every socket with 1001 (going away) and stops accepting new ones. */
    async close(): Promise<void> {
      stopClosingRevoked?.();
      clearInterval(keepAlive);
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await new Promise((r) => setTimeout(r, 50));
      for (const client of wss.clients) client.terminate();
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      logger.debug('websocket server closed');
    },
  };
}
