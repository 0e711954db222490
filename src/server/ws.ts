import type { IncomingMessage, Server } from 'node:http';
import { type ExecutionArgs, GraphQLError } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import { bearerToken } from '../context.ts';
import { authorizationFromParams, type GraphqlServer } from '../graphql/yoga.ts';
import type { TokenService } from '../modules/auth/token.service.ts';
import type { Logger } from '../shared/logger.ts';
import { requestIdFrom } from '../shared/request-id.ts';

type Extra = {
  socket: WebSocket;
  request: IncomingMessage;
  expiryTimer?: NodeJS.Timeout;
};

interface EnvelopedRoot {
  execute(args: ExecutionArgs): unknown;
  subscribe(args: ExecutionArgs): unknown;
}

/**
 * graphql-ws on the same port and path as HTTP GraphQL. Operations go through Yoga's envelop
 * pipeline (same schema, auth, limits and error masking). The token comes in connectionParams
 * (or the upgrade request's Authorization header); a connection without a valid one is closed
 * with 4403, and a connection is closed with 4401 when its token expires.
 */
export function attachGraphqlWebSocket(deps: {
  server: Server;
  yoga: GraphqlServer;
  tokens: TokenService;
  logger: Logger;
}) {
  const { server, yoga, tokens, logger } = deps;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });

  server.on('upgrade', (request, socket, head) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== yoga.graphqlEndpoint) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

  const credential = (ctx: { connectionParams?: Record<string, unknown> | undefined; extra: Extra }) =>
    authorizationFromParams(ctx.connectionParams) ?? ctx.extra.request.headers.authorization;

  const disposable = useServer<Record<string, unknown> | undefined, Extra>(
    {
      onConnect: async (ctx) => {
        const token = bearerToken(credential(ctx));
        if (!token) return false;
        try {
          const operator = await tokens.verify(token);
          const remaining = operator.expiresAt.getTime() - Date.now();
          ctx.extra.expiryTimer = setTimeout(
            () => ctx.extra.socket.close(CloseCode.Unauthorized, 'Token expired'),
            Math.min(Math.max(remaining, 0), 2_147_000_000),
          );
          ctx.extra.expiryTimer.unref();
          return true;
        } catch {
          return false;
        }
      },
      onClose: (ctx) => clearTimeout(ctx.extra.expiryTimer),
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args) as never,
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args) as never,
      onSubscribe: async (ctx, _id, payload) => {
        const requestId = requestIdFrom(undefined);
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          requestId,
          connectionParams: { authorization: credential(ctx) },
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
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await contextFactory(),
          rootValue: { execute, subscribe },
        };
        const errors = validate(args.schema, args.document);
        return errors.length > 0 ? errors : args;
      },
    },
    wss,
  );

  return {
    /** Closes every socket with 1001 (going away) and stops accepting new ones. */
    async close(): Promise<void> {
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await new Promise((r) => setTimeout(r, 50));
      for (const client of wss.clients) client.terminate();
      await disposable.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      logger.debug('websocket server closed');
    },
  };
}
