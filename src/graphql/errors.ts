import { GraphQLError } from 'graphql';
import {
  AppError,
  ConflictError,
  type FieldError,
  ForbiddenError,
  isUnreachable,
  NotFoundError,
  UnavailableError,
  ValidationError,
  VersionMismatchError,
} from '../shared/errors.ts';
import { builder } from './builder.ts';

/** The GraphQL face of AppError: mutation results list these in their unions. */
export const ErrorInterface = builder.interfaceRef<AppError>('Error').implement({
  description: 'An expected failure. `code` is stable; `message` is for people.',
  fields: (t) => ({
    code: t.exposeString('code'),
    message: t.exposeString('message'),
  }),
});

const FieldErrorRef = builder.objectRef<FieldError>('FieldError').implement({
  description: 'One problem with one input field; `path` leads from the argument to the field.',
  fields: (t) => ({
    path: t.exposeStringList('path'),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  description: 'The input was refused; nothing was written. Every problem is listed.',
  fields: (t) => ({ fieldErrors: t.expose('fieldErrors', { type: [FieldErrorRef] }) }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  fields: (t) => ({ resource: t.exposeString('resource'), key: t.exposeString('key') }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  interfaces: [ErrorInterface],
  description:
    'The operation conflicts with the current state (for example, the object is still referenced).',
});

builder.objectType(VersionMismatchError, {
  name: 'VersionMismatchError',
  interfaces: [ErrorInterface],
  description:
    'Someone changed the object since you read it. Reload and apply your change to `currentVersion`.',
  fields: (t) => ({ currentVersion: t.exposeInt('currentVersion') }),
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  interfaces: [ErrorInterface],
});

/** True for errors a client may see as they are: AppErrors and GraphQL's own (syntax, auth...). */
export function isExpectedError(error: GraphQLError): boolean {
  const original = error.originalError;
  return (
    original === undefined ||
    original === null ||
    original instanceof AppError ||
    original instanceof GraphQLError
  );
}

/**
 * Yoga's error mask: AppErrors keep their message and code; GraphQL's own errors (syntax,
 * validation, auth) pass through; everything else becomes "Unexpected error.". Never a stack
 * trace, in any mode. (Unexpected errors are logged, with the request id, by the yoga plugin.)
 */
export function maskError(error: unknown): Error {
  if (!(error instanceof GraphQLError)) return unexpected();
  const original = error.originalError;
  if (original === undefined || original === null) return withoutOriginalError(error);
  if (original instanceof AppError) {
    const extensions: Record<string, unknown> = { code: original.code };
    if (original instanceof ValidationError) extensions.fieldErrors = original.fieldErrors;
    return new GraphQLError(original.message, { nodes: error.nodes, path: error.path, extensions });
  }
  if (original instanceof GraphQLError) return original;
  // PostgreSQL down or restarting: say so (callers retry) instead of "Unexpected error.".
  if (isUnreachable(original)) {
    const unavailable = new UnavailableError('The database is unavailable; try again shortly.');
    return new GraphQLError(unavailable.message, {
      nodes: error.nodes,
      path: error.path,
      extensions: { code: unavailable.code },
    });
  }
  return unexpected(error);
}

/**
 * Yoga describes a request it could not parse (bad JSON) with `extensions.originalError`: the
 * parser's name and message, which echo part of the body. The message and code say enough, so it
 * is kept out of the response; but yoga reads it to answer 400 rather than 200 to a plain-JSON
 * client, so it stays on the error, not enumerable (serialisation skips it).
 */
function withoutOriginalError(error: GraphQLError): GraphQLError {
  const extensions = error.extensions as Record<string, unknown> | undefined;
  if (extensions && Object.hasOwn(extensions, 'originalError')) {
    Object.defineProperty(extensions, 'originalError', {
      value: extensions.originalError,
      enumerable: false,
    });
  }
  return error;
}

function unexpected(wrapper?: GraphQLError): GraphQLError {
  return new GraphQLError('Unexpected error.', {
    nodes: wrapper?.nodes,
    path: wrapper?.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}
