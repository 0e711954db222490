import { type DocumentNode, GraphQLError, Kind, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ApiProtectionConfig } from '../config.ts';
import type { Context } from '../context.ts';

/** Headers a browser can only send after a CORS preflight: their presence proves no CSRF. */
export const CSRF_HEADERS = ['x-graphql-csrf', 'graphql-require-preflight'] as const;

/** Content types a cross-site form or `fetch` without preflight can send. */
const SIMPLE_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/**
 * CSRF prevention: an operation that a browser could send cross-site without a preflight (a GET
 * with a query, or a POST with a form-like content type) must carry one of CSRF_HEADERS. JSON
 * POSTs (GraphiQL, every GraphQL client) are never "simple", so they pass as they are. GraphiQL's
 * own page (a GET for HTML) is served before this runs.
 */
export function useCsrfPrevention(): Plugin {
  return {
    onRequestParse({ request }) {
      const hasHeader = CSRF_HEADERS.some((h) => request.headers.has(h));
      if (hasHeader) return;
      const contentType =
        (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      const simple =
        request.method === 'GET'
          ? new URL(request.url).searchParams.has('query')
          : request.method === 'POST' && (contentType === '' || SIMPLE_CONTENT_TYPES.includes(contentType));
      if (!simple) return;
      throw new GraphQLError(
        `This request could come from another site: send it as JSON, or add a "${CSRF_HEADERS[0]}" header.`,
        { extensions: { code: 'CSRF_PREVENTED', http: { status: 403 } } },
      );
    },
  };
}

/** True when the document selects __schema or __type anywhere (fragments included). */
export function isIntrospection(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    [Kind.FIELD](node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        found = true;
        return false;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * Introspection (`__schema`, `__type`; `__typename` stays free) for whom the setting allows:
 * `operators` needs a valid token of any role, `off` refuses everyone, `public` allows everyone.
 * Checked at execution, where the verified caller is known, for HTTP, SSE and WebSocket alike;
 * a refusal is one error and no data, so nothing of the schema leaks.
 */
export function useIntrospectionPolicy(mode: ApiProtectionConfig['introspection']): Plugin<Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if (mode === 'public' || !isIntrospection(args.document)) return;
      const context = args.contextValue as Partial<Context>;
      if (mode === 'operators' && context.operator) return;
      setResultAndStopExecution({
        errors: [
          mode === 'off'
            ? new GraphQLError('Introspection is turned off on this server.', {
                extensions: { code: 'INTROSPECTION_DISABLED', http: { status: 403 } },
              })
            : new GraphQLError('Introspection needs an operator token: send Authorization: Bearer <token>.', {
                extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
              }),
        ],
      });
    },
  };
}

/** The one error an anonymous caller gets for an operation that does not validate. */
export function anonymousInvalidError(): GraphQLError {
  return new GraphQLError('Authentication required: send Authorization: Bearer <token>.', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
  });
}

/**
 * Validation messages name types and fields ("Cannot query field x on type Provider"), so an
 * anonymous caller could map the schema by trial and error. Without a valid token, an operation
 * that fails validation gets one UNAUTHENTICATED error instead (WebSocket: see server/ws.ts).
 * Done on the way out, not in onValidate: Yoga caches validation results by document, and a
 * masked (or unmasked) result must not be served to the next caller.
 */
export function useAnonymousValidationMask(): Plugin<Record<string, unknown>, { authenticated?: boolean }> {
  return {
    onResultProcess({ result, setResult, serverContext }) {
      if (serverContext.authenticated !== false || Array.isArray(result) || 'data' in result) return;
      const errors = (result as { errors?: readonly GraphQLError[] }).errors;
      if (errors?.some((e) => e.extensions?.code === 'GRAPHQL_VALIDATION_FAILED')) {
        setResult({ errors: [anonymousInvalidError()] });
      }
    },
  };
}
