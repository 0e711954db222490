import { type DocumentNode, type ExecutionResult, GraphQLError, Kind, visit } from 'graphql';
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

/** Answers by document: Yoga's parser cache hands the same DocumentNode to every request that sends the same text. */
const introspectionOf = new WeakMap<DocumentNode, boolean>();

/** True when the document selects __schema or __type anywhere (fragments included). */
export function isIntrospection(document: DocumentNode): boolean {
  let found = introspectionOf.get(document);
  if (found === undefined) {
    found = selectsIntrospection(document);
    introspectionOf.set(document, found);
  }
  return found;
}

function selectsIntrospection(document: DocumentNode): boolean {
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

/** "Did you mean "x"?", "Did you mean the enum value "X"?", "Did you mean "a", "b", or "c"?". */
const SUGGESTION = /\s*Did you mean\b[^?]*\?/g;
const HAS_SUGGESTION = /Did you mean\b/;

/**
 * The error without graphql-js's suggestions (names of fields, arguments, types, enum values),
 * its original error too: the error mask (errors.ts) answers a wrapped GraphQLError's original.
 */
export function withoutSuggestions(error: GraphQLError): GraphQLError {
  const original = error.originalError;
  const cleanOriginal = original instanceof GraphQLError ? withoutSuggestions(original) : original;
  if (!HAS_SUGGESTION.test(error.message) && cleanOriginal === original) return error;
  return new GraphQLError(error.message.replace(SUGGESTION, '').trim(), {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: cleanOriginal,
    extensions: error.extensions,
  });
}

/**
 * A request error as the caller sees it: graphql-js's own message ('Variable "$f" got invalid
 * value ... at "f.since"; ...', which names the variable and field), no suggestions, a stable
 * code. Without its original error, which the error mask (errors.ts) would answer instead of the
 * message that says where the problem is.
 */
function asBadUserInput(error: GraphQLError): GraphQLError {
  const clean = withoutSuggestions(error);
  return new GraphQLError(clean.message, {
    nodes: clean.nodes,
    source: clean.source,
    positions: clean.positions,
    extensions: { code: 'BAD_USER_INPUT', ...clean.extensions },
  });
}

function isSingleResult(result: unknown): result is ExecutionResult {
  return typeof result === 'object' && result !== null && !(Symbol.asyncIterator in result);
}

/**
 * Errors graphql-js raises before any resolver runs (variables that do not coerce to their input
 * types, an unknown operation name) say as much about the schema as validation errors do: input
 * type names, their fields, enum values, and suggestions. Without a valid token such a result is
 * one UNAUTHENTICATED error (unless `maskAnonymous` is off: introspection is public); with one it
 * keeps its messages, less the suggestions. Validation messages lose their suggestions too (graphql-
 * armor hides only field ones). Envelop hooks, so HTTP, SSE and WebSocket (getEnveloped) alike.
 */
export function useRequestErrorPolicy(options: { maskAnonymous: boolean }): Plugin<Context> {
  const policy = (result: unknown, context: Partial<Context>, setResult: (r: ExecutionResult) => void) => {
    // `data` is present (maybe null) once execution started; before that only request errors,
    // which have no path. (A subscription whose resolver refused to start has no data either,
    // but its error has the field's path, and its code: it is left as it is.)
    if (!isSingleResult(result) || 'data' in result || !result.errors?.length) return;
    if (result.errors.some((e) => e.path !== undefined)) return;
    if (options.maskAnonymous && !context.operator) return setResult({ errors: [anonymousInvalidError()] });
    setResult({ ...result, errors: result.errors.map(asBadUserInput) });
  };
  return {
    onValidate:
      () =>
      ({ result, setResult }) => {
        if (result.some((e) => HAS_SUGGESTION.test(e.message)))
          setResult(result.map((e) => (e instanceof GraphQLError ? withoutSuggestions(e) : e)));
      },
    onExecute: () => ({
      onExecuteDone: ({ result, args, setResult }) =>
        policy(result, args.contextValue as Partial<Context>, setResult),
    }),
    onSubscribe: () => ({
      onSubscribeResult: ({ result, args, setResult }) =>
        policy(result, args.contextValue as Partial<Context>, setResult),
    }),
  };
}
