import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError, type ValidationContext } from 'graphql';
import { createYoga, type Plugin, useErrorHandler } from 'graphql-yoga';
import type { ApiProtectionConfig } from '../config.ts';
import { type Context, createContext } from '../context.ts';
import type { Services } from '../services.ts';
import { isUnreachable } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { Tracing } from '../shared/tracing.ts';
import { COST_LIMIT, useVariableAwareCostLimit } from './cost-limit.ts';
import { isExpectedError, maskError } from './errors.ts';
import { useGraphiqlDelivery } from './graphiql-delivery.ts';
import {
  useAnonymousValidationMask,
  useCsrfPrevention,
  useIntrospectionPolicy,
  useRequestErrorPolicy,
} from './protection.ts';
import { getSchema } from './schema.ts';
import { type SubscriptionStats, useSubscriptionStats } from './subscription-stats.ts';
import { useTokenExpiry } from './token-expiry.ts';
import { useTracing } from './tracing-plugin.ts';

/** What the HTTP route and the WebSocket server hand to Yoga alongside each operation. */
export interface ServerContext {
  requestId: string;
  /** graphql-ws only: the connection's init payload, where the token travels. */
  connectionParams?: Record<string, unknown>;
  /** HTTP: whether a valid token came with the request (checked before Yoga, by the API guard). */
  authenticated?: boolean;
  /** graphql-ws only: drops the connection of a subscriber that cannot keep up. */
  onSlowConsumer?: () => void;
}

/** Case-insensitive read of the token from connectionParams (GraphiQL sends headers as given). */
export function authorizationFromParams(params: Record<string, unknown> | undefined): unknown {
  if (!params) return undefined;
  const key = Object.keys(params).find((k) => k.toLowerCase() === 'authorization');
  return key ? params[key] : undefined;
}

// Armor's rules throw by default, which Yoga answers with 200 and no code. Reporting them as
// validation errors gives a 400 (graphql-response+json) and a stable code.
const reportAsValidationError = {
  propagateOnRejection: false,
  onReject: [
    (ctx: ValidationContext | null, error: GraphQLError) =>
      ctx?.reportError(
        new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
          extensions: { code: 'QUERY_TOO_COMPLEX' },
        }),
      ),
  ],
};

const GRAPHIQL_DEFAULT_QUERY = `# Tollgate control plane.
#
# Every operation needs an operator token. Mint one with
#   npm run token -- --role admin --ttl 1h
# and put it in the Headers tab below:
#   { "authorization": "Bearer <token>" }
#
# Then run this query with the play button (or Ctrl-Enter).

{
  viewer { subject role tokenExpiresAt }
  providers(first: 20) {
    edges { node { slug name kind baseUrl enabled version } }
  }
}
`;

export function createGraphqlServer(deps: {
  services: Services;
  logger: Logger;
  graphiql: boolean;
  tracing?: Tracing;
  protection: ApiProtectionConfig;
  subscriptionStats?: SubscriptionStats;
}) {
  const { services, logger, protection } = deps;

  const logUnexpected: Plugin = useErrorHandler(({ errors, context }) => {
    // In the execution phase envelop hands over the ExecutionArgs, not the context itself.
    const seen = context as Partial<Context> & { contextValue?: Partial<Context> };
    const requestId = seen.contextValue?.requestId ?? seen.requestId;
    for (const error of errors) {
      if (error instanceof GraphQLError && isExpectedError(error)) continue;
      const cause = error instanceof GraphQLError ? error.originalError : error;
      if (isUnreachable(cause)) {
        logger.warn(
          { err: (cause as Error).message, requestId },
          'GraphQL operation failed: database unavailable',
        );
        continue;
      }
      logger.error(
        { err: cause, requestId, path: (error as GraphQLError).path },
        'unexpected error in GraphQL operation',
      );
    }
  });

  return createYoga<ServerContext, Context>({
    schema: getSchema(),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: false,
    // isDev false: never attach the original error or stack, whatever NODE_ENV says.
    maskedErrors: { maskError, isDev: false },
    context: ({ request, requestId, connectionParams, onSlowConsumer }) =>
      createContext({
        onSlowConsumer,
        authorization: connectionParams
          ? authorizationFromParams(connectionParams)
          : request.headers.get('authorization'),
        requestId,
        logger,
        services,
      }),
    graphiql: deps.graphiql
      ? { title: 'Tollgate', subscriptionsProtocol: 'WS', defaultQuery: GRAPHIQL_DEFAULT_QUERY }
      : false,
    renderGraphiQL,
    // The API guard reads and limits the body before Yoga sees it (TOLLGATE_GRAPHQL_MAX_BODY_BYTES;
    // WebSocket messages have their own cap): Yoga's own limit re-streamed every buffered body
    // through a TransformStream, the largest single cost of a small query.
    maxRequestBodySize: false,
    batching: protection.batchLimit > 0 ? { limit: protection.batchLimit } : false,
    // Cross-origin browsers only from the allowed origins (none by default: GraphiQL is same-origin).
    cors: protection.allowedOrigins.length > 0 ? { origin: protection.allowedOrigins } : false,
    plugins: [
      logUnexpected,
      ...(deps.graphiql ? [useGraphiqlDelivery()] : []),
      ...(deps.tracing ? [useTracing(deps.tracing)] : []),
      useCsrfPrevention(),
      useIntrospectionPolicy(protection.introspection),
      // Armor counts only literal `first`/`last`; this counts `first: $n` with the value sent.
      // Before the masks below, so its refusal is masked like any validation error.
      useVariableAwareCostLimit(),
      // With a public schema, validation messages give nothing away.
      ...(protection.introspection === 'public' ? [] : [useAnonymousValidationMask()]),
      // After the introspection policy: a refusal it answers is not rewritten.
      useRequestErrorPolicy({ maskAnonymous: protection.introspection !== 'public' }),
      useTokenExpiry(),
      ...(deps.subscriptionStats ? [useSubscriptionStats(deps.subscriptionStats)] : []),
      EnvelopArmorPlugin({
        maxDepth: { n: 12, ...reportAsValidationError },
        costLimit: { ...COST_LIMIT, ...reportAsValidationError },
        maxAliases: { n: 15, ...reportAsValidationError },
        maxDirectives: { n: 50, ...reportAsValidationError },
        maxTokens: { n: 2000 },
        blockFieldSuggestion: { enabled: true },
      }),
    ],
  });
}

export type GraphqlServer = ReturnType<typeof createGraphqlServer>;
